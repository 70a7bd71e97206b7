"""The web analytics insights (insights/web_*.sql) on the hand-built events of
tests/insights/events_fixture.py (its docstring lists every visit). The answers below are
worked out by hand from that list. In the week 2024-05-20 .. 05-26 (the fixture range):
30 page views and 15 visits,

  per day   05-20: 8 pv / 4 visits (V1 V2 V3 V4)   05-21: 4 / 2 (V4's 2nd page, V5, V6)
            05-22: 7 / 3 (V7 V13 V8)   05-23: 3 / 1   05-24: 1 / 1   05-25: 5 / 3   05-26: 2 / 1
  sources   (direct) V2 V7 V14 V11; google.com V1 V5 V13 V8; news.ycombinator.com V3 V6;
            newsletter (utm only) V4 V10; bing.com V15; docs.acme.test V9; twitter (utm) V16
"""

from __future__ import annotations

from eventlake.insights import get_insight, list_insights
from tests.insights.common import duckdb_engine_fixture, run_rows, ts
from tests.insights.events_fixture import build_events_lake

RANGE = {"start_time": "2024-05-20T00:00", "end_time": "2024-05-27T00:00"}
WWW, DOCS, BLOG = "www.acme.test", "docs.acme.test", "blog.acme.test"
FILTERS = ["start_time", "end_time", "site", "path", "country", "device_type", "browser", "os", "referrer_host", "utm_source"]

# Params under which each web insight has rows on the fixture lake (also used to compare
# DuckDB and Spark results).
FIXTURE_PARAMS: dict[str, dict[str, str]] = {
    "web_overview": dict(RANGE),
    "web_top_pages": dict(RANGE),
    "web_entry_pages": dict(RANGE),
    "web_top_referrers": dict(RANGE),
    "web_countries": dict(RANGE),
    "web_devices": dict(RANGE),
    "web_browsers": dict(RANGE),
    "web_os": dict(RANGE),
    "web_breakdown": {**RANGE, "group_by": "utm_medium", "metric": "visits"},
}

engine = duckdb_engine_fixture(build_events_lake, "web-insights")


def run(engine, name, **overrides):
    return run_rows(engine, name, {**FIXTURE_PARAMS[name], **overrides})


def test_every_web_insight_has_fixture_params_and_the_filters():
    web = [i for i in list_insights() if i.category == "web"]
    assert sorted(FIXTURE_PARAMS) == [i.name for i in web]
    for i in web:
        assert i.name.startswith("web_") and i.description
        assert [p.name for p in i.params][: len(FILTERS)] == FILTERS, i.name
        assert all(not p.required for p in i.params), i.name
        assert get_insight(i.name).param("start_time").default == "now-7d"


def test_every_web_insight_has_rows_on_the_fixture(engine):
    for name in FIXTURE_PARAMS:
        assert run(engine, name)[1], name


def test_web_overview_auto_is_daily_for_a_week(engine):
    cols, rows = run(engine, "web_overview")
    assert cols == ["bucket", "bucket_size", "pageviews", "visits", "views_per_visit"]
    assert rows == [
        (ts("2024-05-20 00:00"), "day", 8, 4, 2.0),
        (ts("2024-05-21 00:00"), "day", 4, 2, 2.0),  # V4's second page at 00:05 counts on the 21st
        (ts("2024-05-22 00:00"), "day", 7, 3, 2.33),
        (ts("2024-05-23 00:00"), "day", 3, 1, 3.0),
        (ts("2024-05-24 00:00"), "day", 1, 1, 1.0),
        (ts("2024-05-25 00:00"), "day", 5, 3, 1.67),
        (ts("2024-05-26 00:00"), "day", 2, 1, 2.0),
    ]  # V0 (05-19 23:59) is before the range, V12 (05-27 00:00) at its exclusive end


def test_web_overview_hourly_with_empty_buckets(engine):
    _, rows = run(engine, "web_overview", start_time="2024-05-20T22:00", end_time="2024-05-21T02:00")
    assert rows == [
        (ts("2024-05-20 22:00"), "hour", 0, 0, None),
        (ts("2024-05-20 23:00"), "hour", 1, 1, 1.0),  # V4 lands at 23:50
        (ts("2024-05-21 00:00"), "hour", 1, 0, None),  # and moves on at 00:05
        (ts("2024-05-21 01:00"), "hour", 0, 0, None),
    ]


