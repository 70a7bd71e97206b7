"""`/health`: the lake at a glance: its tables (rows, files, bytes), the last ingest of
every source with its counts, quarantine counts by source and reason, and the
quarantined records themselves (their raw text for admins only: it can hold anything
the source sent).

Anyone but an admin sees it under their scope (web/scopes.py): the tables of their scope
with the rows they may read (no file counts or sizes, which are the whole table's), the
last ingest only if their scope holds `ingest_runs`, and no quarantine at all: its
records come from every source and tenant, so they are shown to admins only."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ...governance.audit import Journal, with_pending
from ...governance.rewrite import PolicyError
from ...lake.catalog import sql_literal
from ...lake.schema import TABLES
from ..app import console_of, viewer_of
from ..render import query
from ..scopes import scope_of

router = APIRouter()
NAV = ("Health", "/health", "reader")
PAGE_SIZE = 50

_LAST_RUNS = """
SELECT source, started_at, finished_at, files_read, files_skipped, files_failed, files_unchanged,
       records_read, records_loaded, records_duplicate, records_quarantined, bytes_read
FROM ingest_runs
QUALIFY row_number() OVER (PARTITION BY source ORDER BY finished_at DESC NULLS LAST, started_at DESC) = 1
ORDER BY source
"""
_QUARANTINE_COUNTS = """
SELECT source, reason, count(*) AS records, count(DISTINCT source_object) AS objects, max(quarantined_at) AS last_seen
FROM quarantine
GROUP BY source, reason
ORDER BY records DESC, source, reason
"""
_QUARANTINED = """
SELECT source, source_object, position, reason, raw, quarantined_at
FROM quarantine
WHERE ($source = '*' OR source = $source)
  AND ($reason = '*' OR reason = $reason)
ORDER BY quarantined_at DESC, source_object, position
LIMIT $limit OFFSET $offset
"""


_AUDIT_COUNTS = """
SELECT action, outcome, count(*) AS events, count(DISTINCT actor) AS actors, max(event_time) AS last_seen
FROM audit_events
WHERE event_time >= now() - INTERVAL 7 DAY
GROUP BY action, outcome
ORDER BY outcome = 'ok', events DESC, action
"""
_AUDIT_EVENTS = """
SELECT event_id, event_time, actor, auth, token_id, via, action, target, outcome, reason, rows, tables, statement, client
FROM audit_events
WHERE ($outcome = '*' OR outcome = $outcome)
  AND ($actor = '*' OR actor = $actor)
ORDER BY event_time DESC, event_id
LIMIT $limit
"""
AUDIT_OUTCOMES = ("*", "ok", "refused", "error")


def _audit(console, outcome: str, actor: str) -> tuple[list[dict], list[dict]]:
    """The audit trail for admins: events of the last 7 days by action and outcome (as
    committed), and the latest events (filtered). Events journalled a moment ago are
    committed first; when the lake is busy (another writer holds it) they are read from
    the journal instead, so the latest events are always shown."""
    console.audit.flush(wait=False)
    # the journal before the table: an event committed in between is then in the table
    pending = Journal(console.lake).pending()
    cur = console.queries.cursor()
    try:
        present = console.lake.table_names(cur)
    finally:
        cur.close()
    counts: list[dict] = []
    events: list[dict] = []
    if "audit_events" in present:
        counts = console.queries.run(_AUDIT_COUNTS).rows
        events = console.queries.run(_AUDIT_EVENTS, {"outcome": outcome, "actor": actor, "limit": PAGE_SIZE}).rows
    events = with_pending(events, pending, outcome=None if outcome == "*" else outcome,
                          actor=None if actor == "*" else actor, limit=PAGE_SIZE)
    for c in counts:
        c["_link_outcome"] = query({}, audit_outcome=c["outcome"]) + "#audit"
    for e in events:
        if e["actor"]:
            e["_link_actor"] = query({}, audit_actor=e["actor"]) + "#audit"
    return counts, events


def _table_stats(console) -> list[dict]:
    """Every lake table with rows, data files and bytes: one count query over all of
    them and the catalog's file summary (no listing of files per table)."""
    cur = console.queries.cursor()
    try:
        names = console.lake.table_names(cur)
        if not names:
            return []
        counts = dict(cur.execute(" UNION ALL ".join(
            f"SELECT ? AS t, count(*) AS n FROM lake.\"{n.replace(chr(34), chr(34) * 2)}\"" for n in names), names).fetchall())
        files = {r[0]: (r[1] or 0, r[2] or 0) for r in cur.execute(
            "SELECT table_name, file_count, file_size_bytes FROM ducklake_table_info('lake')").fetchall()}
    finally:
        cur.close()
    return _described(names, counts, files)


