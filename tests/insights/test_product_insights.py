"""The product analytics insights (insights/product_*.sql) on the hand-built events of
tests/insights/events_fixture.py (its docstring lists every user's events). The answers
below are worked out by hand from that list. Users after merging identities: u1..u8 and
the never-identified a6 (a3's and a5's anonymous events belong to u3 and u5; a7's
anonymous page view to u8, the latest user_id seen with a7). Active days (track, page or
screen; the web snippet's page views have no id and belong to no one):

  05-06 u1 a6 | 05-07 u2 | 05-08 u2 u3 | 05-09 u7 u8 | 05-13 u3 a6 | 05-14 u1 u4 | 05-15 u2 u5
  05-16 u4 | 05-20 u5 a6 | 05-21 u1 u8 | 05-22 u1 u3 | 05-23 u1

First seen: u1 a6 05-06, u2 05-07, u3 05-08, u7 u8 05-09, u4 05-14, u5 05-15.
Signups (first identify): u1 05-06, u2 05-07, u7 05-09, u3 05-13, u4 05-14, u8 05-21.
"""

from __future__ import annotations

import datetime as dt

from eventlake.insights import list_insights
from tests.insights.common import duckdb_engine_fixture, run_rows, ts
from tests.insights.events_fixture import build_events_lake

WEEK3 = {"start_time": "2024-05-20T00:00", "end_time": "2024-05-27T00:00"}
ALL = {"start_time": "2024-05-06T00:00", "end_time": "2024-05-27T00:00"}
FUNNEL = "Signed Up,Project Created,Invited Teammate"

# Params under which each product insight has rows on the fixture lake (also used to
# compare DuckDB and Spark results).
FIXTURE_PARAMS: dict[str, dict[str, str]] = {
    "product_event_counts": dict(WEEK3),
    "product_event_trend": dict(WEEK3),
    "product_active_users": {"days": "7", "as_of": "2024-05-26"},
    "product_new_users": {"days": "21", "as_of": "2024-05-26"},
    "product_retention": {"as_of": "2024-05-26", "days": "21", "periods": "2"},
    "product_funnel": {**ALL, "steps": FUNNEL},
    "product_paths_after": {**ALL, "event": "Signed Up", "steps": "2"},
}

engine = duckdb_engine_fixture(build_events_lake, "product-insights")


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def run(engine, name, **overrides):
    return run_rows(engine, name, {**FIXTURE_PARAMS[name], **overrides})


def test_every_product_insight_has_fixture_params():
    product = [i for i in list_insights() if i.category == "product"]
    assert sorted(FIXTURE_PARAMS) == [i.name for i in product]
    assert all(i.name.startswith("product_") and i.description for i in product)


def test_every_product_insight_has_rows_on_the_fixture(engine):
    for name in FIXTURE_PARAMS:
        assert run(engine, name)[1], name


def test_product_event_counts(engine):
    cols, rows = run(engine, "product_event_counts")
    assert cols == ["event", "events", "users", "previous_events", "previous_users", "change"]
    # this week (05-20..26) against 05-13..19
    assert rows == [
        ("Report Viewed", 4, 3, 4, 4, 0.0),  # u1 twice, u3, a6 | a6, u1, u2, u5 (as a5)
        ("Signed Up", 2, 2, 2, 2, 0.0),  # u5, u8 | u3, u4
        ("Invited Teammate", 1, 1, 2, 2, -0.5),
        ("Project Created", 1, 1, 2, 2, -0.5),
        ("Upgraded", 1, 1, 0, 0, None),
        ("Exported CSV", 0, 0, 1, 1, -1.0),  # only in the previous week
    ]


def test_product_event_counts_merge_identities(engine):
    _, rows = run(engine, "product_event_counts", **ALL)
    assert rows == [
        # 10 events by a6 (3), u1 (3), u3 (2, one as a3), u2, u5 (as a5): 5 users, not 7
        ("Report Viewed", 10, 5, 0, 0, None),
        ("Signed Up", 7, 7, 0, 0, None),
        ("Invited Teammate", 5, 5, 0, 0, None),
        ("Project Created", 5, 5, 0, 0, None),
        ("Exported CSV", 1, 1, 0, 0, None),
        ("Upgraded", 1, 1, 0, 0, None),
    ]


