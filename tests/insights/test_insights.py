"""Each built-in insight on the hand-built fixture (fixture.py); the right answers are
written out below, worked out by hand from the fixture's rows."""

from __future__ import annotations

from fixture import FIXTURE_PARAMS, build_fixture_lake

from eventlake.engines import get_engine
from eventlake.insights import list_insights, run_insight
from tests.insights.common import duckdb_engine_fixture, run_rows, ts

A, B, R = "111122223333", "444455556666", "us-east-1"


engine = duckdb_engine_fixture(build_fixture_lake, "insights")


def run(engine, name, **overrides):
    return run_rows(engine, name, {**FIXTURE_PARAMS[name], **overrides})


def test_every_insight_has_fixture_params():
    assert sorted(FIXTURE_PARAMS) == [i.name for i in list_insights() if i.category == "bi"]


def test_most_viewed_dashboards(engine):
    cols, rows = run(engine, "most_viewed_dashboards")
    assert cols == ["account_id", "region", "dashboard_id", "dashboard_name", "views", "viewers", "first_view", "last_view"]
    assert rows == [
        # eve x2, bea (id only in the response details), admin-ann; fay's view failed, gus's is too old
        (A, R, "d-sales", "Sales overview", 4, 3, ts("2024-03-20 14:00"), ts("2024-03-30 08:10")),
        # eve (id only in requestParameters, name from the snapshot) and ci-bot; eve's 04-02 view is after as_of
        (A, R, "d-ops", "Operations", 2, 2, ts("2024-03-15 10:00"), ts("2024-03-16 11:00")),
        (B, R, "d-sales", "Sales (account B)", 1, 1, ts("2024-03-26 12:00"), ts("2024-03-26 12:00")),
    ]


def test_most_viewed_dashboards_window(engine):
    _, rows = run(engine, "most_viewed_dashboards", days="3")  # 03-29 .. 03-31
    assert rows == [(A, R, "d-sales", "Sales overview", 1, 1, ts("2024-03-30 08:10"), ts("2024-03-30 08:10"))]


def test_most_updated_assets(engine):
    cols, rows = run(engine, "most_updated_assets")
    assert cols == ["account_id", "region", "asset_type", "asset_id", "asset_name", "asset_events", "event_name", "events",
                    "editors", "last_event_time"]
    assert rows == [
        (A, R, "analysis", "a-sales", "Sales analysis", 2, "UpdateAnalysis", 2, 1, ts("2024-03-21 10:00")),
        (A, R, "dashboard", "d-sales", "Sales overview", 2, "UpdateDashboard", 1, 1, ts("2024-03-21 10:30")),
        (A, R, "dashboard", "d-sales", "Sales overview", 2, "UpdateDashboardPublishedVersion", 1, 1, ts("2024-03-21 10:31")),
        # not in the snapshot: name from requestParameters, or none for a delete
        (A, R, "analysis", "a-new", "Scratch analysis", 1, "CreateAnalysis", 1, 1, ts("2024-03-22 09:00")),
        (A, R, "dashboard", "d-tmp", None, 1, "DeleteDashboard", 1, 1, ts("2024-03-05 16:00")),
    ]


def test_popular_datasets(engine):
    cols, rows = run(engine, "popular_datasets")
    assert cols == ["account_id", "region", "dataset_id", "dataset_name", "import_mode", "spice_bytes", "views", "viewers",
                    "dashboards", "analyses"]
    assert rows == [
        # d-sales 4 views + d-ops 2 + a-sales opened once; eve, bea, admin-ann, ci-bot
        (A, R, "ds-orders", "Orders", "SPICE", 5_000_000_000, 7, 4, 2, 1),
        (A, R, "ds-web", "Web sessions", "SPICE", 20_000_000_000, 2, 2, 1, 0),
        (A, R, "ds-legacy", "Legacy orders", "SPICE", 7_000_000_000, 0, 0, 1, 0),
        (A, R, "ds-fin", "Finance", "SPICE", 3_000_000_000, 0, 0, 0, 1),
        (A, R, "ds-hr", "HR roster", "SPICE", 1_000_000, 0, 0, 0, 1),
        (A, R, "ds-direct", "Live inventory", "DIRECT_QUERY", 0, 0, 0, 0, 0),
    ]


