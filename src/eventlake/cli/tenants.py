"""`eventlake tenants ...`: the organizations one lake serves, their storage model and
who may read their data."""

from __future__ import annotations

from typing import Optional

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from ..errors import EventlakeError
from .common import console, state

app = typer.Typer(help="Manage tenants (pool, bridge or silo storage) and the grants of their data to users and groups.", no_args_is_help=True)


def _print(rows: list[dict], columns: list[str], fmt: str, empty: str) -> None:
    if fmt not in ("table", "json"):
        raise EventlakeError(f"--format {fmt!r}: use table or json")
    if fmt == "json":
        print(orjson.dumps(rows, option=orjson.OPT_INDENT_2 | orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC).decode())
        return
    if not rows:
        console.print(empty)
        return
    t = Table(header_style="bold")
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*[escape("" if r.get(c) is None else str(r[c])) for c in columns])
    console.print(t)


def _grantee(user: Optional[str], group: Optional[str]) -> tuple[str, str]:
    if bool(user) == bool(group):
        raise EventlakeError("give exactly one of --user NAME or --group NAME")
    return ("user", user) if user else ("group", group)


@app.command("add")
def add(
    name: str = typer.Argument(..., help="Tenant name (lower-case letters, digits, '_'), e.g. acme."),
    model: str = typer.Option(..., "--model", help="Storage: pool (shared tables, tenant_id rows), bridge (a schema per tenant) or silo (a lake of its own)."),
) -> None:
    """Register a tenant and create its storage (a schema for bridge, a lake for silo)."""
    from ..governance.tenants import add_tenant

    t = add_tenant(state.lake(), name, model)
    where = {"pool": "rows with tenant_id = " + repr(t.name) + " in the shared tables",
             "bridge": f"schema {t.schema}", "silo": f"lake {state.lake().path / (t.silo_path or '')}"}[t.model]
    console.print(f"tenant [bold]{escape(t.name)}[/bold] added ({t.model}: {escape(where)})", soft_wrap=True)


@app.command("remove")
def remove(name: str = typer.Argument(..., help="Tenant to take out of service.")) -> None:
    """Take a tenant out of service: its grants end; its data is kept."""
    from ..governance.tenants import remove_tenant

    t = remove_tenant(state.lake(), name)
    console.print(f"tenant [bold]{escape(t.name)}[/bold] removed; its grants ended, its data is kept")


@app.command("grant")
def grant(
    tenant: str = typer.Argument(..., help="Tenant whose data is shared."),
    user: Optional[str] = typer.Option(None, "--user", help="Console user who gets the tenant's data."),
    group: Optional[str] = typer.Option(None, "--group", help="Group whose members get the tenant's data."),
) -> None:
    """Give a user or a group a tenant's data (they then see that tenant's data only)."""
    from ..governance.tenants import grant as do_grant

    kind, who = _grantee(user, group)
    g = do_grant(state.lake(), tenant, kind, who)
    console.print(f"{g.grantee_type} [bold]{escape(g.grantee)}[/bold] may read tenant {escape(g.tenant)}")


@app.command("revoke")
def revoke(
    tenant: str = typer.Argument(..., help="Tenant whose grant ends."),
    user: Optional[str] = typer.Option(None, "--user", help="Console user who loses the tenant's data."),
    group: Optional[str] = typer.Option(None, "--group", help="Group that loses the tenant's data."),
) -> None:
    """End a user's or a group's grant on a tenant."""
    from ..governance.tenants import revoke as do_revoke

    kind, who = _grantee(user, group)
    g = do_revoke(state.lake(), tenant, kind, who)
    console.print(f"{g.grantee_type} [bold]{escape(g.grantee)}[/bold] no longer reads tenant {escape(g.tenant)}")


@app.command("list")
def list_(format: str = typer.Option("table", "--format", "-f", help="Output format: table or json.")) -> None:
    """Tenants with model, where their data lives, objects and consumers (like SVV_DATASHARES)."""
    from ..governance.tenants import shares

    _print(shares(state.lake()), ["tenant", "model", "location", "objects", "consumers", "created_at"], format,
           "no tenants (add one with `eventlake tenants add NAME --model pool|bridge|silo`)")


@app.command("objects")
def objects(
    tenant: Optional[str] = typer.Argument(None, help="Only this tenant's objects."),
    format: str = typer.Option("table", "--format", "-f", help="Output format: table or json."),
) -> None:
    """The tables holding each tenant's data (like SVV_DATASHARE_OBJECTS)."""
    from ..governance.tenants import share_objects

    rows = [r for r in share_objects(state.lake()) if tenant is None or r["tenant"] == tenant]
    _print(rows, ["tenant", "model", "object"], format, "no shared objects")


@app.command("consumers")
def consumers(
    tenant: Optional[str] = typer.Argument(None, help="Only this tenant's consumers."),
    format: str = typer.Option("table", "--format", "-f", help="Output format: table or json."),
) -> None:
    """Who may read each tenant's data: users and groups (like SVV_DATASHARE_CONSUMERS)."""
    from ..governance.tenants import share_consumers

    rows = [r for r in share_consumers(state.lake()) if tenant is None or r["tenant"] == tenant]
    _print(rows, ["tenant", "grantee_type", "grantee", "granted_at"], format, "no grants")
