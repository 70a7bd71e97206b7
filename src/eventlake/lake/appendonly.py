"""Helpers of the append-only tables that hold current state as history (principals,
groups, tenants, policies, collector sources): every change appends a row, and the
latest row per key, by `updated_at`, is in effect."""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable

import duckdb

from .catalog import ALIAS, Lake
from .schema import TableDef


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Does the attached lake have `table` (schema main) yet?"""
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_catalog = ? AND table_schema = 'main' AND table_name = ?",
        [ALIAS, table],
    ).fetchall()[0][0])


def present_columns(con: duckdb.DuckDBPyConnection, table: TableDef) -> list[str]:
    """The columns of `table` the lake's copy has: a lake made by an older eventlake
    lacks those declared since (until `add_missing_columns` runs on a write)."""
    have = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_catalog = ? AND table_schema = 'main' AND table_name = ?",
        [ALIAS, table.name],
    ).fetchall()}
    return [c for c in table.column_names if c in have]


def add_missing_columns(lake: Lake, con: duckdb.DuckDBPyConnection, table: TableDef) -> None:
    """Bring an older lake's copy of `table` up to its declaration: add the columns it
    lacks (in one commit; earlier rows read them as NULL). Call under the writer lock."""
    have = set(present_columns(con, table))
    missing = [(c, t) for c, t in table.columns if c not in have]
    if not missing:
        return
    with lake.transaction(con):
        for c, t in missing:
            con.execute(f'ALTER TABLE {ALIAS}.main."{table.name}" ADD COLUMN "{c}" {t}')


def stamp_after(previous: dt.datetime | None) -> dt.datetime:
    """Now (UTC), or just after `previous` when the clock has not moved past it: a new
    row's `updated_at` must be strictly later than the row it replaces."""
    now = dt.datetime.now(dt.timezone.utc)
    if previous is not None and now <= previous:
        now = previous + dt.timedelta(microseconds=1)
    return now


def read_with(con_or_lake: duckdb.DuckDBPyConnection | Lake, read: Callable[[duckdb.DuckDBPyConnection], Any], empty: Any) -> Any:
    """`read(con)` on a connection with the lake attached, or on a Lake opened read-only
    for the call; a lake not made yet gives `empty`."""
    if not isinstance(con_or_lake, Lake):
        return read(con_or_lake)
    if not con_or_lake.exists():
        return empty
    con = con_or_lake.connect(read_only=True)
    try:
        return read(con)
    finally:
        con.close()
