"""AWS CloudTrail source: the delivery layout (plain and organization trails),
`.json.gz` and `.json` files of `{"Records": [...]}`, from a folder or S3.

Small and ordinary files are parsed by DuckDB's JSON reader, many files per commit.
Files too large to parse as one JSON document, and files DuckDB rejects (corrupt
gzip, truncated JSON, records that are not objects), are streamed record by record
with ijson so memory stays bounded and every good record before the damage loads.
Each batch commits its events, its quarantined records and the list of objects it
read in one DuckLake transaction, so a crash leaves nothing half-done and a rerun
picks up exactly the objects that were not committed."""

from __future__ import annotations

import gzip
import re
import uuid
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Iterator

import duckdb
import ijson
import orjson

from ..lake import Lake
from ..lake.catalog import ALIAS, sql_str
from ..lake.derived import append_derived, derived_from
from ..lake.schema import CLOUDTRAIL_EVENTS
from ..lake.tenancy import tenant_rows, tenant_stamp
from .base import (
    PROBLEMS_KEPT,
    RAW_PREFIX_LIMIT,
    IngestStats,
    Quarantined,
    ingest_run,
    insert_rows,
    known_versions,
    record_objects,
    record_quarantine,
    utcnow,
)
from .stores import SourceObject, Store, open_store

SOURCE = "cloudtrail"
NOT_A_LOG = "no Records array at the top level: not a CloudTrail log file"

# Fields read from each record. Scalars come as text (a number or an object where a
# string was expected never breaks a load); irregular payloads stay JSON.
_SCALARS = (
    "eventVersion", "eventID", "eventTime", "eventSource", "eventName", "awsRegion", "recipientAccountId",
    "sourceIPAddress", "userAgent", "errorCode", "errorMessage", "readOnly", "managementEvent", "eventType",
    "eventCategory", "requestID", "sharedEventID", "vpcEndpointId",
)
_JSONS = (
    "userIdentity", "requestParameters", "responseElements", "additionalEventData", "serviceEventDetails",
    "resources", "tlsDetails",
)
RECORD_STRUCT = "STRUCT(" + ", ".join([f'"{f}" VARCHAR' for f in _SCALARS] + [f'"{f}" JSON' for f in _JSONS]) + ")"

BIG_FILE = 48 << 20  # uncompressed bytes above which a file is streamed, not parsed whole
MAX_FILES = 256  # files parsed together by DuckDB (it holds a read buffer per open file)
STREAM_CHUNK = 50_000  # records per commit when streaming a large file

