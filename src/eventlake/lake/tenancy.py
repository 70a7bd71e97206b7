"""How a pool tenant's rows are told apart in the shared tables (the storage models
are in eventlake.governance.tenants).

A pool tenant's rows carry its name in `tenant_id`; rows without one are the lake
owner's own. The column is not declared in the table definitions: it is added to a
table (ALTER TABLE ... ADD COLUMN, a catalog change only) the first time a pool
tenant's rows are written to it. Files written before read it as NULL, in DuckDB and
in Spark (whose views take their schema from the catalog), so a lake that never
served a pool tenant stays exactly as it was.

Everything that decides "is this row the same as one already loaded" (processed
objects, de-duplication on a source's ids, re-reads, quarantine entries) compares
within one tenant's rows: the same file or event ingested for two pool tenants is two
tenants' data, not a duplicate."""

from __future__ import annotations

from typing import Iterable, NamedTuple

import duckdb

from .catalog import ALIAS, Lake

TENANT_COLUMN = "tenant_id"


class Stamp(NamedTuple):
    """What a row written for a pool tenant adds: the tenant column and its value.
    Empty for the lake's own rows, which leave the column (if the table has it) NULL,
    so writing them never needs the column."""

    columns: tuple[str, ...]
    values: tuple

    @property
    def column_sql(self) -> str:
        """`, "tenant_id"` to append to an INSERT's column list (or nothing)."""
        return "".join(f', "{c}"' for c in self.columns)

    @property
    def value_sql(self) -> str:
        """`, ?` to append to its values or SELECT list; bind `values` there."""
        return ", ?" * len(self.values)


def tenant_stamp(tenant_id: str | None) -> Stamp:
    """The stamp of rows written for the pool tenant `tenant_id` (None: the lake's own)."""
    return Stamp((TENANT_COLUMN,), (tenant_id,)) if tenant_id is not None else Stamp((), ())


def has_tenant_column(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Does `table` (in the connection's schema in use) have the tenant column yet?"""
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_catalog = ? AND table_schema = current_schema() "
        "AND table_name = ? AND column_name = ?",
        [ALIAS, table, TENANT_COLUMN],
    ).fetchall()[0][0])


def add_tenant_column(lake: Lake, con: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> None:
    """Give the tables that lack it the tenant column, in one commit (before a pool
    tenant's first rows go in; call under the writer lock)."""
    missing = [t for t in dict.fromkeys(tables) if not has_tenant_column(con, t)]
    if not missing:
        return
    with lake.transaction(con):
        for t in missing:
            con.execute(f'ALTER TABLE {ALIAS}."{t}" ADD COLUMN "{TENANT_COLUMN}" VARCHAR')


def tenant_rows(con: duckdb.DuckDBPyConnection, table: str, tenant_id: str | None, ref: str = "") -> tuple[str, list]:
    """A predicate, and its parameters, selecting the rows of `table` that belong to the
    pool tenant `tenant_id` — or, for None, the rows of no tenant (every row of a table
    that never held a tenant's). `ref` qualifies the column, e.g. "e."."""
    if tenant_id is None and not has_tenant_column(con, table):
        return "true", []
    return f'{ref}"{TENANT_COLUMN}" IS NOT DISTINCT FROM ?', [tenant_id]


def tenant_value(con: duckdb.DuckDBPyConnection, table: str, ref: str = "") -> str:
    """The tenant column of `table` as an expression: NULL for a table without one."""
    return f'{ref}"{TENANT_COLUMN}"' if has_tenant_column(con, table) else "CAST(NULL AS VARCHAR)"
