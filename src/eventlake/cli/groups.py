"""`eventlake groups ...`: groups of console users, named by column policies (the groups
that see a masked column's real value) and tenant grants."""

from __future__ import annotations

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from ..errors import EventlakeError
from .common import console, state

app = typer.Typer(help="Manage groups of console users (e.g. pii_readers, who see masked columns unmasked).", no_args_is_help=True)


@app.command("add")
def add(
    name: str = typer.Argument(..., help="Group name: letters, digits, '.', '_' or '-'."),
    description: str = typer.Option("", "--description", help="What the group is for (shown by `groups list`)."),
) -> None:
    """Create a group; put users in it with `groups add-member` or `users add --group`."""
    from ..governance.groups import add_group

    g = add_group(state.lake(), name, description)
    console.print(f"group [bold]{escape(g.name)}[/bold] added")


@app.command("list")
def list_groups(format: str = typer.Option("table", "--format", "-f", help="Output format: table or json.")) -> None:
    """List groups with their description and members."""
    from ..governance.groups import load_groups

    if format not in ("table", "json"):
        raise EventlakeError(f"--format {format!r}: use table or json")
    groups, members = load_groups(state.lake())
    rows = [{"name": g.name, "description": g.description, "members": [m.user for m in members if m.group == g.name],
             "updated_at": g.updated_at.isoformat() if g.updated_at else None} for g in groups]
    if format == "json":
        print(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    if not rows:
        console.print("no groups (create one with `eventlake groups add NAME`)", soft_wrap=True)
        return
    t = Table(header_style="bold")
    for c in ("name", "description", "members", "updated_at"):
        t.add_column(c)
    for r in rows:
        t.add_row(escape(r["name"]), escape(r["description"]), escape(", ".join(r["members"])), r["updated_at"] or "")
    console.print(t)


@app.command("add-member")
def add_member(
    group: str = typer.Argument(..., help="The group."),
    user: str = typer.Argument(..., help="The console user to put in it."),
) -> None:
    """Put a console user in a group (nothing changes if they are in it already)."""
    from ..governance.groups import add_member as do_add

    added = do_add(state.lake(), group, user)
    console.print(f"{escape(user)} {'added to' if added else 'is already in'} group {escape(group)}", soft_wrap=True)


@app.command("remove-member")
def remove_member(
    group: str = typer.Argument(..., help="The group."),
    user: str = typer.Argument(..., help="The console user to take out of it."),
) -> None:
    """Take a console user out of a group."""
    from ..governance.groups import remove_member as do_remove

    do_remove(state.lake(), group, user)
    console.print(f"{escape(user)} removed from group {escape(group)}", soft_wrap=True)