def _scoped_table_stats(console, scope) -> list[dict]:
    """The tables of `scope` with the rows the principal may read (one query through
    the rewrite); files and bytes left out (they describe every tenant's rows)."""
    names = sorted(scope.policy.tables)
    if not names:
        return []
    sql = " UNION ALL ".join(
        f"SELECT {sql_literal(n)} AS t, count(*) AS n FROM \"{n.replace(chr(34), chr(34) * 2)}\"" for n in names)
    counts = {r["t"]: r["n"] for r in console.queries.run(sql, scope=scope).rows}
    return _described(names, counts, None)


def _described(names, counts: dict, files: dict | None) -> list[dict]:
    out = []
    for name in names:
        tdef = TABLES.get(name)
        n_files, n_bytes = files.get(name, (0, 0)) if files is not None else (None, None)
        out.append({
            "table": name,
            "rows": counts.get(name, 0),
            "files": n_files,
            "bytes": n_bytes,
            "partitioned_by": ", ".join(tdef.partition_by) if tdef and tdef.partition_by else "",
            "description": tdef.description if tdef else "",
        })
    return out


@router.get("/health")
def health(request: Request, source: str = "*", reason: str = "*", page: int = 1, audit_outcome: str = "*",
           audit_actor: str = "*"):
    console = console_of(request)
    viewer = viewer_of(request)
    page = max(1, page)
    admin = viewer.can("admin")
    scope = None if admin else scope_of(request)
    tables = _table_stats(console) if scope is None else _scoped_table_stats(console, scope)
    names = {t["table"] for t in tables}
    runs = []
    if "ingest_runs" in names:
        try:
            runs = console.queries.run(_LAST_RUNS, scope=scope).rows
        except PolicyError:
            runs = []
    if not admin:
        names.discard("quarantine")  # quarantine: admins only
    counts = console.queries.run(_QUARANTINE_COUNTS).rows if "quarantine" in names else []
    for c in counts:
        c["_link_reason"] = query({}, source=c["source"], reason=c["reason"]) + "#quarantined"
    records, has_next = [], False
    if "quarantine" in names:
        res = console.queries.run(_QUARANTINED, {"source": source, "reason": reason, "limit": PAGE_SIZE + 1,
                                                 "offset": (page - 1) * PAGE_SIZE})
        records = res.rows[:PAGE_SIZE]
        has_next = res.table.num_rows > PAGE_SIZE
    audit_outcome = audit_outcome if audit_outcome in AUDIT_OUTCOMES else "*"
    audit_counts, audit_events = _audit(console, audit_outcome, audit_actor) if admin else ([], [])
    console.record(request, "view", asset_type="page", asset_id="console:/health", asset_name="Health")
    return console.render(
        request, "health.html", title="Health", tables=tables, runs=runs, counts=counts, records=records,
        show_raw=admin, admin=admin, filters={"source": source if source != "*" else None, "reason": reason if reason != "*" else None},
        page=page, has_next=has_next, total_quarantined=sum(c["records"] for c in counts),
        audit_counts=audit_counts, audit_events=audit_events,
        audit_filters={"outcome": audit_outcome if audit_outcome != "*" else None, "actor": audit_actor if audit_actor != "*" else None},
    )
