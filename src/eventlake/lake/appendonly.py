"""Helpers of the append-only tables that hold current state as history (principals,
groups, tenants, policies, collector sources): every change appends a row, and the
latest row per key, by `updated_at`, is in effect."""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Iterable, Sequence

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


def latest_rows(con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str], key: Sequence[str],
                order: Sequence[str] | None = None, present: Iterable[str] | None = None) -> list[tuple]:
    """`columns` of the row in effect per `key` (the latest `updated_at`) of the
    append-only `table` (schema main), sorted by `order` (default: the key); [] before the
    table exists. With `present` (the columns an older lake's table has), the others read
    as NULL."""
    if not table_exists(con, table):
        return []
    have = None if present is None else set(present)
    cols = ", ".join(f'"{c}"' if have is None or c in have else f'NULL AS "{c}"' for c in columns)
    return con.execute(
        f'SELECT {cols} FROM {ALIAS}.main."{table}" '
        f'QUALIFY row_number() OVER (PARTITION BY {", ".join(key)} ORDER BY updated_at DESC) = 1 '
        f'ORDER BY {", ".join(order or key)}'
    ).fetchall()


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
