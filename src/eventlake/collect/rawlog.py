"""The collector's durable raw log: accepted events as JSON lines in segment files,
acknowledged only once they are on disk.

    <dir>/seg-<UTC yyyymmddTHHMMSS>-<seq>.open   the active segment (appended to)
    <dir>/seg-<UTC yyyymmddTHHMMSS>-<seq>.log    sealed segments, waiting for the loader

`append(records)` queues the records and waits. The raw log's writer thread takes
everything the concurrent callers queued, writes it with one write and one fsync (the
event loop keeps accepting requests meanwhile), and only then are the waiting callers
resolved, on the event loop: an acknowledged record is on disk (group commit). A write
or fsync error fails the waiting callers (never acknowledged); the bytes of that batch
are cut from the segment and writing continues in a fresh one. When too much is queued or the
disk is nearly full, `append` raises Backpressure at once (the app answers 503).

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
import logging
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import EventlakeError

log = logging.getLogger(__name__)

SEGMENT_RE = re.compile(r"^seg-(\d{8}T\d{6})-(\d+)\.(open|log)$")
LOCK_NAME = ".rawlog.lock"
RETRY_QUEUE_FULL = 1  # seconds a client is asked to wait when the queue is full
RETRY_DISK_FULL = 30  # ... when the disk is nearly full
RETRY_CLOSED = 5  # ... while the collector shuts down
FREE_CHECK_SECONDS = 0.5  # how often free disk space is measured


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


def fsync_dir(directory: Path) -> None:
    """Make a directory's entries (a created, renamed or removed file) durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class _Segment:
    path: Path  # the .open file
    fd: int
    size: int
    created: float  # time.monotonic() at creation


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
    ):
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
        """Ready for appends (recovery already ran in the constructor)."""
        if self._closed or self._closing:
            raise RawLogError(f"the raw log in {self.directory} is closed")

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
        try:
            await asyncio.to_thread(self._stop_writer_and_rotate)
        finally:
            self._closed = True
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
        with self._lock:
            self._retry_stranded()
            if self._active is None:
                return None
            return self._seal_locked()

    def rotate_if_idle(self, max_age: float | None = None) -> Path | None:
        """Seal the active segment if it is at least `max_age` seconds old (default
        segment_seconds): with no further appends it would otherwise stay open and its
        events would never reach the loader. Safe from any thread (the loader's)."""
        age = self.segment_seconds if max_age is None else max_age
        with self._lock:
            self._retry_stranded()
            seg = self._active
            if seg is None or time.monotonic() - seg.created < age:
                return None
            return self._seal_locked()

    def sealed(self) -> list[Path]:
        """Sealed segments, oldest first. Safe from any thread."""
        return sealed_segments(self.directory)

    @property
    def pending_bytes(self) -> int:
        return self._pending

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
                    fut.set_result(None)
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
                    fut.set_exception(err)
                    fut.exception()  # a caller that went away must not log "never retrieved"
        if self._pending <= 0 and self._idle_waiters:
            waiters, self._idle_waiters = self._idle_waiters, []
            for w in waiters:
                if not w.done():
                    w.set_result(None)

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
                view = memoryview(data)
                while view:
                    n = os.write(seg.fd, view)
                    if n <= 0:
                        raise OSError(errno.EIO, "write wrote nothing")
                    view = view[n:]
                if self.fsync:
                    os.fsync(seg.fd)
            except OSError:
                self._abandon_locked(start)
                raise
            seg.size += len(data)

    # -- segments (callers hold self._lock) -------------------------------------------
    def _open_segment(self) -> _Segment:
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
        if self.fsync:
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
