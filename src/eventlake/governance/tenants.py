"""Tenants: the customer organizations one lake serves, each in one of three storage
models, and who may read each tenant's data.

- pool: the shared tables; a tenant's rows are those whose `tenant_id` is the tenant's
  name, and a tenant principal's queries see only those rows (a table without a
  `tenant_id` column holds no tenant's rows);
- bridge: a schema of the lake per tenant (`tenant_<name>`), with the same tables;
- silo: a lake of its own (`<lake>/tenants/<name>/`: its own catalog and data files).

Stored append-only in the lake (`tenants`, `tenant_grants`; the latest row per key
wins). A grant gives a user or a group a tenant's data; a principal holding grants is a
tenant principal and sees the granted tenants' data only. `shares()`, `share_objects()`
and `share_consumers()` list them like a warehouse's datashare system views."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb

from ..errors import EventlakeError
from ..lake import Lake
from ..lake.appendonly import latest_rows, read_with, stamp_after as _now_after
from ..lake.catalog import ALIAS
from . import audit
from ..lake.schema import TABLES, TENANT_GRANTS, TENANTS
from ..lake.tenancy import TENANT_COLUMN

MODELS = ("pool", "bridge", "silo")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# tables about the lake itself, never a tenant's: principals, policies, the console's usage
GLOBAL_TABLES = frozenset({
    "console_users", "api_tokens", "console_events", "collector_sources", "tenants", "tenant_grants",
    "principal_groups", "group_members", "column_policies", "audit_events",
})


class TenantError(EventlakeError):
    """A tenant is unknown, exists already, or was given invalid settings."""


@dataclass(frozen=True)
class Tenant:
    name: str
    model: str
    schema: str | None = None  # bridge: the lake schema holding the tenant's tables
    silo_path: str | None = None  # silo: the tenant's lake, relative to this lake's folder
    removed: bool = False
    updated_at: dt.datetime | None = None

    def silo(self, lake: Lake) -> Lake:
        if self.model != "silo" or not self.silo_path:
            raise TenantError(f"tenant {self.name!r} is not a silo tenant")
        return Lake(lake.path / self.silo_path, memory_limit=lake.memory_limit, threads=lake.threads)


@dataclass(frozen=True)
class Grant:
    tenant: str
    grantee_type: str  # user | group
    grantee: str
    revoked: bool = False
    updated_at: dt.datetime | None = None


def tenant_tables() -> list[str]:
    """The tables a bridge schema or a silo lake holds: every table but the lake's own."""
    return [n for n in TABLES if n not in GLOBAL_TABLES]


def check_name(name: str) -> str:
    if not NAME_RE.match(name or ""):
        raise TenantError(f"tenant name {name!r} is invalid: use 1-40 lower-case letters, digits or '_', starting with a letter")
    return name


# --- reading -----------------------------------------------------------------------



def read_tenants(con: duckdb.DuckDBPyConnection, include_removed: bool = False) -> list[Tenant]:
    rows = latest_rows(con, TENANTS.name, ("name", "model", "schema_name", "silo_path", "removed", "updated_at"), ("name",))
    out = [Tenant(r[0], r[1], r[2], r[3], bool(r[4]), r[5]) for r in rows]
    return out if include_removed else [t for t in out if not t.removed]


def read_grants(con: duckdb.DuckDBPyConnection) -> list[Grant]:
    """Grants in effect (revoked ones left out), by tenant."""
    rows = latest_rows(con, TENANT_GRANTS.name, ("tenant", "grantee_type", "grantee", "revoked", "updated_at"),
                       ("tenant", "grantee_type", "grantee"))
    return [Grant(r[0], r[1], r[2], bool(r[3]), r[4]) for r in rows if not r[3]]


def load_tenants(lake: Lake) -> list[Tenant]:
    return read_with(lake, read_tenants, [])


def load_grants(lake: Lake) -> list[Grant]:
    return read_with(lake, read_grants, [])


def get_tenant(lake: Lake, name: str) -> Tenant:
    for t in load_tenants(lake):
        if t.name == name:
            return t
    raise TenantError(f"no tenant named {name!r} (see `eventlake tenants list`)")


