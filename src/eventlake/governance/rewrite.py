"""Row filters and column masks, enforced by rewriting the query a principal wrote.

`rewrite(sql, policy)` parses the query with sqlglot and replaces every reference to a
lake table (in FROM/JOIN, subqueries, CTE bodies, set-operation branches, LATERAL, PIVOT;
written `t`, `main.t`, `lake.t` or `lake.main.t`, in any case, quoted or not) by a derived
table that reads only what the principal may see:

    (SELECT <each column, masked where the policy says, keeping its name>
     FROM <source> AS __el_src_<nonce> WHERE <row filter>) AS <the user's alias or table name>

so user predicates, joins, windows, GROUP BY and ORDER BY only ever see filtered, masked
rows, and `t.col`, `SELECT *`, `t.*`, `COLUMNS(...)`, `EXCLUDE`/`REPLACE` keep working.
Filter values and the hashing salt are bound parameters, never SQL text.

What cannot be proven safe is refused with a PolicyError: anything but one query; tables
the policy does not list ("no table named X", whether it exists or not); other catalogs
and schemas; table functions except the row generators range/generate_series (unnest is
an expression and allowed); names given as strings (file paths); time travel (`AT`);
parameters in the user's query; functions that read settings, variables, the environment
or the catalog (`getenv`, `current_setting`, `getvariable`, `duckdb_*`, `ducklake_*`,
`pragma_*`, ...) and `error()` (its message would be a row's value); and metadata
(information_schema, pg_catalog, duckdb_*(), DESCRIBE/SHOW/SUMMARIZE) unless the policy
allows it.

CTEs are renamed to unique names (`__el_cte_<nonce>_<n>`), so that a reference sqlglot
and DuckDB would resolve differently cannot quietly read a base table: the name is either
the CTE or a table that does not exist. A non-recursive CTE that names its own table in
its body reads the base table (as DuckDB does), which is rewritten like any other.

Defence in depth: the SQL that comes out is parsed again by DuckDB's own parser
(`json_serialize_sql`) and every table reference in DuckDB's tree must be a policy
source under this rewrite's secret alias, one of its renamed CTEs or an allowed row
generator; every function and parameter is checked there too. A parser difference
between sqlglot and DuckDB therefore refuses the query instead of leaking.

`scrub_error` removes values from engine errors: DuckDB may evaluate a user's expression
on rows the filter removes (it reorders conjuncts pushed into the scan), so an error such
as a failed CAST could otherwise echo another tenant's value.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Mapping

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from ..errors import QueryError

MASK_KINDS = ("redact", "hash", "last4", "null", "year", "sql")
SALT = "__salt"
LAKE_CATALOG = "lake"
DEFAULT_SCHEMA = "main"
READ = "duckdb"

ROW_GENERATORS = frozenset({"range", "generate_series", "unnest"})
METADATA_SCHEMAS = frozenset({"information_schema", "pg_catalog"})
# Never callable by a principal, even an admin: credentials.
NEVER = frozenset({"duckdb_secrets", "which_secret", "duckdb_secret_types"})
# Scalar (or table) functions that read outside the rows a policy allows: settings,
# variables, the environment, the catalog, files, other queries, or that echo a value
# in an error message.
DENIED_FUNCTIONS = frozenset({
    "getenv", "current_setting", "getvariable", "current_query", "error",
    "json_serialize_sql", "json_deserialize_sql", "json_execute_serialized_sql",
    "parse_duckdb_log_message", "query", "query_table", "glob", "checkpoint",
    "force_checkpoint", "sql_auto_complete", "txid_current", "current_transaction_id",
    "current_query_id", "current_connection_id", "nextval", "currval", "setval",
    "has_database_privilege", "has_schema_privilege", "has_table_privilege",
    # Spark's: static Java methods (System.getenv, ...) and the data files' paths
    "reflect", "java_method", "try_reflect", "input_file_name", "input_file_block_start",
    "input_file_block_length",
})
DENIED_PREFIXES = (
    "duckdb_", "ducklake_", "pragma_", "read_", "sqlite_", "postgres_", "mysql_",
    "parquet_", "iceberg_", "delta_", "json_execute", "arrow_", "pandas_", "seq_scan",
    "test_", "icu_", "enable_", "disable_", "truncate_",
)
# Table arguments that change what a table reference reads (time travel, hints, ...).
_UNSUPPORTED_TABLE_ARGS = ("hints", "system_time", "version", "format", "pattern", "when", "only",
                           "partition", "changes", "rows_from", "indexed", "ordinality")
_CARRIED_TABLE_ARGS = ("joins", "laterals", "pivots", "sample")


class PolicyError(QueryError):
    """A query (or a policy) refused: the message says what and why, never a data value."""


# -- policies ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Mask:
    """How one column is shown: redact | hash | last4 | null | year | sql (with `expression`,
    a SQL expression over the column, written with the column's name)."""

    kind: str
    expression: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in MASK_KINDS:
            raise PolicyError(f"unknown mask {self.kind!r}: use one of {', '.join(MASK_KINDS)}")
        if self.kind == "sql" and not (self.expression or "").strip():
            raise PolicyError("a 'sql' mask needs an expression over the column")


@dataclass(frozen=True)
class TablePolicy:
    """What a principal reads for one logical table: its source, its visible columns (name,
    DuckDB type, in order), a row filter (SQL over the columns, values as $params) and
    masks by column name."""

    source: str
    columns: tuple[tuple[str, str], ...]
    row_filter: str | None = None
    masks: Mapping[str, Mask] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple((str(n), str(t)) for n, t in self.columns))
        if not self.columns:
            raise PolicyError(f"policy for {self.source}: no columns")
        source = _parse_source(self.source)
        names = {n.lower(): (n, t) for n, t in self.columns}
        masks: dict[str, exp.Expression] = {}
        for column, mask in self.masks.items():
            if column.lower() not in names:
                raise PolicyError(f"mask on {column!r}: {self.source} has no such column")
            name, type_ = names[column.lower()]
            masks[name.lower()] = _mask_tree(mask, name, type_)
        filt = None
        if self.row_filter is not None and self.row_filter.strip():
            filt = _parse_policy_expression(self.row_filter, f"row filter of {self.source}")
            for col in filt.find_all(exp.Column):
                if col.table or col.name.lower() not in names:
                    raise PolicyError(f"row filter of {self.source} names {col.sql(READ)}, which is not a column of the table")
        object.__setattr__(self, "_source", source)
        object.__setattr__(self, "_masks", masks)
        object.__setattr__(self, "_filter", filt)


