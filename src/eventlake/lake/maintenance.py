"""Lake upkeep: describing tables, compacting small files, retention by age."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import duckdb

from ..errors import LakeError
from .catalog import ALIAS, Lake
from .derived import derived_from


@dataclass
class TableInfo:
    name: str
    rows: int
    files: int
    bytes: int
    partition_by: list[str]
    partitions: int | None
    columns: list[tuple[str, str]] = field(default_factory=list)


def describe_tables(lake: Lake, con: duckdb.DuckDBPyConnection) -> list[TableInfo]:
    out = []
    for name in lake.table_names(con):
        files = lake.list_files(con, name)
        rows = con.execute(f'SELECT count(*) FROM {ALIAS}."{name}"').fetchall()[0][0]
        cols = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = ? AND table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [ALIAS, lake.schema, name],
        ).fetchall()
        tdef = lake.table_def(name)
        part = list(tdef.partition_by) if tdef else []
        partitions = None
        if part:
            key = ", ".join(f'"{c}"' for c in part)
            partitions = con.execute(f'SELECT count(*) FROM (SELECT DISTINCT {key} FROM {ALIAS}."{name}")').fetchall()[0][0]
        out.append(TableInfo(name, rows, len(files), sum(f.size for f in files), part, partitions, [(c, t) for c, t in cols]))
    return out


@dataclass
class CompactResult:
    files_before: int
    files_after: int
    bytes_before: int
    bytes_after: int
    files_deleted: int


def _file_stats(lake: Lake, con, tables: list[str]) -> tuple[int, int]:
    n = b = 0
    for t in tables:
        fs = lake.list_files(con, t)
        n += len(fs) + sum(1 for f in fs if f.delete_file)
        b += sum(f.size for f in fs)
    return n, b


def compact(lake: Lake, con: duckdb.DuckDBPyConnection, table: str | None = None) -> CompactResult:
    """Merge small adjacent files, rewrite files carrying deletes, then expire old
    snapshots and remove the files nothing refers to any more."""
    existing = lake.table_names(con)
    if table and table not in existing:
        raise LakeError(f"no table {table!r} in the lake at {lake.path}")
    tables = [table] if table else existing
    n0, b0 = _file_stats(lake, con, tables)
    for t in tables:
        con.execute("CALL ducklake_rewrite_data_files(?, ?)", [ALIAS, t])
        con.execute("CALL ducklake_merge_adjacent_files(?, ?)", [ALIAS, t])
    deleted = _expire_and_clean(con)
    n1, b1 = _file_stats(lake, con, tables)
    return CompactResult(n0, n1, b0, b1, deleted)


def _expire_and_clean(con: duckdb.DuckDBPyConnection) -> int:
    """Expire every snapshot but the current one and delete unreferenced files."""
    con.execute("CALL ducklake_expire_snapshots(?, older_than => now())", [ALIAS])
    rows = con.execute("CALL ducklake_cleanup_old_files(?, cleanup_all => true)", [ALIAS]).fetchall()
    # files a killed writer left behind, never committed to any snapshot
    orphans = con.execute("CALL ducklake_delete_orphaned_files(?, cleanup_all => true)", [ALIAS]).fetchall()
    return len(rows) + len(orphans)


_AGE = re.compile(r"^\s*(\d+)\s*([dwmy]?)\s*$")


def parse_age(text: str) -> dt.timedelta:
    """'400d', '8w', '13m' (30-day months), '2y' (365 days) or a bare number of days."""
    m = _AGE.match(text)
    if not m:
        raise LakeError(f"age {text!r} must look like 400d, 8w, 13m or 2y")
    n, unit = int(m.group(1)), m.group(2) or "d"
    days = {"d": 1, "w": 7, "m": 30, "y": 365}[unit] * n
    if days > 3_650_000:
        raise LakeError(f"age {text!r} is more than 10,000 years")
    return dt.timedelta(days=days)


@dataclass
class RetainResult:
    table: str
    cutoff: dt.date
    rows_deleted: int
    files_deleted: int


def retain(lake: Lake, con: duckdb.DuckDBPyConnection, table: str, older_than: str, today: dt.date | None = None) -> RetainResult:
    """Delete the rows of `table` whose date is older than the age, and their files."""
    existing = set(lake.table_names(con))
    if table not in existing:
        raise LakeError(f"no table {table!r} in the lake at {lake.path}")
    tdef = lake.table_def(table)
    if not tdef or not tdef.retention_column:
        raise LakeError(f"table {table!r} has no date column to age out on")
    try:
        cutoff = (today or dt.datetime.now(dt.timezone.utc).date()) - parse_age(older_than)
    except OverflowError:
        raise LakeError(f"age {older_than!r} reaches before year 1") from None
    col = tdef.retention_column
    with lake.transaction(con):
        n = con.execute(f'SELECT count(*) FROM {ALIAS}."{table}" WHERE "{col}" < ?', [cutoff]).fetchall()[0][0]
        con.execute(f'DELETE FROM {ALIAS}."{table}" WHERE "{col}" < ?', [cutoff])
        # tables derived from this one age out with it, in the same commit
        for d in derived_from(table):
            dcol = d.table.retention_column
            if d.table.name in existing and dcol:
                con.execute(f'DELETE FROM {ALIAS}."{d.table.name}" WHERE "{dcol}" < ? AND ({d.owns})', [cutoff])
    files = _expire_and_clean(con)
    return RetainResult(table, cutoff, int(n), files)