@dataclass(frozen=True)
class TenantTarget:
    """Where a tenant's data is written: `lake` is the lake itself (pool), its schema of
    the lake (bridge) or its own lake (silo), and holds the ingest bookkeeping of what
    is written there; `tenant_id` is what a pool tenant's rows carry in the tenant
    column of the shared tables (None for bridge and silo: all of `lake` is theirs)."""

    tenant: Tenant
    lake: Lake
    tenant_id: str | None

    def describe(self) -> str:
        where = {"pool": f"shared tables, {TENANT_COLUMN} = '{self.tenant.name}'", "bridge": f"schema {self.tenant.schema}",
                 "silo": f"its lake {self.lake.path}"}[self.tenant.model]
        return f"tenant {self.tenant.name} ({self.tenant.model}: {where})"


def tenant_target(lake: Lake, name: str) -> TenantTarget:
    """Where the tenant `name` of `lake` gets its data; TenantError when no tenant of
    that name is in service (never made, or removed)."""
    found = next((t for t in read_with(lake, lambda con: read_tenants(con, include_removed=True), []) if t.name == name), None)
    if found is None:
        raise TenantError(f"no tenant named {name!r} (see `eventlake tenants list`)")
    if found.removed:
        raise TenantError(f"tenant {name!r} was removed: its data is no longer written (see `eventlake tenants list`)")
    if found.model == "pool":
        return TenantTarget(found, lake, found.name)
    if found.model == "bridge":
        return TenantTarget(found, lake.in_schema(found.schema), None)
    return TenantTarget(found, found.silo(lake), None)


def tenants_of(grants: list[Grant], user: str, groups: frozenset[str] | set[str] = frozenset()) -> frozenset[str]:
    """The tenants whose data `user` (a member of `groups`) may read."""
    return frozenset(g.tenant for g in grants if (g.grantee_type == "user" and g.grantee == user)
                     or (g.grantee_type == "group" and g.grantee in groups))


# --- writing -----------------------------------------------------------------------



def _write_tenant(con, t: Tenant) -> Tenant:
    t = replace(t, updated_at=_now_after(t.updated_at))
    con.execute(
        f'INSERT INTO {ALIAS}."{TENANTS.name}" (name, model, schema_name, silo_path, removed, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
        [t.name, t.model, t.schema, t.silo_path, t.removed, t.updated_at],
    )
    audit.change(con, "tenant_remove" if t.removed else "tenant_add", t.name, model=t.model)
    return t


def _create_tables(con: duckdb.DuckDBPyConnection, schema: str) -> None:
    """The tenant tables in `schema` of the attached lake (bridge model)."""
    con.execute(f'CREATE SCHEMA IF NOT EXISTS {ALIAS}."{schema}"')
    existing = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_schema = ?", [ALIAS, schema]).fetchall()}
    for name in tenant_tables():
        if name in existing:
            continue
        t = TABLES[name]
        con.execute(t.ddl(f'{ALIAS}."{schema}"'))
        if t.partition_by:
            cols = ", ".join(f'"{c}"' for c in t.partition_by)
            con.execute(f'ALTER TABLE {ALIAS}."{schema}"."{t.name}" SET PARTITIONED BY ({cols})')


def add_tenant(lake: Lake, name: str, model: str) -> Tenant:
    """Register a tenant and make its storage: nothing for pool, a schema with every tenant
    table for bridge, a lake of its own for silo."""
    check_name(name)
    if model not in MODELS:
        raise TenantError(f"storage model {model!r} is unknown: use pool, bridge or silo")
    with lake.writing([TENANTS.name, TENANT_GRANTS.name]) as con:
        prev = next((t for t in read_tenants(con, include_removed=True) if t.name == name), None)
        if prev is not None and not prev.removed:
            raise TenantError(f"tenant {name!r} exists already ({prev.model})")
        tenant = Tenant(name, model, f"tenant_{name}" if model == "bridge" else None,
                        f"tenants/{name}" if model == "silo" else None, False, prev.updated_at if prev else None)
        if model == "silo":
            silo = tenant.silo(lake)
            scon = silo.connect(create=True)
            try:
                silo.ensure_tables(scon, tenant_tables())
            finally:
                scon.close()
        with lake.transaction(con):
            if model == "bridge":
                _create_tables(con, tenant.schema)
            tenant = _write_tenant(con, tenant)
    return tenant


def remove_tenant(lake: Lake, name: str) -> Tenant:
    """Take a tenant out of service: its grants stop; its data stays where it is (a bridge
    schema or a silo lake is never deleted by this)."""
    with lake.writing([TENANTS.name, TENANT_GRANTS.name]) as con:
        prev = next((t for t in read_tenants(con) if t.name == name), None)
        if prev is None:
            raise TenantError(f"no tenant named {name!r} (see `eventlake tenants list`)")
        with lake.transaction(con):
            t = _write_tenant(con, replace(prev, removed=True))
            for g in read_grants(con):
                if g.tenant == name:
                    _write_grant(con, replace(g, revoked=True))
    return t


