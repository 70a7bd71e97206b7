"""Adversarial: tenant A's masked analyst tries to read tenant B's rows, or A's raw PII,
through every path we could think of. Each attempt either returns only A's rows, masked
(the expected rows are written out), or is refused with a PolicyError whose message holds
no protected value. Engine errors pass through scrub_error, as the CLI/console show them."""

from __future__ import annotations

import re

import pytest

from eventlake.engines.duckdb import DuckDBEngine
from eventlake.errors import QueryError
from eventlake.governance.rewrite import PolicyError, rewrite, scrub_error

from .policy_lake import A_PII, B_SECRETS, build, d, hashed, run, tenant_a

PROTECTED = B_SECRETS + A_PII
ALICE, BOB = hashed("alice@a.com"), hashed("bob@a.com")


@pytest.fixture
def plake(lake):
    build(lake)
    return lake


def no_leak(text: str, typed: str = "") -> None:
    """No protected value in what the principal is shown, unless the principal typed it:
    a refusal may echo the query's own text (a data file's name holds a random uuid, and
    one may happen to contain "777")."""
    for value in PROTECTED:
        assert value not in text or value in typed, f"{value!r} leaked: {text}"


def attempt(lake, sql: str):
    """Rows, or the refusal/error message a tenant principal would see."""
    try:
        rows = run(lake, sql, tenant_a())
    except PolicyError as exc:
        no_leak(str(exc), sql)
        return "refused: " + str(exc)
    except QueryError as exc:
        shown = scrub_error(str(exc))
        no_leak(shown, sql)
        return "error: " + shown
    no_leak(repr(rows))
    return rows


# (query, the exact answer tenant A's analyst gets)
ANSWERED = [
    ("SELECT count(*) FROM app_events", [(3,)]),
    ("SELECT user_email, ip FROM app_events ORDER BY event_id", [(ALICE, "[redacted]"), (BOB, "[redacted]"), (None, None)]),
    ("SELECT e.* FROM app_events e WHERE e.tenant_id = 'B'", []),
    ("SELECT event_id FROM app_events WHERE tenant_id = 'B' OR 1 = 1 ORDER BY 1", [(1,), (2,), (3,)]),
    ("SELECT count(*) FROM app_events a JOIN app_events b ON a.tenant_id <> b.tenant_id", [(0,)]),
    ("SELECT count(*), min(a.email) FROM app_events e CROSS JOIN accounts a", [(6, "****.com")]),
    ("SELECT (SELECT max(user_email) FROM app_events WHERE tenant_id = 'B')", [(None,)]),
    ("SELECT (SELECT list(code ORDER BY code) FROM lake.main.app_events)", [(["12", "34", "56"],)]),
    ("SELECT event_id FROM app_events WHERE code IN (SELECT code FROM app_events WHERE amount > 100)", []),
    ("SELECT 1 WHERE EXISTS (SELECT 1 FROM accounts WHERE name = 'Carol B' OR email LIKE 'carol%')", []),
    ("WITH app_events AS (SELECT * FROM app_events) SELECT count(*) FROM app_events", [(3,)]),
    ("WITH RECURSIVE app_events AS (SELECT * FROM app_events) SELECT count(*) FROM app_events", [(3,)]),
    ("WITH x AS (SELECT * FROM accounts) SELECT count(*) FROM x, (WITH accounts AS (SELECT * FROM accounts) SELECT * FROM accounts) y", [(4,)]),
    ("SELECT code FROM app_events UNION SELECT 'x' UNION ALL VALUES ('y') ORDER BY 1", [("12",), ("34",), ("56",), ("x",), ("y",)]),
    ("SELECT name FROM accounts UNION ALL SELECT email FROM accounts ORDER BY 1 NULLS LAST", [("****.com",), ("****.com",), (None,), (None,)]),
    ("SELECT lag(code) OVER (ORDER BY event_id), lead(user_email) OVER (ORDER BY event_id), first_value(amount) OVER (ORDER BY amount DESC) "
     "FROM app_events ORDER BY event_id", [(None, BOB, 20), ("12", None, 20), ("34", None, 20)]),
    ("SELECT tenant_id, count(*), sum(amount) FROM app_events GROUP BY ALL", [("A", 3, 35)]),
    ("SELECT max(COLUMNS(*)) FROM accounts", [("A", None, "****.com", d("2022-01-01"))]),
    ("SELECT * EXCLUDE (tenant_id) REPLACE (upper(email) AS email) FROM accounts ORDER BY signup", [(None, "****.COM", d("2021-01-01")), (None, "****.COM", d("2022-01-01"))]),
    ('SELECT count(*) FROM "APP_EVENTS"', [(3,)]),
    ("SELECT count(*) FROM LAKE.MAIN.APP_EVENTS", [(3,)]),
    ('SELECT count(*) FROM "lake"."main"."app_events"', [(3,)]),
    ("SELECT count(*) FROM lake.app_events", [(3,)]),
    ("SELECT count(*) FROM main.Accounts", [(2,)]),
    ("SELECT count(*) FROM (FROM app_events) t, LATERAL (SELECT * FROM accounts WHERE accounts.tenant_id <> t.tenant_id) l", [(0,)]),
    ("SELECT * FROM (PIVOT app_events ON event_name IN ('view', 'buy') USING count(*) GROUP BY tenant_id)", [("A", 2, 1)]),
    ("SELECT i FROM generate_series(1, 2) t(i)", [(1,), (2,)]),
]


