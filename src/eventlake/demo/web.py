"""Demo web traffic and product events: Segment `page`, `identify` and `track` calls of
a company site (www.acme.example, its docs at docs.acme.example) and its product, for
the days of the demo, drawn from one seeded generator (the same seed, days and end date
always give the same calls, message ids included).

The stories the web and product insights find:

- a weekly rhythm: weekdays busier than weekends, UTC afternoons busier than nights;
- sources: search (Google, Bing, DuckDuckGo), social (LinkedIn, t.co, Reddit), GitHub,
  a tagged LinkedIn ad campaign, direct visits and a few crawler page views;
- the newsletter: sent at 09:00 UTC two days before the end date, its readers land on
  one blog post (NEWSLETTER_POST) tagged utm_source=newsletter, utm_medium=email, most
  of them within the following hour;
- a Hacker News burst: nine days before the end, a post (HN_POST) reaches the front
  page at 14:20 UTC and news.ycombinator.com sends visits for the rest of the day;
- a signup funnel for identified users (FUNNEL: Signed Up -> Project Created ->
  Invited Teammate, with drop-off; a few create their project only days later), the
  visitor's anonymous page views joined to the user by identify;
- retention: signed-up users come back on later days (Dashboard Viewed, Query Run, ...),
  fewer as the weeks pass.

The newsletter and the Hacker News burst are drawn from random streams of their own, so
their numbers for a seed do not depend on the end date (the console's tests, whose demo
ends today, count on them). Visitors come from several countries (IP addresses of
ranges iptocc maps to one country, IP_RANGES) on desktops, phones and tablets
(USER_AGENTS). `build_events` returns the calls in time order; eventlake.demo.send
posts them through the collector."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..errors import EventlakeError

MAX_DAYS = 3660
SITE = "www.acme.example"
DOCS = "docs.acme.example"
APP = "app.acme.example"
SITES = (SITE, DOCS, APP)
NEWSLETTER_POST = "/blog/own-your-product-analytics"
HN_POST = "/blog/a-lakehouse-on-one-laptop"
FUNNEL = ("Signed Up", "Project Created", "Invited Teammate")
NEWSLETTER_DAYS_BEFORE_END = 2
NEWSLETTER_AT = dt.time(9, 0)
HN_DAYS_BEFORE_END = 9
HN_AT = dt.time(14, 20)

# (host, path) -> title
PAGES: dict[tuple[str, str], str] = {
    (SITE, "/"): "Acme Analytics - usage analytics you own",
    (SITE, "/features"): "Features - Acme Analytics",
    (SITE, "/pricing"): "Pricing - Acme Analytics",
    (SITE, "/customers"): "Customers - Acme Analytics",
    (SITE, "/blog"): "Blog - Acme Analytics",
    (SITE, NEWSLETTER_POST): "Own your product analytics: a lakehouse in an afternoon",
    (SITE, HN_POST): "A usage-analytics lakehouse on one laptop",
    (SITE, "/blog/cloudtrail-without-athena"): "Querying CloudTrail without Athena",
    (SITE, "/blog/cookieless-web-analytics"): "Cookieless web analytics that still answer questions",
    (SITE, "/about"): "About us - Acme Analytics",
    (SITE, "/careers"): "Careers - Acme Analytics",
    (SITE, "/signup"): "Start free - Acme Analytics",
    (DOCS, "/"): "Acme docs",
    (DOCS, "/getting-started"): "Getting started - Acme docs",
    (DOCS, "/collector"): "The event collector - Acme docs",
    (DOCS, "/insights"): "Saved insights - Acme docs",
}
_BLOG = [(SITE, p) for h, p in PAGES if h == SITE and p.startswith("/blog/")]
# where a visitor goes next from a page: (host, path) weights; "_" is any other page
_NEXT: dict[str, list[tuple[tuple[str, str], float]]] = {
    "/": [((SITE, "/features"), 5), ((SITE, "/pricing"), 5), ((SITE, "/blog"), 2), ((SITE, "/customers"), 2),
          ((SITE, "/signup"), 2), ((DOCS, "/getting-started"), 1), ((SITE, "/about"), 1)],
    "/features": [((SITE, "/pricing"), 6), ((SITE, "/signup"), 3), ((SITE, "/customers"), 2), ((DOCS, "/getting-started"), 2)],
    "/pricing": [((SITE, "/signup"), 6), ((SITE, "/features"), 2), ((SITE, "/customers"), 1), ((SITE, "/"), 1)],
    "/blog": [((SITE, NEWSLETTER_POST), 3), ((SITE, "/blog/cloudtrail-without-athena"), 3),
              ((SITE, "/blog/cookieless-web-analytics"), 3), ((SITE, HN_POST), 2)],
    "/signup": [((SITE, "/pricing"), 1)],
    "_": [((SITE, "/"), 3), ((SITE, "/pricing"), 4), ((SITE, "/features"), 3), ((SITE, "/blog"), 2), ((SITE, "/signup"), 2),
          ((DOCS, "/getting-started"), 1)],
}
# the docs link to each other, and now and then to the signup page
_DOCS_NEXT = [((DOCS, "/getting-started"), 3), ((DOCS, "/collector"), 3), ((DOCS, "/insights"), 3), ((DOCS, "/"), 1),
              ((SITE, "/signup"), 1)]

# Countries of the visitors: (ISO code, weight, /16 ranges iptocc maps to that country)
IP_RANGES: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    ("US", 34, ("73.162", "98.207")),
    ("DE", 12, ("91.40", "85.214")),
    ("GB", 10, ("86.150", "86.151")),
    ("IN", 8, ("49.36", "117.200")),
    ("FR", 6, ("90.45", "82.64")),
    ("CA", 5, ("142.112", "24.114")),
    ("BR", 5, ("200.147", "187.20")),
    ("NL", 4, ("145.100", "77.160")),
    ("JP", 4, ("126.10", "133.10")),
    ("AU", 4, ("101.160", "1.128")),
    ("SE", 3, ("78.72", "83.250")),
    ("ES", 2, ("88.24", "83.45")),
    ("PL", 2, ("83.24", "89.64")),
)
CRAWLER_RANGE = "66.249.66"  # Googlebot, US
# (device type the collector derives, weight, user agent)
USER_AGENTS: tuple[tuple[str, float, str], ...] = (
    ("desktop", 26, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"),
    ("desktop", 14, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"),
    ("desktop", 8, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"),
    ("desktop", 6, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51"),
    ("desktop", 4, "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0"),
    ("desktop", 4, "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"),
    ("mobile", 18, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1"),
    ("mobile", 10, "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36"),
    ("mobile", 4, "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36"),
    ("tablet", 4, "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"),
    ("tablet", 2, "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"),
)
CRAWLER_AGENT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


@dataclass(frozen=True)
class Channel:
    """Where a visit comes from: the referrer (origin only, as browsers send it across
    sites), utm tags, where such visits land and how far they read on."""

    name: str
    weight: float
    referrer: str | None
    entries: tuple[tuple[tuple[str, str], float], ...]
    go_on: float  # chance of one more page view after each one
    utm: tuple[tuple[str, str], ...] = ()


_SEARCH_ENTRIES = (((SITE, "/"), 4), ((SITE, "/features"), 2), ((SITE, "/pricing"), 1), ((DOCS, "/getting-started"), 3),
                   ((DOCS, "/collector"), 1), *((b, 2) for b in _BLOG))
_SOCIAL_ENTRIES = tuple((b, 3) for b in _BLOG) + (((SITE, "/"), 1),)
CHANNELS: tuple[Channel, ...] = (
    Channel("direct", 26, None, (((SITE, "/"), 8), ((SITE, "/pricing"), 2), ((DOCS, "/"), 2), ((SITE, "/blog"), 1)), 0.55),
    Channel("google", 30, "https://www.google.com/", _SEARCH_ENTRIES, 0.5),
    Channel("bing", 3, "https://www.bing.com/", _SEARCH_ENTRIES, 0.5),
    Channel("duckduckgo", 4, "https://duckduckgo.com/", _SEARCH_ENTRIES, 0.5),
    Channel("linkedin", 6, "https://www.linkedin.com/", _SOCIAL_ENTRIES, 0.35),
    Channel("twitter", 5, "https://t.co/", _SOCIAL_ENTRIES, 0.3),
    Channel("reddit", 4, "https://www.reddit.com/", _SOCIAL_ENTRIES, 0.3),
    Channel("github", 5, "https://github.com/", (((DOCS, "/"), 3), ((SITE, "/"), 2), ((DOCS, "/getting-started"), 2)), 0.45),
    Channel("linkedin-ad", 3, None, (((SITE, "/pricing"), 1),), 0.5,
            (("utm_source", "linkedin"), ("utm_medium", "paid_social"), ("utm_campaign", "spring-launch"))),
)
HOURS = (1, 1, 1, 1, 1.5, 2, 3, 4, 5, 6, 7, 7, 7, 8, 9, 9, 9, 8, 7, 6, 5, 4, 3, 2)  # UTC hour weights
WEEKDAY = (1.0, 1.05, 1.0, 0.95, 0.85, 0.4, 0.45)  # Monday first
BASE_VISITS = 46  # visits on an ordinary weekday at the start; the site grows a little
SIGNUP_RATE = 0.35  # of the visits that reach /signup
PRODUCT_EVENTS = (("Dashboard Viewed", 5), ("Query Run", 4), ("Report Exported", 1), ("Alert Created", 0.5), ("Project Created", 0.5))


@dataclass
class Visitor:
    anonymous_id: str
    ip: str
    country: str
    device: str
    user_agent: str
    user_id: str | None = None


@dataclass
class WebDemo:
    """The generated calls and what they hold (for the summary and the tests)."""

    start: dt.date
    end: dt.date
    events: list[dict[str, Any]] = field(default_factory=list)
    signups: int = 0

    def count(self, type_: str) -> int:
        return sum(1 for e in self.events if e["type"] == type_)


def iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


class _Generator:
    """Draws the calls day by day (see the module docstring); the stories each from
    their own stream."""

    def __init__(self, seed: int, start: dt.date, end: dt.date):
        self.seed = seed
        self.rng = random.Random(f"web-{seed}")
        self.start, self.end = start, end
        self.events: list[dict[str, Any]] = []
        self.returning: list[Visitor] = []
        self.users: list[tuple[Visitor, dt.datetime, float]] = []  # (visitor, signup time, engagement)
        self.last = dt.datetime.combine(end, dt.time.max, dt.timezone.utc)  # nothing after the end date

    # -- ids and people --------------------------------------------------------------
    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def visitor(self, devices: dict[str, float] | None = None) -> Visitor:
        r = self.rng
        cc, _, ranges = r.choices(IP_RANGES, [w for _, w, _ in IP_RANGES])[0]
        agents = USER_AGENTS
        weights = [w * (devices or {}).get(d, 1.0) for d, w, _ in agents]
        device, _, ua = r.choices(agents, weights)[0]
        ip = f"{r.choice(ranges)}.{r.randrange(256)}.{r.randrange(1, 255)}"
        return Visitor(self.uid(), ip, cc, device, ua)

    def context(self, v: Visitor, page: dict | None = None, campaign: dict | None = None) -> dict:
        ctx: dict[str, Any] = {
            "ip": v.ip,
            "userAgent": v.user_agent,
            "locale": "en-US",
            "library": {"name": "analytics.js", "version": "4.1.0"},
        }
        if page is not None:
            ctx["page"] = page
        if campaign:
            ctx["campaign"] = campaign
        return ctx

    def ids(self, v: Visitor) -> dict[str, str]:
        return {"anonymousId": v.anonymous_id, **({"userId": v.user_id} if v.user_id else {})}

    # -- calls -------------------------------------------------------------------------
    def page(self, v: Visitor, t: dt.datetime, where: tuple[str, str], referrer: str | None, utm: tuple = ()) -> None:
        host, path = where
        search = ("?" + "&".join(f"{k}={val}" for k, val in utm)) if utm else ""
        url = f"https://{host}{path}{search}"
        page = {"path": path, "referrer": referrer or "", "search": search, "title": PAGES[where], "url": url}
        campaign = {k[4:].replace("campaign", "name"): val for k, val in utm} if utm else None
        self.events.append({
            "type": "page", "messageId": self.uid(), **self.ids(v), "timestamp": iso(t),
            "properties": dict(page), "context": self.context(v, page, campaign),
        })

    def track(self, v: Visitor, t: dt.datetime, event: str, properties: dict) -> None:
        self.events.append({
            "type": "track", "messageId": self.uid(), **self.ids(v), "event": event, "timestamp": iso(t),
            "properties": properties, "context": self.context(v),
        })

    def identify(self, v: Visitor, t: dt.datetime, traits: dict) -> None:
        self.events.append({
            "type": "identify", "messageId": self.uid(), **self.ids(v), "timestamp": iso(t), "traits": traits,
            "context": self.context(v),
        })

    # -- visits ---------------------------------------------------------------------------
    def visit(self, t: dt.datetime, ch: Channel, *, entry: tuple[str, str] | None = None, v: Visitor | None = None,
              signup_rate: float = SIGNUP_RATE) -> None:
        r = self.rng
        if v is None:
            if ch.name == "direct" and self.returning and r.random() < 0.35:
                v = r.choice(self.returning)
            else:
                v = self.visitor()
                if r.random() < 0.3:
                    self.returning.append(v)
        where = entry or r.choices([p for p, _ in ch.entries], [w for _, w in ch.entries])[0]
        referrer, utm = ch.referrer, ch.utm
        for n in range(8):
            if t > self.last:
                return
            self.page(v, t, where, referrer, utm)
            if where == (SITE, "/signup") and v.user_id is None and r.random() < signup_rate:
                self.signup(v, t + dt.timedelta(seconds=r.randrange(40, 240)), ch.name)
                return
            if r.random() >= ch.go_on:
                return
            referrer, utm = f"https://{where[0]}{where[1]}", ()
            nexts = _DOCS_NEXT if where[0] == DOCS else _NEXT.get(where[1], _NEXT["_"])
            where = r.choices([p for p, _ in nexts], [w for _, w in nexts])[0]
            t += dt.timedelta(seconds=int(r.lognormvariate(4.0, 0.8)))

    def crawler(self, t: dt.datetime) -> None:
        v = Visitor(self.uid(), f"{CRAWLER_RANGE}.{self.rng.randrange(1, 255)}", "US", "bot", CRAWLER_AGENT)
        self.page(v, t, self.rng.choice(list(PAGES)), None)

    # -- the product ------------------------------------------------------------------------
    def signup(self, v: Visitor, t: dt.datetime, channel: str) -> None:
        r = self.rng
        if t > self.last:
            return
        v.user_id = f"usr_{r.getrandbits(40):010x}"
        plan = r.choices(("free", "team"), (85, 15))[0]
        self.track(v, t, "Signed Up", {"plan": plan, "method": r.choice(("email", "google", "github")), "channel": channel})
        self.identify(v, t + dt.timedelta(seconds=1), {
            "plan": plan, "company_size": r.choice(("1-10", "11-50", "51-200", "201-1000")),
            "role": r.choice(("engineer", "data analyst", "product manager", "founder")),
        })
        engagement = r.betavariate(2.0, 2.5)
        if r.random() < 0.62:
            # most create their first project within the hour; some only days later
            late = r.random() < 0.1
            tp = t + (dt.timedelta(days=r.randrange(1, 4), hours=r.randrange(8)) if late
                      else dt.timedelta(minutes=int(r.lognormvariate(2.5, 1.0)) + 1))
            if tp <= self.last:
                self.track(v, tp, "Project Created", {"template": r.choice(("web analytics", "product analytics", "cloudtrail", "blank"))})
                if r.random() < 0.42:
                    ti = tp + dt.timedelta(minutes=int(r.lognormvariate(3.0, 1.2)) + 2)
                    if ti <= self.last:
                        self.track(v, ti, "Invited Teammate", {"invitees": r.choices((1, 2, 3), (6, 3, 1))[0], "role": "member"})
                        engagement = min(1.0, engagement + 0.25)
        else:
            engagement *= 0.25
        self.users.append((v, t, engagement))

    def usage(self, day: dt.date) -> None:
        """Signed-up users coming back on `day` (not their signup day)."""
        r = self.rng
        for v, signed, engagement in self.users:
            age = (day - signed.date()).days
            if age < 1:
                continue
            p = engagement * 0.4 * (0.75 ** (age / 7)) * (1.0 if day.weekday() < 5 else 0.3)
            if r.random() >= p:
                continue
            t = dt.datetime.combine(day, dt.time(r.choices(range(24), HOURS)[0], r.randrange(60)), dt.timezone.utc)
            for _ in range(r.randrange(2, 7)):
                name = r.choices([n for n, _ in PRODUCT_EVENTS], [w for _, w in PRODUCT_EVENTS])[0]
                props = {"dashboard": r.choice(("Signups", "Traffic", "Errors", "Revenue"))} if name == "Dashboard Viewed" else {}
                self.track(v, t, name, props)
                t += dt.timedelta(seconds=int(r.lognormvariate(4.5, 0.9)))

    # -- days ----------------------------------------------------------------------------------
    def at(self, day: dt.date) -> dt.datetime:
        r = self.rng
        hour = r.choices(range(24), HOURS)[0]
        return dt.datetime.combine(day, dt.time(hour, r.randrange(60), r.randrange(60), r.randrange(1000) * 1000), dt.timezone.utc)

    def day(self, day: dt.date) -> None:
        r = self.rng
        self.usage(day)
        growth = 1 + 0.4 * (day - self.start).days / max(1, (self.end - self.start).days)
        visits = max(0, round(r.gauss(BASE_VISITS * growth * WEEKDAY[day.weekday()], 5)))
        weights = [c.weight for c in CHANNELS]
        for _ in range(visits):
            self.visit(self.at(day), r.choices(CHANNELS, weights)[0])
        for _ in range(r.randrange(2, 5)):
            self.crawler(self.at(day))
        if day == self.end - dt.timedelta(days=NEWSLETTER_DAYS_BEFORE_END):
            self.newsletter(day)
        if day == self.end - dt.timedelta(days=HN_DAYS_BEFORE_END):
            self.hacker_news(day)

    @contextmanager
    def story(self, name: str):
        """Draw a story from its own stream (seed and name): its visits, signups and
        message ids are the same whatever the end date and the days around it."""
        saved = self.rng
        self.rng = random.Random(f"{self.seed}-{name}")
        try:
            yield self.rng
        finally:
            self.rng = saved

    def newsletter(self, day: dt.date) -> None:
        """Readers open the mail (many on a phone) and click through to the post: most
        within the hour, some later in the day."""
        with self.story("newsletter"):
            self._newsletter(day)

    def _newsletter(self, day: dt.date) -> None:
        r = self.rng
        sent = dt.datetime.combine(day, NEWSLETTER_AT, dt.timezone.utc)
        ch = Channel("newsletter", 0, None, (), 0.45,
                     (("utm_source", "newsletter"), ("utm_medium", "email"), ("utm_campaign", f"newsletter-{day:%Y-%m}")))
        for _ in range(r.randint(150, 190)):
            late = r.random() < 0.12
            delay = dt.timedelta(seconds=r.randrange(3600, 12 * 3600) if late else int(r.expovariate(1 / 1500)) + r.randrange(30, 90))
            v = self.visitor({"mobile": 2.2, "tablet": 1.5})
            self.visit(sent + delay, ch, entry=(SITE, NEWSLETTER_POST), v=v, signup_rate=0.5)

    def hacker_news(self, day: dt.date) -> None:
        """A post on the front page: visits ramp up within minutes and fade out over the
        evening; readers are mostly on desktops and rarely read on."""
        with self.story("hacker-news"):
            self._hacker_news(day)

    def _hacker_news(self, day: dt.date) -> None:
        r = self.rng
        posted = dt.datetime.combine(day, HN_AT, dt.timezone.utc)
        ch = Channel("hacker news", 0, "https://news.ycombinator.com/", (), 0.25)
        for _ in range(r.randint(280, 340)):
            delay = dt.timedelta(seconds=int(r.lognormvariate(8.3, 0.7)))
            v = self.visitor({"mobile": 0.5, "tablet": 0.5})
            self.visit(posted + delay, ch, entry=(SITE, HN_POST), v=v, signup_rate=0.3)


def build_events(seed: int = 7, days: int = 30, end_date: dt.date | None = None) -> WebDemo:
    """The demo's Segment calls for the `days` days ending on `end_date` (default today,
    UTC), in time order (ties in the order they were made)."""
    if not 1 <= days <= MAX_DAYS:
        raise EventlakeError(f"--days must be between 1 and {MAX_DAYS}, got {days}")
    end = end_date or dt.datetime.now(dt.timezone.utc).date()
    start = end - dt.timedelta(days=days - 1)
    gen = _Generator(seed, start, end)
    for i in range(days):
        gen.day(start + dt.timedelta(days=i))
    events = sorted(gen.events, key=lambda e: e["timestamp"])
    return WebDemo(start, end, events, signups=len(gen.users))
