"""The collector's loader: sealed raw-log segments into the lake.

For each sealed segment not yet recorded in `ingested_objects` (source "collector",
uri = the segment's file name, version = its size), in ONE DuckLake transaction under
the lake's writer lock:

- every record, as received, into `raw_events` (partitioned by receipt day);
- the normalized rows into `events`, one per messageId: duplicates inside the segment
  and events already in the lake (looked up within the batch's event dates, a day
  either side) are counted, not loaded;
- lines that are not JSON objects or lack a required field into `quarantine`
  (position "line N"); they never happen for records the collector wrote, and a
  damaged segment never blocks the others;
- the segment's mark in `ingested_objects`, with its counts
  (records = loaded + duplicates + quarantined).

Then the segment file is removed (raw_events holds its records). A crash after the
commit and before the removal is harmless: the next run sees the mark and only
removes the file.

Tenants: a record sent with the key of a source tied to a tenant carries the tenant's
name (`tenant`, stamped at receipt) and is loaded into that tenant's storage:

- pool: the lake's raw_events and events, with `tenant_id` = the tenant, in the same
  commit as the lake's own records; "already loaded" (messageId) is looked up among
  that tenant's rows only;
- bridge and silo: the raw_events, events, quarantine and ingested_objects of the
  tenant's schema or lake, in a commit of their own that carries the segment's mark
  there. These commits come first and the lake's commit (with the segment's mark in
  the lake) last, so a crash in between reloads only what is not marked yet.

A removed tenant's records still go to its storage (they were acknowledged; its data
stays where it is); a record naming no tenant the lake ever had is quarantined.

A segment is read by DuckDB's JSON reader with explicit columns. Only when that fails
(a line that is not JSON) or some record is rejected, the segment is read again line
by line in Python (bounded memory), which gives every rejected line its number and
hands the good lines to the same SQL."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import orjson

from ..errors import EventlakeError
from ..lake import Lake
from ..lake.catalog import ALIAS
from ..lake.schema import EVENTS, QUARANTINE, RAW_EVENTS
from ..lake.tenancy import TENANT_COLUMN, add_tenant_column, tenant_value
from ..sources.base import (
    PROBLEMS_KEPT,
    RAW_PREFIX_LIMIT,
    IngestStats,
    Quarantined,
    record_objects,
    record_run,
    utcnow,
)
from .rawlog import RawLog, sealed_segments

log = logging.getLogger(__name__)

SOURCE = "collector"
TYPES = ("track", "page", "screen", "identify", "group", "alias")
MAX_RECORD = 16 << 20  # a longer line is quarantined (the app's size limits are far below)
TABLES_USED = ["raw_events", "events", "ingested_objects", "quarantine", "ingest_runs"]

# The raw record's fields (see eventlake.collect): scalars as text, payload/request as JSON.
_FIELDS = (
    ("received_at", "VARCHAR"),
    ("source", "VARCHAR"),
    ("key_id", "VARCHAR"),
    ("type", "VARCHAR"),
    ("message_id", "VARCHAR"),
    ("payload", "JSON"),
    ("request", "JSON"),
    ("tenant", "VARCHAR"),  # only in records of sources tied to a tenant
)
_NAMES = ", ".join(f'"{n}"' for n, _ in _FIELDS)
_COLUMNS = "{" + ", ".join(f"'{n}': '{t}'" for n, t in _FIELDS) + "}"
_STRUCT = "STRUCT(" + ", ".join(f'"{n}" {t}' for n, t in _FIELDS) + ")"
_READ_OPTS = f"format = 'newline_delimited', maximum_object_size = {2 * MAX_RECORD}"

# Fast path: the segment as written by the collector, parsed by DuckDB.
_STAGE_FAST = (
    "CREATE OR REPLACE TEMP TABLE seg AS SELECT row_number() OVER () AS line, "
    f"CAST(NULL AS VARCHAR) AS bad, CAST(NULL AS VARCHAR) AS raw, {_NAMES} "
    f"FROM read_json(?, columns = {_COLUMNS}, {_READ_OPTS})"
)
# Careful path: lines checked in Python, wrapped as {"line": N, "r": <record>} or
# {"line": N, "bad": <reason>, "raw": <prefix of the line>}.
_STAGE_CAREFUL = (
    "CREATE OR REPLACE TEMP TABLE seg AS SELECT line, bad, raw, "
    + ", ".join(f'r."{n}" AS "{n}"' for n, _ in _FIELDS)
    + f" FROM read_json(?, columns = {{'line': 'BIGINT', 'bad': 'VARCHAR', 'raw': 'VARCHAR', 'r': '{_STRUCT}'}}, {_READ_OPTS})"
)

_URL_SCHEME = "^[a-zA-Z][a-zA-Z0-9+.-]*://"
_MACROS = [
    # host of a URL, lowercased, without user info and port (NULL when there is none)
    "CREATE OR REPLACE TEMP MACRO el_host(u) AS "
    f"nullif(lower(regexp_extract(u, '{_URL_SCHEME}(?:[^@/?#]*@)?(\\[[^\\]]*\\]|[^:/?#]*)', 1)), '')",
    # path of a URL or of a bare path, without query string and fragment
    "CREATE OR REPLACE TEMP MACRO el_path(u) AS CASE "
    f"WHEN regexp_matches(u, '{_URL_SCHEME}') THEN coalesce(nullif(regexp_extract(u, '{_URL_SCHEME}[^/?#]*([^?#]*)', 1), ''), '/') "
    "ELSE nullif(regexp_extract(u, '^([^?#]*)', 1), '') END",
]

# Payload and request fields, each JSON document parsed once per row (a list of paths
# costs one parse; a json_extract per field would parse it twenty times).
_P_STR = (
    "timestamp", "sentAt", "originalTimestamp", "event", "name", "anonymousId", "userId", "groupId", "previousId",
    "properties.url", "properties.path", "properties.referrer", "properties.title", "properties.name",
    "context.page.url", "context.page.referrer", "context.page.title",
    "context.campaign.source", "context.campaign.medium", "context.campaign.name", "context.library.name",
)
_P_JSON = ("properties", "traits", "context", "context.traits")
_Q_STR = ("country", "device_type", "browser", "os")


def _paths(keys: tuple[str, ...]) -> str:
    return "[" + ", ".join(f"'$.{k}'" for k in keys) + "]"


def _s(key: str, doc: str = "p") -> str:
    """A payload (or request) field as text; NULL when missing, null or ''."""
    keys, lst = (_P_STR, "ps") if doc == "p" else (_Q_STR, "qs")
    return f"nullif({lst}[{keys.index(key) + 1}], '')"


def _j(key: str) -> str:
    """A payload field as JSON; NULL when missing or null."""
    v = f"pj[{_P_JSON.index(key) + 1}]"
    return f"CASE WHEN CAST({v} AS VARCHAR) <> 'null' THEN {v} END"


def _query_param(url: str, key: str) -> str:
    return f"nullif(url_decode(replace(regexp_extract({url}, '[?&]{key}=([^&#]*)', 1), '+', ' ')), '')"


_TYPE_NAMES = "CASE json_type(payload) WHEN 'VARCHAR' THEN 'string' WHEN 'ARRAY' THEN 'array' WHEN 'BOOLEAN' THEN 'boolean' ELSE 'number' END"

# seg -> norm: raw_events' and events' columns, plus `reason` (why a record is
# rejected; NULL when it is good) and `raw` (what quarantine keeps of it).
_NORMALIZE = f"""
CREATE OR REPLACE TEMP TABLE norm AS
WITH t AS (
  SELECT *,
    TRY_CAST(received_at AS TIMESTAMPTZ) AS rcv,
    CASE WHEN json_type(payload) = 'OBJECT' THEN payload END AS p,
    CASE WHEN json_type(request) = 'OBJECT' THEN request END AS q
  FROM seg
), f AS (
  SELECT *,
    json_extract_string(p, {_paths(_P_STR)}) AS ps,
    json_extract(p, {_paths(_P_JSON)}) AS pj,
    json_extract_string(q, {_paths(_Q_STR)}) AS qs
  FROM t
), c AS (
  SELECT *,
    CASE
      WHEN bad IS NOT NULL THEN bad
      WHEN nullif(received_at, '') IS NULL THEN 'record has no received_at'
      WHEN rcv IS NULL THEN 'received_at ' || received_at || ' is not an ISO-8601 timestamp'
      WHEN nullif(message_id, '') IS NULL THEN 'record has no message_id'
      WHEN nullif(source, '') IS NULL THEN 'record has no source'
      WHEN nullif(type, '') IS NULL THEN 'record has no type'
      WHEN type NOT IN ({", ".join(f"'{t}'" for t in TYPES)}) THEN 'type ' || type || ' is not one of {", ".join(TYPES)}'
      WHEN payload IS NULL THEN 'record has no payload'
      WHEN p IS NULL THEN 'payload is a JSON ' || {_TYPE_NAMES} || ', not an object'
    END AS reason,
    TRY_CAST({_s("timestamp")} AS TIMESTAMPTZ) AS t_ts,
    TRY_CAST({_s("sentAt")} AS TIMESTAMPTZ) AS t_sent,
    TRY_CAST({_s("originalTimestamp")} AS TIMESTAMPTZ) AS t_orig,
    coalesce({_s("properties.url")}, {_s("context.page.url")}) AS u,
    coalesce({_s("properties.referrer")}, {_s("context.page.referrer")}) AS ref
  FROM f
), n AS (
  SELECT *,
    -- Segment spec: a client timestamp is corrected by the client's clock skew,
    -- measured as sentAt against our receipt time
    CASE WHEN t_ts IS NOT NULL AND t_sent IS NOT NULL THEN rcv - (t_sent - t_ts)
         ELSE coalesce(t_ts, t_orig, rcv) END AS ts,
    el_host(u) AS u_host,
    el_host(ref) AS ref_host
  FROM c
)
SELECT
  line,
  tenant,
  CAST(NULL AS VARCHAR) AS {TENANT_COLUMN},  -- a pool tenant's name, once routed
  reason,
  CASE WHEN reason IS NOT NULL THEN coalesce(raw, CAST(json_object(
    'received_at', received_at, 'source', source, 'key_id', key_id, 'type', type,
    'message_id', message_id, 'payload', payload, 'request', request) AS VARCHAR)) END AS raw,
  -- raw_events
  CAST(rcv AS DATE) AS received_date,
  rcv AS received_at,
  source,
  key_id,
  message_id,
  type,
  payload,
  request,
  -- events
  CAST(ts AS DATE) AS event_date,
  ts AS "timestamp",
  CASE WHEN type = 'track' THEN {_s("event")} END AS event,
  CASE WHEN type IN ('page', 'screen') THEN coalesce({_s("name")}, {_s("properties.name")}) END AS name,
  {_s("anonymousId")} AS anonymous_id,
  {_s("userId")} AS user_id,
  {_s("groupId")} AS group_id,
  {_s("previousId")} AS previous_id,
  {_j("properties")} AS properties,
  coalesce({_j("traits")}, {_j("context.traits")}) AS traits,
  {_j("context")} AS context,
  u_host AS host,
  coalesce(el_path({_s("properties.path")}), el_path(u)) AS path,
  u AS url,
  coalesce({_s("properties.title")}, {_s("context.page.title")}) AS title,
  ref AS referrer,
  ref_host AS referrer_host,
  -- privacy-first visit rule: a page view not referred by the same site starts a visit
  (type = 'page' AND (ref_host IS NULL OR ref_host IS DISTINCT FROM u_host)) AS visit_start,
  coalesce({_s("context.campaign.source")}, {_query_param('u', 'utm_source')}) AS utm_source,
  coalesce({_s("context.campaign.medium")}, {_query_param('u', 'utm_medium')}) AS utm_medium,
  coalesce({_s("context.campaign.name")}, {_query_param('u', 'utm_campaign')}) AS utm_campaign,
  {_s("country", "q")} AS country,
  {_s("device_type", "q")} AS device_type,
  {_s("browser", "q")} AS browser,
  {_s("os", "q")} AS os,
  {_s("context.library.name")} AS library
