"""`eventlake users ...` and `eventlake tokens ...`: who may use the web console and
its API."""

from __future__ import annotations

import getpass
import sys
from typing import Optional

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from ..errors import EventlakeError
from .common import console, state

users_app = typer.Typer(help="Manage web console users: add, list, change role or password, disable.", no_args_is_help=True)
tokens_app = typer.Typer(help="Manage API tokens (Authorization: Bearer) of console users.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
    app.add_typer(tokens_app, name="tokens")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise EventlakeError("--password-stdin: nothing on standard input")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise EventlakeError("no terminal to read the password from: pipe it in with --password-stdin")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise EventlakeError("the two passwords differ")
    return first


@users_app.command("add")
def add(
    name: str = typer.Argument(..., help="User name to sign in with."),
    role: str = typer.Option("reader", "--role", help="reader (pages and saved queries), author (and the SQL editor) or admin (and raw quarantined records)."),
    email: Optional[str] = typer.Option(None, "--email", help="E-mail address (used by the admin console's mailto links)."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from the first line of standard input instead of the terminal."),
    group: Optional[list[str]] = typer.Option(None, "--group", help="Put the user in this group (repeatable; the group must exist, see `eventlake groups add`)."),
) -> None:
    """Create a console user; the password is stored as an Argon2 hash only."""
    from ..web.principals import add_user, check_name, check_role

    check_name(name)
    check_role(role)
    if group:  # before asking for the password
        from ..governance.groups import GroupError, load_groups

        known = {g.name for g in load_groups(state.lake())[0]}
        for g in group:
            if g not in known:
                raise GroupError(f"no group named {g!r} (create it with `eventlake groups add {g}`)")
    user = add_user(state.lake(), name, _read_password(password_stdin), role=role, email=email, groups=group or [])
    in_groups = f", groups: {', '.join(sorted(user.groups))}" if user.groups else ""
    console.print(f"user [bold]{escape(user.name)}[/bold] added ({user.role}{escape(in_groups)})", soft_wrap=True)


@users_app.command("set")
def set_(
    name: str = typer.Argument(..., help="User to change."),
    role: Optional[str] = typer.Option(None, "--role", help="New role: reader, author or admin."),
    email: Optional[str] = typer.Option(None, "--email", help="New e-mail address ('' removes it)."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Set a new password, read from standard input."),
    password: bool = typer.Option(False, "--password", help="Set a new password, read from the terminal."),
    disabled: Optional[bool] = typer.Option(None, "--disable/--enable", help="Disable the user (sign-in and their tokens stop working) or enable them again."),
    group: Optional[list[str]] = typer.Option(None, "--group", help="Put the user in this group (repeatable)."),
    no_group: Optional[list[str]] = typer.Option(None, "--no-group", help="Take the user out of this group (repeatable)."),
) -> None:
    """Change a user's role, e-mail, password, disabled flag or groups."""
    from ..web.principals import update_user

    new_password = _read_password(password_stdin) if (password or password_stdin) else None
    user = update_user(state.lake(), name, password=new_password, role=role, email=email, disabled=disabled,
                       add_groups=group or [], remove_groups=no_group or [])
    in_groups = f", groups: {', '.join(sorted(user.groups)) or 'none'}" if (group or no_group) else ""
    console.print(f"user [bold]{escape(user.name)}[/bold] updated: {user.role}, {'disabled' if user.disabled else 'active'}{escape(in_groups or '')}", soft_wrap=True)


@users_app.command("list")
def list_users(format: str = typer.Option("table", "--format", "-f", help="Output format: table or json.")) -> None:
    """List console users (never their password hashes)."""
    from ..web.principals import load_principals

    if format not in ("table", "json"):
        raise EventlakeError(f"--format {format!r}: use table or json")
    users, tokens = load_principals(state.lake())
    active_tokens = {}
    for t in tokens:
        if not t.revoked:
            active_tokens[t.user_name] = active_tokens.get(t.user_name, 0) + 1
    rows = [{"name": u.name, "role": u.role, "email": u.email, "status": "disabled" if u.disabled else "active",
             "groups": sorted(u.groups), "tokens": active_tokens.get(u.name, 0),
             "updated_at": u.updated_at.isoformat() if u.updated_at else None} for u in users]
    if format == "json":
        print(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    if not rows:
        console.print("no console users (create one with `eventlake users add NAME`)")
        return
    t = Table(header_style="bold")
    cols = ("name", "role", "email", "status", "groups", "tokens", "updated_at")
    for c in cols:
        t.add_column(c)
    for r in rows:
        t.add_row(*[escape(", ".join(r[c]) if c == "groups" else str(r[c] if r[c] is not None else "")) for c in cols])
    console.print(t)


@tokens_app.command("add")
def add_token(
    user: str = typer.Option(..., "--user", help="The console user the token acts as."),
    note: str = typer.Option("", "--note", help="What the token is for (shown by `tokens list`)."),
) -> None:
    """Make an API token; it is printed once, only its SHA-256 is stored."""
    from ..web.principals import add_token as do_add

    rec, token = do_add(state.lake(), user, note)
    console.print(f"token {rec.token_id} for [bold]{escape(rec.user_name)}[/bold] (shown only now; send it as Authorization: Bearer TOKEN):", soft_wrap=True)
    print(token)


@tokens_app.command("list")
def list_tokens(format: str = typer.Option("table", "--format", "-f", help="Output format: table or json.")) -> None:
    """List tokens: id, user, note, created, status (never the tokens)."""
    from ..web.principals import load_principals

    if format not in ("table", "json"):
        raise EventlakeError(f"--format {format!r}: use table or json")
    rows = [{"token_id": t.token_id, "user": t.user_name, "note": t.note, "created_at": t.created_at.isoformat() if t.created_at else None,
             "status": "revoked" if t.revoked else "active"} for t in load_principals(state.lake())[1]]
    if format == "json":
        print(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    if not rows:
        console.print("no API tokens (make one with `eventlake tokens add --user NAME`)")
        return
    t = Table(header_style="bold")
    for c in ("token_id", "user", "note", "created_at", "status"):
        t.add_column(c)
    for r in rows:
        t.add_row(*[escape(str(r[c] or "")) for c in ("token_id", "user", "note", "created_at", "status")])
    console.print(t)


@tokens_app.command("revoke")
def revoke(token_id: str = typer.Argument(..., help="Id of the token (see `tokens list`).")) -> None:
    """Revoke a token: the console refuses it within seconds."""
    from ..web.principals import revoke_token

    rec = revoke_token(state.lake(), token_id)
    console.print(f"token {rec.token_id} of {escape(rec.user_name)} revoked")