@pytest.mark.parametrize("sql, expected", ANSWERED)
def test_only_allowed_masked_rows_come_back(plake, sql, expected):
    assert attempt(plake, sql) == expected


# (query, the start of the refusal)
REFUSED = [
    ("SELECT * FROM information_schema.tables", "information_schema.tables: catalog metadata is for administrators only"),
    ("SELECT * FROM information_schema.columns WHERE table_name = 'accounts'", "catalog metadata is for administrators only"),
    ("SELECT * FROM pg_catalog.pg_tables", "catalog metadata is for administrators only"),
    ("SELECT * FROM duckdb_tables()", "table function duckdb_tables(...) is not allowed"),
    ("SELECT * FROM duckdb_tables", "duckdb_tables: catalog metadata is for administrators only"),
    ("SELECT * FROM duckdb_secrets()", "table function duckdb_secrets(...) is not allowed"),
    ("SELECT * FROM sqlite_master", "no table named 'sqlite_master'"),
    ("SELECT * FROM query_table('app_events')", "table function query_table(...) is not allowed"),
    ("SELECT * FROM query('SELECT * FROM app_events')", "table function query(...) is not allowed"),
    ("SELECT * FROM ducklake_snapshots('lake')", "table function ducklake_snapshots(...) is not allowed"),
    ("SELECT * FROM ducklake_table_changes('lake', 'main', 'app_events', 0, 10)", "table function ducklake_table_changes(...) is not allowed"),
    ("SELECT * FROM glob('**')", "is not allowed"),
    ("SELECT * FROM pragma_table_info('accounts')", "table function pragma_table_info(...) is not allowed"),
    ("SELECT * FROM read_csv('/etc/passwd')", "is not allowed"),
    ("SELECT * FROM read_text('catalog.sqlite')", "is not allowed"),
    ("SELECT * FROM cloudtrail_events", "no table named 'cloudtrail_events'"),
    ("SELECT * FROM no_such_table", "no table named 'no_such_table'"),
    ("SELECT * FROM tenant_acme.app_events", "no table named 'tenant_acme.app_events'"),
    ("SELECT * FROM lake.tenant_acme.app_events", "no table named 'lake.tenant_acme.app_events'"),
    ("SELECT * FROM memory.main.app_events", "no table named 'memory.main.app_events'"),
    ("SELECT * FROM system.main.duckdb_settings", "no table named 'system.main.duckdb_settings'"),
    ("SELECT * FROM app_events AT (VERSION => 1)", "app_events: when (e.g. time travel) is not allowed"),
    ("SELECT $__salt", "the query may not use parameters"),
    ("SELECT * FROM app_events WHERE user_email = sha256($__salt || 'carol@b.com')", "the query may not use parameters"),
    ("SELECT getvariable('x')", "function getvariable(...) is not allowed"),
    ("SELECT getenv('HOME')", "function getenv(...) is not allowed"),
    ("SELECT current_setting('allowed_directories')", "function current_setting(...) is not allowed"),
    ("SELECT error(code) FROM app_events", "function error(...) is not allowed"),
    ("SELECT current_query()", "function current_query(...) is not allowed"),
    ("SELECT 1; SELECT * FROM lake.main.app_events", "expected exactly one SQL statement, got 2"),
    ("SELECT 1 /* hidden */; DROP TABLE app_events", "expected exactly one SQL statement, got 2"),
    ("SELECT 1 -- comment\n; COPY app_events TO 'out.csv'", "expected exactly one SQL statement, got 2"),
    ("ATTACH 'other.duckdb' AS other", "only queries"),
    ("COPY app_events TO 'out.csv'", "only queries"),
    ("COPY (SELECT * FROM app_events) TO 'out.csv'", "only queries"),
    ("SET enable_external_access = true", "only queries"),
    ("RESET lock_configuration", "only queries"),
    ("PRAGMA table_info('app_events')", "only queries"),
    ("CALL pragma_version()", "only queries"),
    ("INSTALL httpfs", "only queries"),
    ("LOAD httpfs", "only queries"),
    ("EXPORT DATABASE 'dump'", "could not be checked, so it does not run"),
    ("DETACH lake", "only queries"),
    ("CREATE TABLE x AS SELECT * FROM app_events", "only queries"),
    ("DELETE FROM app_events", "only queries"),
    ("SUMMARIZE app_events", "SUMMARIZE shows the catalog's metadata and is for administrators only"),
    ("DESCRIBE accounts", "DESCRIBE shows the catalog's metadata and is for administrators only"),
    ("SHOW TABLES", "SHOW shows the catalog's metadata and is for administrators only"),
]


