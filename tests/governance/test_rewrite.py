"""The query rewrite: row filters and column masks on every table a query reads, exact
rows for a masked tenant principal, a PII reader and a bridge-model tenant, policy
validation, and the same rewritten query on Spark."""

from __future__ import annotations

import re

import pytest

from eventlake.governance.rewrite import Mask, Policy, PolicyError, TablePolicy, rewrite
from tests.engines.conftest import spark, spark_engine  # noqa: F401  (Spark fixtures)

from .policy_lake import (
    ACCOUNTS_COLUMNS, APP_EVENTS_COLUMNS, SALT, bridge_acme, build, d, hashed, pii_reader_a, run, tenant_a,
)

ALICE, BOB = hashed("alice@a.com"), hashed("bob@a.com")
A_ROWS_MASKED = [
    ("A", 1, ALICE, "[redacted]", "view", d("2024-03-05"), "12", 10),
    ("A", 2, BOB, "[redacted]", "buy", d("2024-04-07"), "34", 20),
    ("A", 3, None, None, "view", d("2024-05-01"), "56", 5),
]
A_ROWS_RAW = [
    ("A", 1, "alice@a.com", "10.0.0.1", "view", d("2024-03-05"), "12", 10),
    ("A", 2, "bob@a.com", "10.0.0.2", "buy", d("2024-04-07"), "34", 20),
    ("A", 3, None, None, "view", d("2024-05-01"), "56", 5),
]


@pytest.fixture
def plake(lake):
    build(lake)
    return lake


def test_tenant_sees_its_rows_masked(plake):
    assert run(plake, "SELECT * FROM app_events ORDER BY event_id", tenant_a()) == A_ROWS_MASKED
    assert run(plake, "FROM accounts ORDER BY email", tenant_a()) == [
        ("A", None, "****.com", d("2021-01-01")),
        ("A", None, "****.com", d("2022-01-01")),
    ]


def test_pii_reader_sees_raw_values_of_its_tenant(plake):
    assert run(plake, "SELECT * FROM app_events ORDER BY event_id", pii_reader_a()) == A_ROWS_RAW
    assert run(plake, "SELECT name, email, signup FROM accounts ORDER BY name", pii_reader_a()) == [
        ("Alice A", "alice@a.com", d("2021-06-15")), ("Bob A", "bob@a.com", d("2022-11-30")),
    ]


def test_bridge_tenant_reads_its_schema(plake):
    assert run(plake, "SELECT event_id, ip, user_email FROM app_events ORDER BY 1", bridge_acme()) == [
        (1, "[redacted]", "alice@a.com"), (2, "[redacted]", "bob@a.com"), (3, None, None),
    ]


@pytest.mark.parametrize("sql, expected", [
    ("SELECT e.event_id, e.user_email FROM lake.main.app_events AS e WHERE e.amount > 5 ORDER BY 1", [(1, ALICE), (2, BOB)]),
    ("SELECT app_events.event_id FROM app_events ORDER BY app_events.event_id DESC", [(3,), (2,), (1,)]),
    ("SELECT x.* EXCLUDE (tenant_id, user_email, event_date, code) FROM \"App_Events\" x ORDER BY event_id",
     [(1, "[redacted]", "view", 10), (2, "[redacted]", "buy", 20), (3, None, "view", 5)]),
    ("SELECT * EXCLUDE (tenant_id, user_email, ip, event_date, code) REPLACE (amount * 2 AS amount) FROM app_events ORDER BY 1",
     [(1, "view", 20), (2, "buy", 40), (3, "view", 10)]),
    ("SELECT COLUMNS('^(event_id|ip)$') FROM app_events ORDER BY 1", [(1, "[redacted]"), (2, "[redacted]"), (3, None)]),
    ("SELECT event_name, sum(amount) FROM app_events GROUP BY ALL ORDER BY 1", [("buy", 20), ("view", 15)]),
    # hashing is stable: a self-join on the masked column still matches
    ("SELECT a.event_id AS x, b.event_id AS y FROM app_events a JOIN lake.app_events b ON a.user_email = b.user_email ORDER BY 1",
     [(1, 1), (2, 2)]),
    # a CTE named like the table reads the (rewritten) table in its own body
    ("WITH app_events AS (SELECT * FROM app_events WHERE event_name = 'view') SELECT event_id FROM app_events ORDER BY 1",
     [(1,), (3,)]),
    ("WITH v AS (SELECT event_id FROM app_events), w AS (SELECT * FROM v WHERE event_id > 1) SELECT * FROM w ORDER BY 1",
     [(2,), (3,)]),
    ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < (SELECT count(*) FROM app_events)) SELECT * FROM r",
     [(1,), (2,), (3,)]),
    ("SELECT i, (SELECT max(amount) FROM app_events) FROM range(2) t(i) ORDER BY 1", [(0, 20), (1, 20)]),
    ("SELECT u FROM (SELECT unnest([1, 2]) AS u) ORDER BY 1", [(1,), (2,)]),
    ("SELECT event_id FROM app_events e, LATERAL (SELECT e.amount * 2 AS dbl) l WHERE l.dbl = 40", [(2,)]),
    ("SELECT * FROM app_events PIVOT (sum(amount) FOR event_name IN ('view', 'buy')) "
     "WHERE false", []),
    ("VALUES (1, 'x')", [(1, "x")]),
])
def test_queries_keep_working_over_the_derived_tables(plake, sql, expected):
    assert run(plake, sql, tenant_a()) == expected


