"""Forwarding collected events to the destinations, and replaying them later.

Fanout: the collector calls `submit(records)` right after the durable append (raw
records, see eventlake.collect). Each destination has a bounded asyncio queue and
`concurrency` worker tasks that batch, send (with the destination's retries) and
hand every attempt's outcome to a buffer; a flusher writes the buffer into
`deliveries` once a second, one commit per flush under the lake's writer lock.
Nothing blocks the collector: when a queue is full the event is recorded as
`dropped` ("queue full"), and `replay` sends it later from raw_events, which holds
every accepted event whatever happened here.

replay(): the raw_events received in [start, end) that have no `delivered` row for
the destination, sent through the same Destination.send, recorded with replay = true.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field
from typing import Iterable

import duckdb
import orjson

from ..lake.catalog import ALIAS, Lake
from ..sources.base import insert_rows
from .base import Destination, Outcome, event_from_record

log = logging.getLogger("eventlake.destinations")

DELIVERY_COLUMNS = (
    "attempt_date", "attempted_at", "destination", "message_id", "attempt", "status",
    "http_status", "error", "duration_ms", "replay",
)
MAX_PENDING = 200_000  # outcome rows held while the lake cannot be written; older ones are let go
LINGER_S = 0.05  # a worker waits this long for a batch to fill when the queue is short


def delivery_rows(destination: str, outcomes: Iterable[Outcome], replay: bool = False) -> list[tuple]:
    rows = []
    for o in outcomes:
        at = o.attempted_at.astimezone(dt.timezone.utc)
        rows.append((at.date(), at, destination, o.message_id, o.attempt, o.status, o.http_status, o.error, o.duration_ms, replay))
    return rows


class DeliveryWriter:
    """Appends outcome rows to `deliveries`: one commit per write, under the lake's
    writer lock (held only for the insert). Keeps one connection; used from one
    thread at a time."""

    def __init__(self, lake: Lake):
        self.lake = lake
        self._con: duckdb.DuckDBPyConnection | None = None

    def connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            con = self.lake.connect(create=True)
            try:
                with self.lake.writer_lock():
                    self.lake.ensure_tables(con, ["deliveries"])
            except BaseException:
                con.close()
                raise
            self._con = con
        return self._con

    def write(self, rows: list[tuple]) -> None:
        if not rows:
            return
        con = self.connection()
        with self.lake.writer_lock():
            with self.lake.transaction(con):
                insert_rows(con, f"{ALIAS}.deliveries", DELIVERY_COLUMNS, rows)

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None


@dataclass
class DestinationStats:
    queued: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    dropped: int = 0
    retries: int = 0


class Fanout:
    """Forwards submitted raw records to every destination that accepts them."""

    def __init__(
        self,
        lake: Lake,
        destinations: Iterable[Destination],
        *,
        flush_interval: float = 1.0,
        drain_timeout: float = 10.0,
        linger: float = LINGER_S,
    ):
        self.lake = lake
        self.destinations = list(destinations)
        names = [d.name for d in self.destinations]
        if len(set(names)) != len(names):
            raise ValueError(f"destination names must be unique: {names}")
        self.flush_interval = flush_interval
        self.drain_timeout = drain_timeout
        self.linger = linger
        self.stats: dict[str, DestinationStats] = {d.name: DestinationStats() for d in self.destinations}
        self._writer = DeliveryWriter(lake)
        self._queues: dict[str, asyncio.Queue] = {}
        self._inflight: dict[str, dict[int, tuple[list[dict], set[str]]]] = {d.name: {} for d in self.destinations}
        self._pending: list[tuple] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._workers: list[asyncio.Task] = []
        self._flusher: asyncio.Task | None = None
        self._flush_lock: asyncio.Lock | None = None
        self._closing = False
        self._closed = False

    # -- lifecycle ------------------------------------------------------------
    async def start(self) -> None:
        """Check the destinations' secrets, then start the workers and the flusher."""
        for d in self.destinations:
            d.config.secret()  # a missing environment variable is a ConfigError now, not at the first event
        self._loop = asyncio.get_running_loop()
        self._flush_lock = asyncio.Lock()
        for d in self.destinations:
            self._queues[d.name] = asyncio.Queue(maxsize=d.config.queue_size)
            for n in range(d.concurrency):
                self._workers.append(asyncio.create_task(self._worker(d), name=f"destination-{d.name}-{n}"))
        self._flusher = asyncio.create_task(self._flush_loop(), name="destinations-flush")

    async def close(self, timeout: float | None = None) -> None:
        """Stop taking events, let the queues drain for up to `timeout` seconds, record
        what is left as dropped (replay sends it), write every outcome and close."""
        if self._closed or self._loop is None:
            return
        self._closing = True
        timeout = self.drain_timeout if timeout is None else timeout
        queues = list(self._queues.values())
        if queues:
            try:
                await asyncio.wait_for(asyncio.gather(*(q.join() for q in queues)), timeout)
            except asyncio.TimeoutError:
                log.warning("destinations: queues not drained within %.1fs; the rest is recorded as dropped", timeout)
        for w in self._workers:
            w.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        for d in self.destinations:
            left = list(self._inflight[d.name].values())
            self._inflight[d.name].clear()
            q = self._queues[d.name]
            while not q.empty():
                left.append(([q.get_nowait()], set()))
                q.task_done()
            for batch, done in left:
                for event in batch:
                    if str(event.get("messageId") or "") not in done:
                        self._drop(d, event, "not sent before shutdown")
        if self._flusher is not None:
            # never cancel a flush in the middle: its write goes on in a thread
            async with self._flush_lock:
                self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)
        try:
            await self.flush()
        except Exception:
            log.exception("destinations: writing deliveries at shutdown failed")
        if self._pending:
            log.error("destinations: %d delivery rows could not be written to the lake", len(self._pending))
        for d in self.destinations:
            await d.aclose()
        await asyncio.to_thread(self._writer.close)
        self._closed = True

    async def __aenter__(self) -> "Fanout":
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # -- intake ---------------------------------------------------------------
    def submit(self, records: list[dict]) -> None:
        """Queue raw records for every destination that accepts them. Never blocks and
        may be called from any thread. Full queue: the event is recorded as dropped."""
        if not self.destinations or not records:
            return
        loop = self._loop
        if loop is None:
            raise RuntimeError("Fanout.submit() before Fanout.start()")
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._enqueue(records)
            return
        try:
            loop.call_soon_threadsafe(self._enqueue, list(records))
        except RuntimeError:  # the loop has closed: raw_events has them, replay sends them
            log.warning("destinations: %d records submitted after shutdown were not queued", len(records))

    def _enqueue(self, records: list[dict]) -> None:
        for record in records:
            event = None
            for d in self.destinations:
                if not d.accepts(record):
                    continue
                if event is None:
                    event = event_from_record(record)
                if self._closing:
                    self._drop(d, event, "submitted during shutdown")
                    continue
                try:
                    self._queues[d.name].put_nowait(event)
                    self.stats[d.name].queued += 1
                except asyncio.QueueFull:
                    self._drop(d, event, "queue full")

    def _drop(self, d: Destination, event: dict, reason: str) -> None:
        self.stats[d.name].dropped += 1
        self._record(d.name, [Outcome(str(event.get("messageId") or ""), "dropped", 0, None, reason, None)])

    # -- sending --------------------------------------------------------------
    async def _worker(self, d: Destination) -> None:
        q = self._queues[d.name]
        key = id(asyncio.current_task())
        while True:
            batch = [await q.get()]
            done: set[str] = set()  # message ids with a final outcome
            self._inflight[d.name][key] = (batch, done)
            try:
                if q.qsize() < d.batch_size - 1 and self.linger > 0:
                    await asyncio.sleep(self.linger)
                while len(batch) < d.batch_size:
                    try:
                        batch.append(q.get_nowait())
                    except asyncio.QueueEmpty:
                        break

                def on_outcomes(outs: list[Outcome], name: str = d.name, done: set[str] = done) -> None:
                    done.update(o.message_id for o in outs if o.status in ("delivered", "failed"))
                    self._record(name, outs)

                try:
                    await d.send(batch, on_outcomes=on_outcomes)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a bug or a missing secret must not stop the worker
                    log.exception("destinations: %s: sending %d events failed", d.name, len(batch))
                    self._record(d.name, [
                        Outcome(str(e.get("messageId") or ""), "failed", 0, None, f"{type(exc).__name__}: {exc}"[:500], None)
                        for e in batch if str(e.get("messageId") or "") not in done
                    ])
                self._inflight[d.name].pop(key, None)
            finally:
                for _ in batch:
                    q.task_done()

    def _record(self, name: str, outcomes: list[Outcome]) -> None:
        st = self.stats.get(name)
        if st is not None:
            for o in outcomes:
                if o.status == "delivered":
                    st.delivered += 1
                elif o.status == "failed":
                    st.failed += 1
                elif o.status == "retry":
                    st.retries += 1
        self._pending.extend(delivery_rows(name, outcomes))
        if len(self._pending) > MAX_PENDING:
            lost = len(self._pending) - MAX_PENDING
            del self._pending[:lost]
            log.error("destinations: the lake was not writable; %d delivery rows let go", lost)

    # -- recording ------------------------------------------------------------
    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("destinations: writing deliveries failed; will retry")

    async def flush(self) -> int:
        """Write the outcomes gathered so far into `deliveries` (one commit)."""
        if self._flush_lock is None:
            return 0
        async with self._flush_lock:
            if not self._pending:
                return 0
            rows, self._pending = self._pending, []
            try:
                await asyncio.to_thread(self._writer.write, rows)
            except Exception:
                self._pending[:0] = rows
                raise
            return len(rows)


