"""The Apache Spark engine: the same SQL as DuckDB, on a cluster when one machine is not
enough (local mode by default).

Every lake table becomes a Spark temp view built from the catalog's current file list
(`ducklake_list_files`, through `Lake.list_files`); no DuckLake jar is needed:

- Parquet files are read with the catalog's column types as an explicit schema (JSON is
  text, TIMESTAMPTZ is TimestampType read in UTC, VARCHAR[] is array<string>), and with
  `basePath` set to the table's data directory when the files sit in hive-style partition
  directories, so that Spark prunes partitions. DuckLake also writes the partition column
  inside each file; with the explicit schema Spark reports it once, with the catalog's type
  (DATE for event_date).
- A table without files is an empty view with the same schema.
- Deletes: DuckLake records deleted rows as positional delete files (Parquet with
  file_path, pos). Rows of a data file that has one are anti-joined on (file name,
  `_metadata.row_index`).
- Inlined data: a catalog may hold small inserts and deletes inline instead of in files
  (eventlake itself attaches with DATA_INLINING_ROW_LIMIT 0, another DuckLake client may
  not). Before reading, the engine flushes them to files with
  `ducklake_flush_inlined_data` on a writable connection (a no-op without inlined data),
  so the file lists are the whole table. A lake whose catalog cannot be written is refused
  with a clear error rather than read incompletely.

The views follow the catalog: each query checks the current snapshot id and rebuilds the
views when it moved. SQL is translated by `translate.py`; parameters are bound by Spark
(`:name` markers with `args=`), never pasted into SQL text. Results come back as pyarrow
tables with the query's column names; timestamps are UTC, as on DuckDB.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import os
import tempfile
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from ..errors import EngineUnavailable, LakeError, QueryError
from .translate import Translation, translate

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from ..lake import Lake

SPARK_MISSING = "the spark engine needs: pip install 'eventlake[spark]'"
APP_NAME = "eventlake"

# Session settings eventlake relies on; **conf given to SparkEngine/spark_session wins.
BASE_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    # DuckDB semantics: x / 0 and list[99] are NULL, not errors (Spark 4 defaults to ANSI).
    "spark.sql.ansi.enabled": "false",
    # DuckDB writes proleptic Gregorian dates and timestamps: read them as they are.
    "spark.sql.parquet.datetimeRebaseModeInRead": "CORRECTED",
    "spark.sql.parquet.int96RebaseModeInRead": "CORRECTED",
    # queries are DuckDB SQL: `${env:HOME}` in them is text, never the server's environment,
    # JVM properties or settings substituted before parsing (even inside string literals)
    "spark.sql.variable.substitute": "false",
}
LOCAL_CONF = {"spark.sql.shuffle.partitions": "4", "spark.default.parallelism": "4"}
# spark.sql.* settings fixed when a session starts (not settable on a running one).
STATIC_SQL_CONF = {"spark.sql.warehouse.dir", "spark.sql.extensions", "spark.sql.catalogImplementation"}
SPARK_LOG_LEVEL = "ERROR"

_LOG4J2 = """\
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n%ex
logger.hadoop.name = org.apache.hadoop
logger.hadoop.level = error
logger.utils.name = org.apache.spark.util.Utils
logger.utils.level = error
logger.sparkenv.name = org.apache.spark.SparkEnv
logger.sparkenv.level = error
logger.sparkcontext.name = org.apache.spark.SparkContext
logger.sparkcontext.level = error
"""


def _pyspark():
    try:
        import pyspark  # noqa: F401
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineUnavailable(SPARK_MISSING) from None
    return SparkSession


def _log4j2_file() -> str:
    """A log4j2 configuration that keeps Spark's start-up quiet (written once per machine)."""
    path = Path(tempfile.gettempdir()) / f"eventlake-spark-log4j2-{os.getuid() if hasattr(os, 'getuid') else 0}.properties"
    if not path.exists() or path.read_text() != _LOG4J2:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(_LOG4J2)
        tmp.replace(path)
    return path.as_uri()