def test_product_event_trend(engine):
    cols, rows = run(engine, "product_event_trend")
    assert cols == ["bucket", "bucket_size", "event", "events", "users"]
    assert rows == [
        (ts("2024-05-20 00:00"), "day", "*", 4, 2),  # u5's three steps, a6
        (ts("2024-05-21 00:00"), "day", "*", 2, 2),
        (ts("2024-05-22 00:00"), "day", "*", 2, 2),
        (ts("2024-05-23 00:00"), "day", "*", 1, 1),
        (ts("2024-05-24 00:00"), "day", "*", 0, 0),
        (ts("2024-05-25 00:00"), "day", "*", 0, 0),
        (ts("2024-05-26 00:00"), "day", "*", 0, 0),
    ]


def test_product_event_trend_one_event_and_buckets(engine):
    _, rows = run(engine, "product_event_trend", event="Report Viewed", bucket="week", start_time="2024-05-06T00:00")
    assert rows == [
        (ts("2024-05-06 00:00"), "week", "Report Viewed", 2, 2),  # a6, u3 (as a3)
        (ts("2024-05-13 00:00"), "week", "Report Viewed", 4, 4),
        (ts("2024-05-20 00:00"), "week", "Report Viewed", 4, 3),
    ]
    _, rows = run(engine, "product_event_trend", start_time="2024-05-20T08:00", end_time="2024-05-20T13:00")
    assert rows == [  # 5 hours: auto is hourly
        (ts("2024-05-20 08:00"), "hour", "*", 0, 0),
        (ts("2024-05-20 09:00"), "hour", "*", 3, 1),
        (ts("2024-05-20 10:00"), "hour", "*", 0, 0),
        (ts("2024-05-20 11:00"), "hour", "*", 0, 0),
        (ts("2024-05-20 12:00"), "hour", "*", 1, 1),
    ]
    _, rows = run(engine, "product_event_trend", bucket="month", start_time="2024-05-01T00:00", end_time="2024-06-01T00:00")
    # every track event of May, by u1..u5, u7, u8 and a6
    assert rows == [(ts("2024-05-01 00:00"), "month", "*", 29, 8)]
    assert run(engine, "product_event_trend", bucket="fortnight")[1] == []
    assert run(engine, "product_event_trend", event="Nope")[1] == []  # no such event at all: no rows, not zeros


def test_product_active_users(engine):
    cols, rows = run(engine, "product_active_users")
    assert cols == ["day", "dau", "wau", "mau"]
    assert rows == [
        (d("2024-05-20"), 2, 5, 8),  # WAU 05-14..20: u1 u4 u2 u5 a6
        (d("2024-05-21"), 2, 6, 8),  # 05-15..21: u2 u5 u4 a6 u1 u8
        (d("2024-05-22"), 2, 6, 8),  # 05-16..22: u4 u5 a6 u1 u8 u3
        (d("2024-05-23"), 1, 5, 8),
        (d("2024-05-24"), 0, 5, 8),
        (d("2024-05-25"), 0, 5, 8),
        (d("2024-05-26"), 0, 5, 8),
    ]
    # 30 days ending 06-08 start on 05-10: u7, only seen on 05-09, is out
    assert run(engine, "product_active_users", days="1", as_of="2024-06-08")[1] == [(d("2024-06-08"), 0, 0, 7)]
    assert run(engine, "product_active_users", days="0")[1] == []
    # the last activity is u1's on 05-23: in the 30 days ending 06-21, not in those ending 06-22
    assert run(engine, "product_active_users", days="1", as_of="2024-06-21")[1] == [(d("2024-06-21"), 0, 0, 1)]
    assert run(engine, "product_active_users", days="1", as_of="2024-06-22")[1] == []  # no one active: no rows


