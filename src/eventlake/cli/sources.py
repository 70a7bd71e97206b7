"""`eventlake sources ...`: the collector's sources and their write keys."""

from __future__ import annotations

from typing import List, Optional

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from ..collect.sources import add_source, load_sources, revoke_source, update_source
from ..errors import EventlakeError
from .common import console, err_console, state

app = typer.Typer(
    help="Manage the event collector's sources: write keys, sites, allowlists and privacy options.",
    no_args_is_help=True,
)


def _fmt_list(values) -> str:
    if values is None:
        return "(any)"
    return ", ".join(values) if values else "-"


@app.command("add")
def add(
    name: str = typer.Argument(..., help="Source name, e.g. web or backend (letters, digits, '.', '_', '-')."),
    site: Optional[List[str]] = typer.Option(None, "--site", help="Host whose pages may send with this key (repeatable); none: any."),
    allow_event: Optional[List[str]] = typer.Option(None, "--allow-event", help="Keep only track events with this name (repeatable); none: every event."),
    allow_property: Optional[List[str]] = typer.Option(None, "--allow-property", help="Keep only properties with this name (repeatable); none: every property."),
    allow_query: Optional[List[str]] = typer.Option(None, "--allow-query", help="URL query parameter kept in stored URLs besides utm_* (repeatable)."),
    keep_ip: bool = typer.Option(False, "--keep-ip", help="Store the client IP address (by default it is dropped after the country lookup)."),
    collector_host: Optional[str] = typer.Option(None, "--collector-host", help="Host serving the collector, for the snippet tag (default: the first --site)."),
    tenant: Optional[str] = typer.Option(None, "--tenant", help="Load this source's events into the tenant's storage (see `eventlake tenants list`)."),
) -> None:
    """Create a source with a new write key; the key is printed once and only its hash is stored."""
    lake = state.lake()
    src, key = add_source(
        lake,
        name,
        sites=site or (),
        event_allowlist=allow_event or None,
        property_allowlist=allow_property or None,
        query_allowlist=allow_query or (),
        keep_ip=keep_ip,
        tenant=tenant,
    )
    console.print(f"source [bold]{escape(src.name)}[/bold] created (key id {src.key_id}"
                  + (f", events go to tenant {escape(src.tenant)}" if src.tenant else "") + ")")
    console.print("write key (shown only now, it is not stored; keep it safe):")
    print(key)
    console.print("page-view snippet:")
    print(src.snippet(key, collector_host))
    if not collector_host and not src.sites:
        err_console.print("note: replace COLLECTOR_HOST with the host that serves the collector (or use --collector-host)")