def _existing_session():
    SparkSession = _pyspark()
    return SparkSession.getActiveSession() or getattr(SparkSession, "_instantiatedSession", None)


def spark_session(master: str = "local[2]", **conf: str) -> "SparkSession":
    """The process's SparkSession with eventlake's settings, created on first use. When one
    is already running it is reused: eventlake's runtime settings (spark.sql.*) and those
    given here are applied to it, the rest of its configuration is left alone."""
    SparkSession = _pyspark()
    given = {k: str(v) for k, v in conf.items()}
    _quiet_python_loggers()
    existing = _existing_session()
    if existing is not None:
        for key, value in {**BASE_CONF, **given}.items():
            if key.startswith("spark.sql.") and key not in STATIC_SQL_CONF:
                existing.conf.set(key, value)
        return existing
    settings = {**BASE_CONF, **(LOCAL_CONF if master.startswith("local") else {}), **given}
    settings.setdefault("spark.sql.warehouse.dir", str(Path(tempfile.gettempdir()) / "eventlake-spark-warehouse"))
    settings.setdefault("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={_log4j2_file()}")
    builder = SparkSession.builder.master(master).appName(APP_NAME)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # JVM missing, bad master URL, cluster unreachable
        raise EngineUnavailable(f"cannot start Spark with master {master!r}: {_first_line(exc)}") from None
    spark.sparkContext.setLogLevel(SPARK_LOG_LEVEL)
    return spark


def _quiet_python_loggers() -> None:
    # pyspark logs every analysis error with a JVM stack trace before raising it; the
    # engine turns the exception into a one-line QueryError instead.
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger", "py4j"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


# Which engine's views a session currently holds (engines over different lakes may share
# one session, e.g. in tests): id(session) -> id(engine).
_VIEW_OWNER: dict[int, int] = {}


