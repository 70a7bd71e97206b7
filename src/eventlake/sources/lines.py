"""The line ingest every service-log type shares (S3 access, VPC flow, ALB,
CloudFront): `eventlake ingest <type> PATH_OR_S3_URI...`.

A reader thread fetches each object (local, or downloaded from S3), gunzips it when
it starts with the gzip magic, and cuts it into lines with numpy — no Python loop per
line: each block becomes an Arrow array of lines with their 1-based line numbers. The
main thread cuts those into batches and hands each to one of WRITERS writer threads,
each with its own DuckDB connection (no lake attached): it runs the type's parse SQL
and COPYs the good records, typed as the table's columns, to one Parquet file, which
it moves into the table's folder of its day (event_date=.../, the layout DuckLake
writes; a batch across days is split into one file per day); the few lines it did not
write are found by reading the file's line numbers back, and parsed again, alone, for
their reasons. The main thread commits the written batches in order, two at a time,
each commit one DuckLake transaction: the files (ducklake_add_data_files, which takes
each file's partition from its folder and its statistics from its footer, so queries
prune them as usual), the quarantined lines and the marks of the objects that are
complete. Batches are parsed and written in parallel and never wait for a commit; when
the run fails, the files of the batches not committed are removed (a killed process
leaves them, unreferenced, to `eventlake lake compact`, as any DuckLake writer). A table
an operator re-partitioned otherwise is loaded the old way: one INSERT from the parse
SQL per batch, inside the commit.

An object is read again only when it is new or changed; before its first new rows
are committed its old rows and quarantine entries are removed in the same commit, so
a rerun after a crash (or a changed object) never duplicates. Lines that are not
UTF-8 or longer than MAX_LINE, and damage such as a truncated gzip, are quarantined
with a reason; every good line before them still loads. Counts reconcile: records
read = loaded + quarantined (blank, comment and header lines are not records).

For a pool tenant (`tenant_id`) the rows, quarantine entries and object marks carry
the tenant, and "seen before", "old rows" and "reparse" are all per tenant: an object
loaded for one tenant is new to another, and re-reading it for one leaves the other's
rows alone."""

from __future__ import annotations

import collections
import datetime as dt
import os
import queue
import shutil
import threading
import time
import uuid
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import duckdb
import numpy as np
import pyarrow as pa

from ..lake import Lake
from ..engines.duckdb import connect
from ..lake.catalog import ALIAS, sql_str
from ..lake.tenancy import TENANT_COLUMN, add_tenant_column, has_tenant_column, tenant_rows, tenant_stamp
from .base import PROBLEMS_KEPT, RAW_PREFIX_LIMIT, IngestStats, Quarantined, ingest_run, record_objects, record_quarantine, utcnow
from .logtypes import FORMAT_COLUMN, FileFormat, LineLog, parsed_columns
from .stores import SourceObject, Store, open_store

BLOCK = 8 << 20  # bytes read from an object at a time
MAX_LINE = 1 << 20  # a longer line is quarantined (memory stays bounded)
HEAD_LINES = 8  # lines of a file given to detect_format
PREFETCH = 8  # objects fetched ahead (S3 downloads run in parallel)
QUEUE_DEPTH = 4  # blocks of lines waiting for the parser
FILE_SHIFT = 40  # line numbers stay below 2**40; the bits above carry the object's number in a batch
WRITERS = max(1, min(4, os.cpu_count() or 1))  # batches parsed and written to Parquet at once
COMMIT_BATCHES = 2  # written batches per commit (the writers go on with later ones meanwhile)


# The rejected lines of a batch (`norm`: a temp table, or an Arrow table registered) into quarantine; parameters:
# source, run_id, quarantined_at (then the tenant's, if `tenant_value` is "?"). Shared
# by the ingest and reparse; format with tenant_column / tenant_value ('' for none).
QUARANTINE_REJECTED = (
    f"INSERT INTO {ALIAS}.quarantine (source, source_object, position, reason, raw, run_id, quarantined_at{{tenant_column}}) "
    f"SELECT ?, source_object, 'line ' || CAST(line_no AS VARCHAR), reason, left(raw_line, {RAW_PREFIX_LIMIT}), ?, ?{{tenant_value}} "
    "FROM norm WHERE reason IS NOT NULL"
)


def _resolve(logtype: LineLog | str) -> LineLog:
    if isinstance(logtype, str):
        from . import log_type

        return log_type(logtype)
    return logtype


# -- reading objects into arrays of lines --------------------------------------------


@dataclass
class _Obj:
    """Per-object state shared by the reader and the committer."""

    obj: SourceObject
    index: int
    fmt: FileFormat | None = None
    records: int = 0  # lines handed to the parser (or quarantined by the reader)
    loaded: int = 0
    quarantined: int = 0
    failed: bool = False  # damaged: unreadable past some point
    committed: bool = False  # some of its rows were committed in this run


@dataclass
class _Lines:
    """A block of record lines of one object, ready for the parser."""

    state: _Obj
    fmt: str | None
    line_no: pa.Array  # int64, 1-based
    line: pa.Array  # string
    nbytes: int


@dataclass
class _Problems:
    """Lines (or damage) the reader itself rejects: not UTF-8, too long, corrupt gzip."""

    state: _Obj
    items: list[Quarantined]


@dataclass
class _Done:
    state: _Obj


def _open_stream(path: Path) -> Iterator[bytes]:
    """The object's bytes in blocks, gunzipped (all members) when it starts with the
    gzip magic. Damage raises after every byte before it has been yielded."""
    with open(path, "rb") as fh:
        head = fh.read(2)
        fh.seek(0)
        if head != b"\x1f\x8b":
            while chunk := fh.read(BLOCK):
                yield chunk
            return
        z = zlib.decompressobj(wbits=31)
        while True:
            chunk = fh.read(1 << 20)
            if not chunk:
                if not z.eof:
                    raise EOFError("compressed file ended before the end-of-stream marker was reached")
                return
            data = z.decompress(chunk)
            while z.eof and z.unused_data:  # concatenated gzip members
                rest = z.unused_data
                z = zlib.decompressobj(wbits=31)
                data += z.decompress(rest)
            if data:
                yield data