# Normalizes the records of `{source}` (filename, pos, r) into cloudtrail_events'
# columns plus `reason` (why a record is rejected, NULL when it is good). pos = -1
# marks a file that has no Records array at all.
_NORMALIZE = """
CREATE OR REPLACE TEMP TABLE norm AS
WITH s AS (
  SELECT f.uri, s.pos, s.r, s.r."userIdentity" AS ui, s.r."eventTime" AS t_raw
  FROM {source} s JOIN stage_files f ON f.local_path = s.filename
), typed AS (
  SELECT *, TRY_CAST(t_raw AS TIMESTAMPTZ) AS t FROM s
), checked AS (
  SELECT *,
    CASE
      WHEN pos = -1 THEN 'no Records array at the top level: not a CloudTrail log file'
      WHEN r IS NULL THEN 'record is not a JSON object'
      WHEN r."eventID" IS NULL OR r."eventID" = '' THEN 'record has no eventID'
      WHEN t_raw IS NULL OR t_raw = '' THEN 'record has no eventTime'
      WHEN t IS NULL THEN 'eventTime ' || t_raw || ' is not an ISO-8601 timestamp'
    END AS reason
  FROM typed
)
SELECT
  uri AS source_object,
  pos,
  reason,
  r."eventID" AS event_id,
  t AS event_time,
  CAST(t AS DATE) AS event_date,
  r."eventVersion" AS event_version,
  r."eventSource" AS event_source,
  r."eventName" AS event_name,
  r."awsRegion" AS aws_region,
  r."recipientAccountId" AS recipient_account_id,
  ui->>'$.type' AS user_type,
  coalesce(
    nullif(ui->>'$.userName', ''),
    CASE WHEN (ui->>'$.arn') LIKE 'arn:%:sts::%:assumed-role/%/%' THEN regexp_extract(ui->>'$.arn', '[^/]+$') END
  ) AS user_name,
  ui->>'$.principalId' AS principal_id,
  ui->>'$.arn' AS principal_arn,
  ui->>'$.accountId' AS account_id,
  ui->>'$.accessKeyId' AS access_key_id,
  ui->>'$.sessionContext.sessionIssuer.type' AS session_issuer_type,
  ui->>'$.sessionContext.sessionIssuer.arn' AS session_issuer_arn,
  ui->>'$.sessionContext.sessionIssuer.userName' AS session_issuer_user_name,
  CASE lower(ui->>'$.sessionContext.attributes.mfaAuthenticated') WHEN 'true' THEN true WHEN 'false' THEN false END AS session_mfa_authenticated,
  ui->>'$.invokedBy' AS invoked_by,
  r."sourceIPAddress" AS source_ip_address,
  r."userAgent" AS user_agent,
  r."errorCode" AS error_code,
  r."errorMessage" AS error_message,
  CASE lower(r."readOnly") WHEN 'true' THEN true WHEN 'false' THEN false END AS read_only,
  CASE lower(r."managementEvent") WHEN 'true' THEN true WHEN 'false' THEN false END AS management_event,
  r."eventType" AS event_type,
  r."eventCategory" AS event_category,
  r."requestID" AS request_id,
  r."sharedEventID" AS shared_event_id,
  r."vpcEndpointId" AS vpc_endpoint_id,
  ui AS user_identity,
  r."requestParameters" AS request_parameters,
  r."responseElements" AS response_elements,
  r."additionalEventData" AS additional_event_data,
  r."serviceEventDetails" AS service_event_details,
  r."resources" AS resources,
  r."tlsDetails" AS tls_details,
  CASE WHEN reason IS NOT NULL THEN CAST(r AS JSON) END AS raw
FROM checked
"""

def whole_files_source(max_object: int) -> str:
    """The relation (filename, pos, r) of every record of the files bound to `?`, each
    file parsed whole as one JSON document of at most `max_object` bytes (DuckDB's
    read buffer per file is about twice that, so keep it near the largest file)."""
    return (
        "(SELECT filename, unnest(CASE WHEN Records IS NULL THEN [-1] ELSE range(len(Records)) END) AS pos, "
        "unnest(CASE WHEN Records IS NULL THEN [NULL] ELSE Records END) AS r FROM read_json(?, "
        f"columns = {{'Records': '{RECORD_STRUCT}[]'}}, format = 'auto', filename = true, "
        f"maximum_object_size = {int(max_object)}))"
    )


def _object_size_for(sizes: list[int]) -> int:
    """maximum_object_size for files of these uncompressed sizes: the next power of
    two above the largest, at least 1 MiB."""
    need = max(sizes, default=0) + 1
    size = 1 << 20
    while size < need:
        size <<= 1
    return size

_NDJSON_CHUNK = (
    "(SELECT CAST(? AS VARCHAR) AS filename, pos, r FROM read_json(?, "
    f"columns = {{'pos': 'BIGINT', 'r': '{RECORD_STRUCT}'}}, format = 'newline_delimited'))"
)
_EMPTY = f"(SELECT CAST(NULL AS VARCHAR) AS filename, CAST(NULL AS BIGINT) AS pos, CAST(NULL AS {RECORD_STRUCT}) AS r WHERE false)"

_COLUMNS = ", ".join(f'"{c}"' for c in CLOUDTRAIL_EVENTS.column_names)


