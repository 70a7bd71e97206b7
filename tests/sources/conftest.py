"""Fixtures shared by the log type parser tests."""

from __future__ import annotations

import duckdb
import pytest


@pytest.fixture(scope="module")
def con():
    """An in-memory DuckDB connection for the parse SQL, one per test module. Modules that
    need it set up differently (a session time zone, a fresh one per test) define their own."""
    c = duckdb.connect()
    yield c
    c.close()
