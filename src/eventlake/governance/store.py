"""Column policies: which columns hold personal data (their classification) and how a
principal outside the allowed groups sees them (their mask). Stored in the lake table
`column_policies`, append-only: every change appends a row and the latest row per
(table, column) wins; `removed` ends a policy.

Masks, one family for every engine (the query rewrite applies them):

- redact: a fixed placeholder instead of the value;
- hash:   a salted, stable hash (equal values stay equal, so joins and counts still work);
- last4:  only the last four characters;
- null:   NULL;
- year:   the year only (DATE and TIMESTAMP columns);
- sql:    a custom SQL expression over the column itself, e.g. `left(email, 2) || '***'`.

`except_groups` are the groups that see the real value (e.g. pii_readers).
`column_policies(con_or_lake)` is the current state, table -> column -> policy."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, replace
from typing import Iterable, Literal

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from ..errors import EventlakeError
from ..lake import Lake
from ..lake.appendonly import latest_rows, read_with, stamp_after as _now_after, table_exists as _exists
from ..lake.catalog import ALIAS
from . import audit
from ..lake.schema import COLUMN_POLICIES, GROUP_MEMBERS, PRINCIPAL_GROUPS, TABLES

CLASSIFICATIONS = ("email", "ip", "name", "phone", "card", "address", "free_text", "id", "other")
MASKS = ("redact", "hash", "last4", "null", "year", "sql")
Mask = Literal["redact", "hash", "last4", "null", "year", "sql"]
DATE_TYPES = ("DATE", "TIMESTAMP", "TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS",
              "TIMESTAMP_US", "DATETIME")
_WRITE_TABLES = [COLUMN_POLICIES.name, PRINCIPAL_GROUPS.name, GROUP_MEMBERS.name]
# functions a mask expression may not call: they read files, other tables or settings
_FORBIDDEN_FUNCS = re.compile(
    r"^(read_|parquet_|sniff_|glob$|getenv$|query$|query_table$|current_setting$|ducklake_|iceberg_|delta_|sqlite_|postgres_|mysql_)",
    re.IGNORECASE,
)
_FORBIDDEN_NODES = (exp.Query, exp.Subquery, exp.Table, exp.Star, exp.DDL, exp.DML, exp.Command, exp.Block,
                    exp.Placeholder, exp.Parameter)


class PolicyError(EventlakeError):
    """A column policy names an unknown table, column, group or mask, or its SQL is invalid."""


@dataclass(frozen=True)
class ColumnPolicy:
    table: str
    column: str
    classification: str | None = None  # one of CLASSIFICATIONS; None: not classified
    mask: str | None = None  # one of MASKS; None: classified only, shown as is
    mask_sql: str | None = None  # the expression of a `sql` mask
    except_groups: frozenset[str] = frozenset()  # groups that see the real value
    updated_by: str = "manual"  # manual | suggest
    removed: bool = False
    updated_at: dt.datetime | None = None

    @property
    def key(self) -> str:
        return f"{self.table}.{self.column}"

    def masked_for(self, groups: Iterable[str]) -> bool:
        """Does a principal in `groups` see this column masked?"""
        return self.mask is not None and not (self.except_groups & frozenset(groups))

    def describe_mask(self) -> str:
        if self.mask is None:
            return ""
        return f"sql: {self.mask_sql}" if self.mask == "sql" else self.mask


# --- reading -----------------------------------------------------------------------



def read_policies(con: duckdb.DuckDBPyConnection, include_removed: bool = False) -> list[ColumnPolicy]:
    """Every column's current policy, by table and column."""
    rows = latest_rows(con, COLUMN_POLICIES.name, ("table_name", "column_name", "classification", "mask", "mask_sql",
                                                   "except_groups", "updated_by", "removed", "updated_at"),
                       ("table_name", "column_name"))
    out = [ColumnPolicy(r[0], r[1], r[2], r[3], r[4], frozenset(r[5] or ()), r[6] or "manual", bool(r[7]), r[8]) for r in rows]
    return out if include_removed else [p for p in out if not p.removed]




def load_policies(lake: Lake) -> list[ColumnPolicy]:
    return read_with(lake, read_policies, [])