# -- replay ---------------------------------------------------------------------
@dataclass
class ReplaySummary:
    destination: str
    start: dt.datetime
    end: dt.datetime
    read: int = 0  # raw_events rows received in [start, end)
    duplicates: int = 0  # rows whose message_id came earlier in the range
    already_delivered: int = 0
    skipped: int = 0  # not for this destination (source, event name or type)
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    attempts: int = 0  # delivery rows written
    failures: list[str] = field(default_factory=list)  # a few error messages

    def reconciles(self) -> bool:
        return self.read == self.duplicates + self.already_delivered + self.skipped + self.sent and self.sent == self.delivered + self.failed

    def line(self) -> str:
        return (
            f"{self.destination}: {self.read:,} read, {self.already_delivered:,} already delivered, "
            f"{self.duplicates:,} duplicate, {self.skipped:,} not for this destination, {self.sent:,} sent: "
            f"{self.delivered:,} delivered, {self.failed:,} failed ({self.attempts:,} attempts recorded)"
        )


def replay(lake: Lake, destination: Destination, start: dt.datetime, end: dt.datetime, *, page_size: int = 2000) -> ReplaySummary:
    """Send raw_events received in [start, end) that were not delivered to
    `destination` yet; record every attempt with replay = true."""
    start = _utc(start)
    end = _utc(end)
    summary = ReplaySummary(destination.name, start, end)
    if end <= start:
        return summary
    destination.config.secret()
    writer = DeliveryWriter(lake)
    con = writer.connection()
    table = f"temp.main._replay_{uuid.uuid4().hex}"
    try:
        # the selection is copied out of the lake first: a half-read result over the
        # lake would hold the catalog while deliveries are written
        con.execute(
            f"""CREATE TEMP TABLE {table.split('.')[-1]} AS
            WITH r AS (
                SELECT message_id, source, type, CAST(payload AS VARCHAR) AS payload, received_at,
                       row_number() OVER (PARTITION BY message_id ORDER BY received_at) AS copy
                FROM {ALIAS}.raw_events
                WHERE received_date BETWEEN ? AND ? AND received_at >= ? AND received_at < ?
            )
            SELECT row_number() OVER (ORDER BY received_at, message_id, copy) AS rn, r.*,
                   message_id IN (SELECT message_id FROM {ALIAS}.deliveries WHERE destination = ? AND status = 'delivered') AS delivered
            FROM r""",
            [start.date(), end.date(), start, end, destination.name],
        )
        counts = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE copy > 1), count(*) FILTER (WHERE copy = 1 AND delivered) FROM {table}"
        ).fetchall()[0]
        summary.read, summary.duplicates, summary.already_delivered = (int(c or 0) for c in counts)
        last = 0
        while True:
            rows = con.execute(
                f"SELECT rn, message_id, source, type, payload FROM {table} WHERE rn > ? AND copy = 1 AND NOT delivered ORDER BY rn LIMIT ?",
                [last, page_size],
            ).fetchall()
            if not rows:
                break
            last = rows[-1][0]
            events = []
            for _, message_id, source, etype, payload in rows:
                record = {"message_id": message_id, "source": source, "type": etype, "payload": _loads(payload)}
                if destination.accepts(record):
                    events.append(event_from_record(record))
                else:
                    summary.skipped += 1
            if not events:
                continue
            outcomes = asyncio.run(_send(destination, events))
            final: dict[str, str] = {}
            for o in outcomes:
                if o.status in ("delivered", "failed"):
                    final[o.message_id] = o.status
                    if o.status == "failed" and len(summary.failures) < 5 and o.error:
                        summary.failures.append(f"{o.message_id}: {o.error}")
            summary.sent += len(events)
            summary.delivered += sum(1 for s in final.values() if s == "delivered")
            summary.failed += len(events) - sum(1 for s in final.values() if s == "delivered")
            summary.attempts += len(outcomes)
            writer.write(delivery_rows(destination.name, outcomes, replay=True))
    finally:
        try:
            con.execute(f"DROP TABLE IF EXISTS {table}")
        finally:
            writer.close()
    return summary


async def _send(destination: Destination, events: list[dict]) -> list[Outcome]:
    try:
        return await destination.send(events)
    finally:
        await destination.aclose()


def _loads(text: str | None) -> dict:
    if not text:
        return {}
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)