def test_product_new_users(engine):
    cols, rows = run(engine, "product_new_users")
    assert cols == ["day", "new_users", "signups", "total_users"]
    expected = {  # day: (new users, signups, total); every other day (0, 0, running total)
        "2024-05-06": (2, 1, 2), "2024-05-07": (1, 1, 3), "2024-05-08": (1, 0, 4), "2024-05-09": (2, 1, 6),
        "2024-05-13": (0, 1, 6), "2024-05-14": (1, 1, 7), "2024-05-15": (1, 0, 8), "2024-05-21": (0, 1, 8),
    }
    total, want = 0, []
    for i in range(21):
        day = d("2024-05-06") + dt.timedelta(days=i)
        new, signups, total = expected.get(day.isoformat(), (0, 0, total))
        want.append((day, new, signups, total))
    assert rows == want
    # a window that starts later counts the users seen before it in the total
    assert run(engine, "product_new_users", days="7", as_of="2024-05-15")[1] == [
        (d("2024-05-09"), 2, 1, 6),  # u7 and u8 (a7's anonymous page view); u7 signs up
        (d("2024-05-10"), 0, 0, 6),
        (d("2024-05-11"), 0, 0, 6),
        (d("2024-05-12"), 0, 0, 6),
        (d("2024-05-13"), 0, 1, 6),  # u3 signs up, but was first seen on 05-08 (as a3)
        (d("2024-05-14"), 1, 1, 7),
        (d("2024-05-15"), 1, 0, 8),  # u5, seen as a5 before the alias of 05-20
    ]
    assert run(engine, "product_new_users", as_of="2024-05-05")[1] == []  # no one seen yet


def test_product_retention_weekly_first_seen(engine):
    cols, rows = run(engine, "product_retention")
    assert cols == ["cohort", "period", "users", "retained", "rate"]
    assert rows == [
        (d("2024-05-06"), 0, 6, 6, 1.0),  # u1 a6 u2 u3 u7 u8
        (d("2024-05-06"), 1, 6, 4, 0.6667),  # u1 u2 u3 a6
        (d("2024-05-06"), 2, 6, 4, 0.6667),  # u1 u3 a6 u8
        (d("2024-05-13"), 0, 2, 2, 1.0),  # u4 u5
        (d("2024-05-13"), 1, 2, 1, 0.5),  # u5; period 2 (from 05-27) has not started by as_of
    ]
    assert run(engine, "product_retention", periods="0")[1] == [
        (d("2024-05-06"), 0, 6, 6, 1.0), (d("2024-05-13"), 0, 2, 2, 1.0),
    ]


def test_product_retention_by_signup(engine):
    _, rows = run(engine, "product_retention", cohort_event="identify")
    assert rows == [
        (d("2024-05-06"), 0, 3, 3, 1.0),  # u1 u2 u7
        (d("2024-05-06"), 1, 3, 2, 0.6667),  # u1 u2
        (d("2024-05-06"), 2, 3, 1, 0.3333),  # u1
        (d("2024-05-13"), 0, 2, 2, 1.0),  # u3 (first seen the week before) u4
        (d("2024-05-13"), 1, 2, 1, 0.5),  # u3
        (d("2024-05-20"), 0, 1, 1, 1.0),  # u8; u5 never called identify (alias only)
    ]
    _, rows = run(engine, "product_retention", cohort_event="Upgraded")
    assert rows == [(d("2024-05-20"), 0, 1, 1, 1.0)]  # u1


def test_product_retention_daily(engine):
    _, rows = run(engine, "product_retention", cohort_by="day", as_of="2024-05-16", days="3")
    assert rows == [
        (d("2024-05-14"), 0, 1, 1, 1.0),  # u4
        (d("2024-05-14"), 1, 1, 0, 0.0),
        (d("2024-05-14"), 2, 1, 1, 1.0),  # back on 05-16
        (d("2024-05-15"), 0, 1, 1, 1.0),  # u5
        (d("2024-05-15"), 1, 1, 0, 0.0),  # its 05-20 visit is after as_of; period 2 not started
    ]
    assert run(engine, "product_retention", cohort_by="month")[1] == []


def test_product_funnel(engine):
    cols, rows = run(engine, "product_funnel")
    assert cols == ["step", "event", "users", "dropped", "dropoff_rate", "conversion"]
    assert rows == [
        (1, "Signed Up", 7, None, None, 1.0),  # u1 u2 u7 u3 u4 u5 u8
        # u1, u3, u5 within 24 h; u2's project came 27 h later, u4's 49 h later
        (2, "Project Created", 3, 4, 0.5714, 0.4286),
        # u1, u5; u3 invited before creating the project: out of order
        (3, "Invited Teammate", 2, 1, 0.3333, 0.2857),
    ]