@app.command("list")
def list_(
    format: str = typer.Option("table", "--format", "-f", help="Output format: table or json."),
) -> None:
    """List sources with key id, sites, allowlists and status (never the keys)."""
    if format not in ("table", "json"):
        raise EventlakeError(f"--format {format!r}: use table or json")
    sources = load_sources(state.lake())
    if format == "json":
        rows = [
            {
                "name": s.name,
                "key_id": s.key_id,
                "sites": list(s.sites),
                "event_allowlist": None if s.event_allowlist is None else list(s.event_allowlist),
                "property_allowlist": None if s.property_allowlist is None else list(s.property_allowlist),
                "query_allowlist": list(s.query_allowlist),
                "keep_ip": s.keep_ip,
                "tenant": s.tenant,
                "revoked": s.revoked,
                "updated_at": s.updated_at.isoformat() if s.updated_at else None,
            }
            for s in sources
        ]
        print(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    if not sources:
        console.print("no collector sources (create one with `eventlake sources add NAME`)")
        return
    t = Table(header_style="bold")
    for c in ("name", "key id", "status", "tenant", "sites", "events", "properties", "query params", "ip", "updated"):
        t.add_column(c, no_wrap=c in ("name", "key id", "status", "tenant", "updated"))
    for s in sources:
        t.add_row(
            escape(s.name),
            s.key_id,
            "revoked" if s.revoked else "active",
            escape(s.tenant or "-"),
            escape(_fmt_list(s.sites) if s.sites else "(any)"),
            escape(_fmt_list(s.event_allowlist)),
            escape(_fmt_list(s.property_allowlist)),
            escape("utm_*" + (", " + ", ".join(s.query_allowlist) if s.query_allowlist else "")),
            "kept" if s.keep_ip else "dropped",
            s.updated_at.strftime("%Y-%m-%d %H:%M:%S") if s.updated_at else "",
        )
    console.print(t)


@app.command("revoke")
def revoke(name: str = typer.Argument(..., help="Source whose write key stops working.")) -> None:
    """Revoke a source's write key: the collector answers 401 to it within seconds."""
    src = revoke_source(state.lake(), name)
    console.print(f"source [bold]{escape(src.name)}[/bold] revoked (key id {src.key_id})")


@app.command("set")
def set_(
    name: str = typer.Argument(..., help="Source to change."),
    site: Optional[List[str]] = typer.Option(None, "--site", help="Replace the registered sites with these hosts (repeatable)."),
    no_sites: bool = typer.Option(False, "--no-sites", help="Remove every registered site (pages on any host may send)."),
    allow_event: Optional[List[str]] = typer.Option(None, "--allow-event", help="Replace the event allowlist (repeatable)."),
    any_event: bool = typer.Option(False, "--any-event", help="Remove the event allowlist: keep every track event."),
    allow_property: Optional[List[str]] = typer.Option(None, "--allow-property", help="Replace the property allowlist (repeatable)."),
    any_property: bool = typer.Option(False, "--any-property", help="Remove the property allowlist: keep every property."),
    allow_query: Optional[List[str]] = typer.Option(None, "--allow-query", help="Replace the kept URL query parameters (repeatable)."),
    no_query: bool = typer.Option(False, "--no-query", help="Keep no URL query parameter but utm_*."),
    keep_ip: Optional[bool] = typer.Option(None, "--keep-ip/--drop-ip", help="Store the client IP, or drop it (default)."),
    tenant: Optional[str] = typer.Option(None, "--tenant", help="Load the events received from now on into this tenant's storage."),
    no_tenant: bool = typer.Option(False, "--no-tenant", help="Load the events received from now on into the lake's own tables."),
) -> None:
    """Change a source's sites, allowlists, IP option or tenant; the write key stays the same."""
    changes = {}
    for given, clear, key, opt in (
        (site, no_sites, "sites", "--site"),
        (allow_event, any_event, "event_allowlist", "--allow-event"),
        (allow_property, any_property, "property_allowlist", "--allow-property"),
        (allow_query, no_query, "query_allowlist", "--allow-query"),
    ):
        if given and clear:
            raise EventlakeError(f"{opt} and its clearing option contradict each other: give one of them")
        if given:
            changes[key] = list(given)
        elif clear:
            changes[key] = () if key in ("sites", "query_allowlist") else None
    if keep_ip is not None:
        changes["keep_ip"] = keep_ip
    if tenant and no_tenant:
        raise EventlakeError("--tenant and --no-tenant contradict each other: give one of them")
    if tenant or no_tenant:
        changes["tenant"] = tenant or None
    src = update_source(state.lake(), name, **changes)
    console.print(
        f"source [bold]{escape(src.name)}[/bold] updated: sites {escape(_fmt_list(src.sites) if src.sites else '(any)')}; "
        f"events {escape(_fmt_list(src.event_allowlist))}; properties {escape(_fmt_list(src.property_allowlist))}; "
        f"query params utm_*{escape(''.join(', ' + q for q in src.query_allowlist))}; ip {'kept' if src.keep_ip else 'dropped'}"
        + (f"; tenant {escape(src.tenant)}" if src.tenant else "")
    )
