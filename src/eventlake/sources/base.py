"""Machinery every source shares: counting what was read, loaded, skipped and
quarantined (counts always reconcile), remembering which objects were ingested (so
ingest is incremental), and writing quarantine entries in the same commit as data."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass, field

import duckdb

from ..errors import cap_messages
from ..lake.catalog import ALIAS

RAW_PREFIX_LIMIT = 4096  # characters of a rejected record kept in quarantine


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

    def message(self) -> str:
        return f"{self.source_object} at {self.position}: {self.reason}"


@dataclass
class IngestStats:
    """What one ingest run did. files_seen = read + skipped + unchanged (+ failed
    counted inside read); records_read = loaded + duplicate + quarantined."""

    source: str
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
    problems: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    def finish(self) -> None:
        self.elapsed = time.perf_counter() - self.started

    @property
    def rate(self) -> float:
        return self.records_read / self.elapsed if self.elapsed > 0 else 0.0

    def reconciles(self) -> bool:
        return self.records_read == self.records_loaded + self.records_duplicate + self.records_quarantined

    def summary(self) -> str:
        skips = ", ".join(f"{n} {why}" for why, n in sorted(self.skip_reasons.items()))
        mib = self.bytes_read / (1 << 20)
        return (
            f"{self.source}: files {self.files_read:,} read, {self.files_skipped:,} skipped by rule"
            + (f" ({skips})" if skips else "")
            + f", {self.files_failed:,} failed, {self.files_unchanged:,} unchanged since last run; "
            f"records {self.records_read:,} read, {self.records_loaded:,} loaded, {self.records_duplicate:,} duplicate, "
            f"{self.records_quarantined:,} quarantined; {mib:,.1f} MiB in {self.elapsed:,.1f}s "
            f"({self.rate:,.0f} records/s, {mib / self.elapsed if self.elapsed else 0:,.1f} MiB/s)"
        )

    def problem_lines(self, limit: int = 10) -> list[str]:
        return cap_messages(self.problems, limit)


def known_versions(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, str]:
    """uri -> version of every object this source already ingested (latest wins)."""
    rows = con.execute(
        f"SELECT uri, arg_max(version, ingested_at) FROM {ALIAS}.ingested_objects WHERE source = ? GROUP BY uri",
        [source],
    ).fetchall()
    return {u: v for u, v in rows}


def record_objects(con: duckdb.DuckDBPyConnection, source: str, run_id: str, rows: list[tuple]) -> None:
    """rows: (uri, size, version, status, records, loaded, duplicates, quarantined)."""
    if not rows:
        return
    now = utcnow()
    con.executemany(
        f"INSERT INTO {ALIAS}.ingested_objects (source, uri, size, version, status, records, loaded, duplicates, quarantined, run_id, ingested_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(source, *r, run_id, now) for r in rows],
    )


def record_quarantine(con: duckdb.DuckDBPyConnection, source: str, run_id: str, items: list[Quarantined]) -> None:
    if not items:
        return
    now = utcnow()
    con.executemany(
        f"INSERT INTO {ALIAS}.quarantine (source, source_object, position, reason, raw, run_id, quarantined_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(source, q.source_object, q.position, q.reason, (q.raw or "")[:RAW_PREFIX_LIMIT] or None, run_id, now) for q in items],
    )


def record_run(con: duckdb.DuckDBPyConnection, s: IngestStats) -> None:
    con.execute(
        f"INSERT INTO {ALIAS}.ingest_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            s.run_id, s.source, s.started_at, utcnow(), s.files_read, s.files_skipped, s.files_failed, s.files_unchanged,
            s.records_read, s.records_loaded, s.records_duplicate, s.records_quarantined, s.bytes_read,
        ],
    )
