"""`/health`: the lake at a glance: its tables (rows, files, bytes), the last ingest of
every source with its counts, quarantine counts by source and reason, and the
quarantined records themselves (their raw text for admins only: it can hold anything
the source sent)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ...lake.schema import TABLES
from ..app import console_of, viewer_of
from ..render import query

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


def _table_stats(console) -> list[dict]:
    cur = console.queries.cursor()
    try:
        out = []
        for name in console.lake.table_names(cur):
            rows = cur.execute(f'SELECT count(*) FROM lake."{name}"').fetchall()[0][0]
            files = console.lake.list_files(cur, name)
            tdef = TABLES.get(name)
            out.append({
                "table": name,
                "rows": rows,
                "files": len(files),
                "bytes": sum(f.size for f in files),
                "partitioned_by": ", ".join(tdef.partition_by) if tdef and tdef.partition_by else "",
                "description": tdef.description if tdef else "",
            })
        return out
    finally:
        cur.close()


@router.get("/health")
def health(request: Request, source: str = "*", reason: str = "*", page: int = 1):
    console = console_of(request)
    viewer = viewer_of(request)
    page = max(1, page)
    tables = _table_stats(console)
    names = {t["table"] for t in tables}
    runs = console.queries.run(_LAST_RUNS).rows if "ingest_runs" in names else []
    counts = console.queries.run(_QUARANTINE_COUNTS).rows if "quarantine" in names else []
    for c in counts:
        c["_link_reason"] = query({}, source=c["source"], reason=c["reason"]) + "#quarantined"
    records, has_next = [], False
    if "quarantine" in names:
        res = console.queries.run(_QUARANTINED, {"source": source, "reason": reason, "limit": PAGE_SIZE + 1,
                                                 "offset": (page - 1) * PAGE_SIZE})
        records = res.rows[:PAGE_SIZE]
        has_next = res.table.num_rows > PAGE_SIZE
    console.record(request, "view", asset_type="page", asset_id="console:/health", asset_name="Health")
    return console.render(
        request, "health.html", title="Health", tables=tables, runs=runs, counts=counts, records=records,
        show_raw=viewer.can("admin"), filters={"source": source if source != "*" else None, "reason": reason if reason != "*" else None},
        page=page, has_next=has_next, total_quarantined=sum(c["records"] for c in counts),
    )