class LineReader:
    """Cuts one object's content into numbered record lines for a log type."""

    def __init__(self, logtype: LineLog):
        self.logtype = logtype
        prefix = logtype.comment_prefix
        self.comment = prefix.encode() if prefix else None

    def read(self, state: _Obj, path: Path) -> Iterator[_Lines | _Problems]:
        uri = state.obj.uri
        carry = b""
        skipping = False  # inside an over-long line, dropping bytes up to its end
        next_no = 1  # number of the first line in the next block
        header_left = 0
        try:
            first = True
            for block in _open_stream(path):
                if first and block.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark is not content
                    block = block[3:]
                first = False
                data = carry + block if carry else block
                cut = data.rfind(b"\n")
                if cut < 0:
                    if skipping:
                        carry = b""
                        continue
                    carry = data
                    if len(carry) > MAX_LINE:
                        yield self._too_long(state, next_no, carry)
                        carry, skipping = b"", True
                    continue
                complete, carry = data[: cut + 1], data[cut + 1 :]
                if skipping:  # the rest of the over-long line ends at the first newline
                    first = complete.find(b"\n")
                    complete = complete[first + 1 :]
                    next_no += 1
                    skipping = False
                if len(carry) > MAX_LINE:
                    skipping = True
                if complete:
                    if state.fmt is None:
                        state.fmt, header_left = self._detect(complete)
                    out, n, header_left = self._split(state, complete, next_no, header_left)
                    next_no += n
                    yield from out
                if skipping:
                    yield self._too_long(state, next_no, carry)
                    carry = b""
        except (EOFError, zlib.error, OSError) as exc:
            state.failed = True
            what = "corrupt or truncated gzip" if not isinstance(exc, OSError) else "cannot read"
            if state.fmt is None:
                state.fmt = self.logtype.detect_format([])
            # the line cut off by the damage is not loaded; its start is kept here
            state.records += 1
            yield _Problems(state, [Quarantined(
                uri, f"line {next_no}", f"{what}: {exc or type(exc).__name__}; the {next_no - 1:,} lines before it were read",
                carry[:RAW_PREFIX_LIMIT].decode("utf-8", "backslashreplace") if carry and not skipping else None, fatal=True,
            )])
            return
        if skipping:
            next_no += 1
        elif carry:  # last line without a newline
            if state.fmt is None:
                state.fmt, header_left = self._detect(carry + b"\n")
            out, _, _ = self._split(state, carry + b"\n", next_no, header_left)
            yield from out
        if state.fmt is None:
            state.fmt = self.logtype.detect_format([])

    def _too_long(self, state: _Obj, line_no: int, start: bytes) -> _Problems:
        state.records += 1
        return _Problems(state, [Quarantined(
            state.obj.uri, f"line {line_no}", f"line is longer than {MAX_LINE:,} bytes",
            start[:RAW_PREFIX_LIMIT].decode("utf-8", "backslashreplace"),
        )])

    def _detect(self, data: bytes) -> tuple[FileFormat, int]:
        head = [
            ln.rstrip(b"\r").decode("utf-8", "replace")
            for ln in data[: 1 << 16].split(b"\n", HEAD_LINES)[:HEAD_LINES]
        ]
        fmt = self.logtype.detect_format(head)
        return fmt, fmt.header_lines

    def _split(self, state: _Obj, data: bytes, first_no: int, header_left: int) -> tuple[list, int, int]:
        """Lines of `data` (which ends with a newline) as record arrays plus the
        reader's own problems; returns (items, number of lines, header lines left)."""
        arr = np.frombuffer(data, dtype=np.uint8)
        nl = np.flatnonzero(arr == 10)
        n = len(nl)
        starts = np.empty(n, dtype=np.int64)
        starts[0] = 0
        starts[1:] = nl[:-1] + 1
        ends = nl.copy()
        has_cr = (ends > starts) & (arr[np.maximum(ends - 1, 0)] == 13)
        ends[has_cr] -= 1
        lengths = ends - starts
        keep = lengths > 0
        if header_left:
            keep[: min(header_left, n)] = False
            header_left = max(0, header_left - n)
        if self.comment is not None and len(self.comment) == 1:
            keep &= ~((lengths > 0) & (arr[np.minimum(starts, len(arr) - 1)] == self.comment[0]))
        out: list = []
        text = arr[_kept_bytes(len(arr), nl, starts, ends, has_cr, keep, lengths)]
        lens = lengths[keep]
        offsets = np.zeros(len(lens) + 1, dtype=np.int32)
        np.cumsum(lens, out=offsets[1:])
        numbers = np.flatnonzero(keep).astype(np.int64) + first_no
        lines = pa.StringArray.from_buffers(len(lens), pa.py_buffer(offsets), pa.py_buffer(text))
        try:
            lines.validate(full=True)
        except pa.ArrowInvalid:
            lines, numbers, bad = _drop_invalid_utf8(state, text, offsets, numbers)
            if bad:
                out.append(_Problems(state, bad))
                state.records += len(bad)
        if len(lines):
            state.records += len(lines)
            fmt = state.fmt.key if state.fmt else None
            out.append(_Lines(state, fmt, pa.array(numbers, pa.int64()), lines, int(lens.sum())))
        return out, n, header_left


