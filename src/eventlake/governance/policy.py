"""A principal's policy: which tables they may read, which rows, and which columns
masked — built from their groups, their tenants' grants and the column policies, for
the rewrite (rewrite.py) to apply to every query they run.

- A tenant principal (a user holding grants, directly or through a group) sees only the
  granted tenants' data: for a pool tenant, the rows of the shared tables whose
  `tenant_id` is one of theirs (tables without that column do not exist for them); for a
  bridge tenant, the tables of its schema; for a silo tenant, its own lake (queried
  alone: a principal granted a silo tenant and another tenant is refused).
- Anyone else (the provider's or organization's own people) sees every data table.
- Nobody reads the tables of credentials and governance through a query.
- Column masks apply to everyone outside the policy's `except_groups`.

The local admin (the CLI without a token) runs without a policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from ..errors import EventlakeError
from ..lake import Lake
from ..lake.catalog import ALIAS
from .rewrite import Mask, Policy, TablePolicy
from .tenants import GLOBAL_TABLES, TENANT_COLUMN, Tenant, read_grants, read_tenants, tenants_of


class AccessError(EventlakeError):
    """A principal's grants cannot be served as asked (e.g. a silo tenant with others)."""


@dataclass(frozen=True)
class Scope:
    """Where a principal's queries run: the lake to open (a silo tenant's own lake, a
    bridge tenant's schema of the lake, else the lake) and the policy applied there."""

    lake: Lake
    policy: Policy


def _columns(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[tuple[str, str]]]:
    rows = con.execute(
        "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = ? ORDER BY table_schema, table_name, ordinal_position", [ALIAS]
    ).fetchall()
    out: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, col, typ in rows:
        out.setdefault((schema, table), []).append((col, typ))
    return out


def salt_for(lake: Lake) -> str:
    """The salt of hash masks: per lake, stable (so masked values still join), never
    shown; kept beside the session key."""
    path = lake.path / "console" / "mask.salt"
    if path.exists():
        return path.read_text().strip()
    import os
    import secrets

    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w") as fh:
        fh.write(value)
    path.with_suffix(".tmp").replace(path)
    return value


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _masks(table: str, groups: frozenset[str], policies: dict[str, dict[str, Any]]) -> dict[str, Mask]:
    out = {}
    for col, p in policies.get(table, {}).items():
        if not getattr(p, "mask", None):
            continue
        if groups & frozenset(p.except_groups or ()):
            continue
        out[col] = Mask(p.mask, p.mask_sql if p.mask == "sql" else None)
    return out


def build_scope(lake: Lake, con: duckdb.DuckDBPyConnection, user: str, groups: frozenset[str],
                column_policies: dict[str, dict[str, Any]]) -> Scope:
    """The scope of `user` (member of `groups`), read through `con` (a connection to `lake`)."""
    tenants = {t.name: t for t in read_tenants(con)}
    granted = sorted(tenants_of(read_grants(con), user, groups) & set(tenants))
    params: dict[str, Any] = {"__salt": salt_for(lake)}
    if not granted:
        cols = _columns(con)
        tables = {
            name: TablePolicy(f'{ALIAS}.main.{_q(name)}', tuple(c), None, _masks(name, groups, column_policies))
            for (schema, name), c in cols.items() if schema == "main" and name not in GLOBAL_TABLES
        }
        return Scope(lake, Policy(user, tables, params))
    chosen: list[Tenant] = [tenants[n] for n in granted]
    silos = [t for t in chosen if t.model == "silo"]
    if silos:
        if len(chosen) > 1:
            raise AccessError(
                f"{user} is granted the silo tenant {silos[0].name!r} and {len(chosen) - 1} other tenant(s): "
                "a silo tenant's data is queried on its own; ask for a principal per silo tenant"
            )
        silo = silos[0].silo(lake)
        scon = silo.connect(read_only=True)
        try:
            cols = _columns(scon)
        finally:
            scon.close()
        tables = {
            name: TablePolicy(f'{ALIAS}.main.{_q(name)}', tuple(c), None, _masks(name, groups, column_policies))
            for (schema, name), c in cols.items() if schema == "main" and name not in GLOBAL_TABLES
        }
        return Scope(silo, Policy(user, tables, params))
    cols = _columns(con)
    pool = [t.name for t in chosen if t.model == "pool"]
    bridges = [t for t in chosen if t.model == "bridge"]
    if bridges and (pool or len(bridges) > 1):
        raise AccessError(
            f"{user} is granted the bridge tenant {bridges[0].name!r} and {len(chosen) - 1} other tenant(s): "
            "a bridge tenant's schema is queried on its own; ask for a principal per bridge tenant"
        )
    tables: dict[str, TablePolicy] = {}
    for (schema, name), c in sorted(cols.items()):
        if name in GLOBAL_TABLES:
            continue
        if pool and schema == "main" and any(col == TENANT_COLUMN for col, _ in c):
            tables[name] = TablePolicy(f"{ALIAS}.main.{_q(name)}", tuple(c), f"list_contains($__tenants, {TENANT_COLUMN})",
                                       _masks(name, groups, column_policies))
        elif bridges and schema == bridges[0].schema:
            tables[name] = TablePolicy(f"{ALIAS}.{_q(schema)}.{_q(name)}", tuple(c), None, _masks(name, groups, column_policies))
    if pool:
        params["__tenants"] = pool
    return Scope(lake.in_schema(bridges[0].schema) if bridges else lake, Policy(user, tables, params))
