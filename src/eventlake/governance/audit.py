"""The audit trail: every query, sign-in, export, grant and change of principals, tokens,
groups, tenants and column policies is an event in the lake's `audit_events` table —
who, when, what, the tables touched, rows returned, allowed or refused and why —
readable by admins only (it is one of the lake's own tables, out of every principal's
scope).

An event must not be lost, and recording it must not wait for a long ingest holding the
lake's writer lock, nor cost every query a commit. So `record()` appends it to a journal
in the lake folder (`<lake>/audit/journal.jsonl`, one JSON line per event, fsynced before
it returns: ~3 ms) and the journal is moved into the table in one commit when it is due
(its oldest event older than COMMIT_AGE, or COMMIT_BYTES of events), by whoever reads
the trail (`read_audit`, `eventlake audit`, a query naming `audit_events`, the console's
health page) and by the console's background thread — and only when the writer lock is
free. Readers include what is still in the journal. Commits skip event ids already in
the table, so a crash between the commit and the journal's truncation writes nothing
twice.
Changes to principals and grants write their event in their own transaction
(`write()`), so a grant and its record commit together or not at all.

    record(lake, AuditEvent("query", actor="ann", statement=sql, rows=3))
    read_audit(lake, outcome="refused")"""

from __future__ import annotations

import datetime as dt
import fcntl
import getpass
import logging
import os
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

import duckdb
import orjson
import pyarrow as pa
import sqlglot
from sqlglot import exp

from ..lake import Lake
from ..lake.appendonly import table_exists
from ..lake.catalog import ALIAS
from ..lake.periodic import PeriodicFlush
from ..lake.schema import AUDIT_EVENTS

log = logging.getLogger(__name__)

OUTCOMES = ("ok", "refused", "error")
COMMIT_AGE = 300.0  # seconds: a journal whose oldest event is older is committed by the next record()
COMMIT_BYTES = 256 * 1024
STATEMENT_LIMIT = 20_000  # characters of a statement kept
_ARROW = pa.schema([
    ("event_id", pa.string()), ("event_time", pa.timestamp("us", tz="UTC")), ("event_date", pa.date32()),
    ("actor", pa.string()), ("auth", pa.string()), ("token_id", pa.string()), ("via", pa.string()),
    ("action", pa.string()), ("target", pa.string()), ("statement", pa.string()), ("tables", pa.list_(pa.string())),
    ("rows", pa.int64()), ("outcome", pa.string()), ("reason", pa.string()), ("client", pa.string()),
    ("detail", pa.string()),
])


def local_actor() -> str:
    """Who runs the CLI without a token: the local admin, named by the OS account."""
    try:
        return "local:" + getpass.getuser()
    except (KeyError, OSError):
        return "local:unknown"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class AuditEvent:
    action: str
    actor: str | None = None
    outcome: str = "ok"
    via: str = "cli"
    auth: str = "local"
    token_id: str | None = None
    target: str | None = None
    statement: str | None = None
    tables: list[str] | None = None
    rows: int | None = None
    reason: str | None = None
    client: str | None = None
    detail: dict[str, Any] | None = None
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    event_time: dt.datetime = field(default_factory=_now)

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"audit outcome {self.outcome!r}: use one of {', '.join(OUTCOMES)}")
        if self.statement is not None:
            if self.tables is None:
                self.tables = tables_of(self.statement)
            self.statement = self.statement[:STATEMENT_LIMIT]

    def row(self) -> dict[str, Any]:
        d = asdict(self)
        d["event_date"] = self.event_time.astimezone(dt.timezone.utc).date()
        detail = {k: v for k, v in (self.detail or {}).items() if v is not None}
        d["detail"] = orjson.dumps(detail, default=str).decode() if detail else None
        return d


def tables_of(sql: str) -> list[str]:
    """The tables a statement names (not its CTEs), sorted; [] when it does not parse."""
    try:
        trees = [t for t in sqlglot.parse(sql, read="duckdb") if t is not None]
    except sqlglot.errors.SqlglotError:
        return []
    ctes = {c.alias_or_name.lower() for t in trees for c in t.find_all(exp.CTE)}
    out = set()
    for tree in trees:
        for table in tree.find_all(exp.Table):
            if not isinstance(table.this, exp.Identifier):
                continue
            name = table.name
            if not table.db and name.lower() in ctes:
                continue
            db = table.db if table.db.lower() not in ("", "main", ALIAS) else ""
            out.add(f"{db}.{name}" if db else name)
    return sorted(out)