def skip_reason(key: str) -> str | None:
    """Why an object is skipped by rule, or None if it is a log file to read."""
    parts = key.split("/")
    if "CloudTrail-Digest" in parts or "_CloudTrail-Digest_" in parts[-1]:
        return "digest"
    if "CloudTrail-Insight" in parts or "_CloudTrail-Insight_" in parts[-1]:
        return "insight"
    name = parts[-1]
    if not (name.endswith(".json.gz") or name.endswith(".json")):
        return "not a log file"
    return None


_DATE_IN_KEY = re.compile(r"/(\d{4})/(\d{2})/(\d{2})/")


def _delivery_date(key: str) -> str:
    """YYYYMMDD of the delivery folder in a CloudTrail key ('' when there is none)."""
    m = _DATE_IN_KEY.search("/" + key)
    return "".join(m.groups()) if m else ""


def uncompressed_size(path: Path) -> int:
    """Size of the decompressed content: the gzip trailer's ISIZE (mod 4 GiB, so
    compressed size sets a floor), or the file size for plain JSON."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        magic = fh.read(2)
        if magic != b"\x1f\x8b" or size < 18:
            return size
        fh.seek(-4, 2)
        isize = struct.unpack("<I", fh.read(4))[0]
    return max(isize, size)


@dataclass
class _Batch:
    objects: list[SourceObject] = field(default_factory=list)
    est_bytes: int = 0


class CloudTrailIngest:
    """One `eventlake ingest cloudtrail` run over one or more locations."""

    def __init__(
        self,
        lake: Lake,
        locations: list[str],
        *,
        endpoint_url: str | None = None,
        batch_mb: int = 512,
        on_progress: Callable[[int, int], None] | None = None,
        on_total: Callable[[int, int], None] | None = None,
        tenant_id: str | None = None,
    ):
        self.lake = lake
        self.stores: list[Store] = [open_store(loc, endpoint_url) for loc in locations]
        self.batch_bytes = batch_mb << 20
        self.on_progress = on_progress or (lambda files, nbytes: None)
        self.on_total = on_total or (lambda files, nbytes: None)
        self.tenant_id = tenant_id  # the pool tenant whose events these are (None: the lake's own)
        self.stats = IngestStats(SOURCE, tenant_id=tenant_id)
        self._file_counts: dict[str, list[int]] = {}
        self._failed: set[str] = set()

    # -- planning -------------------------------------------------------------
    def _plan(self, known: dict[str, str]) -> list[SourceObject]:
        pending: list[SourceObject] = []
        seen: set[str] = set()
        for store in self.stores:
            for obj in store.list():
                if obj.uri in seen:
                    continue
                seen.add(obj.uri)
                why = skip_reason(obj.key)
                if why:
                    self.stats.files_skipped += 1
                    self.stats.skip_reasons[why] = self.stats.skip_reasons.get(why, 0) + 1
                elif known.get(obj.uri) == obj.version:
                    self.stats.files_unchanged += 1
                else:
                    pending.append(obj)
        # Read in delivery-date order across accounts and regions, so that each commit
        # touches few event_date partitions (fewer, larger files).
        pending.sort(key=lambda o: (_delivery_date(o.key), o.uri))
        return pending

    def _batches(self, pending: list[SourceObject]) -> Iterator[_Batch]:
        batch = _Batch()
        for obj in pending:
            # local files: the real uncompressed size (gzip trailer); remote: a guess
            if obj.store.is_local():
                est = uncompressed_size(Path(obj.uri))
            else:
                est = obj.size * 8 if obj.name.endswith(".gz") else obj.size
            if batch.objects and (batch.est_bytes + est > self.batch_bytes or len(batch.objects) >= MAX_FILES):
                yield batch
                batch = _Batch()
            batch.objects.append(obj)
            batch.est_bytes += est
        if batch.objects:
            yield batch

    # -- running --------------------------------------------------------------
    def run(self) -> IngestStats:
        tables = [CLOUDTRAIL_EVENTS.name, *(d.table.name for d in derived_from(CLOUDTRAIL_EVENTS.name))]
        with ingest_run(self.lake, self.stats, tables) as (con, spool):
            con.execute(f"SET temp_directory = '{sql_str(str(spool))}'")
            # rows carry their own position; letting DuckDB write in any order is faster
            con.execute("SET preserve_insertion_order = false")
            pending = self._plan(known_versions(con, SOURCE, self.tenant_id))
            self.on_total(len(pending), sum(o.size for o in pending))
            with ThreadPoolExecutor(max_workers=8) as pool:
                for batch in self._batches(pending):
                    self._run_batch(con, batch, spool, pool)
        return self.stats

    def _run_batch(self, con, batch: _Batch, spool: Path, pool: ThreadPoolExecutor) -> None:
        locals_ = list(pool.map(lambda o: o.store.fetch(o, spool), batch.objects))
        whole: list[tuple[SourceObject, Path, int]] = []
        streamed: list[tuple[SourceObject, Path]] = []
        for obj, path in zip(batch.objects, locals_):
            size = uncompressed_size(path)
            # DuckDB reads a path as a glob pattern: names with pattern characters are
            # streamed instead, so no other file can be read in their place
            if size > BIG_FILE or any(c in str(path) for c in "*?[]{}"):
                streamed.append((obj, path))
            else:
                whole.append((obj, path, size))
        # One bad file fails DuckDB's multi-file read: split the batch in halves until
        # the bad files stand alone, then stream those so their good records load.
        todo = [whole] if whole else []
        while todo:
            part = todo.pop()
            try:
                self._load_whole(con, part)
            except duckdb.Error:
                if len(part) == 1:
                    streamed.append(part[0][:2])
                else:
                    todo.extend([part[len(part) // 2 :], part[: len(part) // 2]])
        for obj, path in streamed:
            self._load_streamed(con, obj, path, spool)
        for obj, path in zip(batch.objects, locals_):
            if not obj.store.is_local():
                path.unlink(missing_ok=True)

    def _stage_files(self, con, items: list[tuple[SourceObject, Path]]) -> None:
        con.execute("CREATE OR REPLACE TEMP TABLE stage_files (local_path VARCHAR, uri VARCHAR, size BIGINT, version VARCHAR)")
        insert_rows(con, "stage_files", ("local_path", "uri", "size", "version"), [(str(p), o.uri, o.size, o.version) for o, p in items])

    def _load_whole(self, con, sized: list[tuple[SourceObject, Path, int]]) -> None:
        items = [(o, p) for o, p, _ in sized]
        self._stage_files(con, items)
        source = whole_files_source(_object_size_for([n for _, _, n in sized]))
        con.execute(_NORMALIZE.format(source=source), [[str(p) for _, p in items]])
        # DuckDB gives no rows at all for an empty file or a top-level `[]`, exactly as
        # for a good `{"Records": []}`: tell them apart so non-logs are quarantined.
        present = {u for (u,) in con.execute("SELECT DISTINCT source_object FROM norm").fetchall()}
        extra = [
            Quarantined(o.uri, "file", why, fatal=True)
            for o, p in items
            if o.uri not in present and (why := _not_a_log(p))
        ]
        self._commit(con, items, extra, failed={q.source_object for q in extra})

    def _load_streamed(self, con, obj: SourceObject, path: Path, spool: Path) -> None:
        """Stream one file with ijson in chunks; each chunk commits on its own, the
        last one together with the object's ingested mark."""
        # the chunk lives in the lake's spool (the source folder may be read-only)
        chunk_path = spool / f"chunk-{uuid.uuid4().hex}.ndjson"
        problems: list[Quarantined] = []
        out = open(chunk_path, "wb")
        n_chunk = 0

        def flush(final: bool) -> None:
            nonlocal out, n_chunk
            out.close()
            self._stage_files(con, [(obj, chunk_path)])
            if n_chunk:
                con.execute(_NORMALIZE.format(source=_NDJSON_CHUNK), [str(chunk_path), str(chunk_path)])
            else:
                con.execute(_NORMALIZE.format(source=_EMPTY))
            # a bad record is quarantined; only damage to the file itself fails the file
            failed = {obj.uri} if any(p.fatal for p in problems) else set()
            self._commit(con, [(obj, chunk_path)], list(problems), failed=failed, mark=final)
            problems.clear()
            out = open(chunk_path, "wb")
            n_chunk = 0

        try:
            # pos is the record's index in the file, counting records that are not objects
            for pos, item in _iter_records(path, obj.uri, problems):
                out.write(orjson.dumps({"pos": pos, "r": item}))
                out.write(b"\n")
                n_chunk += 1
                if n_chunk >= STREAM_CHUNK:
                    flush(final=False)
            flush(final=True)
        finally:
            out.close()
            chunk_path.unlink(missing_ok=True)

    def _commit(self, con, items, extra: list[Quarantined], failed: set[str] | None = None, mark: bool = True) -> None:
        """Normalize the staged records and commit events, quarantine and object marks at once."""
        # Rows to drop as duplicates: a second copy within the batch, or an event_id
        # the table already holds for the same tenant (same event => same event_time
        # => same date range).
        con.execute(
            # norm's rowid identifies a staged record ((object, pos) does not: one
            # file may hold two JSON documents)
            "CREATE OR REPLACE TEMP TABLE dups AS SELECT rid FROM ("
            " SELECT rowid AS rid, row_number() OVER (PARTITION BY event_id ORDER BY source_object, pos, rowid) AS rn"
            " FROM norm WHERE reason IS NULL) WHERE rn > 1"
        )
        lo, hi = con.execute("SELECT min(event_date), max(event_date) FROM norm WHERE reason IS NULL").fetchone()
        if lo is not None:
            mine, mine_args = tenant_rows(con, CLOUDTRAIL_EVENTS.name, self.tenant_id)
            con.execute(
                "INSERT INTO dups SELECT n.rowid FROM norm n SEMI JOIN "
                f"(SELECT event_id FROM {ALIAS}.cloudtrail_events WHERE event_date BETWEEN ? AND ? AND {mine}) e "
                "ON n.event_id = e.event_id WHERE n.reason IS NULL",
                [lo, hi, *mine_args],
            )
        has_dups = con.execute("SELECT count(*) FROM dups").fetchone()[0] > 0
        failed = set(failed or ()) | {u for (u,) in con.execute("SELECT DISTINCT source_object FROM norm WHERE pos = -1").fetchall()}
        fresh = (
            "(SELECT * FROM norm n WHERE reason IS NULL AND NOT EXISTS "
            "(SELECT 1 FROM dups d WHERE d.rid = n.rowid))"
            if has_dups
            else "(SELECT * FROM norm WHERE reason IS NULL)"
        )
        per_file = dict(
            (u, (n, q))
            for u, n, q in con.execute(
                "SELECT source_object, count(*), count(*) FILTER (WHERE reason IS NOT NULL) FROM norm GROUP BY 1"
            ).fetchall()
        )
        loaded_by_file = dict(con.execute(f"SELECT source_object, count(*) FROM {fresh} f GROUP BY 1").fetchall())
        # Rejected records go from norm to the quarantine table in SQL; only the first
        # few come to Python, for the messages the CLI prints (memory stays bounded).
        n_bad = sum(q for _, q in per_file.values())
        bad = con.execute(
            "SELECT source_object, pos, reason FROM norm WHERE reason IS NOT NULL ORDER BY 1, 2 LIMIT ?", [PROBLEMS_KEPT]
        ).fetchall()
        messages = [Quarantined(u, f"record {p}" if p >= 0 else "file", why).message() for u, p, why in bad]
        # per-object counts of this commit: records, loaded, duplicates, quarantined;
        # added to the object's running totals only once the commit has succeeded
        delta: dict[str, list[int]] = {}
        for obj, _ in items:
            n, q = per_file.get(obj.uri, (0, 0))
            ld = loaded_by_file.get(obj.uri, 0)
            q_extra = sum(1 for e in extra if e.source_object == obj.uri)
            delta[obj.uri] = [n + q_extra, ld, n - q - ld, q + q_extra]

        def totals(uri: str) -> list[int]:
            return [a + b for a, b in zip(self._file_counts.get(uri, [0, 0, 0, 0]), delta.get(uri, [0, 0, 0, 0]))]

        # an object read again (after a crash mid-way, or a new version) does not
        # repeat quarantine entries it already has
        seen_q = set()
        q_mine, q_args = tenant_rows(con, "quarantine", self.tenant_id, "q.")
        if n_bad or extra:
            uris = sorted({o.uri for o, _ in items})
            seen_q = set(con.execute(
                f"SELECT source_object, position FROM {ALIAS}.quarantine q WHERE source = ? AND source_object IN (SELECT unnest(?)) AND {q_mine}",
                [SOURCE, uris, *q_args],
            ).fetchall())
        extra_new = [e for e in extra if (e.source_object, e.position) not in seen_q]
        now = utcnow()
        stamp = tenant_stamp(self.tenant_id)
        with self.lake.transaction(con):
            con.execute(
                f"INSERT INTO {ALIAS}.cloudtrail_events ({_COLUMNS}{stamp.column_sql}) SELECT "
                + ", ".join(f'"{c}"' for c in CLOUDTRAIL_EVENTS.column_names if c != "ingested_at")
                + f", ?{stamp.value_sql} FROM {fresh} f",
                [now, *stamp.values],
            )
            append_derived(con, "cloudtrail_events", fresh, self.tenant_id)
            if n_bad:
                con.execute(
                    f"INSERT INTO {ALIAS}.quarantine (source, source_object, position, reason, raw, run_id, quarantined_at{stamp.column_sql}) "
                    "SELECT ?, source_object, CASE WHEN pos >= 0 THEN 'record ' || CAST(pos AS VARCHAR) ELSE 'file' END, "
                    f"reason, left(CAST(raw AS VARCHAR), {RAW_PREFIX_LIMIT}), ?, ?{stamp.value_sql} FROM norm n WHERE reason IS NOT NULL "
                    f"AND NOT EXISTS (SELECT 1 FROM {ALIAS}.quarantine q WHERE q.source = ? AND q.source_object = n.source_object "
                    f"AND q.position = CASE WHEN n.pos >= 0 THEN 'record ' || CAST(n.pos AS VARCHAR) ELSE 'file' END AND {q_mine})",
                    [SOURCE, self.stats.run_id, now, *stamp.values, SOURCE, *q_args],
                )
            record_quarantine(con, SOURCE, self.stats.run_id, extra_new, self.tenant_id)
            if mark:
                rows = []
                for obj, _ in items:
                    rec, ld, dup, q = totals(obj.uri)
                    status = "failed" if obj.uri in failed or obj.uri in self._failed else "loaded"
                    rows.append((obj.uri, obj.size, obj.version, status, rec, ld, dup, q))
                record_objects(con, SOURCE, self.stats.run_id, rows, self.tenant_id)
        for obj, _ in items:
            if mark:
                self._file_counts.pop(obj.uri, None)
            else:
                self._file_counts[obj.uri] = totals(obj.uri)
        if not mark:
            self._failed |= failed
        con.execute("DROP TABLE norm")
        con.execute("DROP TABLE dups")
        # counts
        s = self.stats
        n_norm = sum(v[0] for v in per_file.values())
        n_loaded = sum(loaded_by_file.values())
        s.records_read += n_norm + len(extra)
        s.records_quarantined += n_bad + len(extra)
        s.records_loaded += n_loaded
        s.records_duplicate += n_norm - n_bad - n_loaded
        s.add_problems(messages + [q.message() for q in extra], more=n_bad - len(bad))
        if mark:
            s.files_read += len(items)
            s.files_failed += len({o.uri for o, _ in items} & (failed | self._failed))
            self._failed -= {o.uri for o, _ in items}
            s.bytes_read += sum(o.size for o, _ in items)
            self.on_progress(len(items), sum(o.size for o, _ in items))