@pytest.mark.parametrize("sql, message", REFUSED)
def test_escape_routes_are_refused(plake, sql, message):
    outcome = attempt(plake, sql)
    assert isinstance(outcome, str) and outcome.startswith("refused: "), outcome
    assert message in outcome


def test_the_lakes_own_files_cannot_be_read(plake):
    con = plake.connect(read_only=True)
    files = [r[0] for r in con.execute("SELECT data_file FROM ducklake_list_files('lake', 'app_events')").fetchall()]
    con.close()
    assert files
    catalog = str(plake.catalog_file)
    for path in files:
        for sql in (f"SELECT * FROM read_parquet('{path}')", f"SELECT * FROM parquet_scan(['{path}'])",
                    f"SELECT * FROM '{path}'", f'SELECT * FROM "{path}"',
                    f"SELECT (SELECT count(*) FROM read_parquet('{path}'))",
                    f"WITH x AS (SELECT * FROM '{path}') SELECT * FROM x"):
            outcome = attempt(plake, sql)
            assert isinstance(outcome, str) and outcome.startswith("refused: "), (sql, outcome)
    for sql in (f"SELECT * FROM sqlite_scan('{catalog}', 'ducklake_table')",
                f"SELECT * FROM '{catalog}'",
                f"ATTACH '{catalog}' AS cat (TYPE sqlite)"):
        outcome = attempt(plake, sql)
        assert isinstance(outcome, str) and outcome.startswith("refused: "), (sql, outcome)