# --- writing -------------------------------------------------------------------------


def write(con: duckdb.DuckDBPyConnection, events: list[AuditEvent]) -> None:
    """Insert `events` through `con` (a writable connection to the lake), inside the
    caller's transaction: the change and its record commit together."""
    if not table_exists(con, AUDIT_EVENTS.name):
        con.execute(AUDIT_EVENTS.ddl(f"{ALIAS}.main"))
        con.execute(f'ALTER TABLE {ALIAS}.main."{AUDIT_EVENTS.name}" SET PARTITIONED BY (event_date)')
    _insert(con, [e.row() for e in events])


def change(con: duckdb.DuckDBPyConnection, action: str, target: str, actor: str | None = None, **detail: Any) -> None:
    """Record a change of principals, grants or policies in the caller's transaction
    (by the local admin unless `actor` is given)."""
    write(con, [AuditEvent(action, actor or local_actor(), target=target, detail=detail)])


def _insert(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    name = f"_audit_{uuid.uuid4().hex}"
    con.register(name, pa.Table.from_pylist(rows, schema=_ARROW))
    try:
        cols = ", ".join(f'"{c}"' for c in AUDIT_EVENTS.column_names)
        lo, hi = min(r["event_date"] for r in rows), max(r["event_date"] for r in rows)
        return con.execute(
            f'INSERT INTO {ALIAS}.main."{AUDIT_EVENTS.name}" ({cols}) SELECT {cols} FROM {name} n '
            f'WHERE NOT EXISTS (SELECT 1 FROM {ALIAS}.main."{AUDIT_EVENTS.name}" a '
            "WHERE a.event_date BETWEEN ? AND ? AND a.event_id = n.event_id)", [lo, hi],
        ).fetchall()[0][0]
    finally:
        con.unregister(name)


class Journal:
    """The events recorded and not yet committed to the table, in `<lake>/audit/`."""

    def __init__(self, lake: Lake):
        self.lake = lake.in_schema("main") if lake.schema != "main" else lake
        self.folder = Path(lake.path) / "audit"
        self.path = self.folder / "journal.jsonl"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / "journal.lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def append(self, events: list[AuditEvent]) -> None:
        data = b"".join(orjson.dumps(e.row(), default=str) + b"\n" for e in events)
        with self._locked():
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)

    def due(self) -> bool:
        """Should the journal be committed now (big enough, or its oldest event old enough)?"""
        try:
            size = self.path.stat().st_size
            if size == 0:
                return False
            if size >= COMMIT_BYTES:
                return True
            with open(self.path, "rb") as fh:
                first = orjson.loads(fh.readline())
            return (_now() - dt.datetime.fromisoformat(first["event_time"])).total_seconds() >= COMMIT_AGE
        except (OSError, orjson.JSONDecodeError, KeyError, ValueError):
            return True  # let a commit sort it out

    def pending(self) -> list[dict[str, Any]]:
        """The journal's events (a line torn by a crash mid-append was never acknowledged:
        it is skipped)."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        out = []
        for line in raw.splitlines():
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError:
                log.warning("audit journal %s: a torn line was skipped", self.path)
                continue
            row["event_time"] = dt.datetime.fromisoformat(row["event_time"])
            row["event_date"] = dt.date.fromisoformat(row["event_date"])
            out.append(row)
        return out

    def commit(self, wait: bool = False) -> int:
        """Move the journal into `audit_events` (one commit); 0 when the writer lock is
        held elsewhere and `wait` is false. Returns the events written."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return 0
        with self.lake.writer_lock(wait=wait) as got:
            if not got:
                return 0
            with self._locked():
                rows = self.pending()
                if not rows:
                    return 0
                con = self.lake.connect(create=True)
                try:
                    self.lake.ensure_tables(con, [AUDIT_EVENTS.name])
                    with self.lake.transaction(con):
                        written = _insert(con, rows)
                finally:
                    con.close()
                os.truncate(self.path, 0)
        return written