def _open(path: Path) -> BinaryIO:
    """The file's content, gunzipped if it starts with the gzip magic (whatever its name)."""
    with open(path, "rb") as raw:
        gz = raw.read(2) == b"\x1f\x8b"
    return _Gunzip(path) if gz else open(path, "rb")


class _Gunzip:
    """Streaming gunzip that hands over every byte it could decompress before it
    reports damage (gzip.GzipFile drops the data of the read that hits a truncated
    end), so the complete records before the damage still load."""

    def __init__(self, path: Path):
        self._raw = open(path, "rb")
        self._z = zlib.decompressobj(wbits=31)
        self._buf = b""
        self._error: Exception | None = None
        self._done = False

    def __enter__(self) -> "_Gunzip":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson probes with read(0) to learn bytes vs text
            return b""
        want = size if size > 0 else 1 << 20
        while len(self._buf) < want and not self._done and self._error is None:
            chunk = self._raw.read(1 << 16)
            try:
                if not chunk:
                    self._done = True
                    if not self._z.eof:
                        self._error = EOFError("compressed file ended before the end-of-stream marker was reached")
                    break
                self._buf += self._z.decompress(chunk)
                while self._z.eof and self._z.unused_data:  # concatenated gzip members
                    rest = self._z.unused_data
                    self._z = zlib.decompressobj(wbits=31)
                    self._buf += self._z.decompress(rest)
            except zlib.error as exc:
                self._error = exc
        if not self._buf and self._error is not None:
            err, self._error = self._error, None
            self._done = True
            raise err
        out, self._buf = self._buf[:want], self._buf[want:]
        return out

    def close(self) -> None:
        self._raw.close()


