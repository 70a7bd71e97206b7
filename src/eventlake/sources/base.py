"""Machinery every source shares: counting what was read, loaded, skipped and
quarantined (counts always reconcile), remembering which objects were ingested (so
ingest is incremental), and writing quarantine entries in the same commit as data.

A run for a pool tenant (`IngestStats.tenant_id`) writes the shared tables: its rows
and its bookkeeping rows carry the tenant's name in the tenant column, and what it
already ingested is looked up among its own bookkeeping rows only (lake/tenancy.py)."""

from __future__ import annotations

import datetime as dt
import shutil
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import duckdb
import pyarrow as pa

from ..errors import cap_messages
from ..lake.catalog import ALIAS, Lake
from ..lake.tenancy import add_tenant_column, tenant_rows, tenant_stamp

RAW_PREFIX_LIMIT = 4096  # characters of a rejected record kept in quarantine
PROBLEMS_KEPT = 1000  # problem messages an IngestStats holds; the rest are only counted


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def new_run_id() -> str:
    return utcnow().strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]


@dataclass
class Quarantined:
    source_object: str
    position: str
    reason: str
    raw: str | None = None
    fatal: bool = False  # the object itself is damaged (unreadable past this point), not just one record

    def message(self) -> str:
        return f"{self.source_object} at {self.position}: {self.reason}"


@dataclass
class IngestStats:
    """What one ingest run did. files_seen = read + skipped + unchanged (+ failed
    counted inside read); records_read = loaded + duplicate + quarantined."""

    source: str
    tenant_id: str | None = None  # the pool tenant the run writes for (None: the lake's own rows)
    run_id: str = field(default_factory=new_run_id)
    started_at: dt.datetime = field(default_factory=utcnow)
    started: float = field(default_factory=time.perf_counter)
    files_read: int = 0
    files_skipped: int = 0
    files_unchanged: int = 0
    files_failed: int = 0
    records_read: int = 0
    records_loaded: int = 0
    records_duplicate: int = 0
    records_quarantined: int = 0
    bytes_read: int = 0
    skip_reasons: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # the first PROBLEMS_KEPT messages
    problems_not_kept: int = 0  # messages beyond those (memory stays bounded)
    elapsed: float = 0.0

    def add_problems(self, messages: Iterable[str], more: int = 0) -> None:
        """Keep up to PROBLEMS_KEPT messages; count the rest (and `more` unlisted ones)."""
        for m in messages:
            if len(self.problems) < PROBLEMS_KEPT:
                self.problems.append(m)
            else:
                self.problems_not_kept += 1
        self.problems_not_kept += more

    def finish(self) -> None:
        self.elapsed = time.perf_counter() - self.started

    @property
    def rate(self) -> float:
        return self.records_read / self.elapsed if self.elapsed > 0 else 0.0

    def reconciles(self) -> bool:
        return self.records_read == self.records_loaded + self.records_duplicate + self.records_quarantined

    def summary(self, into: str | None = None) -> str:
        """One line for the CLI; `into` names where the rows went when it is not the
        lake's own tables (e.g. "tenant acme (pool: ...)")."""
        skips = ", ".join(f"{n} {why}" for why, n in sorted(self.skip_reasons.items()))
        mib = self.bytes_read / (1 << 20)
        return (
            f"{self.source}{' into ' + into if into else ''}: files {self.files_read:,} read, {self.files_skipped:,} skipped by rule"
            + (f" ({skips})" if skips else "")
            + f", {self.files_failed:,} failed, {self.files_unchanged:,} unchanged since last run; "
            f"records {self.records_read:,} read, {self.records_loaded:,} loaded, {self.records_duplicate:,} duplicate, "
            f"{self.records_quarantined:,} quarantined; {mib:,.1f} MiB read in {self.elapsed:,.1f}s "
            f"({self.rate:,.0f} records/s, {mib / self.elapsed if self.elapsed else 0:,.1f} MiB/s)"
        )

    def problem_lines(self, limit: int = 10) -> list[str]:
        lines = cap_messages(self.problems, limit)
        if self.problems_not_kept:
            shown = min(limit, len(self.problems))
            lines = lines[:shown] + [f"... and {len(self.problems) - shown + self.problems_not_kept:,} more"]
        return lines