@pytest.mark.parametrize("sql", [
    "SELECT event_id FROM app_events WHERE CAST(code AS INTEGER) > 0 ORDER BY 1",
    "SELECT event_id FROM app_events WHERE CAST(code AS INTEGER) > 0 AND event_name = 'view' ORDER BY 1",
    "SELECT event_id FROM app_events WHERE event_name = 'view' AND CAST(code AS DATE) IS NOT NULL ORDER BY 1",
    "SELECT event_id FROM app_events WHERE amount * 5000000 > 0 ORDER BY 1",
    "SELECT event_id FROM app_events WHERE json_extract(code, '$.x') IS NULL ORDER BY 1",
    "SELECT event_id FROM app_events WHERE strptime(code, '%Y') IS NOT NULL ORDER BY 1",
    "SELECT CAST(user_email AS INTEGER) FROM app_events",
])
def test_errors_never_echo_a_value_of_another_tenant(plake, sql):
    """DuckDB may evaluate the user's expression on rows the filter removes: whatever
    happens, the principal sees A's rows or an error without B's values."""
    outcome = attempt(plake, sql)
    assert outcome in ([(1,), (2,), (3,)], [(1,), (3,)]) or (isinstance(outcome, str) and outcome.startswith("error: ")), outcome


def test_an_unfiltered_cast_error_would_echo_a_value_and_is_scrubbed(plake):
    """Without the rewrite the engine's message holds tenant B's value; scrub_error keeps
    the kind and the column but not the value."""
    engine = DuckDBEngine(plake)
    try:
        with pytest.raises(QueryError) as caught:
            engine.query("SELECT CAST(code AS INTEGER) FROM lake.main.app_events WHERE tenant_id = 'B'")
    finally:
        engine.close()
    assert "secret-b" in str(caught.value)
    assert scrub_error(str(caught.value)) == (
        "Conversion Error: Could not convert string '<value>' to INT32 when casting from source column code"
    )


@pytest.mark.parametrize("message, shown", [
    ("Conversion Error: Could not convert string 'alice@x.com' to INT32 when casting from source column email\n\nLINE 1: select cast(email as int)",
     "Conversion Error: Could not convert string '<value>' to INT32 when casting from source column email"),
    ('Conversion Error: invalid date field format: "alice@x.com", expected format is (YYYY-MM-DD) when casting from source column email',
     "Conversion Error: invalid date field format: '<value>', expected format is (YYYY-MM-DD) when casting from source column email"),
    ('Invalid Input Error: Malformed JSON at byte 0 of input: unexpected character.  Input: "alice@x.com"',
     "Invalid Input Error: Malformed JSON at byte N of input: unexpected character."),
    ('Invalid Input Error: Could not parse string "alice@x.com" according to format specifier "%Y"\nalice@x.com\n^\nError: Expected a number',
     "Invalid Input Error: Could not parse string '<value>'"),
    ("Out of Range Error: Overflow in multiplication of INT32 (2000000000 * 2000000000)!",
     "Out of Range Error: Overflow in multiplication of INT32 (N * N)!"),
    ("Conversion Error: Type INT32 with value 2000000000 can't be cast because the value is out of range for the destination type INT8",
     "Conversion Error: Type INT32 with value N can't be cast because the value is out of range for the destination type INT8"),
    ("Conversion Error: Date out of range: 2000000000-1-1", "Conversion Error: Date out of range: N"),
    ("Invalid Input Error: alice@x.com", "Invalid Input Error: the query failed on a value (details hidden: they could show data you may not see)"),
    ("Invalid Input Error: Invalid input for hex digit: l",
     "Invalid Input Error: the query failed on a value (details hidden: they could show data you may not see)"),
    ('Binder Error: Referenced column "emial" not found in FROM clause!', 'Binder Error: Referenced column "emial" not found in FROM clause!'),
    ("[CAST_INVALID_INPUT] The value 'alice@x.com' of the type \"STRING\" cannot be cast to \"INT\"",
     "[CAST_INVALID_INPUT] the query failed on a value (details hidden: they could show data you may not see)"),
])
def test_scrub_error(message, shown):
    assert scrub_error(message) == shown


def test_a_lone_rewrite_never_reads_a_source_without_its_filter():
    """Every reference to a source in the output sits in a derived table with the filter."""
    sql, _ = rewrite("SELECT * FROM app_events a, lake.main.app_events b, (SELECT * FROM main.APP_EVENTS) c", tenant_a())
    sources = re.findall(r'FROM lake\.main\."app_events" AS (__el_src_[0-9a-f]+) WHERE \1\."tenant_id" = \$__tenant\)', sql)
    assert len(sources) == 3 == sql.count('lake.main."app_events"')
