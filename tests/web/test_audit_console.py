"""The console's audit trail: sign-ins (and refused ones), queries, exports and refusals
are audit events with who, how and why; the health page shows them to admins only."""

from __future__ import annotations

import re

import httpx

from eventlake.governance.audit import read_audit

from .conftest import ADMIN, AUTHOR, READER, login

SSH = "/explorer/vpc_ssh_rdp_attempts"


def latest(lake, actor, action=None):
    events = read_audit(lake, actor=actor, action=action, limit=20)
    assert events, f"no audit event of {actor} ({action})"
    return events[0]


def test_sign_ins_and_bad_tokens(demo_lake, console_url):
    with httpx.Client(base_url=console_url) as c:
        form = c.get("/login").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        res = c.post("/login", data={"username": "mallory", "password": "guess-1234", "csrf_token": csrf, "next": "/"})
        assert res.status_code == 401
        assert c.get("/api/insights", headers={"Authorization": "Bearer elk_0000_forged"}).status_code == 401
    failed = latest(demo_lake, "mallory", "login")
    assert (failed["outcome"], failed["reason"], failed["via"], failed["auth"], failed["client"]) == (
        "refused", "wrong user name or password", "console", "session", "127.0.0.1")
    forged = [e for e in read_audit(demo_lake, action="login", outcome="refused", limit=50) if e["auth"] == "token"][0]
    assert (forged["actor"], forged["reason"], forged["via"]) == (None, "invalid or revoked API token", "api")
    login(console_url, READER).close()
    ok = latest(demo_lake, READER[0], "login")
    assert (ok["outcome"], ok["via"], ok["auth"]) == ("ok", "console", "session")


def test_queries_exports_and_refusals(demo_lake, console_url):
    author = login(console_url, AUTHOR)
    reader = login(console_url, READER)
    try:
        res = author.post("/api/sql", json={"sql": "SELECT count(*) AS n FROM alb_logs WHERE elb_status_code >= 500"},
                          headers={"X-CSRF-Token": author.csrf})
        assert res.status_code == 200, res.text
        q = latest(demo_lake, AUTHOR[0], "query")
        assert (q["via"], q["outcome"], q["rows"], q["tables"], q["statement"]) == (
            "api", "ok", 1, ["alb_logs"], "SELECT count(*) AS n FROM alb_logs WHERE elb_status_code >= 500")
        dl = author.get(SSH + "/download", params={"format": "csv", "days": "3"})
        assert dl.status_code == 200
        export = latest(demo_lake, AUTHOR[0], "export")
        assert (export["target"], export["via"], export["tables"], export["detail"]["format"]) == (
            "vpc_ssh_rdp_attempts", "console", ["vpc_flow_logs"], "csv")
        assert export["rows"] == dl.text.count("\n") - 1
        # a reader may not use the SQL editor: refused, and recorded so
        assert reader.get("/sql").status_code == 403
        refused = latest(demo_lake, READER[0])
        assert (refused["action"], refused["outcome"], refused["target"], refused["reason"]) == (
            "view", "refused", "/sql", "this needs the author role; bob is a reader")
    finally:
        author.close()
        reader.close()


def test_health_shows_the_trail_to_admins_only(demo_lake, console_url, admin_client):
    with httpx.Client(base_url=console_url) as c:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
        c.post("/login", data={"username": "eve<script>", "password": "x" * 12, "csrf_token": csrf, "next": "/"})
    html = admin_client.get("/health", params={"audit_outcome": "refused"}).text
    assert 'id="audit"' in html and 'id="audit-counts"' in html
    assert "<td>eve&lt;script&gt;</td>" in html or 'eve&lt;script&gt;</a>' in html
    assert "wrong user name or password" in html
    assert "<script>" not in html.split('id="audit"')[1]
    by_actor = admin_client.get("/health", params={"audit_actor": ADMIN[0]}).text.split('id="audit"')[1]
    assert "/health" in by_actor and "eve&lt;script&gt;" not in by_actor
    reader = login(console_url, READER)
    try:
        page = reader.get("/health").text
        assert 'id="audit"' not in page and "wrong user name or password" not in page
    finally:
        reader.close()


def test_health_shows_events_still_in_the_journal_while_the_lake_is_busy(demo_lake, console_url, admin_client):
    """While another job holds the lake's writer lock the journal cannot be committed:
    the page reads the newest events from the journal, so a refused sign-in a moment
    ago is listed all the same."""
    # (waits while the console itself commits its journal: it takes the lock for a moment)
    with demo_lake.writer_lock() as got:
        assert got
        with httpx.Client(base_url=console_url) as c:
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
            c.post("/login", data={"username": "busy-lake-user", "password": "y" * 12, "csrf_token": csrf, "next": "/"})
        html = admin_client.get("/health", params={"audit_outcome": "refused"}).text
    events = html.split('id="audit"')[1]
    assert "busy-lake-user" in events and "wrong user name or password" in events
    by_actor = admin_client.get("/health", params={"audit_actor": "busy-lake-user"}).text.split('id="audit"')[1]
    assert by_actor.count("busy-lake-user</a>") + by_actor.count("<td>busy-lake-user</td>") == 1  # listed once, journal or table