class SparkEngine:
    """Runs DuckDB-dialect SQL on Spark over the lake's tables."""

    name = "spark"

    def __init__(self, lake: "Lake", master: str = "local[2]", **conf: str):
        _pyspark()
        self.lake = lake
        self.spark = None
        self._con = lake.connect(read_only=True)  # a missing lake fails before Spark starts
        self._snapshot: int | None = None
        self._views: list[str] = []
        self.flushed_rows = 0  # rows moved from the catalog to files by this engine
        self._owns_session = _existing_session() is None
        try:
            self.spark = spark_session(master, **conf)
            self.refresh()
        except BaseException:
            self.close()
            raise

    # -- views ----------------------------------------------------------------------
    def refresh(self) -> None:
        """Flush inlined data, then (re)build a temp view per lake table from the current
        snapshot's file lists."""
        self.flushed_rows += self._flush_inlined()
        con = self._con
        con.execute("BEGIN TRANSACTION")  # one snapshot for every table
        try:
            snapshot = self.lake.current_snapshot(con)
            frames = {t: self._table_frame(con, t) for t in self.lake.table_names(con)}
        finally:
            con.execute("ROLLBACK")
        for stale in set(self._views) - set(frames):
            self.spark.catalog.dropTempView(stale)
        for table, frame in frames.items():
            frame.createOrReplaceTempView(table)
        self._views = sorted(frames)
        self._snapshot = snapshot
        _VIEW_OWNER[id(self.spark)] = id(self)

    def _ensure_current(self) -> None:
        try:
            snapshot = self.lake.current_snapshot(self._con)
        except duckdb.Error as exc:
            raise LakeError(f"cannot read the lake catalog at {self.lake.path}: {_first_line(exc)}") from None
        if snapshot != self._snapshot or _VIEW_OWNER.get(id(self.spark)) != id(self):
            self.refresh()

    def _flush_inlined(self) -> int:
        try:
            con = self.lake.connect()
        except (LakeError, duckdb.Error) as exc:
            raise LakeError(
                "the spark engine flushes rows the catalog holds inline before reading, and needs "
                f"write access to the lake at {self.lake.path}: {_first_line(exc)}"
            ) from None
        try:
            return self.lake.flush_inlined_data(con)
        except duckdb.Error as exc:
            raise LakeError(f"cannot flush inlined rows of the lake at {self.lake.path} to files: {_first_line(exc)}") from None
        finally:
            con.close()

    def _table_frame(self, con: duckdb.DuckDBPyConnection, table: str) -> "DataFrame":
        from pyspark.sql import functions as F
        from pyspark.sql.types import StructField, StructType

        rel = con.sql(f'SELECT * FROM "{table}" LIMIT 0')
        columns = list(rel.columns)
        schema = StructType([StructField(c, spark_type(t, f"{table}.{c}"), True) for c, t in zip(columns, rel.types)])
        files = self.lake.list_files(con, table)
        if not files:
            return self.spark.createDataFrame([], schema)
        reader = self.spark.read.schema(schema)
        base = partition_base(table, [f.path for f in files], columns)
        if base is not None:
            reader = reader.option("basePath", spark_path(base))
        df = reader.parquet(*[spark_path(f.path) for f in files])
        deleted = [f for f in files if f.delete_file]
        if deleted:
            names = [PurePosixPath(f.path.replace("\\", "/")).name for f in files]
            if len(set(names)) != len(names):
                raise LakeError(f"table {table!r}: two data files share a file name; cannot match its delete files")
            df = df.select("*", F.col("_metadata.file_name").alias("__el_file"), F.col("_metadata.row_index").alias("__el_pos"))
            dels = self.spark.read.parquet(*[spark_path(f.delete_file) for f in deleted]).select(
                F.regexp_extract(F.col("file_path"), r"[^/\\]+$", 0).alias("__el_file"),
                F.col("pos").cast("long").alias("__el_pos"),
            )
            df = df.join(dels, on=["__el_file", "__el_pos"], how="left_anti")
        return df.select(*[F.col(f"`{c}`") for c in columns])

    # -- Engine protocol ------------------------------------------------------------
    def query(self, sql: str, params: dict | None = None) -> pa.Table:
        tr = translate(sql, self.lake.schema)
        args = bind_parameters(tr, params)
        self._ensure_current()
        try:
            table = self.spark.sql(tr.sql, args=args or None).toArrow()
        except Exception as exc:
            raise self._error(exc, tr) from None
        return _utc(table)

    def explain(self, sql: str, params: dict | None = None, analyze: bool = False) -> str:
        """The formatted physical plan (PartitionFilters show date pruning); with
        `analyze`, the plan with cost statistics (Spark plans, it does not run)."""
        tr = translate(sql, self.lake.schema)
        args = bind_parameters(tr, params)
        self._ensure_current()
        out = io.StringIO()
        try:
            df = self.spark.sql(tr.sql, args=args or None)
            with contextlib.redirect_stdout(out):
                df.explain(mode="cost" if analyze else "formatted")
        except Exception as exc:
            raise self._error(exc, tr) from None
        return f"-- Spark SQL (translated from DuckDB's dialect):\n{tr.sql}\n\n{out.getvalue().rstrip()}"

    def close(self) -> None:
        con, self._con = getattr(self, "_con", None), None
        if con is not None:
            con.close()
        spark = getattr(self, "spark", None)
        if spark is None:
            return
        if _VIEW_OWNER.get(id(spark)) == id(self):
            del _VIEW_OWNER[id(spark)]
            for view in self._views:
                with contextlib.suppress(Exception):
                    spark.catalog.dropTempView(view)
        if self._owns_session:
            spark.stop()
        self.spark = None

    def _error(self, exc: Exception, tr: Translation) -> Exception:
        if isinstance(exc, QueryError):
            return exc
        return QueryError(f"Spark could not run the query: {_spark_message(exc)}\n  Spark SQL: {tr.sql}")


# -- helpers -------------------------------------------------------------------------


