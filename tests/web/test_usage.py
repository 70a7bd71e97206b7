"""The console records its own usage in the lake, and the admin-console insights
report on it like on the BI tool's."""

from __future__ import annotations

import datetime as dt
import re
import time

import httpx

from eventlake.engines.duckdb import DuckDBEngine
from eventlake.insights import get_insight
from eventlake.web.principals import add_user

from .conftest import login


def _rows(lake, sql, params=None):
    eng = DuckDBEngine(lake)
    try:
        return eng.query(sql, params).to_pylist()
    finally:
        eng.close()


def _wait_for(lake, sql, params, n, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        rows = _rows(lake, sql, params)
        if len(rows) >= n or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def test_console_usage_lands_in_the_lake_and_the_bi_insights(demo_lake, console_url):
    add_user(demo_lake, "usage-reader", "usage-pass-1", role="reader", email="usage@example.com")
    time.sleep(0.3)
    with httpx.Client(base_url=console_url, follow_redirects=False) as anon:
        token = re.search(r'name="csrf_token" value="([^"]+)"', anon.get("/login").text).group(1)
        anon.post("/login", data={"username": "usage-reader", "password": "wrong-password", "csrf_token": token})
    c = login(console_url, ("usage-reader", "usage-pass-1"))  # login() opens /health once
    assert c.get("/health").status_code == 200
    c.close()

    events = _wait_for(
        demo_lake,
        "SELECT action, auth, page, asset_type, asset_id, asset_name, status FROM console_events "
        "WHERE user_name = 'usage-reader' ORDER BY event_time",
        None, 4,
    )
    assert events == [
        {"action": "login_failed", "auth": "session", "page": "/login", "asset_type": None, "asset_id": None, "asset_name": None, "status": "refused"},
        {"action": "login", "auth": "session", "page": "/login", "asset_type": None, "asset_id": None, "asset_name": None, "status": "ok"},
        {"action": "view", "auth": "session", "page": "/health", "asset_type": "page", "asset_id": "console:/health", "asset_name": "Health", "status": "ok"},
        {"action": "view", "auth": "session", "page": "/health", "asset_type": "page", "asset_id": "console:/health", "asset_name": "Health", "status": "ok"},
    ]
    bi = _rows(demo_lake, "SELECT account_id, region, kind, asset_type, asset_id FROM bi_events WHERE user_key = 'usage-reader' ORDER BY event_time")
    assert bi == [
        {"account_id": "eventlake", "region": "console", "kind": "login", "asset_type": None, "asset_id": None},
        {"account_id": "eventlake", "region": "console", "kind": "view", "asset_type": "dashboard", "asset_id": "console:/health"},
        {"account_id": "eventlake", "region": "console", "kind": "view", "asset_type": "dashboard", "asset_id": "console:/health"},
    ]

    eng = DuckDBEngine(demo_lake)
    try:
        activity = get_insight("user_activity").run(eng, {"days": 7}).to_pylist()
        viewed = get_insight("most_viewed_dashboards").run(eng, {"days": 7}).to_pylist()
    finally:
        eng.close()
    mine = [r for r in activity if r["user_name"] == "usage-reader"]
    assert [(r["account_id"], r["role"], r["email"], r["logins"], r["views"], r["edits"], r["status"]) for r in mine] == [
        ("eventlake", "READER", "usage@example.com", 1, 2, 0, "active")
    ]
    health = [r for r in viewed if r["account_id"] == "eventlake" and r["dashboard_id"] == "console:/health"]
    assert len(health) == 1 and health[0]["views"] >= 2 and health[0]["viewers"] >= 1
    assert health[0]["last_view"].date() == dt.datetime.now(dt.timezone.utc).date()