def record(lake: Lake, *events: AuditEvent) -> None:
    """Record `events` durably (journal, fsynced); commit the journal if it is due and the
    lake is free. Where there is no lake yet, there is nothing to audit (a mistyped
    --lake must not make one)."""
    if not lake.exists():
        return
    journal = Journal(lake)
    journal.append(list(events))
    try:
        if journal.due():
            journal.commit(wait=False)
    except Exception as exc:  # kept in the journal for the next commit
        log.warning("audit events kept in %s for now: %s", journal.path, exc)


def commit(lake: Lake, wait: bool = False) -> int:
    return Journal(lake).commit(wait=wait)


class AuditCommitter(PeriodicFlush):
    """For a long-running server: commits the journal every `seconds` in a thread
    (waiting for the writer lock there, never on a request), and at `close()`."""

    thread_name = "eventlake-audit"

    def __init__(self, lake: Lake, seconds: float = 2.0):
        self.journal = Journal(lake)
        self.seconds = seconds
        self.last_error: str | None = None

    def record(self, *events: AuditEvent) -> None:
        """Journal `events` (durable when this returns); the thread commits them."""
        self.journal.append(list(events))

    def flush(self, wait: bool = True) -> int:
        try:
            n = self.journal.commit(wait=wait)
        except Exception as exc:
            self.last_error = str(exc)
            log.warning("audit events kept in %s for now: %s", self.journal.path, exc)
            return 0
        self.last_error = None
        return n

    def final_flush(self) -> int:
        return self.flush(wait=False)  # a shutdown does not wait for an ingest: the journal keeps the rest


# --- reading -------------------------------------------------------------------------


def read_audit(lake: Lake, *, actor: str | None = None, action: str | None = None, outcome: str | None = None,
               since: dt.datetime | dt.date | None = None, limit: int | None = 1000) -> list[dict[str, Any]]:
    """Audit events, newest first, filtered; events still in the journal (the lake was
    busy) are included. Commits the journal first when it can."""
    try:
        commit(lake)
    except Exception as exc:
        log.warning("audit journal not committed: %s", exc)
    where, params = ["true"], []
    for col, value in (("actor", actor), ("action", action), ("outcome", outcome)):
        if value is not None:
            where.append(f'"{col}" = ?')
            params.append(value)
    if since is not None:
        if not isinstance(since, dt.datetime):
            since = dt.datetime.combine(since, dt.time(), dt.timezone.utc)
        where.append("event_time >= ?")
        params.append(since)
    # the journal before the table: an event committed in between is then in the table
    # (read after), never in neither
    pending = Journal(lake).pending()
    rows: list[dict[str, Any]] = []
    if lake.exists():
        con = lake.connect(read_only=True)
        try:
            if table_exists(con, AUDIT_EVENTS.name):
                cur = con.execute(
                    f'SELECT * FROM {ALIAS}.main."{AUDIT_EVENTS.name}" WHERE {" AND ".join(where)} '
                    "ORDER BY event_time DESC, event_id" + (f" LIMIT {int(limit)}" if limit else ""), params,
                )
                names = [d[0] for d in cur.description]
                rows = [dict(zip(names, r)) for r in cur.fetchall()]
        finally:
            con.close()
    rows = with_pending(rows, pending, actor=actor, action=action, outcome=outcome, since=since, limit=limit)
    for r in rows:
        if isinstance(r.get("detail"), str):
            r["detail"] = orjson.loads(r["detail"])
    return rows


def with_pending(rows: list[dict[str, Any]], pending: list[dict[str, Any]], *, actor: str | None = None,
                 action: str | None = None, outcome: str | None = None, since: dt.datetime | None = None,
                 limit: int | None = None) -> list[dict[str, Any]]:
    """`rows` read from audit_events (newest first) and the journal's `pending` events
    that match the filters and are not among them, newest first. Read the journal before
    the table: an event committed in between is then in the table, never in neither."""
    seen = {r["event_id"] for r in rows}
    rows = list(rows)
    for r in pending:
        if r["event_id"] in seen or (actor is not None and r["actor"] != actor) or (action is not None and r["action"] != action) \
                or (outcome is not None and r["outcome"] != outcome) or (since is not None and r["event_time"] < since):
            continue
        rows.append(r)
    rows.sort(key=lambda r: r["event_time"], reverse=True)
    return rows[:limit] if limit else rows
