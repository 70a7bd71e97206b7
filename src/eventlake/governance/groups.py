"""Groups of console users (e.g. `pii_readers`, who see personal data unmasked), stored
in the lake like the users: `principal_groups` (one row per change of a group) and
`group_members` (one row per change of a membership), append-only, the latest row per
group (per group and user) wins.

A column policy names the groups that see a column's real value; a tenant grant may
name a group. `groups_of(con_or_lake, user)` is what both ask."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from typing import Iterable

import duckdb

from ..errors import EventlakeError
from ..lake import Lake
from ..lake.appendonly import latest_rows, read_with, stamp_after as _now_after, table_exists as _exists
from ..lake.catalog import ALIAS
from . import audit
from ..lake.schema import CONSOLE_USERS, GROUP_MEMBERS, PRINCIPAL_GROUPS

GROUP_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
TABLES = [PRINCIPAL_GROUPS.name, GROUP_MEMBERS.name]


class GroupError(EventlakeError):
    """A group is unknown, exists already, or a membership change is impossible."""


@dataclass(frozen=True)
class Group:
    name: str
    description: str = ""
    removed: bool = False
    updated_at: dt.datetime | None = None


@dataclass(frozen=True)
class Membership:
    group: str
    user: str
    removed: bool = False
    updated_at: dt.datetime | None = None


def check_group_name(name: str) -> str:
    if not GROUP_RE.match(name or ""):
        raise GroupError(f"group name {name!r} is invalid: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return name


# --- reading -----------------------------------------------------------------------



def read_groups(con: duckdb.DuckDBPyConnection, include_removed: bool = False) -> list[Group]:
    """Every group's current state, by name."""
    rows = latest_rows(con, PRINCIPAL_GROUPS.name, ("group_name", "description", "removed", "updated_at"), ("group_name",))
    out = [Group(r[0], r[1] or "", bool(r[2]), r[3]) for r in rows]
    return out if include_removed else [g for g in out if not g.removed]


def read_memberships(con: duckdb.DuckDBPyConnection, include_removed: bool = False) -> list[Membership]:
    """Current memberships of groups that exist, by group then user."""
    rows = latest_rows(con, GROUP_MEMBERS.name, ("group_name", "user_name", "removed", "updated_at"), ("group_name", "user_name"))
    live = {g.name for g in read_groups(con)}
    out = [Membership(r[0], r[1], bool(r[2]), r[3]) for r in rows if r[0] in live]
    return out if include_removed else [m for m in out if not m.removed]


def groups_by_user(con: duckdb.DuckDBPyConnection) -> dict[str, frozenset[str]]:
    """user name -> the groups they are in (users in no group are left out)."""
    out: dict[str, set[str]] = {}
    for m in read_memberships(con):
        out.setdefault(m.user, set()).add(m.group)
    return {u: frozenset(g) for u, g in out.items()}




def groups_of(con_or_lake: duckdb.DuckDBPyConnection | Lake, user: str) -> frozenset[str]:
    """The groups `user` is in now (a connection with the lake attached, or a Lake)."""
    return read_with(con_or_lake, lambda con: groups_by_user(con).get(user, frozenset()), frozenset())


def load_groups(lake: Lake) -> tuple[list[Group], list[Membership]]:
    return read_with(lake, lambda con: (read_groups(con), read_memberships(con)), ([], []))


# --- writing -----------------------------------------------------------------------



def _write_group(con: duckdb.DuckDBPyConnection, g: Group) -> Group:
    g = replace(g, updated_at=_now_after(g.updated_at))
    con.execute(
        f'INSERT INTO {ALIAS}."{PRINCIPAL_GROUPS.name}" (group_name, description, removed, updated_at) VALUES (?, ?, ?, ?)',
        [g.name, g.description, g.removed, g.updated_at],
    )
    audit.change(con, "group_remove" if g.removed else "group_add", g.name)
    return g


def _write_membership(con: duckdb.DuckDBPyConnection, m: Membership) -> Membership:
    m = replace(m, updated_at=_now_after(m.updated_at))
    con.execute(
        f'INSERT INTO {ALIAS}."{GROUP_MEMBERS.name}" (group_name, user_name, removed, updated_at) VALUES (?, ?, ?, ?)',
        [m.group, m.user, m.removed, m.updated_at],
    )
    audit.change(con, "member_remove" if m.removed else "member_add", m.group, user=m.user)
    return m


def _known_users(con: duckdb.DuckDBPyConnection) -> set[str]:
    if not _exists(con, CONSOLE_USERS.name):
        return set()
    return {r[0] for r in con.execute(f'SELECT DISTINCT user_name FROM {ALIAS}."{CONSOLE_USERS.name}"').fetchall()}


def require_groups(con: duckdb.DuckDBPyConnection, names: Iterable[str]) -> list[str]:
    """`names` if every one is an existing group, else a GroupError naming the first unknown one."""
    live = {g.name for g in read_groups(con)}
    names = list(dict.fromkeys(names))
    for n in names:
        if n not in live:
            raise GroupError(f"no group named {n!r} (create it with `eventlake groups add {n}`)")
    return names


def change_memberships(con: duckdb.DuckDBPyConnection, user: str, add: Iterable[str] = (), remove: Iterable[str] = ()) -> list[str]:
    """Put `user` in the groups `add` and take them out of `remove`, on an open writable
    connection (call inside the caller's transaction). Groups must exist; adding a
    member already in, or removing one not in, is a no-op. Returns what changed, as
    '+group' / '-group'."""
    add, remove = require_groups(con, add), require_groups(con, remove)
    both = set(add) & set(remove)
    if both:
        raise GroupError(f"group {sorted(both)[0]!r} is both added and removed")
    current = {m.group: m for m in read_memberships(con, include_removed=True) if m.user == user}
    changed = []
    for g in add:
        prev = current.get(g)
        if prev is None or prev.removed:
            _write_membership(con, Membership(g, user, False, prev.updated_at if prev else None))
            changed.append("+" + g)
    for g in remove:
        prev = current.get(g)
        if prev is not None and not prev.removed:
            _write_membership(con, replace(prev, removed=True))
            changed.append("-" + g)
    return changed


def add_group(lake: Lake, name: str, description: str = "") -> Group:
    """Create a group (a removed one's name may be reused)."""
    check_group_name(name)
    with lake.writing(TABLES) as con:
        prev = next((g for g in read_groups(con, include_removed=True) if g.name == name), None)
        if prev is not None and not prev.removed:
            raise GroupError(f"group {name!r} exists already")
        with lake.transaction(con):
            return _write_group(con, Group(name, description or "", False, prev.updated_at if prev else None))


def add_member(lake: Lake, group: str, user: str) -> bool:
    """Put a console user in a group. False when they were in it already."""
    with lake.writing(TABLES) as con:
        require_groups(con, [group])
        if user not in _known_users(con):
            raise GroupError(f"no console user named {user!r} (see `eventlake users list`)")
        with lake.transaction(con):
            return bool(change_memberships(con, user, add=[group]))


def remove_member(lake: Lake, group: str, user: str) -> None:
    """Take a user out of a group."""
    with lake.writing(TABLES) as con:
        require_groups(con, [group])
        if group not in groups_by_user(con).get(user, frozenset()):
            raise GroupError(f"user {user!r} is not in group {group!r}")
        with lake.transaction(con):
            change_memberships(con, user, remove=[group])
