"""Helpers shared by the insight test modules: timestamps, empty lakes, a module-scoped
DuckDB engine fixture over a fixture lake, and running an insight to plain rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from eventlake.engines import get_engine
from eventlake.insights import run_insight
from eventlake.lake import Lake


def ts(text: str) -> dt.datetime:
    """ISO text (no zone) as an aware UTC datetime."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc)


def empty_lake(path: Path | str) -> Lake:
    """A lake at `path` with every eventlake table created."""
    lake = Lake(path)
    con = lake.connect(create=True)
    try:
        lake.ensure_tables(con)
    finally:
        con.close()
    return lake


def duckdb_engine_fixture(build: Callable[[Path], Lake], name: str):
    """A module-scoped `engine` fixture: a DuckDB engine over build(<tmp dir `name`>/lake).

    Use as `engine = duckdb_engine_fixture(build_x_lake, "x-insights")` in a test module."""

    @pytest.fixture(scope="module")
    def engine(tmp_path_factory):
        eng = get_engine("duckdb", build(tmp_path_factory.mktemp(name) / "lake"))
        yield eng
        eng.close()

    return engine


def run_rows(engine, name: str, params: dict) -> tuple[list[str], list[tuple]]:
    """Run insight `name` with `params`: its column names and its rows as tuples."""
    table = run_insight(engine, name, params)
    return table.column_names, [tuple(r.values()) for r in table.to_pylist()]