@dataclass(frozen=True)
class Policy:
    """A principal's view of the lake: the tables it may read (logical name -> policy; any
    other name does not exist for it), bound values used by filters and masks (e.g.
    __tenant, __salt), and whether it may read catalog metadata (admins only)."""

    principal: str
    tables: Mapping[str, TablePolicy]
    params: Mapping[str, Any] = field(default_factory=dict)
    allow_metadata: bool = False

    def __post_init__(self) -> None:
        by_name: dict[str, tuple[str, TablePolicy]] = {}
        for name, tp in self.tables.items():
            if name.lower() in by_name:
                raise PolicyError(f"policy of {self.principal}: table {name!r} is listed twice")
            by_name[name.lower()] = (name, tp)
        object.__setattr__(self, "_by_name", by_name)


# -- rewriting ---------------------------------------------------------------------------


def rewrite(sql: str, policy: Policy, dialect: str = READ,
            query_params: Mapping[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """The SQL to run (DuckDB dialect) and its bound parameters: the policy's, and
    `query_params` — the values of a saved query's own declared parameters ($name; never
    a name starting with "__", which are the policy's). SQL a person writes has none."""
    given = dict(query_params or {})
    reserved = sorted(k for k in given if k.startswith("__") or not k.isidentifier())
    if reserved:
        raise PolicyError(f"parameter name {reserved[0]!r} is reserved for the policy")
    key = (sql, dialect, frozenset(given), _policy_key(policy))
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
    if hit is None:
        tree = _parse_query(sql, dialect)
        rw = _Rewriter(policy, frozenset(given))
        tree = rw.statement(tree)
        out = tree.sql(dialect=READ)
        _verify(out, rw)
        hit = (out, frozenset(rw.params))
    values = {**given, **policy.params}
    missing = sorted(hit[1] - set(values))
    if missing:
        raise PolicyError(f"the policy of {policy.principal} uses ${missing[0]} but gives it no value")
    with _CACHE_LOCK:
        _CACHE[key] = hit
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return hit[0], {k: values[k] for k in sorted(hit[1])}


# Rewrites already made and checked: the output depends on the SQL text, the names of the
# query's parameters and the policy's shape (sources, filters, masks), never on bound values.
CACHE_SIZE = 1024
_CACHE: OrderedDict[tuple, tuple[str, frozenset[str]]] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def _policy_key(policy: Policy) -> tuple:
    return (
        tuple(sorted(
            (name, tp.source, tuple(tp.columns), tp.row_filter,
             tuple(sorted((c, m.kind, m.expression) for c, m in tp.masks.items())))
            for name, tp in policy.tables.items()
        )),
        policy.allow_metadata,
        tuple(sorted(policy.params)),
    )


def _parse_query(sql: str, dialect: str) -> exp.Expression:
    try:
        trees = [t for t in sqlglot.parse(sql, read=dialect) if t is not None]
    except SqlglotError as exc:
        raise PolicyError(f"the query could not be checked, so it does not run: {_first_line(exc)}") from None
    if len(trees) != 1:
        raise PolicyError(f"expected exactly one SQL statement, got {len(trees)}")
    return trees[0]


class _Rewriter:
    def __init__(self, policy: Policy, query_params: frozenset[str] = frozenset()):
        self.policy = policy
        self.query_params = query_params  # a saved query's own $parameters, allowed where it uses them
        self.nonce = secrets.token_hex(8)
        self.src_alias = f"__el_src_{self.nonce}"
        self.ctes: set[str] = set()
        self.sources: set[tuple[str, str, str]] = set()
        self.params: set[str] = set()
        self.param_uses = 0

    # -- statements --
    def statement(self, tree: exp.Expression) -> exp.Expression:
        if isinstance(tree, exp.Pivot):  # PIVOT t ON ... USING ...: as a subquery, so that it can be checked
            tree = exp.select("*").from_(exp.Subquery(this=tree))
        if isinstance(tree, (exp.Describe, exp.Summarize, exp.Show)):
            if not self.policy.allow_metadata:
                raise PolicyError(f"{tree.key.upper()} shows the catalog's metadata and is for administrators only")
            target = tree.this
            if isinstance(target, exp.Table) and isinstance(target.this, exp.Identifier):
                self.visit(target, {})
                sub = tree.this
                if isinstance(sub, exp.Subquery):
                    tree.set("this", sub.this)
            elif isinstance(target, exp.Expression):
                self.visit(target, {})
            return tree
        if not isinstance(tree, (exp.Query, exp.Values)):
            raise PolicyError(f"only queries (SELECT ...) can run here; got a {tree.key.upper()} statement")
        self.visit(tree, {})
        return tree

    # -- the tree --
    def visit(self, node: exp.Expression, scope: dict[str, str]) -> None:
        if isinstance(node, exp.Placeholder) and node.name in self.query_params:
            # a saved query's own parameter: DuckDB's tree may hold it more often than the
            # text (CASE $p WHEN ... expands), so only the policy's are counted
            self.params.add(node.name)
            return
        if isinstance(node, (exp.Placeholder, exp.Parameter, exp.SessionParameter)):
            raise PolicyError("the query may not use parameters or variables ($name, ?, @name)")
        if isinstance(node, exp.Command):
            raise PolicyError(f"only queries can run here; got a {node.name.upper() or 'command'} statement")
        if isinstance(node, exp.Func):
            self.check_function(node)
        with_ = node.args.get("with_")
        if isinstance(with_, exp.With):
            scope = self.with_(with_, scope)
        if isinstance(node, exp.Table):
            self.table(node, scope)
            return
        for child in list(node.iter_expressions()):
            if child is not with_:
                self.visit(child, scope)

    def with_(self, with_: exp.With, scope: dict[str, str]) -> dict[str, str]:
        recursive = bool(with_.args.get("recursive"))
        scope = dict(scope)
        for cte in with_.expressions:
            key = cte.alias_or_name.lower()
            generated = f"__el_cte_{self.nonce}_{len(self.ctes)}"
            body_scope = dict(scope)
            if recursive and isinstance(cte.this, exp.SetOperation):
                body_scope[key] = generated  # DuckDB: only a UNION body can refer to itself
            alias = cte.args.get("alias")
            for child in list(cte.iter_expressions()):
                if child is not alias:
                    self.visit(child, body_scope)
            if not isinstance(alias, exp.TableAlias):
                raise PolicyError("a CTE without a name cannot be checked")
            alias.set("this", exp.to_identifier(generated))
            self.ctes.add(generated)
            scope[key] = generated
        return scope

    def table(self, node: exp.Table, scope: dict[str, str]) -> None:
        for key in _CARRIED_TABLE_ARGS:
            value = node.args.get(key)
            for child in value if isinstance(value, list) else [value] if value is not None else []:
                self.visit(child, scope)
        target = node.this
        if not isinstance(target, exp.Identifier):
            for child in list(target.iter_expressions()):
                self.visit(child, scope)
            name = _function_name(target)
            if name in ROW_GENERATORS or (self.policy.allow_metadata and _metadata_function(name)):
                return
            raise PolicyError(f"table function {name}(...) is not allowed: query the lake's tables by name")
        shown = ".".join(p for p in (node.catalog, node.db, node.name) if p)
        used = [k for k in _UNSUPPORTED_TABLE_ARGS if node.args.get(k)]
        if used:
            raise PolicyError(f"{shown}: {used[0].replace('_', ' ')} (e.g. time travel) is not allowed on governed tables")
        name, db, catalog = node.name.lower(), node.db.lower(), node.catalog.lower()
        if not db and not catalog and name in scope:
            original = node.this
            node.set("this", exp.to_identifier(scope[name]))
            if not node.args.get("alias"):
                node.set("alias", exp.TableAlias(this=original))
            return
        if not catalog and db == LAKE_CATALOG:
            catalog, db = LAKE_CATALOG, ""
        if db in METADATA_SCHEMAS or (not db and name.startswith("duckdb_")):
            if self.policy.allow_metadata and catalog in ("", LAKE_CATALOG, "system", "temp") and name not in NEVER:
                return
            raise PolicyError(f"{shown}: catalog metadata is for administrators only")
        found = self.policy._by_name.get(name) if catalog in ("", LAKE_CATALOG) and db in ("", DEFAULT_SCHEMA) else None  # type: ignore[attr-defined]
        if found is None:
            raise PolicyError(f"no table named {shown!r}")
        logical, tp = found
        alias = node.args.get("alias") or exp.TableAlias(this=node.this.copy())
        sub = exp.Subquery(this=self.derived(logical, tp), alias=alias)
        for key in _CARRIED_TABLE_ARGS:
            if node.args.get(key):
                sub.set(key, node.args[key])
        node.replace(sub)

    def derived(self, logical: str, tp: TablePolicy) -> exp.Select:
        source: exp.Table = tp._source.copy()  # type: ignore[attr-defined]
        self.sources.add((source.catalog.lower(), source.db.lower(), source.name.lower()))
        source.set("alias", exp.TableAlias(this=exp.to_identifier(self.src_alias)))
        masks: dict[str, exp.Expression] = tp._masks  # type: ignore[attr-defined]
        projections = []
        for name, _type in tp.columns:
            mask = masks.get(name.lower())
            value = self.qualify(mask.copy()) if mask is not None else self.column(name)
            projections.append(exp.alias_(value, exp.to_identifier(name, quoted=True)))
        select = exp.Select(expressions=projections).from_(source, copy=False)
        filt = tp._filter  # type: ignore[attr-defined]
        if filt is not None:
            select = select.where(self.qualify(filt.copy()), copy=False)
        return select

    def column(self, name: str) -> exp.Column:
        return exp.Column(this=exp.to_identifier(name, quoted=True), table=exp.to_identifier(self.src_alias))

    def qualify(self, tree: exp.Expression) -> exp.Expression:
        for col in list(tree.find_all(exp.Column)):
            col.replace(self.column(col.name))
        for ph in tree.find_all(exp.Placeholder):
            self.params.add(ph.name)
            self.param_uses += 1
        return tree

    def check_function(self, node: exp.Func) -> None:
        name = _function_name(node)
        if _denied(name) and not (self.policy.allow_metadata and _metadata_function(name)):
            raise PolicyError(f"function {name}(...) is not allowed here: it reads outside the tables you may query")


def _function_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    if isinstance(node, exp.GenerateSeries):
        return "range" if node.args.get("is_end_exclusive") else "generate_series"
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return node.key.lower()


def _denied(name: str) -> bool:
    return name in DENIED_FUNCTIONS or name in NEVER or name.startswith(DENIED_PREFIXES)


def _metadata_function(name: str) -> bool:
    return name.startswith("duckdb_") and name not in NEVER


# -- policy pieces -----------------------------------------------------------------------


def _parse_source(source: str) -> exp.Table:
    try:
        table = sqlglot.parse_one(f"SELECT * FROM {source}", read=READ).args["from_"].this
    except (SqlglotError, KeyError, AttributeError):
        raise PolicyError(f"table source {source!r} is not a table name") from None
    if not isinstance(table, exp.Table) or not isinstance(table.this, exp.Identifier) or table.args.get("alias") \
            or any(table.args.get(k) for k in _UNSUPPORTED_TABLE_ARGS + _CARRIED_TABLE_ARGS):
        raise PolicyError(f"table source {source!r} is not a table name")
    if not table.catalog:
        raise PolicyError(f"table source {source!r} must name its catalog and schema, e.g. lake.main.\"t\"")
    return table


def _parse_policy_expression(sql: str, where: str) -> exp.Expression:
    try:
        tree = sqlglot.parse_one(sql, read=READ)
    except SqlglotError as exc:
        raise PolicyError(f"{where}: cannot parse {sql!r}: {_first_line(exc)}") from None
    for node in tree.walk():
        if isinstance(node, (exp.Query, exp.Subquery, exp.Table, exp.Star, exp.Command)):
            raise PolicyError(f"{where}: subqueries, tables and * are not allowed")
        if isinstance(node, (exp.AggFunc, exp.Window)):
            raise PolicyError(f"{where}: aggregates and window functions are not allowed")
        if isinstance(node, (exp.Parameter, exp.SessionParameter)):
            raise PolicyError(f"{where}: use $name parameters only")
        if isinstance(node, exp.Placeholder) and (not isinstance(node.this, str) or not node.this or node.this.isdigit()):
            raise PolicyError(f"{where}: use named parameters ($name) only")
        if isinstance(node, exp.Func) and _denied(_function_name(node)):
            raise PolicyError(f"{where}: function {_function_name(node)}(...) is not allowed")
    return tree


_TEMPLATES = {
    "redact": "CASE WHEN {c} IS NULL THEN NULL ELSE '[redacted]' END",
    "hash": f"sha256(${SALT} || CAST({{c}} AS VARCHAR))",
    "last4": "'****' || right(CAST({c} AS VARCHAR), 4)",
    "null": "CAST(NULL AS {t})",
    "year": "CAST(make_date(year({c}), 1, 1) AS {t})",
}


def _mask_tree(mask: Mask, column: str, type_: str) -> exp.Expression:
    """The mask's SQL over the unqualified column (qualified when a query is rewritten)."""
    quoted = exp.to_identifier(column, quoted=True).sql(READ)
    try:
        typ = exp.DataType.build(type_, dialect=READ).sql(READ)
    except SqlglotError:
        raise PolicyError(f"column {column!r}: cannot read its type {type_!r}") from None
    if mask.kind == "year" and not typ.upper().startswith(("DATE", "TIMESTAMP")):
        raise PolicyError(f"column {column!r}: a year mask needs a DATE or TIMESTAMP column, not {type_}")
    if mask.kind == "sql":
        tree = _parse_policy_expression(mask.expression or "", f"mask of {column!r}")
        for col in tree.find_all(exp.Column):
            if col.table or col.name.lower() != column.lower():
                raise PolicyError(f"mask of {column!r} may reference only {column!r}, not {col.sql(READ)}")
        for ph in tree.find_all(exp.Placeholder):
            if ph.name != SALT:
                raise PolicyError(f"mask of {column!r}: the only parameter a mask may use is ${SALT}")
        return tree
    return sqlglot.parse_one(_TEMPLATES[mask.kind].format(c=quoted, t=typ), read=READ)


# -- the check by DuckDB's own parser ----------------------------------------------------

_local = threading.local()
_TABLE_REFS = {"BASE_TABLE", "TABLE_FUNCTION", "SUBQUERY", "JOIN", "EXPRESSION_LIST", "EMPTY", "PIVOT"}


def _parser() -> duckdb.DuckDBPyConnection:
    con = getattr(_local, "con", None)
    if con is None:
        con = duckdb.connect(":memory:", config={
            "autoload_known_extensions": "false", "autoinstall_known_extensions": "false",
            "enable_external_access": "false",
        })
        _local.con = con
    return con


def _verify(sql: str, rw: _Rewriter) -> None:
    """Parse the rewritten SQL with DuckDB and check every table, function and parameter
    in DuckDB's own tree."""
    try:
        text = _parser().execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0]
        tree = json.loads(text)
    except (duckdb.Error, ValueError, TypeError) as exc:
        raise PolicyError(f"the query could not be checked, so it does not run: {_first_line(exc)}") from None
    if tree.get("error"):
        raise PolicyError(f"the query could not be checked, so it does not run: {tree.get('error_message', 'parse error')}")
    if len(tree.get("statements", [])) != 1:
        raise PolicyError("expected exactly one SQL statement")
    uses = _walk(tree["statements"], rw)
    if uses != rw.param_uses:
        raise PolicyError("the query may not use parameters or variables ($name, ?, @name)")


def _walk(node: Any, rw: _Rewriter) -> int:
    uses = 0
    if isinstance(node, list):
        for item in node:
            uses += _walk(item, rw)
        return uses
    if not isinstance(node, dict):
        return 0
    meta = rw.policy.allow_metadata
    cls, kind = node.get("class"), node.get("type")
    if cls == "FUNCTION":
        name = str(node.get("function_name", "")).lower()
        if str(node.get("schema", "")).lower() not in ("", "main") or str(node.get("catalog", "")).lower() not in ("", "system"):
            raise PolicyError(f"function {node.get('schema') or node.get('catalog')}.{name}(...) is not allowed here")
        if _denied(name) and not (meta and _metadata_function(name)):
            raise PolicyError(f"function {name}(...) is not allowed here: it reads outside the tables you may query")
    elif cls == "PARAMETER":
        if node.get("identifier") not in rw.params:
            raise PolicyError("the query may not use parameters or variables ($name, ?, @name)")
        if node.get("identifier") not in rw.query_params:
            uses += 1  # the policy's own (filters, masks): exactly as many as the rewrite put there
    elif cls is None and isinstance(kind, str) and "alias" in node and "query_location" in node:
        if kind == "BASE_TABLE":
            _check_base_table(node, rw)
        elif kind == "TABLE_FUNCTION":
            name = str((node.get("function") or {}).get("function_name", "")).lower()
            if not (name in ROW_GENERATORS or (meta and _metadata_function(name))):
                raise PolicyError(f"table function {name}(...) is not allowed: query the lake's tables by name")
        elif kind == "SHOW_REF":
            if not meta:
                raise PolicyError("DESCRIBE/SHOW/SUMMARIZE show the catalog's metadata and are for administrators only")
            if node.get("table_name"):
                raise PolicyError("SUMMARIZE/DESCRIBE of a table by name cannot be checked: use SUMMARIZE SELECT ...")
        elif kind not in _TABLE_REFS:
            raise PolicyError(f"the query could not be checked, so it does not run: {kind.lower()} is not supported")
    for value in node.values():
        if isinstance(value, (dict, list)):
            uses += _walk(value, rw)
    return uses


def _check_base_table(node: dict, rw: _Rewriter) -> None:
    catalog = str(node.get("catalog_name", "")).lower()
    schema = str(node.get("schema_name", "")).lower()
    table = str(node.get("table_name", "")).lower()
    if node.get("at_clause"):
        raise PolicyError("time travel (AT ...) is not allowed on governed tables")
    if (catalog, schema, table) in rw.sources:
        if str(node.get("alias", "")).lower() == rw.src_alias:
            return
    elif not catalog and not schema and table in rw.ctes:
        return
    elif rw.policy.allow_metadata and (schema in METADATA_SCHEMAS or (not schema and table.startswith("duckdb_"))) and table not in NEVER:
        return
    raise PolicyError("the query could not be checked, so it does not run: it reads a table outside the rewrite")


# -- errors ------------------------------------------------------------------------------

# Errors raised before any row is read (parsing, binding, the catalog): they cannot hold
# data. Every other kind is treated as one that may echo a value.
_STATIC_KINDS = ("Parser Error", "Binder Error", "Catalog Error", "Not implemented Error", "Syntax Error")
_KIND = re.compile(r"^\s*([A-Za-z ]*? Error):\s*")
_SPARK_CLASS = re.compile(r"^\s*\[([A-Z0-9_.]+)\]")
_SPARK_PREFIX = "Spark could not run the query: "  # engines/spark.py puts it before Spark's own message
_SPARK_STATIC = ("PARSE_SYNTAX_ERROR", "UNRESOLVED_", "AMBIGUOUS_", "DATATYPE_MISMATCH", "TABLE_OR_VIEW_NOT_FOUND",
                 "WRONG_NUM_ARGS", "MISSING_AGGREGATION", "UNRESOLVED_ROUTINE", "INVALID_PARAMETER_VALUE")
# Data errors whose wording is fixed: kept, with every quoted value and number replaced.
_KNOWN_DATA_MESSAGES = (
    "Could not convert", "invalid date field format", "invalid timestamp field format",
    "invalid time field format", "Type ", "Overflow in", "Malformed JSON", "Could not parse string",
    "Could not decode string", "Date out of range", "Unimplemented type for cast", "Division by zero",
)
# from the first quote to the last: a value may hold quotes of its own (O'Brien), which
# engines do not escape in their messages
_QUOTED = re.compile(r"'.*'|\".*\"")
_NUMBER = re.compile(r"(?<![A-Za-z_0-9])[-+]?\d+(?:[.:\-]\d+)*")
HIDDEN = "<value>"


def scrub_error(message: str) -> str:
    """An engine error as a non-admin principal may see it: values quoted in it (e.g.
    "Could not convert string 'alice@x.com' to INT32") replaced, so an error cannot echo a
    row the principal may not see; the error kind and the parts naming columns/functions
    kept. Errors of unknown wording keep only their kind."""
    text = str(message).strip()
    prefix = _SPARK_PREFIX if text.startswith(_SPARK_PREFIX) else ""
    spark = _SPARK_CLASS.match(text[len(prefix):])
    if spark:
        cls = spark.group(1)
        if cls.startswith(_SPARK_STATIC):
            return text.splitlines()[0]
        return f"{prefix}[{cls}] the query failed on a value (details hidden: they could show data you may not see)"
    m = _KIND.match(text)
    kind = m.group(1) if m else "Error"
    if kind in _STATIC_KINDS:
        return text
    body = text[m.end():] if m else text
    first = body.splitlines()[0] if body else ""
    if not first.startswith(_KNOWN_DATA_MESSAGES):
        return f"{kind}: the query failed on a value (details hidden: they could show data you may not see)"
    for marker in ("Input:", " according to format"):
        if marker in first:
            first = first[: first.index(marker)].rstrip()
    first = _QUOTED.sub(f"'{HIDDEN}'", first)
    first = _NUMBER.sub("N", first)
    return f"{kind}: {first}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
