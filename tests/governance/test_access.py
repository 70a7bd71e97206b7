"""Queries run as a principal (`--token`): tenants' rows and PII masks applied by the
engine, for the CLI's `sql` and `insights run`, on DuckDB."""

from __future__ import annotations

import hashlib
import json

import pytest
from typer.testing import CliRunner

from eventlake.cli import app
from eventlake.governance.access import AuthError, principal_for_token, run_as
from eventlake.governance.groups import add_group, add_member
from eventlake.governance.policy import AccessError, salt_for
from eventlake.governance.rewrite import PolicyError
from eventlake.governance.store import set_mask
from eventlake.governance.tenants import add_tenant, grant
from eventlake.lake import Lake
from eventlake.web.principals import add_token, add_user, update_user
from tests.engines.conftest import spark  # noqa: F401  (the Spark session fixture)

ROWS = [
    ("acme", 1, "ann@acme.com", "view"),
    ("acme", 2, "al@acme.com", "buy"),
    ("globex", 3, "gil@globex.com", "view"),
    (None, 4, "staff@provider.com", "view"),  # the provider's own row: no tenant's
]


@pytest.fixture(scope="module")
def governed(tmp_path_factory):
    """One lake for the module (tests only read it, but for the user they disable)."""
    lake = Lake(tmp_path_factory.mktemp("governed") / "lake")
    con = lake.connect(create=True)
    lake.ensure_tables(con)
    con.execute("CREATE TABLE lake.main.app_events (tenant_id VARCHAR, event_id INTEGER, email VARCHAR, event_name VARCHAR)")
    con.executemany("INSERT INTO lake.main.app_events VALUES (?, ?, ?, ?)", [list(r) for r in ROWS])
    con.close()
    add_tenant(lake, "acme", "pool")
    add_tenant(lake, "globex", "pool")
    add_tenant(lake, "initech", "bridge")
    con = lake.connect()
    con.execute("CREATE TABLE lake.tenant_initech.app_events AS SELECT * FROM lake.main.app_events WHERE false")
    con.execute("INSERT INTO lake.tenant_initech.app_events VALUES ('initech', 9, 'ivy@initech.com', 'buy')")
    con.close()
    add_group(lake, "pii_readers")
    add_group(lake, "globex-team")
    tokens = {}
    for name in ("ann", "gus", "dpo", "staff", "ivy", "multi", "leaver"):
        add_user(lake, name, f"{name}-password-1")
        tokens[name] = add_token(lake, name)[1]
    grant(lake, "acme", "user", "ann")
    grant(lake, "globex", "group", "globex-team")
    add_member(lake, "globex-team", "gus")
    grant(lake, "acme", "user", "dpo")
    grant(lake, "acme", "user", "leaver")
    add_member(lake, "pii_readers", "dpo")
    grant(lake, "initech", "user", "ivy")
    grant(lake, "initech", "user", "multi")
    grant(lake, "acme", "user", "multi")
    set_mask(lake, "app_events", "email", "hash", except_groups=["pii_readers"])
    return lake, tokens


def _hash(lake, value: str) -> str:
    return hashlib.sha256((salt_for(lake) + value).encode()).hexdigest()


def rows(lake, token, sql, engine="duckdb"):
    return run_as(lake, principal_for_token(lake, token), engine, sql).to_pylist()


def test_each_principal_sees_their_rows_with_pii_as_allowed(governed):
    lake, tok = governed
    q = "SELECT tenant_id, event_id, email FROM app_events ORDER BY event_id"
    assert rows(lake, tok["ann"], q) == [
        {"tenant_id": "acme", "event_id": 1, "email": _hash(lake, "ann@acme.com")},
        {"tenant_id": "acme", "event_id": 2, "email": _hash(lake, "al@acme.com")},
    ]
    assert rows(lake, tok["gus"], q) == [{"tenant_id": "globex", "event_id": 3, "email": _hash(lake, "gil@globex.com")}]
    assert rows(lake, tok["dpo"], q) == [
        {"tenant_id": "acme", "event_id": 1, "email": "ann@acme.com"},
        {"tenant_id": "acme", "event_id": 2, "email": "al@acme.com"},
    ]
    # the bridge tenant reads its own schema under the same table name
    assert rows(lake, tok["ivy"], q) == [{"tenant_id": "initech", "event_id": 9, "email": _hash(lake, "ivy@initech.com")}]
    # the provider's staff (no grants) see every row, PII still masked
    assert [r["event_id"] for r in rows(lake, tok["staff"], q)] == [1, 2, 3, 4]
    assert rows(lake, tok["staff"], q)[3]["email"] == _hash(lake, "staff@provider.com")


