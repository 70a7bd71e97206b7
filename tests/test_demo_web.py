"""The demo's web and product events: deterministic calls, sent through the real
collector into a lake, and the stories the web and product insights find in them
(numbers for seed 7, 30 days ending 2024-06-30)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from typer.testing import CliRunner

from eventlake.cli import app
from eventlake.collect.app import country_of, parse_user_agent
from eventlake.demo.send import SOURCE, send_demo_events
from eventlake.demo.web import CRAWLER_RANGE, FUNNEL, HN_POST, IP_RANGES, NEWSLETTER_POST, SITE, USER_AGENTS, build_events
from eventlake.engines import get_engine
from eventlake.errors import EventlakeError
from eventlake.insights import get_insight
from eventlake.lake import Lake

END = dt.date(2024, 6, 30)
NEWSLETTER_DAY = dt.date(2024, 6, 28)  # two days before the end
HN_DAY = dt.date(2024, 6, 21)  # nine days before the end
MONTH = {"start_time": "2024-06-01", "end_time": "2024-07-01"}


@pytest.fixture(scope="module")
def sent(tmp_path_factory):
    lake = Lake(tmp_path_factory.mktemp("demo-web") / "lake")
    t0 = time.monotonic()
    summary = send_demo_events(lake, seed=7, days=30, end_date=END)
    return lake, summary, time.monotonic() - t0


@pytest.fixture(scope="module")
def run(sent):
    lake = sent[0]
    engine = get_engine("duckdb", lake)

    def query(name: str, **values) -> list[dict]:
        insight = get_insight(name)
        return engine.query(insight.sql, insight.bind({k: str(v) for k, v in values.items()}, END)).to_pylist()

    query.sql = lambda sql: engine.query(sql).to_pylist()
    yield query
    engine.close()


# -- the calls --------------------------------------------------------------------------


def test_same_seed_same_events():
    a, b = build_events(seed=7, days=30, end_date=END), build_events(seed=7, days=30, end_date=END)
    assert a.events == b.events and len(a.events) == 3919
    assert build_events(seed=8, days=30, end_date=END).events != a.events
    ts = [e["timestamp"] for e in a.events]
    assert ts == sorted(ts) and ts[0] >= "2024-06-01T" and ts[-1] < "2024-07-01T"
    assert len({e["messageId"] for e in a.events}) == len(a.events)
    assert not any("sentAt" in e for e in a.events)  # past timestamps are kept as sent
    with pytest.raises(EventlakeError, match="--days"):
        build_events(days=0)


@pytest.mark.parametrize("end", [END, dt.date(2025, 11, 26), dt.date(2026, 1, 1)])
def test_stories_do_not_depend_on_the_end_date(end):
    """The newsletter and Hacker News stories come from their own random streams: the
    console's tests (whose demo ends today) can count on these numbers for seed 7."""
    events = build_events(seed=7, days=30, end_date=end).events
    newsletter = end - dt.timedelta(days=2)
    hour = [e for e in events if e["type"] == "page" and f"{newsletter}T09:00" <= e["timestamp"] < f"{newsletter}T10:00"]
    tagged = [e for e in hour if e["context"].get("campaign", {}).get("source") == "newsletter"]
    assert len(tagged) == 156 and {e["properties"]["path"] for e in tagged} == {NEWSLETTER_POST}
    assert sum(1 for e in events if e["type"] == "page" and "utm_source=newsletter" in e["properties"]["url"]) == 190
    hn = [e for e in events if e["type"] == "page" and e["properties"]["referrer"] == "https://news.ycombinator.com/"]
    hn_day = (end - dt.timedelta(days=9)).isoformat()
    assert len(hn) == 328 and sum(1 for e in hn if e["timestamp"].startswith(hn_day)) == 327
    assert min(e["timestamp"] for e in hn) >= f"{hn_day}T14:20"
    signups = [e["properties"]["channel"] for e in events if e.get("event") == "Signed Up"]
    assert (signups.count("newsletter"), signups.count("hacker news")) == (9, 5)


def test_ip_ranges_and_user_agents_are_what_they_claim():
    for cc, _, ranges in IP_RANGES:
        for prefix in ranges:
            for a in range(0, 256, 5):
                for b in (1, 128, 254):
                    assert country_of(f"{prefix}.{a}.{b}") == cc, (prefix, a, b)
    assert country_of(f"{CRAWLER_RANGE}.1") == "US"
    for device, _, ua in USER_AGENTS:
        assert parse_user_agent(ua)[0] == device, ua


def test_page_calls_look_like_analytics_js():
    events = build_events(seed=7, days=30, end_date=END).events
    page = next(e for e in events if e["type"] == "page" and e["context"]["page"]["search"])
    assert set(page["context"]) >= {"ip", "userAgent", "page", "library", "campaign"}
    assert page["properties"] == page["context"]["page"]
    assert page["context"]["page"]["url"].endswith(page["context"]["page"]["search"])
    track = next(e for e in events if e["type"] == "track")
    assert track["event"] == "Signed Up" and track["userId"] and track["anonymousId"]