def column_policies(con_or_lake: duckdb.DuckDBPyConnection | Lake) -> dict[str, dict[str, ColumnPolicy]]:
    """The policies in force: table -> column -> policy (classified-only columns included,
    with mask None). Takes a connection with the lake attached, or a Lake."""
    out: dict[str, dict[str, ColumnPolicy]] = {}
    for p in read_with(con_or_lake, read_policies, []):
        out.setdefault(p.table, {})[p.column] = p
    return out


# --- checking ----------------------------------------------------------------------


def split_column(ref: str) -> tuple[str, str]:
    """'table.column' -> (table, column)."""
    table, dot, column = (ref or "").partition(".")
    if not dot or not table or not column:
        raise PolicyError(f"{ref!r} must look like TABLE.COLUMN, e.g. users.email")
    return table, column


def lake_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """column -> type of an eventlake table: from the lake when it exists there (schema
    evolution included), else from its declaration. PolicyError for an unknown table."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_catalog = ? AND table_schema = 'main' "
        "AND table_name = ? ORDER BY ordinal_position",
        [ALIAS, table],
    ).fetchall()
    if rows:
        return {r[0]: r[1] for r in rows}
    t = TABLES.get(table)
    if t is None:
        near = difflib.get_close_matches(table, list(TABLES), n=1)
        hint = f"; did you mean {near[0]!r}?" if near else " (see `eventlake lake tables`)"
        raise PolicyError(f"no table {table!r} in the lake{hint}")
    return dict(t.columns)


def column_type(con: duckdb.DuckDBPyConnection, table: str, column: str) -> str:
    cols = lake_columns(con, table)
    if column not in cols:
        near = difflib.get_close_matches(column, list(cols), n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise PolicyError(f"table {table!r} has no column {column!r}{hint}")
    return cols[column]


def check_classification(classification: str) -> str:
    if classification not in CLASSIFICATIONS:
        raise PolicyError(f"classification {classification!r} is unknown: use {', '.join(CLASSIFICATIONS)}")
    return classification


def parse_mask(value: str) -> tuple[str, str | None]:
    """--mask VALUE -> (mask, mask_sql): a mask kind, else a custom SQL expression."""
    value = (value or "").strip()
    if not value:
        raise PolicyError(f"--mask is empty: use {', '.join(MASKS[:-1])} or a SQL expression over the column")
    if value.lower() in MASKS[:-1]:
        return value.lower(), None
    return "sql", value


def check_mask_sql(sql: str, table: str, column: str) -> str:
    """`sql` if it is one SQL expression (DuckDB dialect) that reads no column but
    `column`, no table, file or setting; else a PolicyError saying why."""
    where = f"mask SQL for {table}.{column}"
    try:
        trees = [t for t in sqlglot.parse(sql, read="duckdb") if t is not None]
    except SqlglotError as exc:
        raise PolicyError(f"{where} does not parse: {str(exc).splitlines()[0]}") from None
    if len(trees) != 1:
        raise PolicyError(f"{where} must be one expression, not {len(trees)} statements")
    tree = trees[0]
    for node in tree.walk():
        if isinstance(node, _FORBIDDEN_NODES):
            raise PolicyError(f"{where} must be an expression over the column; it may not hold {node.key.upper()} ({node.sql('duckdb')[:60]})")
        if isinstance(node, exp.Func):
            name = node.name if isinstance(node, exp.Anonymous) else node.sql_name()
            if _FORBIDDEN_FUNCS.match(name or ""):
                raise PolicyError(f"{where} may not call {name.lower()}()")
        if isinstance(node, exp.Column):
            if node.table or node.name.lower() != column.lower():
                raise PolicyError(f"{where} may read only the column {column!r}, not {node.sql('duckdb')!r}")
    return sql


def _check_runs(con: duckdb.DuckDBPyConnection, sql: str, table: str, column: str) -> None:
    """The expression binds against the table (names real functions, right argument types)."""
    if not _exists(con, table):
        return
    try:
        con.execute(f'SELECT ({sql}) FROM {ALIAS}."{table}" LIMIT 0').fetchall()
    except duckdb.Error as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PolicyError(f"mask SQL for {table}.{column} does not run: {msg}") from None


def _check_mask_fits(con, table: str, column: str, mask: str, mask_sql: str | None) -> None:
    ctype = column_type(con, table, column)
    if mask == "year" and ctype.upper() not in DATE_TYPES:
        raise PolicyError(f"mask year needs a DATE or TIMESTAMP column; {table}.{column} is {ctype}")
    if mask == "sql":
        check_mask_sql(mask_sql or "", table, column)
        _check_runs(con, mask_sql or "", table, column)


# --- writing -----------------------------------------------------------------------



def _write(con: duckdb.DuckDBPyConnection, p: ColumnPolicy) -> ColumnPolicy:
    p = replace(p, updated_at=_now_after(p.updated_at))
    con.execute(
        f'INSERT INTO {ALIAS}."{COLUMN_POLICIES.name}" (table_name, column_name, classification, mask, mask_sql, except_groups, '
        "updated_by, removed, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [p.table, p.column, p.classification, p.mask, p.mask_sql, sorted(p.except_groups), p.updated_by, p.removed, p.updated_at],
    )
    audit.change(con, "policy_remove" if p.removed else "policy_set", f"{p.table}.{p.column}", classification=p.classification,
                 mask=p.mask, mask_sql=p.mask_sql, except_groups=sorted(p.except_groups) or None, by=p.updated_by)
    return p


def _current(con, table: str, column: str) -> ColumnPolicy | None:
    return next((p for p in read_policies(con, include_removed=True) if (p.table, p.column) == (table, column)), None)


def set_mask(lake: Lake, table: str, column: str, mask: str, *, mask_sql: str | None = None,
             except_groups: Iterable[str] = (), classification: str | None = None) -> ColumnPolicy:
    """Mask a column for everyone outside `except_groups` (which replace the previous
    list). The classification is kept unless one is given."""
    from .groups import require_groups

    if mask not in MASKS:
        raise PolicyError(f"mask {mask!r} is unknown: use {', '.join(MASKS)}")
    if mask == "sql" and not mask_sql:
        raise PolicyError("a sql mask needs its SQL expression")
    if classification is not None:
        check_classification(classification)
    with lake.writing(_WRITE_TABLES) as con:
        _check_mask_fits(con, table, column, mask, mask_sql)
        groups = frozenset(require_groups(con, except_groups))
        prev = _current(con, table, column)
        keep = prev.classification if prev is not None and not prev.removed else None
        p = ColumnPolicy(table, column, classification or keep, mask, mask_sql if mask == "sql" else None, groups,
                         "manual", False, prev.updated_at if prev else None)
        with lake.transaction(con):
            return _write(con, p)


def set_classification(lake: Lake, table: str, column: str, classification: str) -> ColumnPolicy:
    """Classify a column (its mask, if any, is kept)."""
    check_classification(classification)
    with lake.writing(_WRITE_TABLES) as con:
        column_type(con, table, column)
        prev = _current(con, table, column)
        if prev is None or prev.removed:
            p = ColumnPolicy(table, column, classification, updated_at=prev.updated_at if prev else None)
        else:
            p = replace(prev, classification=classification, updated_by="manual")
        with lake.transaction(con):
            return _write(con, p)


def unmask(lake: Lake, table: str, column: str) -> ColumnPolicy:
    """Remove a column's mask; its classification stays (the policy ends when it has none)."""
    with lake.writing(_WRITE_TABLES) as con:
        column_type(con, table, column)
        prev = _current(con, table, column)
        if prev is None or prev.removed or prev.mask is None:
            raise PolicyError(f"{table}.{column} has no mask (see `eventlake policies list`)")
        p = replace(prev, mask=None, mask_sql=None, except_groups=frozenset(), updated_by="manual",
                    removed=prev.classification is None)
        with lake.transaction(con):
            return _write(con, p)


def write_policies(lake: Lake, policies: list[ColumnPolicy], check: bool = True) -> list[ColumnPolicy]:
    """Write several policies in one commit (e.g. applied suggestions)."""
    from .groups import require_groups

    if not policies:
        return []
    with lake.writing(_WRITE_TABLES) as con:
        for p in policies:
            if p.classification is not None:
                check_classification(p.classification)
            if check and p.mask is not None:
                _check_mask_fits(con, p.table, p.column, p.mask, p.mask_sql)
            require_groups(con, p.except_groups)
        prev = {(p.table, p.column): p for p in read_policies(con, include_removed=True)}
        with lake.transaction(con):
            return [_write(con, replace(p, updated_at=prev[(p.table, p.column)].updated_at if (p.table, p.column) in prev else None))
                    for p in policies]