def test_web_overview_auto_bucket_boundaries(engine):
    def sizes(start, end):
        rows = run(engine, "web_overview", start_time=start, end_time=end)[1]
        return {r[1] for r in rows}, len(rows)

    assert sizes("2024-05-20T00:00", "2024-05-22T00:00") == ({"hour"}, 48)  # 2 days: still hourly
    assert sizes("2024-05-20T00:00", "2024-05-22T00:01") == ({"day"}, 3)  # a minute more: daily
    assert sizes("2024-02-26T00:00", "2024-05-26T00:00") == ({"day"}, 90)  # 90 days: daily
    # more than 90 days: weekly, from the week (Monday) holding the start (2024-02-01, a Thursday)
    _, rows = run(engine, "web_overview", start_time="2024-02-01T00:00", end_time="2024-05-27T00:00")
    assert {r[1] for r in rows} == {"week"} and len(rows) == 17
    assert rows[0][0] == ts("2024-01-29 00:00") and rows[-1][0] == ts("2024-05-20 00:00")
    assert [r for r in rows if r[2]] == [
        (ts("2024-05-06 00:00"), "week", 2, 2, 1.0),  # the app's page views of 05-06 and 05-09
        (ts("2024-05-13 00:00"), "week", 8, 5, 1.6),  # V17, V18, V19, V0 and the app's of 05-15
        (ts("2024-05-20 00:00"), "week", 30, 15, 2.0),
    ]


def test_web_overview_explicit_buckets(engine):
    _, rows = run(engine, "web_overview", start_time="2024-05-13T00:00", bucket="week")
    assert rows == [
        # V17 (2 pv), V18 (1), V19 (3), V0 (1) and app-25 (1): 8 page views, 5 visits
        (ts("2024-05-13 00:00"), "week", 8, 5, 1.6),
        (ts("2024-05-20 00:00"), "week", 30, 15, 2.0),
    ]
    _, rows = run(engine, "web_overview", start_time="2024-05-01T00:00", end_time="2024-06-01T00:00", bucket="month")
    # all of May: the week's 30, V0, V12, V17-V19 (6) and the app's 3 page views
    assert rows == [(ts("2024-05-01 00:00"), "month", 41, 23, 1.78)]
    assert run(engine, "web_overview", bucket="fortnight")[1] == []  # unknown: no rows
    assert run(engine, "web_overview", site="nope.test")[1] == []  # no page view at all: no rows, not zeros


def test_web_overview_filters(engine):
    _, rows = run(engine, "web_overview", site=DOCS)
    assert [r[2:4] for r in rows] == [(3, 1), (0, 0), (1, 1), (0, 0), (0, 0), (2, 1), (0, 0)]  # V3, V8, V14
    _, rows = run(engine, "web_overview", bucket="week", referrer_host="(direct)")
    assert rows == [(ts("2024-05-20 00:00"), "week", 4, 4, 1.0)]  # only the landing pages have no referrer
    _, rows = run(engine, "web_overview", bucket="week", site=WWW, device_type="mobile", browser="Chrome", os="Android",
                  country="US", utm_source="adwords", path="/pricing", referrer_host="google.com")
    assert rows == [(ts("2024-05-20 00:00"), "week", 1, 1, 1.0)]  # V5's landing page


def test_web_top_pages(engine):
    cols, rows = run(engine, "web_top_pages")
    assert cols == ["rank", "host", "path", "pageviews", "entries", "share"]
    assert rows == [
        (1, WWW, "/pricing", 7, 4, 0.2333),
        (2, WWW, "/", 5, 5, 0.1667),
        (3, WWW, "/signup", 4, 0, 0.1333),
        (4, DOCS, "/guide", 3, 2, 0.1),
        # 2 page views: more entries first, then by site and path
        (5, BLOG, "/post-1", 2, 1, 0.0667),
        (6, DOCS, "/api", 2, 1, 0.0667),
        (7, WWW, "/features", 2, 1, 0.0667),
        (8, WWW, "/welcome", 2, 0, 0.0667),
        (9, BLOG, "/post-2", 1, 1, 0.0333),
        (10, DOCS, "/guide/install", 1, 0, 0.0333),
        (11, WWW, "/about", 1, 0, 0.0333),
    ]
    assert [r[1:3] for r in run(engine, "web_top_pages", top="2")[1]] == [(WWW, "/pricing"), (WWW, "/")]


