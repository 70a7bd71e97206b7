"""The DuckDB query engine reads the lake and nothing else."""

from __future__ import annotations

import pytest

from eventlake.engines.duckdb import DuckDBEngine
from eventlake.errors import QueryError


@pytest.fixture
def engine(lake):
    e = DuckDBEngine(lake)
    yield e
    e.close()


def test_select_works(engine):
    assert engine.query("SELECT count(*) AS n FROM cloudtrail_events").to_pylist() == [{"n": 0}]


@pytest.mark.parametrize(
    "sql,message",
    [
        ("COPY (SELECT 1) TO '/tmp/eventlake-pwned.csv'", "got a COPY statement"),
        ("DELETE FROM cloudtrail_events", "got a DELETE statement"),
        ("ATTACH ':memory:' AS other", "got a ATTACH statement"),
        ("SET lock_configuration = false", "got a SET statement"),
        ("INSTALL httpfs", "got a"),
        ("SELECT 1; SELECT 2", "exactly one SQL statement, got 2"),
        ("", "exactly one SQL statement, got 0"),
    ],
)
def test_non_select_refused(engine, sql, message):
    with pytest.raises(QueryError, match=message):
        engine.query(sql)


@pytest.mark.parametrize("sql", ["SELECT * FROM read_text('/etc/hostname')", "SELECT * FROM read_csv('/etc/passwd')"])
def test_files_outside_the_lake_refused(engine, sql, tmp_path):
    with pytest.raises(QueryError, match="Permission Error"):
        engine.query(sql)
