"""The audit trail: queries (allowed, refused, failed), exports, bad tokens and changes of
principals, grants and policies from the CLI are events in `audit_events`, with who,
what, the tables touched, rows and why; events survive a busy lake (journal) and are
written once; only admins read them."""

from __future__ import annotations

import datetime as dt
import getpass
import json

import pytest
from typer.testing import CliRunner

from eventlake.cli import app
from eventlake.governance import audit
from eventlake.governance.access import principal_for_token, run_as
from eventlake.governance.audit import AuditEvent, Journal, read_audit, tables_of
from eventlake.governance.rewrite import PolicyError
from eventlake.lake import Lake
from eventlake.web.principals import add_token, add_user

LOCAL = "local:" + getpass.getuser()


def cli(lake: Lake, *args: str, ok: bool = True):
    res = CliRunner().invoke(app, ["--lake", str(lake.path), *args])
    if ok:
        assert res.exit_code == 0, res.output
    return res


@pytest.fixture
def alake(tmp_path) -> Lake:
    lake = Lake(tmp_path / "lake")
    con = lake.connect(create=True)
    lake.ensure_tables(con)
    con.execute("CREATE TABLE lake.main.app_events (tenant_id VARCHAR, event_id INTEGER, email VARCHAR)")
    con.execute("INSERT INTO lake.main.app_events VALUES ('acme', 1, 'ann@acme.com'), ('acme', 2, 'al@acme.com'), "
                "('globex', 3, 'gil@globex.com')")
    con.close()
    return lake


def brief(events, *keys):
    return [tuple(e[k] for k in keys) for e in events]


def test_changes_of_principals_grants_and_policies_are_audited_in_order(alake):
    add_user(alake, "ann", "ann-password-1")
    cli(alake, "groups", "add", "pii_readers")
    cli(alake, "groups", "add-member", "pii_readers", "ann")
    cli(alake, "tenants", "add", "acme", "--model", "pool")
    cli(alake, "tenants", "grant", "acme", "--user", "ann")
    cli(alake, "policies", "mask", "app_events.email", "--mask", "hash", "--except-group", "pii_readers")
    rec, _ = add_token(alake, "ann", note="ci")
    cli(alake, "tokens", "revoke", rec.token_id)
    cli(alake, "tenants", "revoke", "acme", "--user", "ann")
    events = list(reversed(read_audit(alake)))
    assert brief(events, "action", "target", "actor", "outcome") == [
        ("user_set", "ann", LOCAL, "ok"),
        ("group_add", "pii_readers", LOCAL, "ok"),
        ("member_add", "pii_readers", LOCAL, "ok"),
        ("tenant_add", "acme", LOCAL, "ok"),
        ("grant", "acme", LOCAL, "ok"),
        ("policy_set", "app_events.email", LOCAL, "ok"),
        ("token_add", rec.token_id, LOCAL, "ok"),
        ("token_revoke", rec.token_id, LOCAL, "ok"),
        ("revoke", "acme", LOCAL, "ok"),
    ]
    assert events[2]["detail"] == {"user": "ann"}
    assert events[4]["detail"] == {"grantee_type": "user", "grantee": "ann"}
    assert events[5]["detail"] == {"mask": "hash", "except_groups": ["pii_readers"], "by": "manual"}
    assert events[6]["detail"] == {"user": "ann", "note": "ci"}
    # no password hash or token is ever in the trail
    assert "argon2" not in json.dumps([e["detail"] for e in events]) and "elk_" not in json.dumps([e["detail"] for e in events])


def test_queries_of_a_principal_allowed_and_refused(alake):
    add_user(alake, "ann", "ann-password-1")
    cli(alake, "tenants", "add", "acme", "--model", "pool")
    cli(alake, "tenants", "grant", "acme", "--user", "ann")
    rec, token = add_token(alake, "ann")
    ann = principal_for_token(alake, token)
    rows = run_as(alake, ann, "duckdb", "WITH x AS (SELECT * FROM app_events) SELECT event_id FROM x ORDER BY 1")
    assert rows.to_pylist() == [{"event_id": 1}, {"event_id": 2}]
    with pytest.raises(PolicyError, match="table function read_parquet"):
        run_as(alake, ann, "duckdb", "SELECT * FROM read_parquet('data/**/*.parquet')")
    with pytest.raises(PolicyError, match="api_tokens"):
        run_as(alake, ann, "duckdb", "SELECT token_hash FROM api_tokens")
    events = read_audit(alake, actor="ann")
    assert brief(events, "action", "outcome", "auth", "token_id", "via", "rows", "tables") == [
        ("query", "refused", "token", rec.token_id, "cli", None, ["api_tokens"]),
        ("query", "refused", "token", rec.token_id, "cli", None, []),
        ("query", "ok", "token", rec.token_id, "cli", 2, ["app_events"]),
    ]
    assert "read_parquet" in events[1]["reason"] and "api_tokens" in events[0]["reason"]
    assert events[2]["statement"] == "WITH x AS (SELECT * FROM app_events) SELECT event_id FROM x ORDER BY 1"
    assert events[2]["detail"] == {"engine": "duckdb"}
    # a principal cannot read the trail itself
    with pytest.raises(PolicyError, match="audit_events"):
        run_as(alake, ann, "duckdb", "SELECT count(*) FROM audit_events")


