"""The collector's durable raw log: accepted events as JSON lines in segment files,
acknowledged only once they are on disk.

    <dir>/seg-<UTC yyyymmddTHHMMSS>-<seq>.open   the active segment (appended to)
    <dir>/seg-<UTC yyyymmddTHHMMSS>-<seq>.log    sealed segments, waiting for the loader

`append(records)` queues the records and waits: everything the concurrent callers
queued is written with one write and made durable with one fsync, and only then are the
waiting callers resolved, on the event loop: an acknowledged record is on disk (group
commit). By default the event loop writes each group itself and a helper process
(`fsyncer.py`) fsyncs it, answering on a socket the loop watches; while one group is
being synced the next one gathers. With `sync_process=False`, or when the helper cannot
be started, a writer thread does the write and the fsync instead. A write or fsync error
fails the waiting callers (never acknowledged); the bytes of that group are cut from the
segment and writing continues in a fresh one. A helper that dies is restarted and asked
again for the group in flight. When too much is queued or the disk is nearly full,
`append` raises Backpressure at once (the app answers 503).

The active segment is sealed (fsync, rename to .log, fsync of the directory) when it
exceeds `segment_bytes` or is older than `segment_seconds` at the next append, when
the loader asks (`rotate_if_idle`, `rotate`) and on `close`. After a crash (kill -9,
power loss) the constructor seals what a previous process left open, cutting a
trailing partial line: those bytes were never acknowledged, so nothing acknowledged
is lost. One process at a time owns a raw-log directory (a lock file), so that
recovery never seals a segment another live process is still writing."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import errno
import itertools
import logging
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import EventlakeError
from . import fsyncer
from .fsyncer import fsync_dir

log = logging.getLogger(__name__)

SEGMENT_RE = re.compile(r"^seg-(\d{8}T\d{6})-(\d+)\.(open|log)$")
LOCK_NAME = ".rawlog.lock"
RETRY_QUEUE_FULL = 1  # seconds a client is asked to wait when the queue is full
RETRY_DISK_FULL = 30  # ... when the disk is nearly full
RETRY_CLOSED = 5  # ... while the collector shuts down
FREE_CHECK_SECONDS = 0.5  # how often free disk space is measured
# Groups written and waiting for the helper's fsync. One: the requests that arrive
# during an fsync make the next group, and with 32 connections at full load groups
# of ~16 requests beat two overlapping groups of ~10 (0.517x against 0.473x of the
# bare app, alternating trials, bench/README.md): each group costs a write, a send, a
# reply and a wake-up of the helper, whatever its size.
GROUPS_IN_FLIGHT = 1
MAX_HELPER_RESTARTS = 100  # fsync helpers started after the first; then the writer thread fsyncs


class Backpressure(EventlakeError):
    """The raw log cannot take more now (queue full, disk nearly full, closing):
    nothing was written; the client should retry after `retry_after` seconds."""

    def __init__(self, retry_after: int, reason: str = "the raw log is busy"):
        super().__init__(f"{reason}; retry after {retry_after}s")
        self.retry_after = int(retry_after)
        self.reason = reason


class RawLogError(EventlakeError):
    """The raw log cannot be opened, or a write/fsync failed (the records of that
    write were not acknowledged)."""


def segment_key(path: Path) -> tuple[str, int]:
    """Sort key of a segment file: creation time (UTC, to the second), then sequence."""
    m = SEGMENT_RE.match(path.name)
    return (m.group(1), int(m.group(2))) if m else ("", 0)


def sealed_segments(directory: Path | str) -> list[Path]:
    """The sealed segments (`seg-*.log`) of a raw-log directory, oldest first."""
    d = Path(directory)
    if not d.is_dir():
        return []
    found = [p for p in d.iterdir() if p.suffix == ".log" and SEGMENT_RE.match(p.name)]
    return sorted(found, key=segment_key)


@dataclass
class _Segment:
    path: Path  # the .open file
    fd: int
    size: int
    created: float  # time.monotonic() at creation
    id: int = 0  # its number in the fsync helper (helper mode)


class RawLog:
    """A directory of append-only segment files of raw records (one JSON object per
    line), written with group commit. Construct it (recovery happens here), then
    `await start()`, `await append(records)` from the event loop, `await close()`."""

    def __init__(
        self,
        directory: Path | str,
        *,
        segment_bytes: int = 64 << 20,
        segment_seconds: float = 10.0,
        max_pending_bytes: int = 64 << 20,
        min_free_bytes: int = 256 << 20,
        fsync: bool = True,
        sync_process: bool = True,
        syncer_command: list[str] | None = None,
        groups_in_flight: int = GROUPS_IN_FLIGHT,
    ):
        """`sync_process`: fsync in a helper process (the default) rather than in a
        writer thread; `syncer_command` replaces the helper's command line (the
        socket's fd and the directory are appended), e.g. to inject faults;
        `groups_in_flight`: groups written before the first of them is fsynced."""
        self.directory = Path(directory)
        self.segment_bytes = int(segment_bytes)
        self.segment_seconds = float(segment_seconds)
        self.max_pending_bytes = int(max_pending_bytes)
        self.min_free_bytes = int(min_free_bytes)
        self.fsync = fsync
        self.recovered: list[tuple[Path, int]] = []  # (sealed segment, bytes cut) found at start
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RawLogError(f"cannot create the raw log directory {self.directory}: {exc.strerror or exc}") from None
        self._lock = threading.Lock()  # guards the active segment: writes, rotation, sealing
        self._lockfile = self._acquire_dir_lock()
        self._active: _Segment | None = None
        self._stranded: list[Path] = []  # .open files whose sealing failed; retried on rotate
        # The writer thread takes what the event loop queued (`_queue`, appended under
        # `_qlock`) batch after batch without waiting for the loop in between; when the
        # queue is empty it sleeps on `_wake` (a lock used as a binary semaphore: one C
        # call to wake it), and the loop wakes it at the end of the turn in which
        # something was queued. The futures and `_pending` are only touched on the loop.
        self._queue: collections.deque = collections.deque()  # (data, future, loop)
        self._pending = 0  # bytes queued or being written, not yet acknowledged
        self._qlock = threading.Lock()
        self._wake = threading.Lock()
        self._wake.acquire()
        self._sleeping = True  # (under _qlock) the writer waits on _wake, or is not started
        self._stopping = False  # (under _qlock) the writer is to exit when the queue is empty
        self._kick_scheduled = False  # (event loop) a _kick is scheduled
        self._thread: threading.Thread | None = None
        self._idle_waiters: list[asyncio.Future] = []
        # Helper mode (fsync in a helper process). The event loop owns `_hq`, the helper
        # and the groups in flight; `_inflight` and `_rotate_waiting` change under `_lock`
        # (a rotation from another thread waits on `_cond` until no group is in flight).
        self._use_helper = bool(fsync and sync_process)
        self._syncer_command = list(syncer_command) if syncer_command else [sys.executable, "-I", "-S", fsyncer.__file__]
        self._helper: _Helper | None = None
        self.helper_restarts = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._hq: list = []  # (data, future) waiting for the next group
        self._flush_scheduled = False
        # Groups written and sent to the helper, oldest first, all in the active segment.
        # With two or more in flight the helper starts the next fsync the moment one
        # ends; with one (the default, see GROUPS_IN_FLIGHT) groups are larger.
        self._inflight: collections.deque[_Group] = collections.deque()
        if int(groups_in_flight) < 1:
            raise ValueError("groups_in_flight must be at least 1")
        self.max_groups_in_flight = int(groups_in_flight)
        self._rotate_waiting = 0
        self._cond = threading.Condition(self._lock)
        self._seg_ids = itertools.count(1)
        self._tokens = itertools.count(1)
        self._sealing: dict[int, Path] = {}  # token -> segment the helper is sealing
        # group-commit statistics (since start)
        self.commits = 0  # write + fsync of a batch
        self.committed_appends = 0  # appends acknowledged by those
        self.commit_seconds = 0.0  # time spent in write + fsync
        self._closing = False
        self._closed = False
        self._free_checked_at = -1e9  # monotonic time of the last free-space check
        self._free_at_check = 0
        self._queued_since_check = 0
        try:
            # numbering goes on after every segment present (even one recovery removes)
            seqs = [int(m.group(2)) for p in self.directory.iterdir() if (m := SEGMENT_RE.match(p.name))]
            self._seq = max(seqs, default=0) + 1
            self._recover()
        except OSError as exc:
            self._release_dir_lock()
            raise RawLogError(f"cannot recover the raw log in {self.directory}: {exc.strerror or exc}") from None

    # -- public API -----------------------------------------------------------------
    async def start(self) -> None:
        """Ready for appends (recovery already ran in the constructor): starts the
        fsync helper, which otherwise starts with the first append."""
        if self._closed or self._closing:
            raise RawLogError(f"the raw log in {self.directory} is closed")
        loop = asyncio.get_running_loop()
        if self._use_helper and loop is not self._loop:
            self._bind(loop)

    def _free_bytes(self) -> int:
        """Free space on the raw log's disk, checked at most every FREE_CHECK_SECONDS
        (a statvfs per request costs more than the rest of the append), minus what was
        queued since the last check."""
        now = time.monotonic()
        if now - self._free_checked_at >= FREE_CHECK_SECONDS or self._free_at_check - self._queued_since_check < self.min_free_bytes:
            try:
                self._free_at_check = shutil.disk_usage(self.directory).free
            except OSError as exc:
                raise RawLogError(f"cannot check free space in {self.directory}: {exc.strerror or exc}") from None
            self._free_checked_at = now
            self._queued_since_check = 0
        return self._free_at_check - self._queued_since_check

    async def append(self, records: list[bytes]) -> None:
        """Durably store `records` (each one JSON object, UTF-8, no newline). Returns
        once they are written and fsynced; raises Backpressure at once when the log
        cannot take them now, RawLogError when the write or fsync failed."""
        if not records:
            return
        if self._closing or self._closed:
            raise Backpressure(RETRY_CLOSED, f"the raw log in {self.directory} is closed")
        if len(records) == 1 and type(records[0]) is bytes:
            r = records[0]
            if b"\n" in r:
                raise ValueError("a raw record must be one line of JSON (no newline inside)")
            data = r + b"\n"
        else:
            for r in records:
                if not isinstance(r, (bytes, bytearray, memoryview)):
                    raise TypeError(f"a raw record must be bytes, not {type(r).__name__}")
                if b"\n" in r:
                    raise ValueError("a raw record must be one line of JSON (no newline inside)")
            data = b"\n".join(bytes(r) for r in records) + b"\n"
        n = len(data)
        if self._pending and self._pending + n > self.max_pending_bytes:
            raise Backpressure(
                RETRY_QUEUE_FULL,
                f"the raw log's write queue is full ({self._pending:,} bytes waiting, limit {self.max_pending_bytes:,})",
            )
        free = self._free_bytes()
        if free < self.min_free_bytes:
            raise Backpressure(
                RETRY_DISK_FULL,
                f"the disk of the raw log {self.directory} is nearly full ({free:,} bytes free, "
                f"at least {self.min_free_bytes:,} needed)",
            )
        self._queued_since_check += n
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        if self._use_helper:
            if loop is not self._loop:
                self._bind(loop)
            if self._use_helper:  # (binding can fall back to the writer thread)
                self._pending += n
                self._hq.append((data, fut))
                if not self._flush_scheduled and len(self._inflight) < self.max_groups_in_flight:
                    self._flush_scheduled = True
                    loop.call_soon(self._flush)
                await fut
                return
        self._pending += n
        with self._qlock:
            self._queue.append((data, fut, loop))
            kick = self._sleeping and not self._kick_scheduled
        if kick:
            # wake the writer at the end of this turn of the loop: every request that
            # is ready now joins the same write + fsync
            self._kick_scheduled = True
            loop.call_soon(self._kick)
        # No shield is needed: a caller that goes away (client disconnect, cancelled
        # task) cancels only its own future; its data is queued and is still written by
        # the writer, only nobody is told.
        await fut

    async def close(self) -> None:
        """Write everything queued, fsync, seal the active segment and release the
        directory. Appends after this raise Backpressure."""
        if self._closed:
            return
        self._closing = True
        if self._pending:
            waiter = asyncio.get_running_loop().create_future()
            self._idle_waiters.append(waiter)
            await waiter
        deadline = time.monotonic() + 30
        while self._sealing and self._helper is not None and time.monotonic() < deadline:
            await asyncio.sleep(0.005)  # the helper is still renaming a sealed segment
        try:
            await asyncio.to_thread(self._stop_writer_and_rotate)
        finally:
            self._closed = True
            self._stop_helper()
            self._release_dir_lock()

    def _stop_writer_and_rotate(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            with self._qlock:
                self._stopping = True
                wake = self._sleeping
                self._sleeping = False
            if wake:
                self._wake.release()
            thread.join(60)
        self.rotate()

    def rotate(self) -> Path | None:
        """Seal the active segment now (waits for a write in progress). Returns the
        sealed file, or None when no segment was open. Safe from any thread."""
        return self._rotate(None)

    def rotate_if_idle(self, max_age: float | None = None) -> Path | None:
        """Seal the active segment if it is at least `max_age` seconds old (default
        segment_seconds): with no further appends it would otherwise stay open and its
        events would never reach the loader. Safe from any thread (the loader's)."""
        return self._rotate(self.segment_seconds if max_age is None else max_age)

    def _rotate(self, min_age: float | None) -> Path | None:
        with self._lock:
            self._rotate_waiting += 1  # no new group is written meanwhile
            try:
                self._retry_stranded()
                seg = self._active
                if seg is None or (min_age is not None and time.monotonic() - seg.created < min_age):
                    return None
                self._wait_no_inflight()
                if self._active is None:
                    return None
                return self._seal_locked()
            finally:
                self._rotate_waiting -= 1
                self._flush_after_rotation()

    def sealed(self) -> list[Path]:
        """Sealed segments, oldest first. Safe from any thread."""
        return sealed_segments(self.directory)

    @property
    def pending_bytes(self) -> int:
        return self._pending

    @property
    def sync_mode(self) -> str:
        """Who fsyncs: "helper process", "writer thread" or "none" (fsync off)."""
        if not self.fsync:
            return "none"
        return "helper process" if self._use_helper else "writer thread"

    @property
    def active_segment(self) -> Path | None:
        seg = self._active
        return seg.path if seg else None

    # -- the writer -------------------------------------------------------------------
    def _kick(self) -> None:
        """(event loop) Wake the writer (or start it) if it sleeps and there is work."""
        self._kick_scheduled = False
        with self._qlock:
            if not (self._sleeping and self._queue):
                return
            self._sleeping = False
        if self._thread is None or not self._thread.is_alive():  # not started, or it died
            # a new writer starts by taking the queue: no wake to hand it
            self._thread = threading.Thread(target=self._writer_loop, name="rawlog-writer", daemon=True)
            self._thread.start()
        else:
            try:
                self._wake.release()
            except RuntimeError:  # released already (a writer that died left it so): it wakes
                pass

    def _writer_loop(self) -> None:
        """(writer thread) Take everything queued, write + fsync it, hand the result to
        the waiting callers' event loop; again until the queue is empty, then sleep."""
        try:
            self._write_batches()
        finally:
            with self._qlock:
                self._sleeping = True  # stopped (or died): the next append starts a new one

    def _write_batches(self) -> None:
        queue = self._queue
        while True:
            with self._qlock:
                if not queue:
                    if self._stopping:
                        return
                    self._sleeping = True
                    idle = True
                else:
                    idle = False
            if idle:
                self._wake.acquire()
                continue
            items = []
            while queue:
                items.append(queue.popleft())
            data = items[0][0] if len(items) == 1 else b"".join([it[0] for it in items])
            err: BaseException | None = None
            t0 = time.perf_counter()
            try:
                self._write_sync(data)
            except BaseException as exc:  # reported to the waiting callers
                err = exc
            elapsed = time.perf_counter() - t0
            for lp, its in _by_loop(items):
                try:
                    lp.call_soon_threadsafe(self._done, its, sum(len(it[0]) for it in its), err, elapsed)
                except RuntimeError:  # that event loop is closed: nobody is waiting any more
                    pass

    def _done(self, items: list, nbytes: int, exc: BaseException | None, elapsed: float) -> None:
        """(event loop) A batch was written (or failed): resolve its callers."""
        self._pending -= nbytes
        self.commits += 1
        self.commit_seconds += elapsed
        if exc is None:
            self.committed_appends += len(items)
            for it in items:
                fut = it[1]
                if not fut.done():
                    try:
                        fut.set_result(None)
                    except RuntimeError:  # its event loop is closed: nobody waits
                        pass
        else:
            if isinstance(exc, OSError):
                err = RawLogError(
                    f"cannot write to the raw log in {self.directory}: {exc.strerror or exc}; "
                    f"{len(items)} request(s) not acknowledged"
                )
            else:
                err = RawLogError(f"raw log writer in {self.directory} stopped: {exc!r}")
            for it in items:
                fut = it[1]
                if not fut.done():
                    try:
                        fut.set_exception(err)
                    except RuntimeError:  # its event loop is closed: nobody waits
                        continue
                    fut.exception()  # a caller that went away must not log "never retrieved"
        if self._pending <= 0 and self._idle_waiters:
            waiters, self._idle_waiters = self._idle_waiters, []
            for w in waiters:
                if not w.done():
                    try:
                        w.set_result(None)
                    except RuntimeError:
                        pass

    def _write_sync(self, data: bytes) -> None:
        """One write + fsync of a batch to the active segment (worker thread)."""
        with self._lock:
            seg = self._active
            if seg is not None and (seg.size >= self.segment_bytes or time.monotonic() - seg.created >= self.segment_seconds):
                self._seal_locked()
                seg = None
            if seg is None:
                seg = self._active = self._open_segment()
            start = seg.size
            try:
                _write_all(seg.fd, data)
                if self.fsync:
                    os.fsync(seg.fd)
            except OSError:
                self._abandon_locked(start)
                raise
            seg.size += len(data)

    # -- helper mode: the event loop writes, the fsync helper process syncs -------------
    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """(event loop) Serve appends from `loop`: start the helper (or move its socket
        from a previous event loop that stopped) and watch its answers."""
        with self._lock:
            old = self._loop
            if old is not None and old.is_running():
                raise RawLogError(f"the raw log in {self.directory} is in use by another running event loop")
            helper = self._helper
            if old is not None and helper is not None and not old.is_closed():
                try:
                    old.remove_reader(helper.sock.fileno())
                except (RuntimeError, ValueError, OSError):
                    pass
            self._loop = loop
            if helper is None:
                try:
                    self._start_helper_locked()
                except OSError as exc:
                    self._fallback_locked(f"cannot start it: {exc.strerror or exc}")
                    return
            else:
                loop.add_reader(helper.sock.fileno(), self._on_reply)
        if self._hq and len(self._inflight) < self.max_groups_in_flight:
            self._schedule_flush()

    def _start_helper_locked(self) -> None:
        """(lock held) Start a helper and hand it what the previous one was doing: the
        active segment, the seals not answered yet and the group in flight."""
        helper = _Helper(self._syncer_command, self.directory)
        self._helper = helper
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.add_reader(helper.sock.fileno(), self._on_reply)
        try:
            seg = self._active
            if seg is not None:
                helper.adopt(seg)
            for token, path in self._sealing.items():
                helper.send(b"C", 0, token, os.fsencode(str(path)))
            for group in self._inflight:
                helper.send(b"S", group.seg.id, group.token)
        except OSError:
            self._drop_helper_locked()
            raise

    def _drop_helper_locked(self) -> None:
        helper, self._helper = self._helper, None
        if helper is None:
            return
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.remove_reader(helper.sock.fileno())
            except (RuntimeError, ValueError, OSError):
                pass
        helper.close()

    def _helper_lost_locked(self, reason: str) -> None:
        """(lock held) The helper died or its socket failed: start another one, which
        syncs the group in flight again (an fsync may be repeated, never skipped); if
        none can start, fall back to the writer thread."""
        self._drop_helper_locked()
        self.helper_restarts += 1
        log.error("raw log: the fsync helper process of %s stopped (%s); starting another", self.directory, reason)
        if self.helper_restarts <= MAX_HELPER_RESTARTS:
            try:
                self._start_helper_locked()
                return
            except OSError as exc:
                reason = f"cannot start it: {exc.strerror or exc}"
        else:
            reason = f"it stopped {self.helper_restarts} times"
        self._fallback_locked(reason)

    def _fallback_locked(self, reason: str) -> None:
        """(lock held) Leave helper mode for good: sync the group in flight here, finish
        the helper's seals, and hand what is queued to the writer thread."""
        log.error("raw log: the fsync helper of %s cannot run (%s); fsyncing in a writer thread instead", self.directory, reason)
        self._drop_helper_locked()
        self._use_helper = False
        groups, self._inflight = list(self._inflight), collections.deque()
        err = 0
        if groups:
            try:
                os.fsync(groups[0].seg.fd)
                fsync_dir(self.directory)
            except OSError as exc:
                err = exc.errno or errno.EIO
                if self._active is groups[0].seg:
                    self._abandon_locked(groups[0].start)
        elif self._active is not None:
            try:  # the helper may not have synced the new segment's directory entry yet
                fsync_dir(self.directory)
            except OSError as exc:
                log.error("raw log: cannot fsync %s: %s", self.directory, exc)
        sealing, self._sealing = self._sealing, {}
        for path in sealing.values():
            if path.exists():
                self._seal_path(path)
        self._cond.notify_all()
        for group in groups:
            self._complete(group, err)
        queued, self._hq = self._hq, []
        loop = self._loop
        if queued and loop is not None:
            with self._qlock:
                self._queue.extend((data, fut, loop) for data, fut in queued)
            self._call_soon(self._kick)

    def _schedule_flush(self) -> None:
        """(event loop) Write the next group at the end of this turn of the loop."""
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        """(event loop) Write everything queued as one group to the active segment and
        ask the helper to fsync it; its answer resolves the callers (`_synced`)."""
        self._flush_scheduled = False
        if len(self._inflight) >= self.max_groups_in_flight or not self._hq or self._rotate_waiting or not self._use_helper:
            return
        if not self._lock.acquire(blocking=False):
            return  # another thread is sealing the segment: it schedules a flush when done
        try:
            if self._rotate_waiting or len(self._inflight) >= self.max_groups_in_flight or not self._use_helper:
                return
            if self._helper is None:
                self._helper_lost_locked("it is not running")
                if not self._use_helper:
                    return
            items, self._hq = self._hq, []
            data = items[0][0] if len(items) == 1 else b"".join([it[0] for it in items])
            seg = self._active
            try:
                if seg is not None and not self._inflight and (seg.size >= self.segment_bytes or time.monotonic() - seg.created >= self.segment_seconds):
                    self._seal_by_helper_locked()
                    seg = None
                if seg is None:
                    seg = self._active = self._open_segment(sync_dir=False)  # the helper syncs the directory
                    seg.id = next(self._seg_ids)
                    try:
                        self._helper.adopt(seg)
                    except OSError as exc:
                        self._helper_lost_locked(str(exc))  # the new helper adopts the active segment
                start = seg.size
                _write_all(seg.fd, data)
            except OSError as exc:
                if seg is not None and self._active is seg:
                    self._abandon_locked(start)
                self._done(items, len(data), exc, 0.0)
                return
            seg.size += len(data)
            group = _Group(next(self._tokens), items, seg, start, len(data), time.perf_counter())
            self._inflight.append(group)
            if not self._use_helper:  # (the helper was lost above and none could start)
                self._inflight.remove(group)
                self._complete(group, self._fsync_here(seg))
                return
            try:
                self._helper.send(b"S", seg.id, group.token)
            except OSError as exc:
                self._helper_lost_locked(str(exc))  # resends the group in flight, or syncs it
        finally:
            self._lock.release()

    def _fsync_here(self, seg: _Segment) -> int:
        try:
            os.fsync(seg.fd)
            fsync_dir(self.directory)
            return 0
        except OSError as exc:
            return exc.errno or errno.EIO

    def _seal_by_helper_locked(self) -> None:
        """(event loop, lock held, nothing in flight) Hand the full or old active
        segment to the helper to seal: everything in it was acknowledged, so it is
        durable already; the helper renames it to .log and fsyncs the directory."""
        seg, self._active = self._active, None
        os.close(seg.fd)  # the helper has its own descriptor
        if seg.size == 0:
            self._helper.forget(seg.id)
            seg.path.unlink(missing_ok=True)
            return
        token = next(self._tokens)
        self._sealing[token] = seg.path
        try:
            self._helper.send(b"C", seg.id, token, os.fsencode(str(seg.path)))
        except OSError as exc:
            self._helper_lost_locked(str(exc))  # the next helper gets the seal again

    def _on_reply(self) -> None:
        """(event loop, or a thread draining while the loop is not running) Read one of
        the helper's answers. One per call: the loop calls again while more are there,
        and reading until the socket is empty cost a failed recv (an exception) per group."""
        helper = self._helper
        if helper is not None:
            try:
                msg = helper.sock.recv(8192)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                msg = b""
            if len(msg) < fsyncer.REPLY.size:
                with self._lock:
                    if self._helper is helper:
                        try:
                            code = helper.proc.wait(1)
                        except subprocess.TimeoutExpired:
                            code = None
                        why = "it exited" + (f" with status {code}" if code is not None else "")
                        if helper.answered:
                            self._helper_lost_locked(why)
                        else:  # it cannot run here (a missing file, a broken interpreter): no retries
                            self._fallback_locked(why + " before answering anything")
                return
            helper.answered = True
            op, token, err = fsyncer.REPLY.unpack_from(msg)
            if op == b"S":
                self._synced(token, err)
            elif op == b"C":
                self._sealed_by_helper(token, err, msg[fsyncer.REPLY.size:].decode("utf-8", "replace"))

    def _synced(self, token: int, err: int) -> None:
        with self._lock:
            inflight = self._inflight
            if not inflight or inflight[0].token != token:
                return  # (a group already failed with an earlier one)
            if not err:
                done = [inflight.popleft()]
            else:
                # cut the group, and those written after it, and go on in a fresh
                # segment (after a failed fsync the state of the file's unsynced pages
                # is unknown): none of them is acknowledged
                done, self._inflight = list(inflight), collections.deque()
                if self._active is done[0].seg:
                    self._abandon_locked(done[0].start)
            if self._rotate_waiting:  # (only a rotation waits on _cond, _wait_no_inflight)
                self._cond.notify_all()
        for group in done:
            self._complete(group, err)
        if self._hq:
            self._request_flush()

    def _sealed_by_helper(self, token: int, err: int, text: str) -> None:
        path = self._sealing.pop(token, None)
        if path is not None and err:
            log.error("raw log: cannot seal %s: %s (retried at the next rotation)", path, text or os.strerror(err))
            with self._lock:
                if path.exists():
                    self._stranded.append(path)

    def _complete(self, group: "_Group", err: int) -> None:
        exc = OSError(err, os.strerror(err)) if err else None
        self._done(group.items, group.nbytes, exc, time.perf_counter() - group.t0)

    def _request_flush(self) -> None:
        """Have the event loop write the next group (from any thread)."""
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is not None and running is loop:
            self._schedule_flush()
        else:
            self._call_soon(self._schedule_flush)

    def _call_soon(self, fn) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        try:
            if running is loop:
                loop.call_soon(fn)
            else:
                loop.call_soon_threadsafe(fn)
        except RuntimeError:  # closed meanwhile
            pass

    def _wait_no_inflight(self) -> None:
        """(lock held) Wait until no group is being synced: a segment is sealed only
        between groups. When the event loop cannot read the helper's answer (it is not
        running, or this is its own thread), read it here."""
        while self._inflight:
            loop = self._loop
            try:
                on_loop = asyncio.get_running_loop() is loop
            except RuntimeError:
                on_loop = False
            if loop is not None and loop.is_running() and not on_loop:
                self._cond.wait(0.5)  # the loop's reader answers and notifies
                continue
            helper = self._helper
            if helper is None:
                break
            self._lock.release()
            try:
                select.select([helper.sock], [], [], 1.0)
                self._on_reply()
            finally:
                self._lock.acquire()

    def _flush_after_rotation(self) -> None:
        """(lock held) A rotation is over: let the loop write what queued meanwhile."""
        if self._hq and not self._rotate_waiting:
            self._request_flush()

    def _stop_helper(self) -> None:
        with self._lock:
            self._drop_helper_locked()
            self._loop = None

    # -- segments (callers hold self._lock) -------------------------------------------
    def _open_segment(self, sync_dir: bool = True) -> _Segment:
        while True:
            stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
            stem = f"seg-{stamp}-{self._seq:06d}"
            self._seq += 1
            path = self.directory / f"{stem}.open"
            if path.with_suffix(".log").exists():
                continue
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o640)
            except FileExistsError:
                continue
            break
        if self.fsync and sync_dir:
            try:
                fsync_dir(self.directory)
            except OSError:
                os.close(fd)
                try:
                    path.unlink()
                except OSError:
                    pass
                raise
        return _Segment(path, fd, 0, time.monotonic())

    def _seal_locked(self) -> Path | None:
        """fsync, close and rename the active segment to .log, fsync the directory.
        A segment that cannot be renamed stays .open (it is retried, and sealed by
        recovery at the next start); its acknowledged content is on disk already."""
        seg, self._active = self._active, None
        if seg is None:
            return None
        if seg.id and self._helper is not None:
            self._helper.forget(seg.id)
        try:
            if self.fsync:
                os.fsync(seg.fd)
        except OSError as exc:
            log.error("raw log: fsync of %s failed while sealing it: %s", seg.path, exc)
        finally:
            os.close(seg.fd)
        if seg.size == 0:
            try:
                seg.path.unlink()
            except OSError:
                pass
            return None
        return self._seal_path(seg.path)

    def _seal_path(self, path: Path) -> Path | None:
        sealed = path.with_suffix(".log")
        try:
            os.rename(path, sealed)
            if self.fsync:
                fsync_dir(self.directory)
        except OSError as exc:
            log.error("raw log: cannot seal %s: %s (retried at the next rotation)", path, exc)
            if path.exists():
                self._stranded.append(path)
                return None
        return sealed

    def _retry_stranded(self) -> None:
        stranded, self._stranded = self._stranded, []
        for path in stranded:
            self._seal_path(path)

    def _abandon_locked(self, start: int) -> None:
        """After a failed write or fsync: cut the batch's bytes (never acknowledged),
        seal the segment and write the next batch to a fresh one (after a failed fsync
        the state of the file's unsynced pages is unknown)."""
        seg = self._active
        if seg is None:
            return
        try:
            os.ftruncate(seg.fd, start)
            seg.size = start
        except OSError as exc:
            # the partial batch stays at the end of this segment: the loader
            # quarantines the incomplete line, complete ones load (at least once)
            log.error("raw log: cannot cut a failed write from %s: %s", seg.path, exc)
            try:
                seg.size = os.fstat(seg.fd).st_size
            except OSError:
                seg.size = max(start, 1)
        self._seal_locked()

    # -- recovery and the directory lock ------------------------------------------------
    def _recover(self) -> None:
        """Seal every .open segment a previous process left, cutting a trailing partial
        line (written, never acknowledged). An empty one is removed."""
        for path in sorted((p for p in self.directory.iterdir() if p.suffix == ".open" and SEGMENT_RE.match(p.name)), key=segment_key):
            with open(path, "r+b") as fh:
                size = fh.seek(0, os.SEEK_END)
                keep = _end_of_last_line(fh, size)
                if keep < size:
                    fh.truncate(keep)
                if self.fsync:
                    os.fsync(fh.fileno())
            cut = size - keep
            if keep == 0:
                path.unlink()
                if self.fsync:
                    fsync_dir(self.directory)
                log.warning("raw log: removed %s left open by a previous run (%d unacknowledged bytes)", path.name, cut)
                continue
            sealed = path.with_suffix(".log")
            os.rename(path, sealed)
            if self.fsync:
                fsync_dir(self.directory)
            self.recovered.append((sealed, cut))
            log.warning(
                "raw log: sealed %s left open by a previous run%s", sealed.name,
                f", cut {cut} bytes of an unacknowledged partial line" if cut else "",
            )

    def _acquire_dir_lock(self):
        import fcntl

        path = self.directory / LOCK_NAME
        try:
            fh = open(path, "a+")
        except OSError as exc:
            raise RawLogError(f"cannot open the raw log lock {path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            holder = fh.read().strip()
            fh.close()
            raise RawLogError(
                f"the raw log directory {self.directory} is in use by another collector process"
                + (f" (pid {holder})" if holder else "")
                + ": give each collector process its own raw log directory"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        return fh

    def _release_dir_lock(self) -> None:
        fh, self._lockfile = self._lockfile, None
        if fh is not None:
            fh.close()  # closing the file releases the flock


@dataclass(slots=True)
class _Group:
    """Records written to the active segment and waiting for the helper's fsync."""

    token: int
    items: list  # (data, future)
    seg: _Segment
    start: int  # offset of the group in the segment
    nbytes: int
    t0: float  # perf_counter() when it was written


class _Helper:
    """The fsync helper process (fsyncer.py) and the collector's end of its socket."""

    def __init__(self, command: list[str], directory: Path):
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.proc = subprocess.Popen(
                [*command, str(child.fileno()), str(directory)],
                pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, close_fds=True,
            )
        except BaseException:
            parent.close()
            raise
        finally:
            child.close()
        parent.setblocking(False)
        self.sock = parent
        self.answered = False  # it answered at least once (it can run here)

    def send(self, op: bytes, seg: int, token: int, extra: bytes = b"") -> None:
        self.sock.send(fsyncer.REQUEST.pack(op, seg, token) + extra)

    def adopt(self, seg: _Segment) -> None:
        socket.send_fds(self.sock, [fsyncer.REQUEST.pack(b"N", seg.id, 0)], [seg.fd])

    def forget(self, seg_id: int) -> None:
        try:
            self.send(b"X", seg_id, 0)
        except OSError:
            pass  # a dead helper holds nothing

    def close(self) -> None:
        """Close the socket: the helper finishes what it was sent, then exits."""
        self.sock.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _write_all(fd: int, data: bytes) -> None:
    n = os.write(fd, data)
    if n == len(data):  # (the common case: one write)
        return
    if n <= 0:
        raise OSError(errno.EIO, "write wrote nothing")
    view = memoryview(data)[n:]
    while view:
        n = os.write(fd, view)
        if n <= 0:
            raise OSError(errno.EIO, "write wrote nothing")
        view = view[n:]


def _by_loop(items: list) -> list:
    """The queued (data, future, loop) items grouped by the event loop that waits on them."""
    groups: dict = {}
    for it in items:
        groups.setdefault(it[2], []).append(it)
    return list(groups.items())


def _end_of_last_line(fh, size: int, block: int = 1 << 16) -> int:
    """Offset just past the last newline of the file (0 when there is none)."""
    pos = size
    while pos > 0:
        start = max(0, pos - block)
        fh.seek(start)
        chunk = fh.read(pos - start)
        i = chunk.rfind(b"\n")
        if i >= 0:
            return start + i + 1
        pos = start
    return 0