FROM n
"""

_RAW_COLUMNS = RAW_EVENTS.column_names  # segment comes as a parameter
# what quarantine keeps of a staged record rejected after normalization
_RAW_OF_NORM = (
    "json_object('received_at', received_at, 'source', source, 'key_id', key_id, 'type', type, "
    "'message_id', message_id, 'payload', payload, 'request', request, 'tenant', tenant)"
)
_EVENT_COLUMNS = EVENTS.column_names


class Loader:
    """Loads the sealed segments of a raw-log directory into the lake. Give it the
    collector's RawLog (same process) to seal an idle active segment first."""

    def __init__(self, lake: Lake, rawlog_dir: Path | str, *, rawlog: RawLog | None = None, keep_connection: bool = False):
        self.lake = lake
        self.rawlog_dir = Path(rawlog_dir)
        self.rawlog = rawlog
        # the collector loads every few seconds: attaching the lake and checking its tables
        # cost more than a small segment's load, so its loader keeps one connection open
        # between loads (dropped after any failure, and by close())
        self.keep_connection = keep_connection
        self._con: duckdb.DuckDBPyConnection | None = None
        self.connects = 0

    def close(self) -> None:
        con, self._con = self._con, None
        if con is not None:
            con.close()

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is not None:
            return self._con
        con = self.lake.connect(create=True)
        try:
            with self.lake.writer_lock():
                self.lake.ensure_tables(con, TABLES_USED)
            for sql in _MACROS:
                con.execute(sql)
        except BaseException:
            con.close()
            raise
        self.connects += 1
        if self.keep_connection:
            self._con = con
        return con

    def load_pending(self) -> IngestStats:
        """Load every sealed segment (oldest first), one commit each (and one per
        bridge or silo tenant with records in it); remove each file once its records
        are committed. A segment that fails (unreadable, lake error) is reported in the
        stats and stays for the next run; the others still load."""
        stats = IngestStats(source=SOURCE)
        if self.rawlog is not None:
            self.rawlog.rotate_if_idle()
        segments = sealed_segments(self.rawlog_dir)
        if not segments:
            stats.finish()
            return stats
        con = self._connection()
        storages = _Storages(self.lake)
        clean = False
        try:
            for path in segments:
                try:
                    self._load_segment(con, path, stats, storages)
                except (duckdb.Error, OSError, EventlakeError) as exc:
                    stats.files_read += 1
                    stats.files_failed += 1
                    msg = f"{path.name}: not loaded (kept for the next run): {exc}"
                    stats.add_problems([msg])
                    log.error("collector loader: %s", msg)
            stats.finish()
            if stats.files_read or stats.files_unchanged:
                with self.lake.writer_lock(), self.lake.transaction(con):
                    record_run(con, stats)
            clean = not stats.files_failed
        finally:
            storages.close()
            if con is not self._con:
                con.close()
            elif not clean:  # a failed load may leave the connection in any state: a new one next time
                self.close()
        return stats

    # -- one segment ----------------------------------------------------------------
    def _load_segment(self, con: duckdb.DuckDBPyConnection, path: Path, stats: IngestStats, storages: "_Storages") -> None:
        name = path.name
        with self.lake.writer_lock():
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                return  # loaded and removed by another loader meanwhile
            if self._marked(con, name, size):
                # committed by an earlier run that died before removing the file
                stats.files_unchanged += 1
                _remove(path)
                return
            self._stage(con, path)
            counts = _Counts()
            pooled = self._route(con, name, size, stats.run_id, counts, storages)
            counts.add(self._commit(con, self.lake, name, size, stats.run_id, pooled))
            _remove(path)
        stats.files_read += 1
        stats.bytes_read += size
        stats.records_read += counts.read
        stats.records_loaded += counts.loaded
        stats.records_duplicate += counts.duplicate
        stats.records_quarantined += counts.quarantined
        stats.add_problems(
            [Quarantined(name, f"line {line}", reason).message() for line, reason in counts.bad], more=counts.quarantined - len(counts.bad)
        )

    def _route(self, con: duckdb.DuckDBPyConnection, name: str, size: int, run_id: str, counts: "_Counts", storages: "_Storages") -> bool:
        """Send the staged records of bridge and silo tenants to their storage (and out
        of `norm`), mark pool tenants' records with their tenant_id, and reject those of
        tenants the lake never had. Returns whether pool tenants' records remain."""
        from ..governance.tenants import read_tenants

        named = [t for (t,) in con.execute("SELECT DISTINCT tenant FROM norm WHERE tenant IS NOT NULL ORDER BY 1").fetchall()]
        if not named:
            return False
        tenants = {t.name: t for t in read_tenants(con, include_removed=True)}
        pool = []
        for tname in named:
            tenant = tenants.get(tname)
            if tenant is None:
                con.execute(
                    "UPDATE norm SET reason = 'sent for tenant ' || tenant || ', which this lake does not have', "
                    f"raw = CAST({_RAW_OF_NORM} AS VARCHAR) WHERE tenant = ? AND reason IS NULL", [tname],
                )
            elif tenant.model == "pool":
                pool.append(tname)
            else:
                storage, tcon = storages.open(tenant)
                # a silo is a lake of its own, with its own writer lock; a bridge schema
                # is in this lake, whose lock is held
                lock = storage.writer_lock() if storage.path != self.lake.path else contextlib.nullcontext()
                with lock:
                    if not self._marked(tcon, name, size):  # else: committed by an earlier, interrupted run
                        part = con.execute("SELECT * FROM norm WHERE tenant = ?", [tname]).to_arrow_table()
                        tcon.register("norm_part", part)
                        try:
                            tcon.execute("CREATE OR REPLACE TEMP TABLE norm AS SELECT * FROM norm_part")
                        finally:
                            tcon.unregister("norm_part")
                        counts.add(self._commit(tcon, storage, name, size, run_id, False))
                con.execute("DELETE FROM norm WHERE tenant = ?", [tname])
        if pool:
            con.execute(f"UPDATE norm SET {TENANT_COLUMN} = tenant WHERE tenant IN (SELECT unnest(?))", [pool])
        return bool(pool)

    def _marked(self, con: duckdb.DuckDBPyConnection, name: str, size: int) -> bool:
        # by name and size: a name used again (a collector restarted within the same
        # second after its segments were loaded and removed) is still loaded
        rows = con.execute(
            f"SELECT count(*) FROM {ALIAS}.ingested_objects WHERE source = ? AND uri = ? AND version = ?",
            [SOURCE, name, str(size)],
        ).fetchall()
        return rows[0][0] > 0

    def _stage(self, con: duckdb.DuckDBPyConnection, path: Path) -> None:
        """Fill temp tables seg and norm with the segment's records."""
        try:
            con.execute(_STAGE_FAST, [str(path)])
            con.execute(_NORMALIZE)
            if con.execute("SELECT count(*) FROM norm WHERE reason IS NOT NULL").fetchall()[0][0] == 0:
                return
        except duckdb.Error:
            pass  # e.g. a line that is not JSON: find it line by line
        spool = self.lake.spool_dir()
        try:
            wrapped = spool / (path.name + ".ndjson")
            _wrap_lines(path, wrapped)
            con.execute(_STAGE_CAREFUL, [str(wrapped)])
            con.execute(_NORMALIZE)
        finally:
            shutil.rmtree(spool, ignore_errors=True)

    def _commit(self, con: duckdb.DuckDBPyConnection, lake: Lake, name: str, size: int, run_id: str, pooled: bool) -> "_Counts":
        """Commit the staged records (`norm`) to `lake` (this lake, or a tenant's schema
        or lake that `con` is connected to) with the segment's mark there. `pooled`:
        some records are pool tenants' (their tenant_id is set in norm)."""
        if pooled:
            add_tenant_column(lake, con, [RAW_EVENTS.name, EVENTS.name, QUARANTINE.name])
        con.execute(
            # one row per messageId and tenant: the first received wins inside the segment ...
            "CREATE OR REPLACE TEMP TABLE dups AS SELECT line FROM ("
            f" SELECT line, row_number() OVER (PARTITION BY {TENANT_COLUMN}, message_id ORDER BY received_at, line) AS rn"
            " FROM norm WHERE reason IS NULL) WHERE rn > 1"
        )
        lo, hi = con.execute("SELECT min(event_date), max(event_date) FROM norm WHERE reason IS NULL").fetchall()[0]
        if lo is not None:
            # ... and an event already in the lake is not loaded again (a client retry
            # lands close to the original: a day either side of the batch's dates)
            con.execute(
                "INSERT INTO dups SELECT n.line FROM norm n SEMI JOIN "
                f"(SELECT message_id, {tenant_value(con, EVENTS.name)} AS t FROM {ALIAS}.events WHERE event_date BETWEEN ? AND ?) e "
                f"ON n.message_id = e.message_id AND n.{TENANT_COLUMN} IS NOT DISTINCT FROM e.t WHERE n.reason IS NULL",
                [lo - dt.timedelta(days=1), hi + dt.timedelta(days=1)],
            )
        fresh = "(SELECT * FROM norm n WHERE reason IS NULL AND NOT EXISTS (SELECT 1 FROM dups d WHERE d.line = n.line))"
        n_read, n_bad = con.execute("SELECT count(*), count(*) FILTER (WHERE reason IS NOT NULL) FROM norm").fetchall()[0]
        n_loaded = con.execute(f"SELECT count(*) FROM {fresh} f").fetchall()[0][0]
        bad = con.execute(
            "SELECT line, reason FROM norm WHERE reason IS NOT NULL ORDER BY line LIMIT ?", [PROBLEMS_KEPT]
        ).fetchall()
        # the tenant column, for the pool tenants' records (the others leave it NULL)
        tcol = f', "{TENANT_COLUMN}"' if pooled else ""
        now = utcnow()
        with lake.transaction(con):
            con.execute(
                f"INSERT INTO {ALIAS}.raw_events ({', '.join(_RAW_COLUMNS)}{tcol}) SELECT "
                + ", ".join("?" if c == "segment" else f'"{c}"' for c in _RAW_COLUMNS)
                + f"{tcol} FROM norm WHERE reason IS NULL ORDER BY line",
                [name],
            )
            cols = ", ".join(f'"{c}"' for c in _EVENT_COLUMNS) + tcol
            con.execute(f"INSERT INTO {ALIAS}.events ({cols}) SELECT {cols} FROM {fresh} f ORDER BY line")
            if n_bad:
                con.execute(
                    f"INSERT INTO {ALIAS}.quarantine (source, source_object, position, reason, raw, run_id, quarantined_at{tcol}) "
                    f"SELECT ?, ?, 'line ' || CAST(line AS VARCHAR), reason, left(raw, {RAW_PREFIX_LIMIT}), ?, ?{tcol} "
                    "FROM norm WHERE reason IS NOT NULL ORDER BY line",
                    [SOURCE, name, run_id, now],
                )
            record_objects(
                con, SOURCE, run_id,
                [(name, size, str(size), "loaded", n_read, n_loaded, n_read - n_bad - n_loaded, n_bad)],
            )
        con.execute("DROP TABLE IF EXISTS dups")
        con.execute("DROP TABLE IF EXISTS norm")
        con.execute("DROP TABLE IF EXISTS seg")
        return _Counts(n_read, n_loaded, n_read - n_bad - n_loaded, n_bad, bad)