def _kept_bytes(size: int, nl: np.ndarray, starts: np.ndarray, ends: np.ndarray, has_cr: np.ndarray,
                keep: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """A boolean mask over a block's bytes: True for the text of kept lines. Line ends
    (LF, and the CR of CRLF) and whole lines that are not records (headers, comments)
    are dropped, so the kept lines are contiguous and their offsets are the running sum
    of their lengths."""
    mask = np.ones(size, dtype=bool)
    mask[nl] = False
    if has_cr.any():
        mask[ends[has_cr]] = False
    gone = ~keep & (lengths > 0)
    if gone.any():
        gone_starts, gone_ends = starts[gone], ends[gone]
        if len(gone_starts) <= 64:  # a file's headers: a few slices
            for a, b in zip(gone_starts.tolist(), gone_ends.tolist()):
                mask[a:b] = False
        else:  # the ranges are disjoint: +1 at each start, -1 at each end, running sum
            edges = np.zeros(size + 1, dtype=np.int8)
            edges[gone_starts] = 1
            edges[gone_ends] = -1
            mask &= np.cumsum(edges[:-1], dtype=np.int8) == 0
    return mask


def _drop_invalid_utf8(state: _Obj, text: np.ndarray, offsets: np.ndarray, numbers: np.ndarray):
    """The lines that are valid UTF-8, and a quarantine entry for each that is not."""
    raw = text.tobytes()
    good: list[str] = []
    good_no: list[int] = []
    bad: list[Quarantined] = []
    for i in range(len(numbers)):
        chunk = raw[offsets[i] : offsets[i + 1]]
        try:
            good.append(chunk.decode("utf-8"))
            good_no.append(int(numbers[i]))
        except UnicodeDecodeError as exc:
            bad.append(Quarantined(
                state.obj.uri, f"line {int(numbers[i])}", f"line is not valid UTF-8 (byte 0x{chunk[exc.start]:02x} at column {exc.start + 1})",
                chunk[:RAW_PREFIX_LIMIT].decode("utf-8", "backslashreplace"),
            ))
    return pa.array(good, pa.string()), np.array(good_no, dtype=np.int64), bad


# -- the ingest ------------------------------------------------------------------------


@dataclass
class _Pending:
    items: list[_Lines] = field(default_factory=list)
    problems: list[Quarantined] = field(default_factory=list)
    nbytes: int = 0
    states: dict[int, _Obj] = field(default_factory=dict)  # objects with something in this batch
    ended: set[int] = field(default_factory=set)  # objects whose end the reader reached by this batch's last item

    @staticmethod
    def merged(batches: list[_Pending]) -> _Pending:
        """Consecutive batches as one."""
        if len(batches) == 1:
            return batches[0]
        out = _Pending()
        for b in batches:
            out.items += b.items
            out.problems += b.problems
            out.nbytes += b.nbytes
            out.states.update(b.states)
            out.ended |= b.ended
        return out


class LineIngest:
    """One `eventlake ingest <type>` run over one or more locations."""

    def __init__(
        self,
        lake: Lake,
        logtype: LineLog | str,
        locations: list[str],
        *,
        endpoint_url: str | None = None,
        batch_mb: int = 16,
        since: dt.date | None = None,
        until: dt.date | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        on_total: Callable[[int, int], None] | None = None,
        tenant_id: str | None = None,
    ):
        self.lake = lake
        self.tenant_id = tenant_id  # the pool tenant whose logs these are (None: the lake's own)
        self.logtype = _resolve(logtype)
        self.stores: list[Store] = [open_store(loc, endpoint_url) for loc in locations]
        self.batch_bytes = max(1, batch_mb) << 20
        self.since, self.until = since, until
        self.on_progress = on_progress or (lambda files, nbytes: None)
        self.on_total = on_total or (lambda files, nbytes: None)
        self.stats = IngestStats(self.logtype.name, tenant_id=tenant_id)
        self.table = f'{ALIAS}."{self.logtype.table.name}"'
        self._reread: set[str] = set()  # objects seen before: their old rows go first
        self._columns = parsed_columns(self.logtype)
        self._last_stamp: dt.datetime | None = None

    # -- planning -------------------------------------------------------------
    def plan(self, known: dict[str, tuple[str, str]]) -> list[SourceObject]:
        pending: list[tuple[tuple, SourceObject]] = []
        seen: set[str] = set()
        for store in self.stores:
            for obj in store.list():
                if obj.uri in seen:
                    continue
                seen.add(obj.uri)
                why = self.logtype.skip_reason(obj.key)
                layout = self.logtype.layout(obj.key)
                if why is None and layout.date is not None:
                    if self.since and layout.date < self.since:
                        why = "before --since"
                    # a key's date is its delivery time: a day of grace keeps the
                    # records of `until` that were delivered after midnight
                    elif self.until and layout.date > self.until + dt.timedelta(days=1):
                        why = "after --until"
                if why:
                    self.stats.files_skipped += 1
                    self.stats.skip_reasons[why] = self.stats.skip_reasons.get(why, 0) + 1
                    continue
                version, status = known.get(obj.uri, (None, None))
                if version == obj.version and status != "partial":
                    self.stats.files_unchanged += 1
                    continue
                if version is not None:
                    self._reread.add(obj.uri)
                # delivery order (date, hour) so each commit touches few date partitions
                pending.append(((layout.date or dt.date.min, layout.hour or 0, obj.uri), obj))
        pending.sort(key=lambda p: p[0])
        return [o for _, o in pending]

    def _known(self, con) -> dict[str, tuple[str, str]]:
        mine, args = tenant_rows(con, "ingested_objects", self.tenant_id)
        rows = con.execute(
            f"SELECT uri, arg_max(version, ingested_at), arg_max(status, ingested_at) FROM {ALIAS}.ingested_objects "
            f"WHERE source = ? AND {mine} GROUP BY uri",
            [self.logtype.name, *args],
        ).fetchall()
        return {u: (v, s) for u, v, s in rows}

    # -- running --------------------------------------------------------------
    def run(self) -> IngestStats:
        with ingest_run(self.lake, self.stats, [self.logtype.table.name]) as (con, spool):
            con.execute(f"SET temp_directory = '{sql_str(str(spool))}'")
            con.execute("SET preserve_insertion_order = false")
            objects = self.plan(self._known(con))
            self.on_total(len(objects), sum(o.size for o in objects))
            writer = _ParquetWriter.for_table(self.lake, con, self.logtype, self.tenant_id, spool)
            items: queue.Queue = queue.Queue(maxsize=QUEUE_DEPTH)
            stop = threading.Event()
            reader = threading.Thread(target=self._read_all, args=(objects, spool, items, stop), daemon=True)
            reader.start()
            try:
                self._consume(con, items, writer)
            finally:
                stop.set()
                while reader.is_alive():  # unblock a reader waiting on a full queue
                    try:
                        items.get(timeout=0.1)
                    except queue.Empty:
                        pass
                reader.join()
                if writer is not None:
                    writer.close()
        return self.stats

    def _read_all(self, objects: list[SourceObject], spool: Path, items: queue.Queue, stop: threading.Event) -> None:
        """Reader thread: every object's lines, in order, then None (or the error)."""
        reader = LineReader(self.logtype)

        def put(item) -> bool:
            while not stop.is_set():
                try:
                    items.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        try:
            with ThreadPoolExecutor(max_workers=PREFETCH) as pool:
                futures = [pool.submit(o.store.fetch, o, spool) for o in objects[:PREFETCH]]
                for i, obj in enumerate(objects):
                    if i + PREFETCH < len(objects):
                        futures.append(pool.submit(objects[i + PREFETCH].store.fetch, objects[i + PREFETCH], spool))
                    path = futures[i].result()
                    futures[i] = None  # type: ignore[call-overload]
                    state = _Obj(obj, i)
                    try:
                        for item in reader.read(state, path):
                            if not put(item):
                                return
                    finally:
                        if not obj.store.is_local():
                            path.unlink(missing_ok=True)
                    if not put(_Done(state)):
                        return
            put(None)
        except BaseException as exc:  # handed to the main thread, which raises it
            put(exc)

    def _consume(self, con, items: queue.Queue, writer: _ParquetWriter | None) -> None:
        """Cut the reader's items into batches and load each. With a Parquet writer,
        up to WRITERS batches are parsed and written at once while the earlier ones
        commit, in order (the first batch in flight together with the ones after it
        already written: fewer, larger commits); if anything fails, the files of every
        batch not committed are removed."""
        inflight: collections.deque[tuple[_Pending, dt.datetime, Future]] = collections.deque()

        def load(pending: _Pending) -> None:
            now = self._stamp()
            if writer is None:
                self._commit(con, pending, now)
                return
            inflight.append((pending, now, writer.submit(self._parts(pending), now)))
            while len(inflight) > WRITERS + COMMIT_BATCHES - 1:
                commit_ready(COMMIT_BATCHES)

        def commit_ready(at_least: int) -> None:  # taken off only once committed
            n = min(at_least, len(inflight))
            while n < len(inflight) and inflight[n][2].done():
                n += 1
            group = [inflight[i] for i in range(n)]
            written = [future.result() for _, _, future in group]
            self._commit(con, _Pending.merged([p for p, _, _ in group]), group[0][1], written)
            for _ in group:
                inflight.popleft()

        try:
            pending = _Pending()
            while True:
                item = items.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                pending.states[item.state.index] = item.state
                if isinstance(item, _Lines):
                    pending.items.append(item)
                    pending.nbytes += item.nbytes
                elif isinstance(item, _Problems):
                    pending.problems.extend(item.items)
                    item.state.quarantined += len(item.items)
                elif isinstance(item, _Done):
                    # the object ends in this batch: not before (the reader runs ahead of the
                    # commits, so its own progress does not say which batch holds the end)
                    pending.ended.add(item.state.index)
                if pending.nbytes >= self.batch_bytes:
                    load(pending)
                    pending = _Pending()
            if pending.states:
                load(pending)
            while inflight:
                commit_ready(len(inflight))
        finally:
            for _, _, future in inflight:  # not committed: their files go
                future.cancel()
                try:
                    future.result().remove()
                except BaseException:  # cancelled, or failed (a failed write removes its own files)
                    pass

    # -- one commit -----------------------------------------------------------
    def _parts(self, pending: _Pending) -> _Parts:
        """The batch's lines as one Arrow table per file format, for the parse SQL.
        line_no goes through the parse untouched, so it carries the object's number in
        its high bits (FILE_SHIFT; `files` numbers the URIs): no URI is copied per row."""
        files: dict[str, int] = {}
        by_fmt: dict[str | None, list[_Lines]] = {}
        for it in pending.items:
            files.setdefault(it.state.obj.uri, len(files))
            by_fmt.setdefault(it.fmt, []).append(it)
        tables = [
            (fmt, pa.table({
                "source_object": pa.chunked_array([  # the parse SQL passes it on; the load takes batch_files'
                    pa.DictionaryArray.from_arrays(pa.array(np.zeros(len(g.line), np.int32)), pa.array([g.state.obj.uri]))
                    for g in group
                ]),
                "line_no": pa.chunked_array([
                    pa.array(np.asarray(g.line_no) + (files[g.state.obj.uri] << FILE_SHIFT), pa.int64()) for g in group
                ]),
                "line": pa.chunked_array([g.line for g in group]),
            }))
            for fmt, group in by_fmt.items()
        ]
        return _Parts(files, tables)

    def _stamp(self) -> dt.datetime:
        """The batch's ingested_at: later than any earlier batch's of this run, so the
        rows a batch wrote are exactly those with its stamp."""
        now = utcnow()
        if self._last_stamp is not None and now <= self._last_stamp:
            now = self._last_stamp + dt.timedelta(microseconds=1)
        self._last_stamp = now
        return now

    def _insert_stage(self, con, parts: _Parts, now: dt.datetime, stamp) -> pa.Table:
        """The load of a table whose partitioning is not the plain event date (no
        Parquet writer): parse the lines of each format straight into the table, inside
        the commit (one INSERT: the good records). Returns the lines it did not load,
        found by the batch's ingested_at stamp, with their reasons."""
        _register_files(con, parts.files)
        rejected = []
        try:
            for fmt, batch in parts.tables:
                wanted = self.logtype.columns_for(fmt)
                cols = [c for c in self._columns if wanted is None or c in wanted]
                parse = self.logtype.parse_sql(fmt)
                col_list = ", ".join(f'"{c}"' for c in cols)
                fmt_col, fmt_val, fmt_arg = (
                    (f', "{FORMAT_COLUMN[0]}"', ", ?", [fmt]) if self.logtype.has_format else ("", "", [])
                )
                select = ", ".join(f'p."{c}"' for c in cols)
                con.register("batch_lines", batch)
                try:
                    loaded = con.execute(
                        f'INSERT INTO {self.table} ({col_list}, "source_object", "line_no", "raw_line"{fmt_col}, "ingested_at"{stamp.column_sql}) '
                        f"SELECT {select}, f.source_object, p.line_no & {LINE_MASK}, p.line{fmt_val}, ?{stamp.value_sql} "
                        f"FROM ({_parsed(parse)}) p JOIN batch_files f ON f.file_no = CAST(p.line_no >> {FILE_SHIFT} AS INTEGER) "
                        "WHERE p.reason IS NULL AND p.event_date IS NOT NULL",
                        fmt_arg + [now, *stamp.values],
                    ).fetchall()[0][0]
                    if loaded < batch.num_rows:
                        written = con.execute(
                            f"SELECT (CAST(b.file_no AS BIGINT) << {FILE_SHIFT}) + t.line_no AS line_no FROM {self.table} t "
                            "JOIN batch_files b USING (source_object) WHERE t.ingested_at = ?",
                            [now],
                        ).fetchnumpy()["line_no"]
                        rejected.append(_rejected_lines(con, parse, batch, written))
                finally:
                    con.unregister("batch_lines")
        finally:
            con.unregister("batch_files")
        return pa.concat_tables(rejected) if rejected else NO_REJECTS

    def _commit(self, con, pending: _Pending, now: dt.datetime, written: list[_Written] | None = None) -> None:
        """Load one batch in one transaction: the records (the files its writes made,
        or an INSERT), the quarantined lines and the objects' marks (complete: the
        object ended in this batch; else partial)."""
        lines_in: dict[str, int] = {}
        for it in pending.items:
            lines_in[it.state.obj.uri] = lines_in.get(it.state.obj.uri, 0) + len(it.line)
        states = list(pending.states.values())
        first_time = [s for s in states if not s.committed and s.obj.uri in self._reread]
        stamp = tenant_stamp(self.tenant_id)
        if first_time:  # the tenant's own old rows of a re-read object (not another tenant's)
            mine, mine_args = tenant_rows(con, self.logtype.table.name, self.tenant_id)
            q_mine, q_args = tenant_rows(con, "quarantine", self.tenant_id)
        with self.lake.transaction(con):
            for s in first_time:
                con.execute(f"DELETE FROM {self.table} WHERE source_object = ? AND {mine}", [s.obj.uri, *mine_args])
                con.execute(f"DELETE FROM {ALIAS}.quarantine WHERE source = ? AND source_object = ? AND {q_mine}",
                            [self.logtype.name, s.obj.uri, *q_args])
            if written is None:
                norm = self._insert_stage(con, self._parts(pending), now, stamp)
            else:
                for path in (p for w in written for p in w.paths):  # DuckLake reads the partition from the event_date=... folder
                    con.execute(
                        "CALL ducklake_add_data_files(?, ?, ?, schema => ?, allow_missing => true)",
                        [ALIAS, self.logtype.table.name, path, self.lake.schema],
                    )
                norm = pa.concat_tables([w.rejected for w in written])
            rejected = dict(zip(*_per_object(norm)))
            n_bad = norm.num_rows
            kept = norm.sort_by([("source_object", "ascending"), ("line_no", "ascending")]).slice(0, PROBLEMS_KEPT)
            bad = list(zip(*(kept.column(c).to_pylist() for c in ("source_object", "line_no", "reason"))))
            if n_bad:
                con.register("norm", norm)
                try:
                    con.execute(QUARANTINE_REJECTED.format(tenant_column=stamp.column_sql, tenant_value=stamp.value_sql),
                                [self.logtype.name, self.stats.run_id, now, *stamp.values])
                finally:
                    con.unregister("norm")
            record_quarantine(con, self.logtype.name, self.stats.run_id, pending.problems, self.tenant_id)
            per_file = {u: (n, rejected.get(u, 0)) for u, n in lines_in.items()}
            marks = []
            for s in states:
                n, q = per_file.get(s.obj.uri, (0, 0))
                s_loaded, s_q = s.loaded + n - q, s.quarantined + q
                if s.index in pending.ended:
                    status = "failed" if s.failed else "loaded"
                elif not s.committed:
                    status = "partial"  # a rerun after a crash reads it again, old rows first
                else:
                    continue
                marks.append((s.obj.uri, s.obj.size, s.obj.version, status, s.records, s_loaded, 0, s_q))
            record_objects(con, self.logtype.name, self.stats.run_id, marks, self.tenant_id)
        for w in written or ():
            w.committed = True  # the lake's now
        # counts, once the commit has succeeded
        st = self.stats
        n_rows = sum(n for n, _ in per_file.values())
        st.records_read += n_rows + len(pending.problems)
        st.records_loaded += n_rows - n_bad
        st.records_quarantined += n_bad + len(pending.problems)
        st.add_problems(
            [f"{u} at line {no}: {why}" for u, no, why in bad] + [q.message() for q in pending.problems],
            more=n_bad - len(bad),
        )
        done_files, done_bytes = 0, 0
        for s in states:
            n, q = per_file.get(s.obj.uri, (0, 0))
            s.loaded += n - q
            s.quarantined += q
            s.committed = True
            if s.index in pending.ended:  # one batch holds an object's end: counted once
                st.files_read += 1
                st.files_failed += int(s.failed)
                st.bytes_read += s.obj.size
                done_files += 1
                done_bytes += s.obj.size
        if done_files:
            self.on_progress(done_files, done_bytes)


# -- the parse and write of a batch, off the committing thread --------------------------


LINE_MASK = (1 << FILE_SHIFT) - 1
NO_REJECTS = pa.table({"source_object": pa.array([], pa.string()), "line_no": pa.array([], pa.int64()),
                       "raw_line": pa.array([], pa.string()), "reason": pa.array([], pa.string())})


def _parsed(parse: str) -> str:
    """The parse SQL over the registered Arrow table `batch_lines` (line_no, line)."""
    return f"WITH lines AS (SELECT * FROM batch_lines) SELECT * FROM ({parse})"


def _register_files(con: duckdb.DuckDBPyConnection, files: dict[str, int]) -> None:
    """The batch's objects by number, as `batch_files` (file_no, source_object)."""
    con.register("batch_files", pa.table({
        "file_no": pa.array(list(files.values()), pa.int32()), "source_object": pa.array(list(files), pa.string()),
    }))


def _rejected_lines(con: duckdb.DuckDBPyConnection, parse: str, batch: pa.Table, written: np.ndarray) -> pa.Table:
    """The lines of `batch` (registered as batch_lines) whose keys are not in
    `written`, parsed again, alone, for their reasons: (source_object, line_no,
    raw_line, reason)."""
    keys = batch.column("line_no").to_numpy()
    con.register("batch_lines", batch.filter(pa.array(~np.isin(keys, written))))
    return con.execute(
        f"SELECT f.source_object, p.line_no & {LINE_MASK} AS line_no, p.line AS raw_line, coalesce(p.reason, 'record has no date') AS reason "
        f"FROM ({_parsed(parse)}) p JOIN batch_files f ON f.file_no = CAST(p.line_no >> {FILE_SHIFT} AS INTEGER)"
    ).to_arrow_table()


def _per_object(norm: pa.Table) -> tuple[list, list]:
    """Rejected lines per object: (objects, counts)."""
    if not norm.num_rows:
        return [], []
    counts = norm.column("source_object").value_counts()
    return counts.field("values").to_pylist(), counts.field("counts").to_pylist()


@dataclass
class _Parts:
    files: dict[str, int]  # the batch's objects, numbered
    tables: list[tuple[str | None, pa.Table]]  # (format, lines: line_no with the object's number, line)


@dataclass
class _Written:
    """What one batch's write made: its Parquet files (not yet in the lake) and the
    lines it did not load, with their reasons."""

    paths: list[str]
    rejected: pa.Table
    committed: bool = False

    def remove(self) -> None:
        if not self.committed:
            _remove(self.paths)


def _remove(paths: Iterable[str]) -> None:
    for p in paths:
        Path(p).unlink(missing_ok=True)


class _ParquetWriter:
    """Parses batches of lines and writes their good records as Parquet files into
    the table's folder, in the layout DuckLake itself writes (event_date=.../), on
    WRITERS threads, each with its own DuckDB connection and no lake attached. The
    commit then registers a batch's files with ducklake_add_data_files, which takes
    each file's partition value from its folder and its statistics from its footer,
    so queries prune them like the files DuckLake writes. Batches no longer wait for
    each other's commits, and the parse and writes of several overlap."""

    def __init__(self, folder: Path, logtype: LineLog, types: dict[str, str], tenant_id: str | None, spool: Path,
                 memory_limit: str | None):
        self.folder = folder
        self.logtype = logtype
        self.types = types
        self.tenant_id = tenant_id
        self.spool = spool
        self.memory_limit = memory_limit
        self._pool = ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="parquet-writer")
        self._local = threading.local()
        self._cons: list[duckdb.DuckDBPyConnection] = []
        self._lock = threading.Lock()

    @classmethod
    def for_table(cls, lake: Lake, con: duckdb.DuckDBPyConnection, logtype: LineLog, tenant_id: str | None,
                  spool: Path) -> _ParquetWriter | None:
        """A writer for the table, or None when its partitioning is no longer the plain
        event date (an operator changed it): files in event_date=... folders would not
        match, and the batches are INSERTed instead."""
        meta = f"__ducklake_metadata_{ALIAS}"
        row = con.execute(
            f"SELECT t.table_id, t.path, t.path_is_relative, s.path, s.path_is_relative FROM {meta}.ducklake_table t "
            f"JOIN {meta}.ducklake_schema s ON s.schema_id = t.schema_id AND s.end_snapshot IS NULL "
            "WHERE t.end_snapshot IS NULL AND t.table_name = ? AND s.schema_name = ?",
            [logtype.table.name, lake.schema],
        ).fetchone()
        if row is None:
            return None
        table_id, t_path, t_rel, s_path, s_rel = row
        partition = con.execute(
            f"SELECT c.column_name, p.transform FROM {meta}.ducklake_partition_info i "
            f"JOIN {meta}.ducklake_partition_column p ON p.partition_id = i.partition_id AND p.table_id = i.table_id "
            f"JOIN {meta}.ducklake_column c ON c.column_id = p.column_id AND c.table_id = p.table_id AND c.end_snapshot IS NULL "
            "WHERE i.table_id = ? AND i.end_snapshot IS NULL ORDER BY p.partition_key_index",
            [table_id],
        ).fetchall()
        if partition != [("event_date", "identity")]:
            return None
        folder = Path(s_path) if not s_rel else lake.data_path / s_path
        folder = Path(t_path) if not t_rel else folder / t_path
        types = dict(con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_catalog = ? AND table_schema = ? "
            "AND table_name = ?",
            [ALIAS, lake.schema, logtype.table.name],
        ).fetchall())
        return cls(folder, logtype, types, tenant_id, spool, lake.memory_limit)

    def submit(self, parts: _Parts, now: dt.datetime) -> Future:
        return self._pool.submit(self._write, parts, now)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        for c in self._cons:
            c.close()
        self._cons.clear()

    def _connection(self) -> tuple[duckdb.DuckDBPyConnection, Path]:
        """This thread's connection and scratch folder."""
        c = getattr(self._local, "con", None)
        if c is None:
            c = connect(threads=1, memory_limit=self.memory_limit)
            with self._lock:
                self._cons.append(c)
                # each database spills to its own folder: two sharing one overwrite each other's files
                spill = self.spool / f"writer-{len(self._cons)}"
            spill.mkdir(exist_ok=True)
            c.execute(f"SET temp_directory = '{sql_str(str(spill))}'")
            c.execute("SET preserve_insertion_order = false")
            self._local.con, self._local.scratch = c, spill
        return c, self._local.scratch

    def _select(self, fmt: str | None) -> tuple[str, list]:
        """The COPY's SELECT list, each column cast to the table's type, and its
        parameters (the format, the stamp, the tenant)."""
        wanted = self.logtype.columns_for(fmt)
        cols = [c for c in parsed_columns(self.logtype) if wanted is None or c in wanted]
        t = self.types
        items = [f'CAST(p."{c}" AS {t[c]}) AS "{c}"' for c in cols]
        items += ["f.source_object", f"p.line_no & {LINE_MASK} AS line_no", "p.line AS raw_line"]
        args: list = []
        if self.logtype.has_format:
            items.append(f'CAST(? AS {t[FORMAT_COLUMN[0]]}) AS "{FORMAT_COLUMN[0]}"')
            args.append(fmt)
        items.append(f"CAST(? AS {t['ingested_at']}) AS ingested_at")
        args.append(None)  # the stamp, filled in per batch
        for col, value in zip(*tenant_stamp(self.tenant_id)):
            items.append(f'CAST(? AS {t[col]}) AS "{col}"')
            args.append(value)
        return ", ".join(items), args

    def _write(self, parts: _Parts, now: dt.datetime) -> _Written:
        """Parse one batch and write its good records: one Parquet file per format,
        written in this writer's scratch folder and moved into the table's folder of
        its day (a batch's lines are in delivery order, so nearly always of one day;
        one across days is split into one file per day)."""
        w, scratch = self._connection()
        paths: list[str] = []
        rejected = []
        try:
            _register_files(w, parts.files)
            for fmt, batch in parts.tables:
                parse = self.logtype.parse_sql(fmt)
                select, args = self._select(fmt)
                args = [now if a is None else a for a in args]
                tmp = scratch / f"ducklake-{uuid.uuid4()}.parquet"
                paths.append(str(tmp))
                w.register("batch_lines", batch)
                try:
                    _, n, _, _, stats, _ = w.execute(
                        f"COPY (SELECT {select} FROM ({_parsed(parse)}) p "
                        f"JOIN batch_files f ON f.file_no = CAST(p.line_no >> {FILE_SHIFT} AS INTEGER) "
                        "WHERE p.reason IS NULL AND p.event_date IS NOT NULL) "
                        f"TO '{sql_str(str(tmp))}' (FORMAT parquet, RETURN_STATS true)",
                        args,
                    ).fetchone()
                    if n < batch.num_rows:
                        written = w.execute(
                            f"SELECT (CAST(b.file_no AS BIGINT) << {FILE_SHIFT}) + t.line_no AS line_no FROM read_parquet(?) t "
                            "JOIN batch_files b USING (source_object)",
                            [str(tmp)],
                        ).fetchnumpy()["line_no"]
                        rejected.append(_rejected_lines(w, parse, batch, written))
                finally:
                    w.unregister("batch_lines")
                paths.pop()
                paths += self._place(w, tmp, n, stats)
            w.unregister("batch_files")
        except BaseException:
            _remove(paths)
            raise
        return _Written(paths, pa.concat_tables(rejected) if rejected else NO_REJECTS)

    def _place(self, w: duckdb.DuckDBPyConnection, tmp: Path, n: int, stats: dict) -> list[str]:
        """Move a written file into the table's event_date=... folder of its day (the
        layout DuckLake writes, from which it reads the file's partition), or split it
        into one file per day when it holds several; returns the files placed."""
        try:
            if n == 0:
                return []
            day = stats.get('"event_date"') or stats["event_date"]
            if day["min"] == day["max"]:
                dest = self.folder / f"event_date={day['min']}" / tmp.name
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(tmp, dest)
                return [str(dest)]
            split = tmp.with_suffix("")
            try:
                _, files = w.execute(
                    f"COPY (SELECT * FROM read_parquet('{sql_str(str(tmp))}')) TO '{sql_str(str(split))}' "
                    "(FORMAT parquet, PARTITION_BY (event_date), WRITE_PARTITION_COLUMNS true, FILENAME_PATTERN 'ducklake-{uuid}', "
                    "RETURN_FILES true)"
                ).fetchone()
                placed: list[str] = []
                try:
                    for f in files:
                        dest = self.folder / Path(f).relative_to(split)
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        shutil.move(f, dest)
                        placed.append(str(dest))
                except BaseException:
                    _remove(placed)
                    raise
                return placed
            finally:
                shutil.rmtree(split, ignore_errors=True)
        finally:
            tmp.unlink(missing_ok=True)


