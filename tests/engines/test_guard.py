"""The check of SQL a person writes in the console: lake tables by name, nothing else."""

from __future__ import annotations

import re

import pytest

from eventlake.engines.guard import check_query
from eventlake.errors import QueryError

TABLES = {"cloudtrail_events", "alb_logs", "console_users", "api_tokens", "events"}


@pytest.mark.parametrize("sql", [
    "SELECT count(*) FROM cloudtrail_events",
    "SELECT * FROM lake.alb_logs a JOIN lake.main.events e ON a.request_url = e.url",
    "WITH recent AS (SELECT * FROM events) SELECT * FROM recent r, recent s",
    "SELECT i FROM range(10) t(i)",
    "SELECT * FROM generate_series(1, 3)",
    "SELECT table_name, column_name FROM information_schema.columns",
    "SELECT (SELECT max(event_time) FROM cloudtrail_events) AS latest",
    "FROM alb_logs SELECT count(*)",
    "SELECT 1 AS one",
])
def test_lake_tables_by_name_are_allowed(sql):
    check_query(sql, TABLES)


@pytest.mark.parametrize("sql, message", [
    ("SELECT * FROM read_parquet('data/main/console_users/x.parquet')", "table function read_parquet(...) is not allowed here"),
    ("SELECT * FROM sqlite_scan('catalog.sqlite', 'ducklake_table')", "table function sqlite_scan(...) is not allowed here"),
    ("SELECT * FROM query_table('console_users')", "table function query_table(...) is not allowed here"),
    ("SELECT * FROM read_csv('/etc/passwd')", "is not allowed here: query the lake's tables by name"),
    ("SELECT * FROM duckdb_settings()", "table function duckdb_settings(...) is not allowed here"),
    ("SELECT * FROM 'data/main/api_tokens/x.parquet'", "no lake table named 'data/main/api_tokens/x.parquet'"),
    ("SELECT * FROM console_users", "table 'console_users' holds credentials"),
    ("SELECT user_name FROM lake.main.api_tokens", "table 'api_tokens' holds credentials"),
    ("SELECT (SELECT min(password_hash) FROM console_users)", "table 'console_users' holds credentials"),
    ("WITH console_users AS (SELECT * FROM console_users) SELECT * FROM console_users", "holds credentials"),
    ("SELECT * FROM cloudtrail_events UNION ALL SELECT * FROM api_tokens", "table 'api_tokens' holds credentials"),
    ("SELECT * FROM other.main.t", "catalog 'other' is not allowed here"),
    ("SELECT * FROM memory.cloudtrail_events", "schema 'memory' is not allowed here"),
    ("SELECT * FROM nowhere", "no lake table named 'nowhere'"),
    ("SELECT FROM WHERE", "could not be checked, so it does not run"),
])
def test_everything_else_is_refused(sql, message):
    with pytest.raises(QueryError, match=re.escape(message)):
        check_query(sql, TABLES)
