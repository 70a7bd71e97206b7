"""The insights added for the admin console's panels (dashboard_views_daily,
dashboard_permissions, user_groups, user_events) on the hand-built BI fixture
(fixture.py); the answers are worked out by hand from the fixture's rows."""

from __future__ import annotations

import datetime as dt

from eventlake.insights import get_insight
from tests.insights.common import duckdb_engine_fixture, run_rows, ts
from tests.insights.fixture import FIXTURE_PARAMS, build_fixture_lake

A, B, R = "111122223333", "444455556666", "us-east-1"
D = dt.date

engine = duckdb_engine_fixture(build_fixture_lake, "admin-insights")


def run(engine, name, **overrides):
    return run_rows(engine, name, {**FIXTURE_PARAMS[name], **overrides})


def test_new_insights_are_bi():
    for name in ("dashboard_views_daily", "dashboard_permissions", "user_groups", "user_events"):
        assert get_insight(name).category == "bi"


def test_dashboard_views_daily(engine):
    cols, rows = run(engine, "dashboard_views_daily")
    assert cols == ["account_id", "region", "dashboard_id", "dashboard_name", "view_date", "views", "viewers"]
    assert rows == [
        # eve (id only in requestParameters) and ci-bot; name from the snapshot
        (A, R, "d-ops", "Operations", D(2024, 3, 15), 1, 1),
        (A, R, "d-ops", "Operations", D(2024, 3, 16), 1, 1),
        # bea (id only in the response details), eve twice, admin-ann; fay's failed view and gus's
        # view of 02-01 (outside the 30 days) do not count, nor eve's view after as_of
        (A, R, "d-sales", "Sales overview", D(2024, 3, 20), 1, 1),
        (A, R, "d-sales", "Sales overview", D(2024, 3, 25), 1, 1),
        (A, R, "d-sales", "Sales overview", D(2024, 3, 28), 1, 1),
        (A, R, "d-sales", "Sales overview", D(2024, 3, 30), 1, 1),
        # account B has no snapshot: the name the event reports
        (B, R, "d-sales", "Sales (account B)", D(2024, 3, 26), 1, 1),
    ]


def test_dashboard_views_daily_one_dashboard_short_window(engine):
    _, rows = run(engine, "dashboard_views_daily", dashboard_id="d-sales", days="7")  # 03-25 .. 03-31
    assert [(r[0], r[4], r[5]) for r in rows] == [
        (A, D(2024, 3, 25), 1), (A, D(2024, 3, 28), 1), (A, D(2024, 3, 30), 1), (B, D(2024, 3, 26), 1),
    ]
    _, rows = run(engine, "dashboard_views_daily", dashboard_id="no-such-dashboard")
    assert rows == []


def test_dashboard_permissions(engine):
    cols, rows = run(engine, "dashboard_permissions")
    assert cols == ["account_id", "region", "dashboard_id", "dashboard_name", "access", "principal_type", "principal_name",
                    "actions"]
    assert rows == [
        # bea may update and delete it: an owner; the readers group may only view; the dataset
        # permission of bea is not a dashboard's
        (A, R, "d-sales", "Sales overview", "owner", "user", "QuickSightAuthor/bea", 3),
        (A, R, "d-sales", "Sales overview", "viewer", "group", "readers", 3),
    ]


def test_dashboard_permissions_filters(engine):
    assert run(engine, "dashboard_permissions", dashboard_id="d-ops")[1] == []
    # S2 (2024-03-31) is the only permissions snapshot: the earliest is used for an earlier as_of
    assert len(run(engine, "dashboard_permissions", as_of="2024-03-01")[1]) == 2


def test_user_groups(engine):
    cols, rows = run(engine, "user_groups")
    assert cols == ["account_id", "group_name", "user_name", "role", "email", "active"]
    assert rows == [
        (A, "authors", "QuickSightAuthor/bea", "AUTHOR", "bea@example.com", True),
        (A, "authors", "QuickSightAuthor/cal", "AUTHOR", "cal@example.com", True),
        (A, "authors", "QuickSightAuthor/dan", "AUTHOR", "dan@example.com", True),
        (A, "authors", "admin-ann", "ADMIN", "admin-ann@example.com", True),
        (A, "readers", "QuickSightReader/eve", "READER", "eve@example.com", True),
        (A, "readers", "QuickSightReader/fay", "READER", "fay@example.com", True),
        (A, "readers", "QuickSightReader/gus", "READER", "gus@example.com", True),
        (A, "readers", "hal", "READER", "hal@example.com", True),
    ]


def test_user_groups_follow_the_snapshot(engine):
    # the users of S1 (in effect on 03-15) and S3 (04-06) belong to no group
    assert run(engine, "user_groups", as_of="2024-03-15")[1] == []
    assert run(engine, "user_groups", as_of="2024-04-06")[1] == []


def test_user_events(engine):
    cols, rows = run(engine, "user_events")
    assert cols == ["account_id", "region", "event_time", "user_name", "user_key", "kind", "event_source", "event_name",
                    "asset_type", "asset_id", "asset_name"]
    assert [(r[2], r[5], r[7], r[9], r[10]) for r in rows] == [
        # a-new is not in the snapshot: the name given to CreateAnalysis
        (ts("2024-03-22 09:00"), "edit", "CreateAnalysis", "a-new", "Scratch analysis"),
        (ts("2024-03-21 10:31"), "edit", "UpdateDashboardPublishedVersion", "d-sales", "Sales overview"),
        (ts("2024-03-21 10:30"), "edit", "UpdateDashboard", "d-sales", "Sales overview"),
        (ts("2024-03-21 10:00"), "edit", "UpdateAnalysis", "a-sales", "Sales analysis"),
        (ts("2024-03-20 14:00"), "view", "GetDashboard", "d-sales", "Sales overview"),
        (ts("2024-03-20 13:30"), "edit", "UpdateAnalysis", "a-sales", "Sales analysis"),
        (ts("2024-03-20 13:00"), "view", "GetAnalysis", "a-sales", "Sales analysis"),
        # the SAML login: user_name is the IdP subject, matched through the session name
        (ts("2024-03-20 12:55"), "login", "AssumeRoleWithSAML", None, None),
        # d-tmp was deleted before S2 and its delete names nothing
        (ts("2024-03-05 16:00"), "edit", "DeleteDashboard", "d-tmp", None),
    ]
    # the failed UpdateDashboard of 03-25 and the GetAnalysis of 01-01 (outside 30 days) are absent
    assert {r[0] for r in rows} == {A} and {r[4] for r in rows} == {"bea"}
    assert rows[7][3] == "bea@example.com"


def test_user_events_by_session_name_across_accounts(engine):
    _, rows = run(engine, "user_events", user_name="eve", days="30")
    assert [(r[0], r[2], r[5], r[9], r[10]) for r in rows] == [
        (A, ts("2024-03-28 11:00"), "view", "d-sales", "Sales overview"),
        (A, ts("2024-03-28 10:00"), "login", None, None),
        (B, ts("2024-03-26 12:00"), "view", "d-sales", "Sales (account B)"),
        (A, ts("2024-03-25 09:30"), "view", "d-sales", "Sales overview"),
        (A, ts("2024-03-25 09:00"), "login", None, None),
        (A, ts("2024-03-15 10:00"), "view", "d-ops", "Operations"),
    ]


def test_user_events_everyone_and_nobody(engine):
    _, rows = run(engine, "user_events", user_name="*", days="30")
    assert {r[4] for r in rows} == {"eve", "fay", "hal", "admin-ann", "ci-bot", "bea"}
    assert run(engine, "user_events", user_name="nobody")[1] == []