# -- through the collector -----------------------------------------------------------------


def test_counts_reconcile(sent, run):
    lake, s, seconds = sent
    assert (s.sent, s.accepted, s.loaded, s.duplicates, s.quarantined) == (3919, 3919, 3919, 0, 0)
    assert (s.pages, s.tracks, s.identifies, s.signups, s.requests) == (3196, 629, 94, 94, 40)
    assert seconds < 15, f"generating and loading 30 days took {seconds:.1f} s"
    assert run.sql("SELECT count(*) AS n FROM raw_events WHERE source = 'demo-web'") == [{"n": 3919}]
    by_type = run.sql("SELECT type, count(*) AS n FROM events GROUP BY type ORDER BY type")
    assert by_type == [{"type": "identify", "n": 94}, {"type": "page", "n": 3196}, {"type": "track", "n": 629}]
    assert run.sql("SELECT count(*) AS n FROM quarantine") == [{"n": 0}]
    # the collector derived country and device from the IP and user agent, then dropped the IP
    assert run.sql(
        "SELECT count(*) AS n FROM events WHERE country IS NULL OR device_type IS NULL OR browser IS NULL"
    ) == [{"n": 0}]
    assert run.sql(
        "SELECT count(*) AS n FROM raw_events WHERE json_extract(payload, '$.context.ip') IS NOT NULL "
        "OR json_extract_string(request, '$.ip') IS NOT NULL"
    ) == [{"n": 0}]
    assert run.sql("SELECT min(event_date) AS lo, max(event_date) AS hi FROM events") == [
        {"lo": dt.date(2024, 6, 1), "hi": END}
    ]


def test_newsletter_hour(run):
    """The user story: the hour after the newsletter, grouped by page, one page's referrers."""
    hour = {"start_time": f"{NEWSLETTER_DAY}T09:00:00Z", "end_time": f"{NEWSLETTER_DAY}T10:00:00Z"}
    pages = run("web_breakdown", group_by="path", **hour)
    assert [(r["value"], r["pageviews"], r["visits"]) for r in pages[:4]] == [
        (NEWSLETTER_POST, 158, 158), ("/pricing", 29, 0), ("/features", 24, 0), ("/", 19, 1)
    ]
    assert sum(r["pageviews"] for r in pages) == 275
    assert [(r["source"], r["visits"]) for r in run("web_top_referrers", path=NEWSLETTER_POST, **hour)] == [
        ("newsletter", 156), ("www.google.com", 1), ("www.linkedin.com", 1)
    ]
    before = {"start_time": f"{NEWSLETTER_DAY}T08:00:00Z", "end_time": f"{NEWSLETTER_DAY}T09:00:00Z"}
    assert run("web_top_referrers", utm_source="newsletter", **before) == []
    day = {"start_time": NEWSLETTER_DAY, "end_time": NEWSLETTER_DAY + dt.timedelta(days=1)}
    sources = run("web_top_referrers", **day)
    assert (sources[0]["source"], sources[0]["visits"]) == ("newsletter", 190)
    utm = run("web_breakdown", group_by="utm_medium", **day)
    assert (utm[1]["value"], utm[1]["visits"]) == ("email", 190)
    hourly = run("web_overview", **day)
    peak = max(hourly, key=lambda r: r["pageviews"])
    assert peak["bucket"].hour == 9 and peak["pageviews"] == 275


def test_hacker_news_burst(run):
    day = {"start_time": HN_DAY, "end_time": HN_DAY + dt.timedelta(days=1)}
    sources = run("web_top_referrers", **day)
    assert sources[0] == {"rank": 1, "source": "news.ycombinator.com", "visits": 327, "share": 0.8605, "entry_pages": 1}
    entry = run("web_entry_pages", referrer_host="news.ycombinator.com", **day)
    assert [(r["host"], r["path"], r["visits"]) for r in entry] == [(SITE, HN_POST, 327)]  # and 1 after midnight
    before = {"start_time": f"{HN_DAY}T00:00:00Z", "end_time": f"{HN_DAY}T14:20:00Z"}
    assert run("web_top_referrers", referrer_host="news.ycombinator.com", **before) == []