def known_versions(con: duckdb.DuckDBPyConnection, source: str, tenant_id: str | None = None) -> dict[str, str]:
    """uri -> version of every object this source already ingested (latest wins), for
    the pool tenant `tenant_id` (None: for the lake's own tables)."""
    mine, args = tenant_rows(con, "ingested_objects", tenant_id)
    rows = con.execute(
        f"SELECT uri, arg_max(version, ingested_at) FROM {ALIAS}.ingested_objects WHERE source = ? AND {mine} GROUP BY uri",
        [source, *args],
    ).fetchall()
    return {u: v for u, v in rows}


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
    """Append rows to `table` in one statement, through Arrow. (executemany costs a
    statement per row: into a DuckLake table, 2,000 rows took ~6 s.)"""
    if not rows:
        return
    data = pa.table({c: pa.array([r[i] for r in rows]) for i, c in enumerate(columns)})
    name = f"_rows_{uuid.uuid4().hex}"
    con.register(name, data)
    try:
        cols = ", ".join(f'"{c}"' for c in columns)
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {name}")
    finally:
        con.unregister(name)


def record_objects(con: duckdb.DuckDBPyConnection, source: str, run_id: str, rows: list[tuple], tenant_id: str | None = None) -> None:
    """rows: (uri, size, version, status, records, loaded, duplicates, quarantined)."""
    now = utcnow()
    cols, vals = tenant_stamp(tenant_id)
    insert_rows(
        con, f"{ALIAS}.ingested_objects",
        ("source", "uri", "size", "version", "status", "records", "loaded", "duplicates", "quarantined", "run_id", "ingested_at", *cols),
        [(source, *r, run_id, now, *vals) for r in rows],
    )


def record_quarantine(con: duckdb.DuckDBPyConnection, source: str, run_id: str, items: list[Quarantined],
                      tenant_id: str | None = None) -> None:
    now = utcnow()
    cols, vals = tenant_stamp(tenant_id)
    insert_rows(
        con, f"{ALIAS}.quarantine",
        ("source", "source_object", "position", "reason", "raw", "run_id", "quarantined_at", *cols),
        [(source, q.source_object, q.position, q.reason, (q.raw or "")[:RAW_PREFIX_LIMIT] or None, run_id, now, *vals) for q in items],
    )


def record_run(con: duckdb.DuckDBPyConnection, s: IngestStats) -> None:
    cols, vals = tenant_stamp(s.tenant_id)
    names = ("run_id", "source", "started_at", "finished_at", "files_read", "files_skipped", "files_failed", "files_unchanged",
             "records_read", "records_loaded", "records_duplicate", "records_quarantined", "bytes_read", *cols)
    con.execute(
        f"INSERT INTO {ALIAS}.ingest_runs ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
        [
            s.run_id, s.source, s.started_at, utcnow(), s.files_read, s.files_skipped, s.files_failed, s.files_unchanged,
            s.records_read, s.records_loaded, s.records_duplicate, s.records_quarantined, s.bytes_read, *vals,
        ],
    )


BOOKKEEPING = ("ingested_objects", "quarantine", "ingest_runs")  # what every run writes besides its data tables


@contextmanager
def ingest_run(lake: Lake, stats: IngestStats, tables: Sequence[str]) -> Iterator[tuple[duckdb.DuckDBPyConnection, Path]]:
    """Everything one ingest run shares across sources: the lake's writer lock, a
    connection with the tenant tables created (every table but the lake's own
    principals and policies: a bridge schema or a silo lake gets no others), for a pool
    tenant's run the tenant column on `tables` (the ones it writes) and the bookkeeping,
    a scratch spool folder (removed afterwards), and the ingest_runs row committed once
    the body has finished."""
    from ..governance.tenants import tenant_tables

    with lake.writer_lock():
        con = lake.connect(create=True)
        try:
            lake.ensure_tables(con, tenant_tables())
            if stats.tenant_id is not None:
                add_tenant_column(lake, con, [*tables, *BOOKKEEPING])
            spool = lake.spool_dir()
            try:
                yield con, spool
                stats.finish()
                with lake.transaction(con):
                    record_run(con, stats)
            finally:
                shutil.rmtree(spool, ignore_errors=True)
        finally:
            con.close()