def bind_parameters(tr: Translation, params: dict | None) -> dict[str, Any]:
    """Spark parameter values for the query's named markers: exactly the names it uses
    (as on DuckDB); naive datetimes are taken as UTC."""
    params = dict(params or {})
    missing = [n for n in tr.parameters if n not in params]
    if missing:
        raise QueryError(f"no value given for parameter(s) {', '.join('$' + n for n in missing)}")
    extra = sorted(k for k in params if k not in tr.parameters)
    if extra:
        raise QueryError(f"the query does not use parameter(s) {', '.join('$' + k for k in extra)}")
    return {k: _spark_value(k, v) for k, v in params.items()}


def _spark_value(name: str, value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str, Decimal)):
        return value
    if isinstance(value, dt.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (list, tuple)):
        return [_spark_value(name, v) for v in value]
    raise QueryError(f"parameter ${name}: values of type {type(value).__name__} cannot be bound")


def spark_path(path: str) -> str:
    """A data file location as Spark names it: file:// URIs for local paths, s3a:// for S3."""
    if "://" in path:
        scheme, rest = path.split("://", 1)
        return f"s3a://{rest}" if scheme in ("s3", "s3n") else path
    # Hadoop paths take the characters as they are (as_uri() would escape '=' in key=value)
    return "file://" + Path(path).resolve().as_posix()


def partition_base(table: str, paths: list[str], columns: list[str]) -> str | None:
    """The table's data directory when every file sits below it in the same hive-style
    `key=value` directories named after table columns (Spark's basePath), else None."""
    bases, keys = set(), set()
    for p in paths:
        parts = p.replace("\\", "/").split("/")[:-1]
        k: list[str] = []
        while parts and "=" in parts[-1]:
            k.insert(0, parts.pop().split("=", 1)[0])
        bases.add("/".join(parts))
        keys.add(tuple(k))
    if len(bases) != 1 or len(keys) != 1:
        return None
    (key,) = keys
    if not key or not set(key) <= set(columns):
        return None
    return bases.pop()


def spark_type(t: duckdb.typing.DuckDBPyType, where: str):
    """The Spark SQL type for a DuckDB column type (JSON is text in both)."""
    from pyspark.sql import types as T

    simple = {
        "varchar": T.StringType(),
        "boolean": T.BooleanType(),
        "tinyint": T.ByteType(),
        "smallint": T.ShortType(),
        "integer": T.IntegerType(),
        "bigint": T.LongType(),
        "utinyint": T.ShortType(),
        "usmallint": T.IntegerType(),
        "uinteger": T.LongType(),
        "ubigint": T.DecimalType(20, 0),
        "float": T.FloatType(),
        "double": T.DoubleType(),
        "date": T.DateType(),
        "timestamp with time zone": T.TimestampType(),
        "timestamp": T.TimestampNTZType(),
        "blob": T.BinaryType(),
    }
    tid = t.id
    if tid in simple:
        return simple[tid]
    if tid == "decimal":
        d = dict(t.children)
        return T.DecimalType(int(d["precision"]), int(d["scale"]))
    if tid in ("list", "array"):
        return T.ArrayType(spark_type(dict(t.children)["child"], where), True)
    if tid == "struct":
        return T.StructType([T.StructField(n, spark_type(c, f"{where}.{n}"), True) for n, c in t.children])
    if tid == "map":
        d = dict(t.children)
        return T.MapType(spark_type(d["key"], where), spark_type(d["value"], where), True)
    raise LakeError(f"column {where} has type {t}, which the spark engine cannot read")


def _utc(table: pa.Table) -> pa.Table:
    """Timestamps with a time zone as UTC, like DuckDB's results."""
    fields = []
    changed = False
    for f in table.schema:
        if pa.types.is_timestamp(f.type) and f.type.tz is not None and f.type.tz not in ("UTC", "+00:00", "Etc/UTC"):
            fields.append(f.with_type(pa.timestamp(f.type.unit, tz="UTC")))
            changed = True
        else:
            fields.append(f)
    return table.cast(pa.schema(fields)) if changed else table


def _spark_message(exc: Exception) -> str:
    getter = getattr(exc, "getMessage", None)
    text = ""
    if callable(getter):
        with contextlib.suppress(Exception):
            text = getter() or ""
    text = text or str(exc)
    return _first_line(text)


def _first_line(exc: Exception | str) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