@dataclass
class _Counts:
    """What the commits of one segment did (a segment may commit to several storages)."""

    read: int = 0
    loaded: int = 0
    duplicate: int = 0
    quarantined: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)  # (line, reason), the first PROBLEMS_KEPT

    def add(self, other: "_Counts") -> None:
        self.read += other.read
        self.loaded += other.loaded
        self.duplicate += other.duplicate
        self.quarantined += other.quarantined
        self.bad = sorted(self.bad + other.bad)[:PROBLEMS_KEPT]


class _Storages:
    """Connections to the bridge and silo tenants' storages a load writes to, opened
    on first use (their tables made if missing) and kept for the load."""

    def __init__(self, lake: Lake):
        self.lake = lake
        self._open: dict[str, tuple[Lake, duckdb.DuckDBPyConnection]] = {}

    def open(self, tenant) -> tuple[Lake, duckdb.DuckDBPyConnection]:
        if tenant.name not in self._open:
            storage = self.lake.in_schema(tenant.schema) if tenant.model == "bridge" else tenant.silo(self.lake)
            con = storage.connect(create=True)
            try:
                lock = storage.writer_lock() if storage.path != self.lake.path else contextlib.nullcontext()
                with lock:
                    storage.ensure_tables(con, TABLES_USED)
            except BaseException:
                con.close()
                raise
            self._open[tenant.name] = (storage, con)
        return self._open[tenant.name]

    def close(self) -> None:
        for _, con in self._open.values():
            con.close()
        self._open.clear()