def test_user_activity(engine):
    cols, rows = run(engine, "user_activity")
    assert cols == ["account_id", "user_name", "role", "email", "active", "last_login", "last_view", "last_edit",
                    "last_activity", "days_since_activity", "logins", "views", "edits", "status"]
    assert rows == [
        (A, "admin-ann", "ADMIN", "admin-ann@example.com", True, ts("2024-03-30 07:55"), ts("2024-03-30 08:10"), None,
         ts("2024-03-30 08:10"), 1, 1, 1, 0, "active"),
        (A, "QuickSightReader/fay", "READER", "fay@example.com", True, ts("2024-03-29 17:45"), None, None,
         ts("2024-03-29 17:45"), 2, 3, 0, 0, "active"),
        # SAML logins matched through the assumed-role ARN, not the IdP subject eve@example.com
        (A, "QuickSightReader/eve", "READER", "eve@example.com", True, ts("2024-03-28 10:00"), ts("2024-03-28 11:00"), None,
         ts("2024-03-28 11:00"), 3, 2, 3, 0, "active"),
        # views: GetDashboard 03-20 + GetAnalysis 03-20; edits: five in March + the 03-05 delete (the failed one not)
        (A, "QuickSightAuthor/bea", "AUTHOR", "bea@example.com", True, ts("2024-03-20 12:55"), ts("2024-03-20 14:00"),
         ts("2024-03-22 09:00"), ts("2024-03-22 09:00"), 9, 1, 2, 6, "active"),
        # the failed console login of 03-19 does not count
        (A, "hal", "READER", "hal@example.com", True, ts("2024-03-18 15:00"), None, None, ts("2024-03-18 15:00"), 13, 1, 0, 0,
         "active"),
        (A, "QuickSightReader/gus", "READER", "gus@example.com", True, ts("2024-02-01 12:00"), ts("2024-02-01 12:10"), None,
         ts("2024-02-01 12:10"), 59, 0, 0, 0, "idle"),
        # cal is an AUTHOR in the snapshot in effect (S2), a READER in the older S1
        (A, "QuickSightAuthor/cal", "AUTHOR", "cal@example.com", True, ts("2024-01-10 09:00"), None, ts("2024-01-10 09:30"),
         ts("2024-01-10 09:30"), 81, 0, 0, 0, "idle"),
        (A, "QuickSightAuthor/dan", "AUTHOR", "dan@example.com", True, None, None, None, None, None, 0, 0, 0, "idle"),
    ]


def test_user_activity_uses_later_snapshot_for_later_as_of(engine):
    _, rows = run(engine, "user_activity", as_of="2024-04-06")
    names = {r[1]: r[2] for r in rows}
    assert names["QuickSightReader/zed"] == "READER"  # only in S3 (2024-04-05)
    assert names["QuickSightAuthor/dan"] == "READER"


def test_idle_authors(engine):
    cols, rows = run(engine, "idle_authors")
    assert cols == ["account_id", "user_name", "role", "email", "active", "last_login", "last_view", "last_edit",
                    "last_activity", "days_idle"]
    assert rows == [
        (A, "QuickSightAuthor/dan", "AUTHOR", "dan@example.com", True, None, None, None, None, None),
        (A, "QuickSightAuthor/cal", "AUTHOR", "cal@example.com", True, ts("2024-01-10 09:00"), None, ts("2024-01-10 09:30"),
         ts("2024-01-10 09:30"), 81),
    ]


def test_idle_authors_threshold(engine):
    _, rows = run(engine, "idle_authors", idle_days="82")  # cal's 81 idle days are now too few
    assert [r[1] for r in rows] == ["QuickSightAuthor/dan"]