def ingest_lines(lake: Lake, logtype: LineLog | str, locations: Iterable[str], **options) -> IngestStats:
    """Ingest service logs of one type (name or LineLog) from local paths and s3:// URIs."""
    return LineIngest(lake, logtype, list(locations), **options).run()


# -- reparse ---------------------------------------------------------------------------


@dataclass
class ReparseStats:
    """What `eventlake reparse TABLE` did: rows re-parsed from raw_line, how many stay
    loaded, how many no longer parse (moved to quarantine), and how many quarantined
    lines parse now (moved into the table)."""

    table: str
    rows: int = 0
    loaded: int = 0
    quarantined: int = 0
    recovered: int = 0
    elapsed: float = 0.0

    def summary(self) -> str:
        return (
            f"{self.table}: {self.rows:,} rows re-parsed from raw_line, {self.loaded:,} loaded, "
            f"{self.quarantined:,} moved to quarantine; {self.recovered:,} quarantined lines now parse and were loaded "
            f"({self.elapsed:,.1f}s)"
        )


def reparse(lake: Lake, logtype: LineLog | str) -> ReparseStats:
    """Rebuild a service-log table from its raw lines with the current parser, in one
    commit. Rows that no longer parse move to quarantine; quarantined lines of types
    with a fixed format (kept whole) are parsed again and load when they now pass.
    Pool tenants' lines are re-parsed per tenant and stay theirs."""
    logtype = _resolve(logtype)
    started = time.perf_counter()
    stats = ReparseStats(logtype.table.name)
    table = f'{ALIAS}."{logtype.table.name}"'
    cols = parsed_columns(logtype)
    col_sql = ", ".join(f'"{c}"' for c in cols)
    table_cols = [c for c in logtype.table.column_names if c != "ingested_at" and (logtype.has_format or c != FORMAT_COLUMN[0])]
    col_list = ", ".join(f'"{c}"' for c in table_cols)
    with lake.writer_lock():
        con = lake.connect(create=True)
        try:
            lake.ensure_tables(con, [logtype.table.name])
            spool = lake.spool_dir()
            con.execute(f"SET temp_directory = '{sql_str(str(spool))}'")
            fmts: list[str | None] = (
                [f for (f,) in con.execute(f"SELECT DISTINCT {FORMAT_COLUMN[0]} FROM {table}").fetchall()]
                if logtype.has_format else [None]
            )
            con.execute("DROP TABLE IF EXISTS norm")
            con.execute(
                "CREATE TEMP TABLE norm AS SELECT CAST(NULL AS VARCHAR) AS source_object, CAST(NULL AS BIGINT) AS line_no, "
                f"CAST(NULL AS VARCHAR) AS raw_line, * EXCLUDE (source_object, line_no, raw_line, ingested_at), "
                "CAST(NULL AS VARCHAR) AS reason, false AS from_quarantine "
                f"FROM {table} WHERE false"
            )
            # a table holding pool tenants' rows is re-parsed one tenant at a time, each
            # row keeping its tenant (lines carry none: they go through the parse SQL)
            pooled = has_tenant_column(con, logtype.table.name)
            tenants: list[str | None] = [None]
            if pooled:
                add_tenant_column(lake, con, ["quarantine"])
                tenants = [t for (t,) in con.execute(
                    f'SELECT DISTINCT "{TENANT_COLUMN}" FROM {table} UNION SELECT DISTINCT "{TENANT_COLUMN}" FROM {ALIAS}.quarantine '
                    "WHERE source = ?", [logtype.name]).fetchall()]
            tenant_col = f', CAST(? AS VARCHAR) AS "{TENANT_COLUMN}"' if pooled else ""
            fmt_col = f', CAST(? AS VARCHAR) AS "{FORMAT_COLUMN[0]}"' if logtype.has_format else ""
            for tenant in tenants:
                mine, mine_args = tenant_rows(con, logtype.table.name, tenant)
                q_mine, q_args = tenant_rows(con, "quarantine", tenant)
                tenant_arg = [tenant] if pooled else []
                for fmt in fmts:
                    where = f"{FORMAT_COLUMN[0]} IS NOT DISTINCT FROM ?" if logtype.has_format else "true"
                    src = f"(SELECT source_object, line_no, raw_line AS line FROM {table} WHERE {where} AND {mine})"
                    con.execute(
                        f"INSERT INTO norm BY NAME SELECT source_object, line_no, line AS raw_line, {col_sql}{fmt_col}{tenant_col}, reason, "
                        f"false AS from_quarantine FROM (WITH lines AS {src} SELECT * FROM ({logtype.parse_sql(fmt)}))",
                        ([fmt] if logtype.has_format else []) + tenant_arg + ([fmt] if logtype.has_format else []) + mine_args,
                    )
                if not logtype.has_format:
                    # quarantined lines kept whole (shorter than the raw prefix limit)
                    src = (
                        f"(SELECT source_object, CAST(substr(position, 6) AS BIGINT) AS line_no, raw AS line FROM {ALIAS}.quarantine "
                        f"WHERE source = ? AND position LIKE 'line %' AND raw IS NOT NULL AND length(raw) < {RAW_PREFIX_LIMIT} AND {q_mine})"
                    )
                    con.execute(
                        f"INSERT INTO norm BY NAME SELECT source_object, line_no, line AS raw_line, {col_sql}{tenant_col}, reason, "
                        f"true AS from_quarantine FROM (WITH lines AS {src} SELECT * FROM ({logtype.parse_sql(None)})) "
                        "WHERE reason IS NULL AND event_date IS NOT NULL",
                        tenant_arg + [logtype.name, *q_args],
                    )
            con.execute("UPDATE norm SET reason = 'record has no date' WHERE reason IS NULL AND event_date IS NULL")
            rows, loaded, recovered = con.execute(
                "SELECT count(*) FILTER (WHERE NOT from_quarantine), count(*) FILTER (WHERE reason IS NULL AND NOT from_quarantine), "
                "count(*) FILTER (WHERE from_quarantine) FROM norm"
            ).fetchall()[0]
            now = utcnow()
            run_id = IngestStats(logtype.name).run_id
            keep = f', "{TENANT_COLUMN}"' if pooled else ""  # each row's tenant, from norm
            same_tenant, same_args = (
                (f'q."{TENANT_COLUMN}" IS NOT DISTINCT FROM n."{TENANT_COLUMN}"', []) if pooled
                else tenant_rows(con, "quarantine", None, "q.")
            )
            with lake.transaction(con):
                con.execute(f"DELETE FROM {table}")
                con.execute(
                    f'INSERT INTO {table} ({col_list}{keep}, "ingested_at") SELECT {col_list}{keep}, ? FROM norm WHERE reason IS NULL', [now]
                )
                con.execute(QUARANTINE_REJECTED.format(tenant_column=keep, tenant_value=keep), [logtype.name, run_id, now])
                if recovered:
                    con.execute(
                        f"DELETE FROM {ALIAS}.quarantine q WHERE q.source = ? AND EXISTS (SELECT 1 FROM norm n WHERE n.from_quarantine "
                        f"AND n.source_object = q.source_object AND q.position = 'line ' || CAST(n.line_no AS VARCHAR) AND {same_tenant})",
                        [logtype.name, *same_args],
                    )
            con.execute("DROP TABLE norm")
        finally:
            con.close()
            shutil.rmtree(spool, ignore_errors=True)
    stats.rows, stats.loaded, stats.recovered = rows, loaded, recovered
    stats.quarantined = rows - loaded
    stats.elapsed = time.perf_counter() - started
    return stats