def _iter_records(path: Path, uri: str, problems: list[Quarantined]) -> Iterator[tuple[int, dict]]:
    """Yield (index in Records, record) for each record of a CloudTrail file that is
    an object; damage is appended to `problems`: a record that is not an object skips
    that record, corrupt gzip or truncated/invalid JSON ends the file (fatal), and a
    file without a top-level Records array is quarantined as a whole (fatal)."""
    n = 0
    fh = _open(path)
    try:
        for item in ijson.items(fh, "Records.item", use_float=True):
            if not isinstance(item, dict):
                problems.append(Quarantined(uri, f"record {n}", f"record is a JSON {type(item).__name__}, not an object", orjson.dumps(item).decode()[:200]))
            else:
                yield n, item
            n += 1
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        problems.append(Quarantined(uri, f"record {n} (after {n} complete records)", f"corrupt or truncated gzip: {exc or type(exc).__name__}", fatal=True))
        return
    except ijson.JSONError as exc:
        problems.append(Quarantined(uri, f"record {n} (after {n} complete records)", f"truncated or invalid JSON: {exc}", fatal=True))
        return
    except OSError as exc:
        problems.append(Quarantined(uri, f"record {n} (after {n} complete records)", f"cannot read: {exc}", fatal=True))
        return
    finally:
        fh.close()
    if n == 0 and (why := _not_a_log(path)):
        problems.append(Quarantined(uri, "file", why, fatal=True))


def _not_a_log(path: Path) -> str | None:
    """Why a file that gave no records is not a CloudTrail log, or None when its top
    level is an object with a Records array (an empty one is a good, empty log)."""
    try:
        with _open(path) as fh:
            for prefix, event, _ in ijson.parse(fh):
                if prefix == "Records" and event == "start_array":
                    return None
                if prefix == "" and event not in ("start_map", "map_key"):
                    break  # the top level is not an object, or it ended
    except (ijson.JSONError, EOFError, OSError, zlib.error):
        pass
    return NOT_A_LOG


def ingest(lake: Lake, locations: Iterable[str], **options) -> IngestStats:
    """Ingest CloudTrail logs from local paths and s3:// URIs into `cloudtrail_events`."""
    return CloudTrailIngest(lake, list(locations), **options).run()
