"""The embedded DuckDB engine, and the one place that knows how to open DuckDB:
extensions come from the pinned duckdb-extension-* packages, never the network."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from ..errors import EngineUnavailable, QueryError

if TYPE_CHECKING:
    from ..lake import Lake

# DuckDB extension name -> the Python package that ships its binary.
EXTENSION_PACKAGES = {
    "ducklake": "duckdb_extension_ducklake",
    "sqlite_scanner": "duckdb_extension_sqlite_scanner",
    "postgres_scanner": "duckdb_extension_postgres_scanner",
}


def extension_path(name: str) -> Path:
    """Path of the extension binary shipped by its pinned package."""
    pkg = EXTENSION_PACKAGES[name]
    spec = importlib.util.find_spec(pkg)
    if spec is None or not spec.submodule_search_locations:
        raise EngineUnavailable(f"DuckDB extension {name!r} is missing: pip install {pkg.replace('_', '-')}=={duckdb.__version__}")
    root = Path(list(spec.submodule_search_locations)[0])
    found = sorted(root.glob(f"extensions/*/{name}.duckdb_extension"))
    if not found:
        raise EngineUnavailable(f"{pkg} holds no {name}.duckdb_extension under {root}")
    want = f"v{duckdb.__version__}"
    for p in found:
        if p.parent.name == want:
            return p
    raise EngineUnavailable(
        f"{pkg} ships {', '.join(p.parent.name for p in found)} but duckdb is {want}; pin both to the same version"
    )


def connect(
    database: str = ":memory:",
    *,
    extensions: tuple[str, ...] = (),
    threads: int | None = None,
    memory_limit: str | None = None,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection in UTC with no extension auto-install, and the named
    extensions loaded from their packages."""
    config = {
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
    }
    if threads:
        config["threads"] = str(threads)
    if memory_limit:
        config["memory_limit"] = memory_limit
    con = duckdb.connect(database, config=config)
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    for name in extensions:
        con.execute(f"LOAD '{extension_path(name)}'")
    return con


class DuckDBEngine:
    """Runs queries in-process against the lake attached as the default catalog."""

    name = "duckdb"

    def __init__(self, lake: "Lake"):
        self.lake = lake
        self.con = lake.connect(read_only=True)
        # Queries read the lake and nothing else: no files outside it (COPY ... TO,
        # read_text('/etc/...')), no ATTACH/INSTALL, and no SET to undo this.
        try:
            self.con.execute("SET allowed_directories = ?", [[str(lake.path)]])
            self.con.execute("SET enable_external_access = false")
            self.con.execute("SET lock_configuration = true")
        except duckdb.Error as exc:
            self.con.close()
            raise QueryError(f"cannot restrict the query connection: {exc}") from None

    def query(self, sql: str, params: dict | None = None) -> pa.Table:
        _only_one_select(sql)
        try:
            rel = self.con.execute(sql, params or None)
            return rel.to_arrow_table()
        except duckdb.Error as exc:
            raise QueryError(_clean(exc)) from None

    def explain(self, sql: str, params: dict | None = None, analyze: bool = False) -> str:
        _only_one_select(sql)
        try:
            rows = self.con.execute(("EXPLAIN ANALYZE " if analyze else "EXPLAIN ") + sql, params or None).fetchall()
        except duckdb.Error as exc:
            raise QueryError(_clean(exc)) from None
        return "\n".join(r[1] for r in rows)

    def close(self) -> None:
        self.con.close()


_READ_STATEMENTS = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}


def _only_one_select(sql: str) -> None:
    """Refuse anything but exactly one SELECT (or EXPLAIN of one)."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(_clean(exc)) from None
    if len(statements) != 1:
        raise QueryError(f"expected exactly one SQL statement, got {len(statements)}")
    kind = statements[0].type
    if kind not in _READ_STATEMENTS:
        raise QueryError(f"only SELECT queries run here (the lake is read-only to queries); got a {kind.name} statement")


def _clean(exc: Exception) -> str:
    return str(exc).strip()