def test_joins_on_a_hashed_column_still_match(governed):
    lake, tok = governed
    q = ("SELECT count(*) AS n FROM app_events a JOIN (SELECT email FROM app_events WHERE event_name = 'buy') b "
         "ON a.email = b.email")
    assert rows(lake, tok["ann"], q) == [{"n": 1}]


@pytest.mark.parametrize("sql, message", [
    ("SELECT * FROM lake.tenant_initech.app_events", "no table named"),
    ("SELECT * FROM console_users", "no table named 'console_users'"),
    ("SELECT * FROM tenants", "no table named 'tenants'"),
    ("SELECT * FROM read_parquet('data/main/app_events/*.parquet')", "table function read_parquet(...) is not allowed"),
    ("SELECT * FROM information_schema.columns", "information_schema"),
])
def test_a_tenant_cannot_reach_around_the_policy(governed, sql, message):
    lake, tok = governed
    with pytest.raises(Exception) as err:
        rows(lake, tok["ann"], sql)
    assert message in str(err.value)
    assert "gil@globex.com" not in str(err.value) and "ivy@initech.com" not in str(err.value)


def test_bad_tokens_and_mixed_grants_are_refused(governed):
    lake, tok = governed
    with pytest.raises(AuthError, match="invalid or revoked API token"):
        principal_for_token(lake, "elk_00000000_" + "a" * 43)
    with pytest.raises(AccessError, match="a bridge tenant's schema is queried on its own"):
        rows(lake, tok["multi"], "SELECT 1")
    assert principal_for_token(lake, tok["leaver"]).user.name == "leaver"
    update_user(lake, "leaver", disabled=True)
    with pytest.raises(AuthError):
        principal_for_token(lake, tok["leaver"])


def test_cli_token_option_on_sql_and_insights(governed):
    lake, tok = governed
    runner = CliRunner()
    res = runner.invoke(app, ["--lake", str(lake.path), "sql", "SELECT event_id, email FROM app_events ORDER BY 1",
                              "--format", "json", "--token", tok["gus"]])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == [{"event_id": 3, "email": _hash(lake, "gil@globex.com")}]
    # EVENTLAKE_TOKEN works the same
    res = runner.invoke(app, ["--lake", str(lake.path), "sql", "SELECT count(*) AS n FROM app_events", "--format", "json"],
                        env={"EVENTLAKE_TOKEN": tok["ann"]})
    assert json.loads(res.stdout) == [{"n": 2}]
    # without a token: the local admin sees everything as stored
    res = runner.invoke(app, ["--lake", str(lake.path), "sql", "SELECT count(*) AS n FROM app_events", "--format", "json"])
    assert json.loads(res.stdout) == [{"n": 4}]
    refused = runner.invoke(app, ["--lake", str(lake.path), "sql", "SELECT * FROM read_csv('/etc/passwd')", "--token", tok["gus"]])
    assert refused.exit_code == 1 and "table function read_csv(...) is not allowed" in str(refused.exception)
    # a saved query keeps its own parameters under the policy
    res = runner.invoke(app, ["--lake", str(lake.path), "insights", "run", "cloudtrail_root_account_use", "--format", "json",
                              "--token", tok["staff"]])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == []


@pytest.mark.spark
def test_the_same_policy_applies_on_spark(governed, spark):  # noqa: F811
    lake, tok = governed
    q = "SELECT tenant_id, event_id, email FROM app_events ORDER BY event_id"
    for user in ("ann", "dpo", "staff"):
        duck = rows(lake, tok[user], q)
        on_spark = run_as(lake, principal_for_token(lake, tok[user]), "spark", q, master="local[2]").to_pylist()
        assert on_spark == duck, user
    assert [r["event_id"] for r in run_as(lake, principal_for_token(lake, tok["gus"]), "spark", q, master="local[2]").to_pylist()] == [3]


@pytest.mark.spark
def test_a_bridge_tenant_reads_its_schema_on_spark(governed, spark):  # noqa: F811
    lake, tok = governed
    ivy = principal_for_token(lake, tok["ivy"])
    q = "SELECT tenant_id, event_id, email FROM app_events ORDER BY event_id"
    assert run_as(lake, ivy, "spark", q, master="local[2]").to_pylist() == [
        {"tenant_id": "initech", "event_id": 9, "email": _hash(lake, "ivy@initech.com")}
    ]
    assert run_as(lake, ivy, "spark", q, master="local[2]").to_pylist() == rows(lake, tok["ivy"], q)
    # `main` names the tenant's own schema to them: the shared tables are out of reach
    assert run_as(lake, ivy, "spark", "SELECT count(*) AS n FROM lake.main.app_events", master="local[2]").to_pylist() == [{"n": 1}]