def _write_grant(con, g: Grant) -> Grant:
    g = replace(g, updated_at=_now_after(g.updated_at))
    con.execute(
        f'INSERT INTO {ALIAS}."{TENANT_GRANTS.name}" (tenant, grantee_type, grantee, revoked, updated_at) VALUES (?, ?, ?, ?, ?)',
        [g.tenant, g.grantee_type, g.grantee, g.revoked, g.updated_at],
    )
    audit.change(con, "revoke" if g.revoked else "grant", g.tenant, grantee_type=g.grantee_type, grantee=g.grantee)
    return g


def grant(lake: Lake, tenant: str, grantee_type: str, grantee: str) -> Grant:
    """Give a user or a group the tenant's data (idempotent)."""
    if grantee_type not in ("user", "group"):
        raise TenantError(f"grantee type {grantee_type!r}: use user or group")
    with lake.writing([TENANTS.name, TENANT_GRANTS.name]) as con:
        if not any(t.name == tenant for t in read_tenants(con)):
            raise TenantError(f"no tenant named {tenant!r} (see `eventlake tenants list`)")
        current = next((g for g in read_grants(con) if (g.tenant, g.grantee_type, g.grantee) == (tenant, grantee_type, grantee)), None)
        if current is not None:
            return current
        with lake.transaction(con):
            return _write_grant(con, Grant(tenant, grantee_type, grantee))


def revoke(lake: Lake, tenant: str, grantee_type: str, grantee: str) -> Grant:
    with lake.writing([TENANTS.name, TENANT_GRANTS.name]) as con:
        current = next((g for g in read_grants(con) if (g.tenant, g.grantee_type, g.grantee) == (tenant, grantee_type, grantee)), None)
        if current is None:
            raise TenantError(f"{grantee_type} {grantee!r} holds no grant on tenant {tenant!r}")
        with lake.transaction(con):
            return _write_grant(con, replace(current, revoked=True))


# --- the datashare views -----------------------------------------------------------


def shares(lake: Lake) -> list[dict]:
    """One row per tenant: name, model, where its data lives, objects and consumers."""
    tenants, grants = load_tenants(lake), load_grants(lake)
    objects = share_objects(lake, tenants)
    out = []
    for t in tenants:
        out.append({
            "tenant": t.name,
            "model": t.model,
            "location": {"pool": f"shared tables, rows with {TENANT_COLUMN} = '{t.name}'",
                         "bridge": f"schema {t.schema}", "silo": str(Path(lake.path) / (t.silo_path or ""))}[t.model],
            "objects": sum(1 for o in objects if o["tenant"] == t.name),
            "consumers": sum(1 for g in grants if g.tenant == t.name),
            "created_at": t.updated_at,
        })
    return out


def share_objects(lake: Lake, tenants: list[Tenant] | None = None) -> list[dict]:
    """The tables holding each tenant's data: (tenant, model, object)."""
    tenants = load_tenants(lake) if tenants is None else tenants
    if not tenants or not lake.exists():
        return []
    con = lake.connect(read_only=True)
    try:
        cols = con.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns WHERE table_catalog = ?", [ALIAS]
        ).fetchall()
    finally:
        con.close()
    pooled = sorted({t for s, t, c in cols if s == "main" and c == TENANT_COLUMN and t not in GLOBAL_TABLES})
    by_schema: dict[str, list[str]] = {}
    for s, t, _ in cols:
        by_schema.setdefault(s, [])
        if t not in by_schema[s]:
            by_schema[s].append(t)
    out = []
    for t in tenants:
        if t.model == "pool":
            names = [f"main.{n}" for n in pooled]
        elif t.model == "bridge":
            names = [f"{t.schema}.{n}" for n in sorted(by_schema.get(t.schema or "", []))]
        else:
            names = [f"{t.silo_path}:{n}" for n in tenant_tables()]
        out.extend({"tenant": t.name, "model": t.model, "object": n} for n in names)
    return out


def share_consumers(lake: Lake) -> list[dict]:
    return [{"tenant": g.tenant, "grantee_type": g.grantee_type, "grantee": g.grantee, "granted_at": g.updated_at}
            for g in load_grants(lake)]