def _wrap_lines(src: Path, dst: Path) -> None:
    """Copy a segment line by line (bounded memory) into the careful path's form:
    {"line": N, "r": <the record>} for a line that is a JSON object, and
    {"line": N, "bad": <reason>, "raw": <its first characters>} for one that is not.
    Blank lines are not records."""
    with open(src, "rb") as fh, open(dst, "wb") as out:
        n = 0
        while True:
            line = fh.readline(MAX_RECORD + 1)
            if not line:
                break
            n += 1
            reason = None
            if len(line) > MAX_RECORD and not line.endswith(b"\n"):
                rest = line
                while rest and not rest.endswith(b"\n"):  # skip the rest of the long line
                    rest = fh.readline(1 << 20)
                reason = f"line longer than {MAX_RECORD:,} bytes"
            body = line.rstrip(b"\r\n")
            if reason is None:
                if not body.strip():
                    continue
                try:
                    value = orjson.loads(body)
                except orjson.JSONDecodeError as exc:
                    reason = f"not valid JSON: {exc}"
                else:
                    if not isinstance(value, dict):
                        reason = f"record is a JSON {_json_kind(value)}, not an object"
            if reason is None:
                out.write(b'{"line":%d,"r":%s}\n' % (n, body))
            else:
                raw = body[:RAW_PREFIX_LIMIT].decode("utf-8", "replace")
                out.write(orjson.dumps({"line": n, "bad": reason, "raw": raw}) + b"\n")


def _json_kind(value) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