def test_sources_devices_countries_and_the_week(run):
    sources = {r["source"]: r["visits"] for r in run("web_top_referrers", top=30, **MONTH)}
    assert sources["(direct)"] == 471 and sources["www.google.com"] == 435 and sources["news.ycombinator.com"] == 328
    assert {"duckduckgo.com", "www.bing.com", "www.linkedin.com", "t.co", "www.reddit.com", "github.com", "linkedin"} <= set(sources)
    countries = [r["country"] for r in run("web_countries", **MONTH)]
    assert countries[:3] == ["US", "GB", "DE"]
    assert set(countries) == {"US", "DE", "GB", "IN", "FR", "CA", "BR", "NL", "JP", "AU", "SE", "ES", "PL"}
    assert [(r["device_type"], r["visits"]) for r in run("web_devices", **MONTH)] == [
        ("desktop", 1161), ("mobile", 593), ("tablet", 113), ("bot", 94)
    ]
    browsers = {r["browser"] for r in run("web_browsers", **MONTH)}
    assert {"Chrome", "Mobile Safari", "Chrome Mobile", "Safari", "Firefox", "Edge", "Samsung Internet", "Googlebot"} == browsers
    assert {r["os"] for r in run("web_os", **MONTH)} == {"Windows", "Mac OS X", "iOS", "Android", "Linux", "(none)"}
    assert {r["host"] for r in run("web_top_pages", **MONTH)} == {"www.acme.example", "docs.acme.example"}
    # weekly rhythm: weekdays (without the two story days) well above weekends
    days = run("web_overview", **MONTH)
    weekday = [r["pageviews"] for r in days if r["bucket"].weekday() < 5 and r["bucket"].date() not in (NEWSLETTER_DAY, HN_DAY)]
    weekend = [r["pageviews"] for r in days if r["bucket"].weekday() >= 5]
    assert min(weekday) > max(weekend)
    assert sum(r["pageviews"] for r in days) == 3196 and sum(r["visits"] for r in days) == 1961


def test_signup_funnel_and_retention(run):
    funnel = run("product_funnel", steps=",".join(FUNNEL), **MONTH)
    assert [(r["event"], r["users"], r["dropped"]) for r in funnel] == [
        ("Signed Up", 94, None), ("Project Created", 58, 36), ("Invited Teammate", 23, 35)
    ]
    assert run("product_funnel", steps=",".join(FUNNEL), window_hours=96, **MONTH)[1]["users"] == 64  # + the late ones
    after = run("product_paths_after", event="Signed Up", steps=1, top=1, **MONTH)
    assert (after[0]["next_event"], after[0]["occurrences"]) == ("Project Created", 63)
    new = {r["day"]: r["signups"] for r in run("product_new_users", as_of=END, days=30)}
    assert sum(new.values()) == 94 and max(new, key=new.get) == NEWSLETTER_DAY and new[NEWSLETTER_DAY] == 11
    cohorts = run("product_retention", cohort_event="identify", as_of=END, days=28)
    week1 = {r["cohort"]: (r["users"], r["retained"]) for r in cohorts if r["period"] == 1}
    assert week1 == {dt.date(2024, 6, 3): (15, 8), dt.date(2024, 6, 10): (26, 16), dt.date(2024, 6, 17): (15, 8)}
    assert all(r["retained"] < r["users"] for r in cohorts if r["period"] >= 1)


def test_again_loads_nothing(sent, run):
    lake = sent[0]
    s = send_demo_events(lake, seed=7, days=30, end_date=END)
    assert (s.sent, s.accepted, s.loaded, s.duplicates, s.new_key) == (3919, 3919, 0, 3919, True)
    assert run.sql("SELECT count(*) AS n FROM events") == [{"n": 3919}]
    active = run.sql(f"SELECT count(*) AS n FROM collector_sources WHERE name = '{SOURCE}' AND NOT revoked")
    assert active == [{"n": 2}]  # append-only: the first row, and the new key's row (the revoked one in between)


def test_cli_events_and_report(tmp_path):
    runner = CliRunner()
    lake = str(tmp_path / "lake")
    res = runner.invoke(app, ["--lake", lake, "demo", "events", "--seed", "7", "--days", "3", "--end-date", "2024-06-30"])
    assert res.exit_code == 0, res.output
    text = " ".join(res.stdout.split())
    assert "demo web and product events 2024-06-28 .. 2024-06-30 through the collector (source demo-web" in text
    sent = int(text.split(" sent ")[1].split(" ")[0].replace(",", ""))
    assert f"accepted {sent:,}, loaded {sent:,} (0 duplicates, 0 quarantined)" in text
    res = runner.invoke(app, ["--lake", lake, "demo", "report"])
    assert res.exit_code == 0, res.output
    text = " ".join(res.stdout.split())
    assert "as of 2024-06-30" in text
    assert all(f"{name} ─" in text for name in ("web_top_referrers", "web_top_pages", "product_funnel"))
    assert "│ newsletter │" in text and "│ Invited Teammate │" in text
    bad = runner.invoke(app, ["--lake", lake, "demo", "events", "--days", "0"])
    assert bad.exit_code != 0 and "--days" in str(bad.exception)