def test_unused_datasets(engine):
    cols, rows = run(engine, "unused_datasets")
    assert cols == ["account_id", "region", "dataset_id", "dataset_name", "import_mode", "spice_bytes", "spice_gib",
                    "dashboards", "analyses", "last_used", "created_time", "updated_time"]
    assert rows == [
        # used only by d-old, never viewed
        (A, R, "ds-legacy", "Legacy orders", "SPICE", 7_000_000_000, 6.52, 1, 0, None, ts("2022-01-15 00:00"),
         ts("2023-03-01 00:00")),
        # a-fin was last opened on 2024-01-01, exactly 90 days before as_of: outside the window
        (A, R, "ds-fin", "Finance", "SPICE", 3_000_000_000, 2.79, 0, 1, ts("2024-01-01 10:00"), ts("2023-05-01 00:00"),
         ts("2023-12-01 00:00")),
        (A, R, "ds-direct", "Live inventory", "DIRECT_QUERY", 0, 0.0, 0, 0, None, ts("2023-09-01 00:00"),
         ts("2023-09-02 00:00")),
    ]
    # ds-hr stays used through cal's a-hr edit of 01-10; ds-gone (S1 only) and ds-new (S3 only) are not in S2


def test_logins_without_views(engine):
    cols, rows = run(engine, "logins_without_views")
    assert cols == ["account_id", "user_name", "role", "email", "logins", "logins_without_views",
                    "first_login_without_views", "last_login_without_views"]
    assert rows == [
        # fay's only view attempt failed (AccessDeniedException)
        (A, "QuickSightReader/fay", "READER", "fay@example.com", 3, 3, ts("2024-03-10 08:00"), ts("2024-03-29 17:45")),
        # 03-25: view exactly 30 minutes later counts; 03-28: the view came after 60 minutes
        (A, "QuickSightReader/eve", "READER", "eve@example.com", 2, 1, ts("2024-03-28 10:00"), ts("2024-03-28 10:00")),
        (A, "hal", "READER", "hal@example.com", 1, 1, ts("2024-03-18 15:00"), ts("2024-03-18 15:00")),
    ]


def test_logins_without_views_minutes(engine):
    _, rows = run(engine, "logins_without_views", minutes="60")
    assert [(r[1], r[4], r[5]) for r in rows] == [("QuickSightReader/fay", 3, 3), ("hal", 1, 1)]


def test_dashboard_viewers(engine):
    cols, rows = run(engine, "dashboard_viewers")
    assert cols == ["account_id", "region", "dashboard_id", "dashboard_name", "user_name", "bi_user_name", "role", "views",
                    "first_view", "last_view"]
    assert rows == [
        (A, R, "d-sales", "Sales overview", "eve", "QuickSightReader/eve", "READER", 2, ts("2024-03-25 09:30"),
         ts("2024-03-28 11:00")),
        (A, R, "d-sales", "Sales overview", "admin-ann", "admin-ann", "ADMIN", 1, ts("2024-03-30 08:10"), ts("2024-03-30 08:10")),
        (A, R, "d-sales", "Sales overview", "bea", "QuickSightAuthor/bea", "AUTHOR", 1, ts("2024-03-20 14:00"),
         ts("2024-03-20 14:00")),
        (A, R, "d-sales", "Sales overview", "gus", "QuickSightReader/gus", "READER", 1, ts("2024-02-01 12:10"),
         ts("2024-02-01 12:10")),
        # the same dashboard id in account B: no QuickSight users known there
        (B, R, "d-sales", "Sales (account B)", "eve", None, None, 1, ts("2024-03-26 12:00"), ts("2024-03-26 12:00")),
    ]


def test_dashboard_viewers_every_dashboard(engine):
    _, rows = run(engine, "dashboard_viewers", dashboard_id="*")
    assert [(r[0], r[2], r[4], r[7]) for r in rows] == [
        (A, "d-ops", "ci-bot", 1),
        (A, "d-ops", "eve", 1),
        (A, "d-sales", "eve", 2),
        (A, "d-sales", "admin-ann", 1),
        (A, "d-sales", "bea", 1),
        (A, "d-sales", "gus", 1),
        (B, "d-sales", "eve", 1),
    ]


def test_dashboard_viewers_unknown_dashboard(engine):
    _, rows = run(engine, "dashboard_viewers", dashboard_id="no-such-dashboard")
    assert rows == []


def test_insights_on_empty_lake(lake):
    eng = get_engine("duckdb", lake)
    try:
        for insight in list_insights():
            values = {p.name: "x" for p in insight.params if p.required}
            if insight.param("dashboard_id"):
                values["dashboard_id"] = "x"
            assert run_insight(eng, insight.name, values).num_rows == 0, insight.name
    finally:
        eng.close()