def test_web_top_pages_filters(engine):
    # page views whose source is google.com: the landing pages of V1, V5, V13, V8
    assert run(engine, "web_top_pages", referrer_host="google.com")[1] == [
        (1, WWW, "/", 2, 2, 0.5),
        (2, DOCS, "/guide", 1, 1, 0.25),
        (3, WWW, "/pricing", 1, 1, 0.25),
    ]
    assert run(engine, "web_top_pages", utm_source="newsletter")[1] == [  # utm tags sit on landing pages only
        (1, WWW, "/", 1, 1, 0.5),
        (2, WWW, "/features", 1, 1, 0.5),
    ]
    assert run(engine, "web_top_pages", country="(none)")[1] == [(1, DOCS, "/guide", 1, 1, 1.0)]  # V8
    # the app's track events carry host app.acme.test and a path, but are not page views
    assert run(engine, "web_top_pages", site="app.acme.test", start_time="2024-05-01T00:00")[1] == [
        (1, "app.acme.test", "/", 2, 2, 0.6667),
        (2, "app.acme.test", "/pricing", 1, 1, 0.3333),
    ]
    assert run(engine, "web_top_pages", site="nope.test")[1] == []


def test_web_entry_pages(engine):
    cols, rows = run(engine, "web_entry_pages")
    assert cols == ["rank", "host", "path", "visits", "share"]
    assert rows == [
        (1, WWW, "/", 5, 0.3333),
        (2, WWW, "/pricing", 4, 0.2667),
        (3, DOCS, "/guide", 2, 0.1333),
        (4, BLOG, "/post-1", 1, 0.0667),
        (5, BLOG, "/post-2", 1, 0.0667),
        (6, DOCS, "/api", 1, 0.0667),
        (7, WWW, "/features", 1, 0.0667),
    ]
    assert run(engine, "web_entry_pages", site=BLOG, path="/post-1")[1] == [(1, BLOG, "/post-1", 1, 1.0)]


def test_web_top_referrers(engine):
    cols, rows = run(engine, "web_top_referrers")
    assert cols == ["rank", "source", "visits", "share", "entry_pages"]
    assert rows == [
        (1, "(direct)", 4, 0.2667, 3),  # www /pricing, www / (twice), docs /api
        (2, "google.com", 4, 0.2667, 3),  # www /, www /pricing, www /, docs /guide
        (3, "news.ycombinator.com", 2, 0.1333, 2),
        (4, "newsletter", 2, 0.1333, 2),  # no referrer: the utm_source
        (5, "bing.com", 1, 0.0667, 1),
        (6, "docs.acme.test", 1, 0.0667, 1),  # another host of the same domain starts a visit
        (7, "twitter", 1, 0.0667, 1),
    ]  # V5's google.com referrer wins over its utm_source adwords; the sites' own pages are no source
    assert run(engine, "web_top_referrers", path="/pricing")[1] == [
        (1, "(direct)", 1, 0.25, 1),
        (2, "bing.com", 1, 0.25, 1),
        (3, "docs.acme.test", 1, 0.25, 1),
        (4, "google.com", 1, 0.25, 1),
    ]


def test_web_countries(engine):
    cols, rows = run(engine, "web_countries")
    assert cols == ["rank", "country", "visits", "pageviews", "share"]
    assert rows == [
        (1, "US", 7, 17, 0.4667),
        (2, "DE", 4, 7, 0.2667),
        (3, "FR", 2, 4, 0.1333),
        (4, "(none)", 1, 1, 0.0667),  # V8 has no country
        (5, "GB", 1, 1, 0.0667),
    ]
    assert run(engine, "web_countries", device_type="mobile")[1] == [
        (1, "US", 3, 5, 0.6),  # V5, V10, V16
        (2, "DE", 1, 1, 0.2),
        (3, "GB", 1, 1, 0.2),
    ]


