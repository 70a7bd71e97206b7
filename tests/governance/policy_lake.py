"""A small lake with two tenants' rows and PII columns, and the policies the governance
tests use: tenant A (row filter on tenant_id, masked PII), a PII reader of tenant A (the
same filter, no masks), and a bridge-model tenant (a schema of its own)."""

from __future__ import annotations

import datetime as dt
import hashlib

from eventlake.engines.duckdb import DuckDBEngine
from eventlake.governance.rewrite import Mask, Policy, TablePolicy, rewrite

SALT = "s3cret-salt"

APP_EVENTS_COLUMNS = (
    ("tenant_id", "VARCHAR"), ("event_id", "INTEGER"), ("user_email", "VARCHAR"), ("ip", "VARCHAR"),
    ("event_name", "VARCHAR"), ("event_date", "DATE"), ("code", "VARCHAR"), ("amount", "INTEGER"),
)
ACCOUNTS_COLUMNS = (("tenant_id", "VARCHAR"), ("name", "VARCHAR"), ("email", "VARCHAR"), ("signup", "DATE"))

# Tenant B's values: none of these may ever reach tenant A's principals.
B_SECRETS = ("carol@b.com", "dave@b.com", "192.168.9.9", "192.168.9.10", "secret-b", "Carol B", "Dave B", "777", "888")
# Tenant A's raw PII: the masked principal must not see these either.
A_PII = ("alice@a.com", "bob@a.com", "10.0.0.1", "10.0.0.2", "Alice A", "Bob A")


def build(lake) -> None:
    con = lake.connect()
    con.execute(
        "CREATE TABLE lake.main.app_events (tenant_id VARCHAR, event_id INTEGER, user_email VARCHAR, ip VARCHAR, "
        "event_name VARCHAR, event_date DATE, code VARCHAR, amount INTEGER)"
    )
    con.execute(
        "INSERT INTO lake.main.app_events VALUES "
        "('A', 1, 'alice@a.com', '10.0.0.1', 'view', DATE '2024-03-05', '12', 10), "
        "('A', 2, 'bob@a.com', '10.0.0.2', 'buy', DATE '2024-04-07', '34', 20), "
        "('A', 3, NULL, NULL, 'view', DATE '2024-05-01', '56', 5), "
        "('B', 4, 'carol@b.com', '192.168.9.9', 'buy', DATE '2023-01-02', 'secret-b', 777), "
        "('B', 5, 'dave@b.com', '192.168.9.10', 'view', DATE '2023-02-03', 'secret-b', 888)"
    )
    con.execute("CREATE TABLE lake.main.accounts (tenant_id VARCHAR, name VARCHAR, email VARCHAR, signup DATE)")
    con.execute(
        "INSERT INTO lake.main.accounts VALUES "
        "('A', 'Alice A', 'alice@a.com', DATE '2021-06-15'), ('A', 'Bob A', 'bob@a.com', DATE '2022-11-30'), "
        "('B', 'Carol B', 'carol@b.com', DATE '2020-01-01'), ('B', 'Dave B', 'dave@b.com', DATE '2019-02-02')"
    )
    # the bridge model: tenant acme's own schema, holding only its rows
    con.execute("CREATE SCHEMA lake.tenant_acme")
    con.execute("CREATE TABLE lake.tenant_acme.app_events AS SELECT * FROM lake.main.app_events WHERE tenant_id = 'A'")
    con.close()


def tenant_a() -> Policy:
    """Tenant A's analyst: A's rows only; emails hashed, IPs redacted, names nulled, signup year only."""
    return Policy(
        principal="analyst@a",
        tables={
            "app_events": TablePolicy(
                'lake.main."app_events"', APP_EVENTS_COLUMNS, "tenant_id = $__tenant",
                {"user_email": Mask("hash"), "ip": Mask("redact")},
            ),
            "accounts": TablePolicy(
                'lake.main."accounts"', ACCOUNTS_COLUMNS, "tenant_id = $__tenant",
                {"email": Mask("last4"), "name": Mask("null"), "signup": Mask("year")},
            ),
        },
        params={"__tenant": "A", "__salt": SALT},
    )


def pii_reader_a() -> Policy:
    """Tenant A's PII reader: A's rows, nothing masked."""
    return Policy(
        principal="dpo@a",
        tables={
            "app_events": TablePolicy('lake.main."app_events"', APP_EVENTS_COLUMNS, "tenant_id = $__tenant"),
            "accounts": TablePolicy('lake.main."accounts"', ACCOUNTS_COLUMNS, "tenant_id = $__tenant"),
        },
        params={"__tenant": "A"},
    )


def bridge_acme() -> Policy:
    """The bridge model: `app_events` is tenant acme's own schema's table; no row filter."""
    return Policy(
        principal="analyst@acme",
        tables={"app_events": TablePolicy('lake."tenant_acme"."app_events"', APP_EVENTS_COLUMNS, None, {"ip": Mask("redact")})},
        params={"__salt": SALT},
    )


def hashed(value: str) -> str:
    """The hash mask's expected output, computed independently of the code under test."""
    return hashlib.sha256((SALT + value).encode()).hexdigest()


def run(lake, sql: str, policy: Policy) -> list[tuple]:
    """Rewrite `sql` for `policy` and run it on DuckDB; the rows as tuples."""
    out, params = rewrite(sql, policy)
    engine = DuckDBEngine(lake)
    try:
        table = engine.query(out, params)
    finally:
        engine.close()
    return [tuple(r.values()) for r in table.to_pylist()]


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)