def test_cli_queries_exports_and_bad_tokens(alake, tmp_path):
    add_user(alake, "ann", "ann-password-1")
    _, token = add_token(alake, "ann")
    cli(alake, "sql", "SELECT count(*) AS n FROM app_events")
    out = tmp_path / "ids.csv"
    cli(alake, "sql", "SELECT event_id FROM app_events", "-o", str(out), "-f", "csv")
    cli(alake, "insights", "run", "cloudtrail_root_account_use", "--token", token, "-f", "json")
    bad = cli(alake, "sql", "SELECT 1", "--token", "elk_0000_not-a-real-token", ok=False)
    assert bad.exit_code == 1 and "invalid or revoked API token" in str(bad.exception)
    failed = cli(alake, "sql", "SELECT nope FROM app_events", ok=False)
    assert failed.exit_code == 1
    events = [e for e in read_audit(alake) if e["action"] in ("query", "export", "login")]
    assert brief(events, "action", "actor", "outcome", "rows", "tables", "target") == [
        ("query", LOCAL, "error", None, ["app_events"], None),
        ("login", None, "refused", None, None, None),
        ("query", "ann", "ok", 0, ["cloudtrail_events"], "cloudtrail_root_account_use"),
        ("export", LOCAL, "ok", 3, ["app_events"], None),
        ("query", LOCAL, "ok", 1, ["app_events"], None),
    ]
    assert "nope" in events[0]["reason"]
    assert events[1]["reason"] == "invalid or revoked API token" and events[1]["auth"] == "token"
    assert events[3]["detail"] == {"engine": "duckdb", "file": str(out), "format": "csv"}
    # the CLI's own view, filtered
    res = cli(alake, "audit", "--outcome", "refused", "-f", "json")
    assert [(e["action"], e["reason"]) for e in json.loads(res.stdout)] == [("login", "invalid or revoked API token")]
    bad_filter = cli(alake, "audit", "--outcome", "maybe", ok=False)
    assert bad_filter.exit_code == 1 and "--outcome 'maybe': use one of ok, refused, error" in str(bad_filter.exception)


def test_events_wait_in_the_journal_while_the_lake_is_busy_and_land_once(alake):
    journal = Journal(alake)
    with alake.writer_lock():  # an ingest holds the lake
        audit.record(alake, AuditEvent("query", "ann", statement="SELECT 1 FROM app_events", rows=1))
        assert [r["actor"] for r in journal.pending()] == ["ann"]
        # readers see it already
        assert brief(read_audit(alake), "actor", "tables") == [("ann", ["app_events"])]
    assert journal.commit() == 1
    assert journal.pending() == []
    # a crash after the commit but before the journal was emptied: the next commit skips it
    event = AuditEvent("login", "bob", via="console", auth="session")
    journal.append([event])
    assert journal.commit() == 1
    journal.append([event])
    with open(journal.path, "ab") as fh:
        fh.write(b'{"event_id": "torn')  # a line cut by a crash mid-append was never acknowledged
    assert journal.commit() == 0
    assert brief(read_audit(alake), "actor", "action") == [("bob", "login"), ("ann", "query")]


def test_a_query_costs_a_journal_line_and_the_journal_is_committed_when_due(alake):
    journal = Journal(alake)
    audit.record(alake, AuditEvent("query", "ann"))
    audit.record(alake, AuditEvent("query", "bob"))
    assert [r["actor"] for r in journal.pending()] == ["ann", "bob"]  # not due: no commit per query
    old = AuditEvent("query", "cid", event_time=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=audit.COMMIT_AGE + 1))
    journal.path.write_bytes(b"")
    journal.append([old])
    audit.record(alake, AuditEvent("query", "dan"))  # the oldest waited long enough: all committed
    assert journal.pending() == []
    con = alake.connect(read_only=True)
    try:
        assert con.execute("SELECT actor FROM audit_events ORDER BY event_time").fetchall() == [("cid",), ("dan",)]
    finally:
        con.close()


def test_no_lake_no_audit(tmp_path):
    lake = Lake(tmp_path / "typo")
    res = CliRunner().invoke(app, ["--lake", str(lake.path), "sql", "SELECT 1"])
    assert res.exit_code == 1 and "no lake at" in str(res.exception)
    assert not (tmp_path / "typo").exists()


@pytest.mark.parametrize("sql, tables", [
    ("SELECT * FROM a JOIN lake.main.b USING (x)", ["a", "b"]),
    ("WITH a AS (SELECT 1) SELECT * FROM a, c", ["c"]),
    ("SELECT * FROM lake.tenant_x.t", ["tenant_x.t"]),
    ("SELECT * FROM read_csv('x.csv')", []),
    ("SELEC nonsense", []),
])
def test_tables_of(sql, tables):
    assert tables_of(sql) == tables