def test_web_devices(engine):
    cols, rows = run(engine, "web_devices")
    assert cols == ["rank", "device_type", "visits", "pageviews", "share"]
    assert rows == [(1, "desktop", 9, 21, 0.6), (2, "mobile", 5, 7, 0.3333), (3, "tablet", 1, 2, 0.0667)]
    assert run(engine, "web_devices", browser="Safari", os="iOS")[1] == [
        (1, "mobile", 3, 4, 0.75),  # V2, V10, V16
        (2, "tablet", 1, 2, 0.25),  # V7
    ]


def test_web_browsers(engine):
    cols, rows = run(engine, "web_browsers")
    assert cols == ["rank", "browser", "visits", "pageviews", "share"]
    assert rows == [(1, "Chrome", 7, 14, 0.4667), (2, "Safari", 5, 8, 0.3333), (3, "Firefox", 3, 8, 0.2)]
    assert run(engine, "web_browsers", top="1", site=DOCS)[1] == [(1, "Firefox", 2, 5, 0.6667)]  # V3, V14 (V8: Chrome)


def test_web_os(engine):
    cols, rows = run(engine, "web_os")
    assert cols == ["rank", "os", "visits", "pageviews", "share"]
    assert rows == [
        (1, "Windows", 4, 9, 0.2667),
        (2, "iOS", 4, 6, 0.2667),  # as many visits: more page views first
        (3, "macOS", 3, 7, 0.2),
        (4, "Linux", 2, 5, 0.1333),
        (5, "Android", 2, 3, 0.1333),
    ]


def test_web_breakdown(engine):
    cols, rows = run(engine, "web_breakdown")
    assert cols == ["rank", "dimension", "value", "pageviews", "visits", "share"]
    assert rows == [  # share of visits (metric)
        (1, "utm_medium", "(none)", 26, 11, 0.7333),
        (2, "utm_medium", "email", 2, 2, 0.1333),
        (3, "utm_medium", "cpc", 1, 1, 0.0667),
        (4, "utm_medium", "social", 1, 1, 0.0667),
    ]


def test_web_breakdown_by_source_and_host(engine):
    _, rows = run(engine, "web_breakdown", group_by="referrer_host", metric="pageviews")
    assert rows == [  # share of page views; after the first page of a visit the source is the site itself
        (1, "referrer_host", WWW, 11, 0, 0.3667),
        (2, "referrer_host", "(direct)", 4, 4, 0.1333),
        (3, "referrer_host", "google.com", 4, 4, 0.1333),
        (4, "referrer_host", DOCS, 4, 1, 0.1333),  # docs' own pages, and V9 arriving on www from docs
        (5, "referrer_host", "news.ycombinator.com", 2, 2, 0.0667),
        (6, "referrer_host", "newsletter", 2, 2, 0.0667),
        (7, "referrer_host", "bing.com", 1, 1, 0.0333),
        (8, "referrer_host", "twitter", 1, 1, 0.0333),
        (9, "referrer_host", BLOG, 1, 0, 0.0333),
    ]
    _, rows = run(engine, "web_breakdown", group_by="host", metric="visits")
    assert rows == [
        (1, "host", WWW, 21, 10, 0.6667),
        (2, "host", DOCS, 6, 3, 0.2),
        (3, "host", BLOG, 3, 2, 0.1333),
    ]
    # path alone: the same path on several sites is one row
    _, rows = run(engine, "web_breakdown", group_by="path", metric="visits", top="3")
    assert rows == [
        (1, "path", "/", 5, 5, 0.3333),
        (2, "path", "/pricing", 7, 4, 0.2667),
        (3, "path", "/guide", 3, 2, 0.1333),
    ]
    _, rows = run(engine, "web_breakdown", group_by="utm_campaign", utm_source="newsletter")
    assert rows == [(1, "utm_campaign", "may", 2, 2, 1.0)]


def test_web_breakdown_every_dimension_and_unknown_values(engine):
    for dim in ("path", "referrer_host", "country", "device_type", "browser", "os", "utm_source", "utm_medium",
                "utm_campaign", "host"):
        _, rows = run(engine, "web_breakdown", group_by=dim, metric="pageviews", top="100")
        assert sum(r[3] for r in rows) == 30 and sum(r[4] for r in rows) == 15, dim
    assert run(engine, "web_breakdown", group_by="city")[1] == []
    assert run(engine, "web_breakdown", metric="bounces")[1] == []