def test_rewrite_shape_and_parameters():
    sql, params = rewrite("SELECT count(*) FROM accounts", tenant_a())
    assert params == {"__tenant": "A"}  # only what the rewritten query uses
    assert re.search(r'FROM lake\.main\."accounts" AS __el_src_[0-9a-f]{16} WHERE __el_src_[0-9a-f]{16}\."tenant_id" = \$__tenant\) AS accounts', sql)
    sql, params = rewrite("SELECT user_email FROM app_events", tenant_a())
    assert params == {"__salt": SALT, "__tenant": "A"}
    assert "SHA256($__salt || CAST(" in sql


def test_sql_mask_and_its_validation(plake):
    policy = Policy("p", {"accounts": TablePolicy('lake.main."accounts"', ACCOUNTS_COLUMNS, "tenant_id = $__tenant",
                                                  {"email": Mask("sql", "upper(split_part(email, '@', 2))")})},
                    {"__tenant": "A"})
    assert run(plake, "SELECT email FROM accounts", policy) == [("A.COM",), ("A.COM",)]
    for expression, message in [
        ("email || name", "may reference only 'email'"),
        ("(SELECT max(email) FROM accounts)", "subqueries, tables and * are not allowed"),
        ("getenv('HOME')", "function getenv(...) is not allowed"),
        ("email || $__tenant", "the only parameter a mask may use is $__salt"),
        ("max(email)", "aggregates and window functions are not allowed"),
    ]:
        with pytest.raises(PolicyError, match=re.escape(message)):
            TablePolicy('lake.main."accounts"', ACCOUNTS_COLUMNS, None, {"email": Mask("sql", expression)})


@pytest.mark.parametrize("build_policy, message", [
    (lambda: TablePolicy('lake.main."accounts"', ACCOUNTS_COLUMNS, None, {"name": Mask("year")}),
     "column 'name': a year mask needs a DATE or TIMESTAMP column"),
    (lambda: TablePolicy('lake.main."accounts"', ACCOUNTS_COLUMNS, None, {"phone": Mask("redact")}), "mask on 'phone'"),
    (lambda: TablePolicy('lake.main."accounts"', ACCOUNTS_COLUMNS, "owner = $u"), "names owner, which is not a column"),
    (lambda: TablePolicy("read_parquet('x.parquet')", ACCOUNTS_COLUMNS), "is not a table name"),
    (lambda: Mask("scramble"), "unknown mask 'scramble'"),
])
def test_bad_policies_are_refused_when_built(build_policy, message):
    with pytest.raises(PolicyError, match=re.escape(message)):
        build_policy()


def test_a_parameter_the_policy_does_not_give_is_refused():
    policy = Policy("p", {"accounts": TablePolicy('lake.main."accounts"', ACCOUNTS_COLUMNS, "tenant_id = $__tenant")})
    with pytest.raises(PolicyError, match=re.escape("uses $__tenant but gives it no value")):
        rewrite("SELECT * FROM accounts", policy)


def test_every_mask_translates_to_spark():
    from eventlake.engines.translate import translate

    sql, _ = rewrite("SELECT * FROM app_events JOIN accounts USING (tenant_id)", tenant_a())
    tr = translate(sql)
    assert "SHA2(:__salt || CAST(" in tr.sql and "MAKE_DATE(YEAR(" in tr.sql and "RIGHT(CAST(" in tr.sql
    assert set(tr.parameters) == {"__salt", "__tenant"}


@pytest.mark.spark
def test_spark_returns_the_same_rows(plake, spark_engine):  # noqa: F811
    sql, params = rewrite(
        "SELECT e.event_id, e.user_email, e.ip, a.email, a.signup, a.name FROM app_events e "
        "LEFT JOIN accounts a ON e.event_id = 1 AND a.signup < DATE '2022-01-01' ORDER BY 1",
        tenant_a(),
    )
    expected = [
        (1, ALICE, "[redacted]", "****.com", d("2021-01-01"), None),
        (2, BOB, "[redacted]", None, None, None),
        (3, None, None, None, None, None),
    ]
    assert run(plake, "SELECT e.event_id, e.user_email, e.ip, a.email, a.signup, a.name FROM app_events e "
                      "LEFT JOIN accounts a ON e.event_id = 1 AND a.signup < DATE '2022-01-01' ORDER BY 1", tenant_a()) == expected
    result = spark_engine(plake).query(sql, params)
    assert [tuple(r.values()) for r in result.to_pylist()] == expected
