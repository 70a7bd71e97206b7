"""Checking a query written by a person (the console's SQL editor and SQL API) before it
runs: it may read the lake's tables by name and nothing else.

The query connection is already read-only and confined to the lake's folder (see
duckdb.py); inside that folder it could still read files directly (`read_parquet`,
`sqlite_scan` of the catalog, `FROM 'path.parquet'`) and so the tables that hold
secrets. This check parses the query with sqlglot and refuses, with a reason:

- table functions (`read_parquet(...)`, `sqlite_scan(...)`, `query_table(...)`,
  `duckdb_settings()`, ...), except the row generators `range` and `generate_series`;
- names that are not lake tables or the query's own CTEs (a file path in FROM is such a
  name), and other catalogs than the lake;
- the tables of secrets (`console_users`, `api_tokens`: password and token hashes);
- anything sqlglot cannot parse: what cannot be checked does not run.

`information_schema` stays readable (it names tables and columns, no data)."""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from ..errors import QueryError

SECRET_TABLES = frozenset({"console_users", "api_tokens"})
ROW_GENERATORS = (exp.GenerateSeries,)
_METADATA_SCHEMAS = frozenset({"information_schema", "pg_catalog"})


def check_query(sql: str, tables: set[str] | frozenset[str], secret: frozenset[str] = SECRET_TABLES) -> None:
    """Raise QueryError unless `sql` reads only the lake tables `tables` (minus `secret`)."""
    try:
        trees = [t for t in sqlglot.parse(sql, read="duckdb") if t is not None]
    except sqlglot.errors.ParseError as exc:
        first = exc.errors[0]["description"] if exc.errors else str(exc)
        raise QueryError(f"the query could not be checked, so it does not run: {first}") from None
    own = {cte.alias_or_name.lower() for tree in trees for cte in tree.find_all(exp.CTE)}
    known = {t.lower() for t in tables}
    for tree in trees:
        for table in tree.find_all(exp.Table):
            target = table.this
            if not isinstance(target, exp.Identifier):
                if isinstance(target, ROW_GENERATORS):
                    continue
                if isinstance(target, exp.Anonymous):
                    name = str(target.name).lower()
                elif isinstance(target, exp.Func):
                    name = target.sql_name().lower()
                else:
                    name = target.sql(dialect="duckdb")[:60]
                raise QueryError(
                    f"table function {name}(...) is not allowed here: query the lake's tables by name"
                )
            name, schema, catalog = table.name.lower(), table.db.lower(), table.catalog.lower()
            if name in secret:  # even behind a CTE of the same name (which would read the table)
                raise QueryError(f"table {table.name!r} holds credentials and cannot be read from here")
            if not catalog and schema == "lake":  # lake.table: the catalog's default schema
                catalog, schema = "lake", ""
            if catalog not in ("", "lake"):
                raise QueryError(f"catalog {table.catalog!r} is not allowed here: only the lake's tables can be read")
            if schema in _METADATA_SCHEMAS and not catalog:
                continue
            if schema not in ("", "main"):
                raise QueryError(f"schema {table.db!r} is not allowed here: only the lake's tables can be read")
            if not schema and not catalog and name in own:
                continue
            if name not in known:
                raise QueryError(f"no lake table named {table.name!r} (files and other sources cannot be read from here)")