def test_product_funnel_window_and_range(engine):
    _, rows = run(engine, "product_funnel", window_hours="48", steps=" Signed Up , Project Created,Invited Teammate ")
    assert rows == [  # u2 now converts (27 h, 28 h); u4's project is 49 h after its signup
        (1, "Signed Up", 7, None, None, 1.0),
        (2, "Project Created", 4, 3, 0.4286, 0.5714),
        (3, "Invited Teammate", 3, 1, 0.25, 0.4286),
    ]
    _, rows = run(engine, "product_funnel", window_hours="72")
    # u4 reaches step 2 (49 h) but its invite came before the project: still out of order
    assert [r[2] for r in rows] == [7, 5, 3]
    # entering needs step 1 in the range; later steps may come after end_time (u5: 09:10, 09:20)
    _, rows = run(engine, "product_funnel", end_time="2024-05-20T09:06")
    assert rows == [
        (1, "Signed Up", 6, None, None, 1.0),
        (2, "Project Created", 3, 3, 0.5, 0.5),
        (3, "Invited Teammate", 2, 1, 0.3333, 0.3333),
    ]
    _, rows = run(engine, "product_funnel", start_time="2024-05-13T00:00")
    assert [r[2] for r in rows] == [4, 2, 1]  # u3 u4 u5 u8; u3 u5; u5


def test_product_funnel_repeated_and_invalid_steps(engine):
    # the same event twice: the second must be strictly later, within the window
    _, rows = run(engine, "product_funnel", steps="Report Viewed,Report Viewed", window_hours="192")
    assert rows == [
        (1, "Report Viewed", 5, None, None, 1.0),  # a6 u3 u1 u2 u5
        (2, "Report Viewed", 2, 3, 0.6, 0.4),  # a6 (165 h), u1 (168 h); u3's next is 14 days on
    ]
    assert run(engine, "product_funnel", steps="Signed Up")[1] == []
    assert run(engine, "product_funnel", steps="Nope,Signed Up")[1] == []  # no one entered
    assert run(engine, "product_funnel", steps="Signed Up,,Upgraded")[1] == []
    assert run(engine, "product_funnel", steps="a,b,c,d,e,f,g,h,i")[1] == []
    _, rows = run(engine, "product_funnel", steps="Signed Up,Upgraded,b,c,d,e,f,g")
    assert [(r[0], r[2]) for r in rows] == [(1, 7), (2, 0), (3, 0), (4, 0), (5, 0), (6, 0), (7, 0), (8, 0)]


def test_product_paths_after(engine):
    cols, rows = run(engine, "product_paths_after")
    assert cols == ["position", "rank", "next_event", "occurrences", "share"]
    # 7 signups: u1 PC IT, u2 PC IT, u3 IT PC, u4 IT PC, u5 PC IT, u7 and u8 nothing after
    assert rows == [
        (1, 1, "Project Created", 3, 0.4286),
        (1, 2, "(end)", 2, 0.2857),
        (1, 3, "Invited Teammate", 2, 0.2857),
        (2, 1, "Invited Teammate", 3, 0.4286),
        (2, 2, "(end)", 2, 0.2857),
        (2, 3, "Project Created", 2, 0.2857),
    ]
    assert run(engine, "product_paths_after", top="1")[1] == [
        (1, 1, "Project Created", 3, 0.4286), (2, 1, "Invited Teammate", 3, 0.4286),
    ]
    assert run(engine, "product_paths_after", steps="0")[1] == []


def test_product_paths_after_range_and_identities(engine):
    # the range bounds the following events too: u5's project (09:10) is after end_time
    _, rows = run(engine, "product_paths_after", steps="1", end_time="2024-05-20T09:07")
    assert rows == [
        (1, 1, "(end)", 2, 0.3333),  # u5, u7
        (1, 2, "Invited Teammate", 2, 0.3333),
        (1, 3, "Project Created", 2, 0.3333),
    ]
    # 10 reports; u3's (as a3) and u5's (as a5) anonymous reports lead to their signups
    _, rows = run(engine, "product_paths_after", event="Report Viewed", steps="1")
    assert rows == [
        (1, 1, "(end)", 4, 0.4),
        (1, 2, "Report Viewed", 3, 0.3),
        (1, 3, "Signed Up", 2, 0.2),
        (1, 4, "Upgraded", 1, 0.1),
    ]
