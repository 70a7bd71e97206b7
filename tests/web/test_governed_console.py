"""The console runs a non-admin's queries under their scope: tenant rows, PII masks and
refusals as with `eventlake sql --token`, in the SQL API, the explorer, the web analytics
and admin pages and the health page. A small lake of its own (not the demo lake): one
table with tenant_id and an e-mail column, two pool tenants, a silo tenant, a mask with
an exception group, and a user of each kind."""

from __future__ import annotations

import hashlib
import re
import time

import pytest

from eventlake.collect.app import ServerThread
from eventlake.engines.duckdb import DuckDBEngine
from eventlake.governance.groups import add_group, add_member
from eventlake.governance.policy import salt_for
from eventlake.governance.store import set_mask
from eventlake.governance.audit import read_audit
from eventlake.governance.tenants import add_tenant, grant
from eventlake.lake import Lake
from eventlake.web.app import ConsoleOptions, create_console
from eventlake.web.principals import add_user

from .conftest import login

ROWS = [
    ("acme", 1, "ann@acme.com", "view"),
    ("acme", 2, "al@acme.com", "buy"),
    ("globex", 3, "gil@globex.com", "view"),
    (None, 4, "staff@provider.com", "view"),
]
ANN = ("gc-ann", "gc-ann-pass-1")  # author, tenant acme: acme's rows, e-mail hashed
DPO = ("gc-dpo", "gc-dpo-pass-1")  # author, tenant acme, in pii_readers: e-mail in clear
GUS = ("gc-gus", "gc-gus-pass-1")  # reader, tenant globex
STAFF = ("gc-staff", "gc-staff-pass-1")  # author without grants: every data table, masked
SID = ("gc-sid", "gc-sid-pass-1")  # author, silo tenant initech: its own lake
ROOT = ("gc-root", "gc-root-pass-1")  # admin: no policy
Q = "SELECT tenant_id, event_id, email FROM app_events ORDER BY event_id"


@pytest.fixture(scope="module")
def governed(tmp_path_factory):
    lake = Lake(tmp_path_factory.mktemp("governed-console") / "lake")
    con = lake.connect(create=True)
    lake.ensure_tables(con)
    con.execute("CREATE TABLE lake.main.app_events (tenant_id VARCHAR, event_id INTEGER, email VARCHAR, event_name VARCHAR)")
    con.executemany("INSERT INTO lake.main.app_events VALUES (?, ?, ?, ?)", [list(r) for r in ROWS])
    con.close()
    add_tenant(lake, "acme", "pool")
    add_tenant(lake, "globex", "pool")
    add_tenant(lake, "initech", "silo")
    silo = Lake(lake.path / "tenants" / "initech")
    scon = silo.connect()
    scon.execute("CREATE TABLE lake.main.app_events (tenant_id VARCHAR, event_id INTEGER, email VARCHAR, event_name VARCHAR)")
    scon.execute("INSERT INTO lake.main.app_events VALUES ('initech', 9, 'ivy@initech.com', 'buy')")
    scon.close()
    add_group(lake, "pii_readers")
    for (name, password), role in ((ANN, "author"), (DPO, "author"), (GUS, "reader"), (STAFF, "author"),
                                   (SID, "author"), (ROOT, "admin")):
        add_user(lake, name, password, role=role)
    grant(lake, "acme", "user", ANN[0])
    grant(lake, "acme", "user", DPO[0])
    grant(lake, "globex", "user", GUS[0])
    grant(lake, "initech", "user", SID[0])
    add_member(lake, "pii_readers", DPO[0])
    set_mask(lake, "app_events", "email", "hash", except_groups=["pii_readers"])
    con = lake.connect()
    con.execute("INSERT INTO lake.main.quarantine (source, source_object, position, reason, raw, quarantined_at) "
                "VALUES ('alb', 's3://logs/acme/x.log', 1, 'bad line', 'secret raw line of acme', now())")
    con.close()
    opts = ConsoleOptions(usage_flush_seconds=0.2, principals_refresh_seconds=0.2)
    with ServerThread(create_console(lake, opts)) as srv:
        yield lake, srv.url


def _hash(lake, value: str) -> str:
    return hashlib.sha256((salt_for(lake) + value).encode()).hexdigest()


def _api(client, sql):
    return client.post("/api/sql", json={"sql": sql}, headers={"X-CSRF-Token": client.csrf})


def test_sql_api_applies_tenant_filters_and_masks(governed):
    lake, url = governed
    expected = {
        ANN: [["acme", 1, _hash(lake, "ann@acme.com")], ["acme", 2, _hash(lake, "al@acme.com")]],
        DPO: [["acme", 1, "ann@acme.com"], ["acme", 2, "al@acme.com"]],
        STAFF: [["acme", 1, _hash(lake, "ann@acme.com")], ["acme", 2, _hash(lake, "al@acme.com")],
                ["globex", 3, _hash(lake, "gil@globex.com")], [None, 4, _hash(lake, "staff@provider.com")]],
        SID: [["initech", 9, _hash(lake, "ivy@initech.com")]],
        ROOT: [["acme", 1, "ann@acme.com"], ["acme", 2, "al@acme.com"], ["globex", 3, "gil@globex.com"],
               [None, 4, "staff@provider.com"]],
    }
    for user, rows in expected.items():
        c = login(url, user)
        try:
            res = _api(c, Q)
            assert res.status_code == 200, (user, res.text)
            assert res.json()["rows"] == rows, user
        finally:
            c.close()


