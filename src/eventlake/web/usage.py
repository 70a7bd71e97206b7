"""The console's own usage, recorded as events in the lake (`console_events`, and
through it `bi_events`), so that eventlake's usage is analysed by the same admin-console
insights as the BI tool's.

Requests only queue an event (no lake write on the request path); a background thread
commits the queue every `flush_seconds` in one DuckLake transaction under the writer
lock, and `close()` commits what is left. If the lake cannot be written (another job
holds the lock for long, a full disk), the events stay queued for the next try, up to
`max_queued` (the oldest are then dropped and counted)."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections import deque
from typing import Any

import orjson
import pyarrow as pa

from ..lake import Lake
from ..lake.catalog import ALIAS
from ..lake.derived import append_derived
from ..lake.periodic import PeriodicFlush
from ..lake.schema import BI_EVENTS, CONSOLE_EVENTS

log = logging.getLogger(__name__)

_COLS = CONSOLE_EVENTS.column_names


class UsageRecorder(PeriodicFlush):
    thread_name = "eventlake-console-usage"

    def __init__(self, lake: Lake, flush_seconds: float = 2.0, max_queued: int = 100_000):
        self.lake = lake
        self.seconds = flush_seconds
        self.max_queued = max_queued
        self._queue: deque[dict[str, Any]] = deque()
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self.recorded = 0
        self.dropped = 0
        self.last_error: str | None = None

    def record(self, action: str, user: str | None, *, auth: str = "session", page: str | None = None,
               asset_type: str | None = None, asset_id: str | None = None, asset_name: str | None = None,
               status: str = "ok", rows: int | None = None, duration_ms: float | None = None, **detail: Any) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        event = {
            "event_id": str(uuid.uuid4()),
            "event_time": now,
            "event_date": now.date(),
            "user_name": user,
            "auth": auth,
            "action": action,
            "page": page,
            "asset_type": asset_type,
            "asset_id": asset_id,
            "asset_name": asset_name,
            "status": status,
            "rows": rows,
            "duration_ms": duration_ms,
            "detail": orjson.dumps({k: v for k, v in detail.items() if v is not None}, default=str).decode() if detail else None,
        }
        with self._lock:
            if len(self._queue) >= self.max_queued:
                self._queue.popleft()
                self.dropped += 1
            self._queue.append(event)

    @property
    def pending(self) -> int:
        return len(self._queue)

    def flush(self) -> int:
        """Commit what is queued now; returns how many events were written."""
        with self._flush_lock:
            with self._lock:
                batch = list(self._queue)
            if not batch:
                return 0
            try:
                self._write(batch)
            except Exception as exc:  # kept queued for the next try
                self.last_error = str(exc)
                log.warning("console usage not written yet (%d events queued): %s", len(batch), exc)
                return 0
            with self._lock:
                for _ in range(len(batch)):
                    if self._queue:
                        self._queue.popleft()
            self.recorded += len(batch)
            self.last_error = None
            return len(batch)

    def _write(self, batch: list[dict[str, Any]]) -> None:
        table = pa.Table.from_pylist(batch, schema=pa.schema([
            ("event_id", pa.string()), ("event_time", pa.timestamp("us", tz="UTC")), ("event_date", pa.date32()),
            ("user_name", pa.string()), ("auth", pa.string()), ("action", pa.string()), ("page", pa.string()),
            ("asset_type", pa.string()), ("asset_id", pa.string()), ("asset_name", pa.string()), ("status", pa.string()),
            ("rows", pa.int64()), ("duration_ms", pa.float64()), ("detail", pa.string()),
        ]))
        with self.lake.writing([CONSOLE_EVENTS.name, BI_EVENTS.name]) as con:
            con.register("console_batch", table)
            cols = ", ".join(f'"{c}"' for c in _COLS)
            with self.lake.transaction(con):
                con.execute(f'INSERT INTO {ALIAS}."{CONSOLE_EVENTS.name}" ({cols}) SELECT {cols} FROM console_batch')
                append_derived(con, CONSOLE_EVENTS.name, "console_batch")
            con.unregister("console_batch")
