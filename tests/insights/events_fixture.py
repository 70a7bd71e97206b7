"""A small hand-built `events` table for the web and product insights; the answers are
written out in test_web_insights.py and test_product_insights.py.

Web (privacy-first page views from the site snippet: no anonymous_id, no user_id). Each
visit is listed below with its pages; a visit's first page view has visit_start = true and
the external referrer (or none), the next ones have the previous page of the same site as
referrer (referrer_host = the site) and visit_start = false. UTM tags are on the landing
page only. Week of 2024-05-20 (FIXTURE_PARAMS: 2024-05-20T00:00 to 2024-05-27T00:00):

  V1  www  05-20 09:00  google.com                 US desktop Chrome  Windows  / /pricing /signup
  V2  www  05-20 10:30  (none)                     DE mobile  Safari  iOS      /pricing
  V3  docs 05-20 11:00  news.ycombinator.com       US desktop Firefox Linux    /guide /guide/install /api
  V4  www  05-20 23:50  utm newsletter/email/may   FR desktop Safari  macOS    / (23:50), /features (05-21 00:05)
  V5  www  05-21 08:00  google.com + utm adwords/cpc/brand  US mobile Chrome Android  /pricing /signup
  V6  blog 05-21 12:00  news.ycombinator.com       DE desktop Chrome  Windows  /post-1
  V7  www  05-22 14:00  (none)                     US tablet  Safari  iOS      / /about
  V13 www  05-22 14:30  google.com                 US desktop Chrome  macOS    / /pricing /signup /welcome
  V8  docs 05-22 15:00  google.com                 (no country) desktop Chrome macOS  /guide
  V9  www  05-23 09:00  docs.acme.test             DE desktop Firefox Windows  /pricing /signup /welcome
  V10 www  05-24 18:00  utm newsletter/email/may   US mobile  Safari  iOS      /features
  V14 docs 05-25 10:00  (none)                     DE desktop Firefox Linux    /api /guide
  V15 www  05-25 11:00  bing.com                   GB mobile  Chrome  Android  /pricing
  V16 blog 05-25 16:00  utm twitter/social/launch  US mobile  Safari  iOS      /post-2 /post-1
  V11 www  05-26 20:00  (none)                     FR desktop Chrome  Windows  / /pricing

  = 30 page views, 15 visits. Outside that week: V0 www 05-19 23:59 (google.com, /) and
  V12 www 05-27 00:00 (direct, /: the end is exclusive); in the week of 05-13: V17 www
  05-14 10:00 (google.com, / /pricing), V18 www 05-16 12:00 (direct, /about), V19 docs
  05-17 09:00 (google.com, FR mobile Chrome Android, /guide /guide/install /api). The
  product app's own page views (below) are on app.acme.test in the first two weeks.
  Track events of the app carry a host and path too: web insights must ignore them.

Product (the app, app.acme.test; users by coalesce(user_id, anonymous_id), anonymous ids
merged into the latest user_id they were seen with, alias previous_id -> user_id):

  u1  a1 page 05-06 10:00, identify a1->u1 10:05, Signed Up 10:06, Project Created 10:20,
      Invited Teammate 11:00; Report Viewed 05-14 08:00, 05-21 08:00; Upgraded 05-22 10:00;
      Report Viewed 05-23 09:00
  u2  identify a2->u2 05-07 09:00, Signed Up 09:01; Project Created 05-08 12:00 (27 h later),
      Invited Teammate 05-08 13:00; Report Viewed 05-15 10:00
  u3  Report Viewed 05-08 16:00 as anonymous a3; identify a3->u3 05-13 10:00, Signed Up 10:01,
      Invited Teammate 10:30 (before the project), Project Created 11:00; Report Viewed 05-22 11:00
  u4  identify a4->u4 05-14 09:00, Signed Up 09:01, Invited Teammate 09:30; Project Created
      05-16 10:00 (49 h later), Exported CSV 05-16 10:30
  u5  page 05-15 14:00 and Report Viewed 14:02 as anonymous a5; alias a5->u5 05-20 09:00;
      Signed Up 09:05, Project Created 09:10, Invited Teammate 09:20 (user_id only)
  a6  never identified: Report Viewed 05-06 12:00, 05-13 09:00, 05-20 12:00
  u7  page 05-09 10:00 as anonymous a7, identify a7->u7 10:05, Signed Up 10:06
  u8  the same device a7 identified as u8 on 05-21 15:00, Signed Up 15:01: a7's anonymous
      page view of 05-09 belongs to u8 (the latest user_id seen with a7)
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from eventlake.lake import Lake
from eventlake.sources.base import insert_rows

COLUMNS = (
    "event_date", "timestamp", "received_at", "source", "message_id", "type", "event", "name", "anonymous_id",
    "user_id", "previous_id", "properties", "traits", "context", "host", "path", "url", "title", "referrer",
    "referrer_host", "visit_start", "utm_source", "utm_medium", "utm_campaign", "country", "device_type", "browser",
    "os", "library",
)

WWW, DOCS, BLOG, APP = "www.acme.test", "docs.acme.test", "blog.acme.test", "app.acme.test"

# (name, host, start "MM-DD HH:MM", referrer_host, (utm_source, utm_medium, utm_campaign) or None,
#  country, device_type, browser, os, [(path, minutes after the start), ...])
VISITS = [
    ("V0", WWW, "05-19 23:59", "google.com", None, "US", "desktop", "Chrome", "Windows", [("/", 0)]),
    ("V1", WWW, "05-20 09:00", "google.com", None, "US", "desktop", "Chrome", "Windows",
     [("/", 0), ("/pricing", 2), ("/signup", 5)]),
    ("V2", WWW, "05-20 10:30", None, None, "DE", "mobile", "Safari", "iOS", [("/pricing", 0)]),
    ("V3", DOCS, "05-20 11:00", "news.ycombinator.com", None, "US", "desktop", "Firefox", "Linux",
     [("/guide", 0), ("/guide/install", 4), ("/api", 10)]),
    ("V4", WWW, "05-20 23:50", None, ("newsletter", "email", "may"), "FR", "desktop", "Safari", "macOS",
     [("/", 0), ("/features", 15)]),
    ("V5", WWW, "05-21 08:00", "google.com", ("adwords", "cpc", "brand"), "US", "mobile", "Chrome", "Android",
     [("/pricing", 0), ("/signup", 3)]),
    ("V6", BLOG, "05-21 12:00", "news.ycombinator.com", None, "DE", "desktop", "Chrome", "Windows", [("/post-1", 0)]),
    ("V7", WWW, "05-22 14:00", None, None, "US", "tablet", "Safari", "iOS", [("/", 0), ("/about", 1)]),
    ("V13", WWW, "05-22 14:30", "google.com", None, "US", "desktop", "Chrome", "macOS",
     [("/", 0), ("/pricing", 1), ("/signup", 3), ("/welcome", 10)]),
    ("V8", DOCS, "05-22 15:00", "google.com", None, None, "desktop", "Chrome", "macOS", [("/guide", 0)]),
    ("V9", WWW, "05-23 09:00", DOCS, None, "DE", "desktop", "Firefox", "Windows",
     [("/pricing", 0), ("/signup", 1), ("/welcome", 3)]),
    ("V10", WWW, "05-24 18:00", None, ("newsletter", "email", "may"), "US", "mobile", "Safari", "iOS",
     [("/features", 0)]),
    ("V14", DOCS, "05-25 10:00", None, None, "DE", "desktop", "Firefox", "Linux", [("/api", 0), ("/guide", 5)]),
    ("V15", WWW, "05-25 11:00", "bing.com", None, "GB", "mobile", "Chrome", "Android", [("/pricing", 0)]),
    ("V16", BLOG, "05-25 16:00", None, ("twitter", "social", "launch"), "US", "mobile", "Safari", "iOS",
     [("/post-2", 0), ("/post-1", 3)]),
    ("V11", WWW, "05-26 20:00", None, None, "FR", "desktop", "Chrome", "Windows", [("/", 0), ("/pricing", 10)]),
    ("V12", WWW, "05-27 00:00", None, None, "US", "desktop", "Chrome", "Windows", [("/", 0)]),
    ("V17", WWW, "05-14 10:00", "google.com", None, "US", "desktop", "Chrome", "Windows", [("/", 0), ("/pricing", 1)]),
    ("V18", WWW, "05-16 12:00", None, None, "DE", "desktop", "Firefox", "Linux", [("/about", 0)]),
    ("V19", DOCS, "05-17 09:00", "google.com", None, "FR", "mobile", "Chrome", "Android",
     [("/guide", 0), ("/guide/install", 2), ("/api", 5)]),
]

# (id, "MM-DD HH:MM", type, event, anonymous_id, user_id, previous_id, path)
# page views of the app come from a google.com search (05-15) or directly.
PRODUCT = [
    (1, "05-06 10:00", "page", None, "a1", None, None, "/"),
    (2, "05-06 10:05", "identify", None, "a1", "u1", None, None),
    (3, "05-06 10:06", "track", "Signed Up", "a1", "u1", None, None),
    (4, "05-06 10:20", "track", "Project Created", "a1", "u1", None, None),
    (5, "05-06 11:00", "track", "Invited Teammate", "a1", "u1", None, None),
    (6, "05-06 12:00", "track", "Report Viewed", "a6", None, None, None),
    (7, "05-07 09:00", "identify", None, "a2", "u2", None, None),
    (8, "05-07 09:01", "track", "Signed Up", "a2", "u2", None, None),
    (9, "05-08 12:00", "track", "Project Created", "a2", "u2", None, None),
    (10, "05-08 13:00", "track", "Invited Teammate", "a2", "u2", None, None),
    (11, "05-08 16:00", "track", "Report Viewed", "a3", None, None, None),
    (12, "05-09 10:00", "page", None, "a7", None, None, "/"),
    (13, "05-09 10:05", "identify", None, "a7", "u7", None, None),
    (14, "05-09 10:06", "track", "Signed Up", "a7", "u7", None, None),
    (15, "05-13 09:00", "track", "Report Viewed", "a6", None, None, None),
    (16, "05-13 10:00", "identify", None, "a3", "u3", None, None),
    (17, "05-13 10:01", "track", "Signed Up", "a3", "u3", None, None),
    (18, "05-13 10:30", "track", "Invited Teammate", "a3", "u3", None, None),
    (19, "05-13 11:00", "track", "Project Created", "a3", "u3", None, None),
    (20, "05-14 08:00", "track", "Report Viewed", "a1", "u1", None, None),
    (21, "05-14 09:00", "identify", None, "a4", "u4", None, None),
    (22, "05-14 09:01", "track", "Signed Up", "a4", "u4", None, None),
    (23, "05-14 09:30", "track", "Invited Teammate", "a4", "u4", None, None),
    (24, "05-15 10:00", "track", "Report Viewed", "a2", "u2", None, None),
    (25, "05-15 14:00", "page", None, "a5", None, None, "/pricing"),
    (26, "05-15 14:02", "track", "Report Viewed", "a5", None, None, None),
    (27, "05-16 10:00", "track", "Project Created", "a4", "u4", None, None),
    (28, "05-16 10:30", "track", "Exported CSV", "a4", "u4", None, None),
    (29, "05-20 09:00", "alias", None, None, "u5", "a5", None),
    (30, "05-20 09:05", "track", "Signed Up", None, "u5", None, None),
    (31, "05-20 09:10", "track", "Project Created", None, "u5", None, None),
    (32, "05-20 09:20", "track", "Invited Teammate", None, "u5", None, None),
    (33, "05-20 12:00", "track", "Report Viewed", "a6", None, None, None),
    (34, "05-21 08:00", "track", "Report Viewed", "a1", "u1", None, None),
    (35, "05-21 15:00", "identify", None, "a7", "u8", None, None),
    (36, "05-21 15:01", "track", "Signed Up", "a7", "u8", None, None),
    (37, "05-22 10:00", "track", "Upgraded", "a1", "u1", None, None),
    (38, "05-22 11:00", "track", "Report Viewed", "a3", "u3", None, None),
    (39, "05-23 09:00", "track", "Report Viewed", "a1", "u1", None, None),
]


def _when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"2024-{text}").replace(tzinfo=dt.timezone.utc)


def _row(n: str, when: dt.datetime, type_: str, *, event=None, name=None, anonymous_id=None, user_id=None,
         previous_id=None, properties=None, traits=None, host=None, path=None, title=None, referrer=None,
         referrer_host=None, visit_start=None, utm=None, country=None, device_type=None, browser=None, os=None,
         library="analytics.js", source="web") -> tuple:
    utm = utm or (None, None, None)
    url = f"https://{host}{path}" if host and path else None
    context = {"library": {"name": library}}
    if url:
        context["page"] = {"url": url, "path": path, "referrer": referrer or ""}
    return (
        when.date(), when, when + dt.timedelta(seconds=2), source, n, type_, event, name, anonymous_id, user_id,
        previous_id, None if properties is None else json.dumps(properties), None if traits is None else json.dumps(traits),
        json.dumps(context), host, path, url, title, referrer, referrer_host, visit_start, *utm, country, device_type,
        browser, os, library,
    )


def web_rows() -> list[tuple]:
    rows = []
    for name, host, start, ref_host, utm, country, device, browser, os_, pages in VISITS:
        t0 = _when(start)
        previous = f"https://{ref_host}/" if ref_host else None
        for i, (path, minutes) in enumerate(pages):
            first = i == 0
            rows.append(_row(
                f"web-{name}-{i + 1}", t0 + dt.timedelta(minutes=minutes), "page", name=path.strip("/") or "home",
                host=host, path=path, title=f"{host}{path}", referrer=previous, referrer_host=ref_host if first else host,
                visit_start=first, utm=utm if first else None, country=country, device_type=device, browser=browser,
                os=os_, library="eventlake-snippet", source="site",
            ))
            previous = f"https://{host}{path}"
    return rows


def product_rows() -> list[tuple]:
    rows = []
    for n, when, type_, event, anon, user, previous_id, path in PRODUCT:
        common = dict(anonymous_id=anon, user_id=user, previous_id=previous_id, source="app", country="US",
                      device_type="desktop", browser="Chrome", os="macOS")
        if type_ == "page":
            ref = "google.com" if n == 25 else None
            rows.append(_row(f"app-{n:02d}", _when(when), "page", name=path.strip("/") or "home", host=APP, path=path,
                             title="Acme app", referrer=f"https://{ref}/" if ref else None, referrer_host=ref,
                             visit_start=True, **common))
        elif type_ == "track":
            # the app sends its page with every track call: host and path must not make it a page view
            rows.append(_row(f"app-{n:02d}", _when(when), "track", event=event, properties={"plan": "team"},
                             host=APP, path="/app", **common))
        elif type_ == "identify":
            rows.append(_row(f"app-{n:02d}", _when(when), "identify", traits={"email": f"{user}@acme.test"}, **common))
        else:  # alias
            rows.append(_row(f"app-{n:02d}", _when(when), "alias", **common))
    return rows


def insert_events(lake: Lake) -> None:
    """Append the fixture's events to `lake` (tables created when missing)."""
    con = lake.connect(create=True)
    try:
        lake.ensure_tables(con)
        with lake.transaction(con):
            insert_rows(con, "lake.events", COLUMNS, web_rows() + product_rows())
    finally:
        con.close()


def build_events_lake(path: Path | str) -> Lake:
    """A lake at `path` whose events table holds the fixture; returns the Lake."""
    lake = Lake(path)
    insert_events(lake)
    return lake
