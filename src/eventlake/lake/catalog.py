"""Opening a lake: a DuckLake catalog (SQLite file in the lake directory by default,
PostgreSQL when several processes share one) plus Parquet files under `data/`.

Everything that touches DuckLake's own functions lives here or in `maintenance.py`;
callers see tables, files and transactions, never the catalog's internal tables."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import duckdb

from ..config import Settings, load_settings
from ..engines.duckdb import connect
from ..errors import LakeError
from .schema import TABLES, TableDef

ALIAS = "lake"
SQLITE_BUSY_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class DataFile:
    path: str
    size: int
    delete_file: str | None


class Lake:
    """A lake directory and its catalog. `schema`: the catalog schema this Lake's tables
    live in — `main`, or a bridge tenant's schema (`tenant_<name>`), which then holds the
    same tables, ingest bookkeeping included: a connection has it in use, so `lake.t`
    names the schema's table, and every reader and writer works unchanged."""

    def __init__(self, path: Path | str, catalog: str = "sqlite", *, memory_limit: str | None = None, threads: int | None = None,
                 schema: str = "main"):
        self.path = Path(path).resolve()
        self.catalog = catalog
        self.memory_limit = memory_limit
        self.threads = threads
        self.schema = schema

    def _but(self, **changes) -> "Lake":
        """The same lake, with some of its settings changed."""
        settings = {"memory_limit": self.memory_limit, "threads": self.threads, "schema": self.schema, **changes}
        return Lake(self.path, self.catalog, **settings)

    def in_schema(self, schema: str) -> "Lake":
        """The same lake, with `schema` in use."""
        return self._but(schema=schema)

    def with_threads(self, threads: int | None) -> "Lake":
        """The same lake, its connections on `threads` DuckDB threads (None: DuckDB's default)."""
        return self._but(threads=threads)

    # -- locations ------------------------------------------------------------
    @property
    def data_path(self) -> Path:
        return self.path / "data"

    @property
    def catalog_file(self) -> Path:
        return self.path / "catalog.sqlite"

    def exists(self) -> bool:
        if self.catalog == "sqlite":
            return self.catalog_file.exists()
        return self.path.exists()

    def _attach_uri(self) -> tuple[str, tuple[str, ...]]:
        if self.catalog == "sqlite":
            return f"ducklake:sqlite:{self.catalog_file}", ("ducklake", "sqlite_scanner")
        conninfo = self.catalog.split(":", 1)[1]
        return f"ducklake:postgres:{conninfo}", ("ducklake", "postgres_scanner")

    # -- connections ----------------------------------------------------------
    def connect(self, read_only: bool = False, create: bool = False) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with this lake attached as `lake` and in use."""
        if not self.exists():
            if not create:
                raise LakeError(
                    f"no lake at {self.path}: ingest something first (eventlake ingest ...) or point --lake / EVENTLAKE_LAKE at an existing lake"
                )
            self.path.mkdir(parents=True, exist_ok=True)
            self.data_path.mkdir(parents=True, exist_ok=True)
        uri, exts = self._attach_uri()
        con = connect(extensions=exts, memory_limit=self.memory_limit, threads=self.threads)
        opts = [f"DATA_PATH '{sql_str(str(self.data_path) + os.sep)}'", "DATA_INLINING_ROW_LIMIT 0"]
        if self.catalog == "sqlite" and self.catalog_file.exists():
            # catalog and data travel together in the lake directory: a moved or copied
            # lake opens where it now is (file paths in the catalog are relative)
            opts.append("OVERRIDE_DATA_PATH true")
        if self.catalog == "sqlite":
            # readers and the one writer (collector loads, deliveries, queries) share the
            # file: WAL lets readers go on while a commit is written, and a busy connection
            # waits for the lock instead of failing at once with "database is locked"
            opts += ["META_JOURNAL_MODE 'WAL'", f"META_BUSY_TIMEOUT {SQLITE_BUSY_TIMEOUT_MS}"]
        if read_only:
            opts.append("READ_ONLY")
        try:
            con.execute(f"ATTACH '{sql_str(uri)}' AS {ALIAS} ({', '.join(opts)})")
            con.execute(f"USE {ALIAS}")
        except duckdb.Error as exc:
            con.close()
            raise LakeError(f"cannot open the lake catalog at {self._describe()}: {exc}") from None
        if self.schema != "main":
            try:
                con.execute(f'USE {ALIAS}."{self.schema.replace(chr(34), chr(34) * 2)}"')
            except duckdb.Error:
                con.close()
                raise LakeError(f"the lake at {self.path} has no schema {self.schema!r}") from None
        return con

    def _describe(self) -> str:
        return str(self.catalog_file) if self.catalog == "sqlite" else self.catalog

    @contextmanager
    def transaction(self, con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
        """One atomic commit: everything inside becomes visible together or not at all."""
        con.execute("BEGIN TRANSACTION")
        try:
            yield con
        except BaseException:
            try:
                con.execute("ROLLBACK")
            except duckdb.Error:
                pass
            raise
        con.execute("COMMIT")

    # -- tables ---------------------------------------------------------------
    def ensure_tables(self, con: duckdb.DuckDBPyConnection, names: list[str] | None = None) -> None:
        """Create the named eventlake tables (all by default) that do not exist yet, in
        one commit: a crash between CREATE TABLE and SET PARTITIONED BY must not leave a
        table unpartitioned for good."""
        existing = set(self.table_names(con))
        missing = [n for n in (names or list(TABLES)) if n not in existing]
        if not missing:
            return
        with self.transaction(con):
            for name in missing:
                t = TABLES[name]
                con.execute(t.ddl(ALIAS))
                if t.partition_by:
                    cols = ", ".join(f'"{c}"' for c in t.partition_by)
                    con.execute(f'ALTER TABLE {ALIAS}."{t.name}" SET PARTITIONED BY ({cols})')

    @contextmanager
    def writer_lock(self, wait: bool = True) -> Iterator[bool]:
        """Hold the lake's writer lock: one ingest or maintenance job at a time, across
        processes (a lock file in the lake directory), so that two jobs never both
        decide that the same object or event is new. Waits for a running job; with
        `wait=False`, yields False at once instead when another holds it (this process
        included, through another `with`)."""
        import fcntl

        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / ".writer.lock", "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    @contextmanager
    def writing(self, tables: list[str]) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for one small write (created if missing, `tables` ensured) under
        the writer lock; commit inside with `transaction`."""
        with self.writer_lock():
            con = self.connect(create=True)
            try:
                self.ensure_tables(con, tables)
                yield con
            finally:
                con.close()

    def spool_dir(self) -> Path:
        """A fresh scratch folder in the lake for downloads and chunk files; folders
        left by processes that died (kill -9) are removed first."""
        for old in self.path.glob("spool-*"):
            try:
                pid = int(old.name.split("-")[1])
            except (IndexError, ValueError):
                continue
            if pid != os.getpid() and not _pid_alive(pid):
                shutil.rmtree(old, ignore_errors=True)
        return Path(tempfile.mkdtemp(prefix=f"spool-{os.getpid()}-", dir=self.path))

    def table_names(self, con: duckdb.DuckDBPyConnection) -> list[str]:
        rows = con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_schema = ? ORDER BY 1",
            [ALIAS, self.schema],
        ).fetchall()
        return [r[0] for r in rows]

    def table_def(self, name: str) -> TableDef | None:
        return TABLES.get(name)

    def list_files(self, con: duckdb.DuckDBPyConnection, table: str) -> list[DataFile]:
        """The table's current data files (and delete files) in this snapshot."""
        rows = con.execute(
            "SELECT data_file, data_file_size_bytes, delete_file FROM ducklake_list_files(?, ?, schema => ?)", [ALIAS, table, self.schema]
        ).fetchall()
        return [DataFile(r[0], int(r[1] or 0), r[2]) for r in rows]

    def current_snapshot(self, con: duckdb.DuckDBPyConnection) -> int:
        """The id of the catalog's latest committed snapshot (it changes with every commit)."""
        # fetchall, not fetchone: a result left half-read keeps the SQLite catalog locked
        rows = con.execute("SELECT id FROM ducklake_current_snapshot(?)", [ALIAS]).fetchall()
        return int(rows[0][0])

    def flush_inlined_data(self, con: duckdb.DuckDBPyConnection) -> int:
        """Write rows (and deletes) that the catalog holds inline into Parquet files, so that
        the file lists are the whole table. eventlake attaches with inlining off, but a lake
        written by another DuckLake client may hold some. Needs a writable connection; a
        no-op (no new snapshot) when nothing is inlined. Returns the rows flushed."""
        rows = con.execute("CALL ducklake_flush_inlined_data(?)", [ALIAS]).fetchall()
        return sum(int(r[-1] or 0) for r in rows)


def open_lake(settings: Settings | None = None, **overrides) -> Lake:
    s = settings or load_settings()
    return Lake(s.lake_path, s.catalog, **overrides)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sql_str(value: str) -> str:
    """Escape a string for use inside a single-quoted SQL literal (DDL cannot bind)."""
    return value.replace("'", "''")


def sql_literal(value: str) -> str:
    """`value` as a single-quoted SQL string literal (where a parameter cannot go:
    DDL, and SQL text built once, such as the log parsers' parse SQL)."""
    return "'" + sql_str(value) + "'"