@pytest.mark.parametrize("sql, message", [
    ("SELECT * FROM read_parquet('data/main/app_events/*.parquet')", "table function read_parquet(...) is not allowed"),
    ("SELECT * FROM lake.tenant_globex.app_events", "no table named"),
    ("SELECT user_name, password_hash FROM console_users", "no table named 'console_users'"),
    ("SELECT * FROM console_events", "no table named 'console_events'"),
])
def test_sql_api_refusals_are_explained_and_recorded(governed, sql, message):
    lake, url = governed
    c = login(url, ANN)
    try:
        res = _api(c, sql)
    finally:
        c.close()
    assert res.status_code == 400
    assert message in res.json()["error"]
    assert "gil@globex.com" not in res.text
    deadline = time.monotonic() + 10
    while True:
        eng = DuckDBEngine(lake)
        try:
            rows = eng.query("SELECT action, status, json_extract_string(detail, '$.error') AS error FROM console_events "
                             "WHERE user_name = $u AND json_extract_string(detail, '$.sql') = $sql",
                             {"u": ANN[0], "sql": sql}).to_pylist()
        finally:
            eng.close()
        if rows or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(rows) == 1 and rows[0]["action"] == "run_sql" and rows[0]["status"] == "refused"
    assert message in rows[0]["error"]
    # and in the audit trail, with the statement and the reason
    refusal = next(e for e in read_audit(lake, actor=ANN[0], outcome="refused") if e["statement"] == sql)
    assert (refusal["action"], refusal["via"], refusal["auth"]) == ("query", "api", "session")
    assert message in refusal["reason"] and "gil@globex.com" not in refusal["reason"]


@pytest.mark.parametrize("user, landing", [(ROOT, "/admin"), (STAFF, "/admin"), (GUS, "/explorer"), (SID, "/admin")])
def test_home_leads_each_principal_to_a_page_their_tables_fill(governed, user, landing):
    _, url = governed
    c = login(url, user)
    try:
        res = c.get("/")
    finally:
        c.close()
    assert (res.status_code, res.headers["location"]) == (303, landing)


def test_the_editor_lists_the_scopes_tables_only(governed):
    _, url = governed
    c = login(url, ANN)
    try:
        page = c.get("/sql").text
    finally:
        c.close()
    assert '<details data-table="app_events">' in page
    assert '<details data-table="vpc_flow_logs">' not in page  # no tenant_id: not in a pool tenant's scope
    assert '<details data-table="console_events">' not in page


def test_explorer_runs_under_the_policy(governed):
    _, url = governed
    staff = login(url, STAFF)
    try:
        res = staff.get("/explorer/web_top_pages", params={"run": "1"})
        assert res.status_code == 200
        assert "No rows." in res.text or "rows 0" in res.text or "no rows" in res.text.lower()
        api = staff.get("/api/insights/web_top_pages")
        assert api.status_code == 200 and api.json()["rows"] == []
        assert all(not k.startswith("__") for k in api.json()["params"])
    finally:
        staff.close()
    ann = login(url, ANN)
    try:
        refused = ann.get("/explorer/web_top_pages", params={"run": "1"})
        assert refused.status_code == 400
        assert "no table named" in refused.text
        api = ann.get("/api/insights/web_top_pages")
        assert api.status_code == 400 and "no table named" in api.json()["error"]
        web = ann.get("/web")
        assert web.status_code == 403 and "no table named" in web.text
        admin = ann.get("/admin")
        assert admin.status_code == 200 and "no table named" in admin.text
    finally:
        ann.close()


def test_health_hides_quarantine_and_other_tables_from_a_tenant_reader(governed):
    _, url = governed
    gus = login(url, GUS)
    try:
        res = gus.get("/health")
    finally:
        gus.close()
    assert res.status_code == 200
    assert "secret raw line of acme" not in res.text and "s3://logs/acme/x.log" not in res.text
    assert "shown to admins only" in res.text
    assert 'id="quarantined"' not in res.text
    assert re.search(r'<td>app_events</td>\s*<td class="num">1</td>', res.text)  # globex's one row
    assert "<td>console_users</td>" not in res.text and "<td>vpc_flow_logs</td>" not in res.text
    root = login(url, ROOT)
    try:
        admin = root.get("/health")
    finally:
        root.close()
    assert "s3://logs/acme/x.log" in admin.text and "<td>console_users</td>" in admin.text
