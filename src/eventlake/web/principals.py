"""Console users and API tokens, stored in the lake (`console_users`, `api_tokens`),
append-only: every change appends a row and the latest row per name (per token id)
wins.

Passwords are kept as Argon2id hashes (argon2-cffi). A token is shown once, when it
is made: `elk_<id>_<secret>`; the lake keeps its public id and the SHA-256 of the
whole token. Roles, least privilege first:

- reader: every page, saved queries and their downloads;
- author: and the SQL editor;
- admin: and the raw text of quarantined records on the health page.

Every change also writes a users snapshot for account 'eventlake' (region 'console')
into the BI `users` table, so the admin-console insights list the console's own users
beside the BI tool's."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass, replace
from typing import Iterable

import duckdb
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..errors import EventlakeError, LakeError
from ..lake import Lake
from ..lake.appendonly import latest_rows, read_with, stamp_after as _now_after
from ..lake.derived import CONSOLE_ACCOUNT
from ..lake.schema import API_TOKENS, CONSOLE_USERS, GROUP_MEMBERS, PRINCIPAL_GROUPS, USERS
from ..governance import audit

ROLES = ("reader", "author", "admin")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MIN_PASSWORD = 8
TOKEN_RE = re.compile(r"^elk_([0-9a-f]{8})_[A-Za-z0-9_-]{43}$")
_TABLES = [CONSOLE_USERS.name, API_TOKENS.name, USERS.name, PRINCIPAL_GROUPS.name, GROUP_MEMBERS.name]
_hasher = PasswordHasher()
# verified against when the name is unknown, so a wrong name costs as long as a wrong password
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class PrincipalError(EventlakeError):
    """A console user or token is unknown, exists already, or was given invalid settings."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    email: str | None = None
    disabled: bool = False
    password_hash: str = ""
    updated_at: dt.datetime | None = None
    groups: frozenset[str] = frozenset()  # eventlake.governance.groups

    def can(self, role: str) -> bool:
        """Does this user have `role` or a higher one?"""
        return ROLES.index(self.role) >= ROLES.index(role)


@dataclass(frozen=True)
class Token:
    token_id: str
    token_hash: str
    user_name: str
    note: str = ""
    created_at: dt.datetime | None = None
    revoked: bool = False
    updated_at: dt.datetime | None = None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_name(name: str) -> str:
    if not NAME_RE.match(name or ""):
        raise PrincipalError(f"user name {name!r} is invalid: use 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise PrincipalError(f"the password is too short: use at least {MIN_PASSWORD} characters")
    if "\n" in password or "\r" in password:
        raise PrincipalError("the password must be one line")
    return password


def check_role(role: str) -> str:
    if role not in ROLES:
        raise PrincipalError(f"role {role!r} is unknown: use {', '.join(ROLES)}")
    return role


# --- reading -----------------------------------------------------------------------



def read_users(con: duckdb.DuckDBPyConnection) -> list[User]:
    """Every user's current state (disabled ones included), by name."""
    rows = latest_rows(con, CONSOLE_USERS.name, ("user_name", "role", "email", "disabled", "password_hash", "updated_at"),
                       ("user_name",))
    from ..governance.groups import groups_by_user

    groups = groups_by_user(con)
    return [User(r[0], r[1], r[2], bool(r[3]), r[4] or "", r[5], groups.get(r[0], frozenset())) for r in rows]


def read_tokens(con: duckdb.DuckDBPyConnection) -> list[Token]:
    """Every token's current state (revoked ones included), oldest first."""
    rows = latest_rows(con, API_TOKENS.name, ("token_id", "token_hash", "user_name", "note", "created_at", "revoked", "updated_at"),
                       ("token_id",), order=("created_at", "token_id"))
    return [Token(r[0], r[1], r[2], r[3] or "", r[4], bool(r[5]), r[6]) for r in rows]


def load_principals(lake: Lake) -> tuple[list[User], list[Token]]:
    return read_with(lake, lambda con: (read_users(con), read_tokens(con)), ([], []))


def get_user(lake: Lake, name: str) -> User:
    for u in load_principals(lake)[0]:
        if u.name == name:
            return u
    raise PrincipalError(f"no console user named {name!r} (see `eventlake users list`)")


# --- writing -----------------------------------------------------------------------



def _write_user(con: duckdb.DuckDBPyConnection, user: User) -> User:
    user = replace(user, updated_at=_now_after(user.updated_at))
    con.execute(
        'INSERT INTO lake."console_users" (user_name, password_hash, role, email, disabled, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
        [user.name, user.password_hash, user.role, user.email, user.disabled, user.updated_at],
    )
    audit.change(con, "user_set", user.name, role=user.role, email=user.email, disabled=user.disabled)
    return user


def _write_snapshot(con: duckdb.DuckDBPyConnection) -> None:
    """The console's users as a BI users snapshot (account 'eventlake'), so user_activity,
    idle_authors and the rest report on them."""
    users = read_users(con)
    now = dt.datetime.now(dt.timezone.utc)
    con.executemany(
        'INSERT INTO lake."users" (snapshot_time, snapshot_date, account_id, region, namespace, user_name, principal_id, arn, '
        "email, role, identity_type, active, groups, source_object) VALUES (?, ?, ?, 'console', 'default', ?, ?, NULL, ?, ?, 'EVENTLAKE', ?, [], 'console_users')",
        [[now, now.date(), CONSOLE_ACCOUNT, u.name, u.name, u.email, u.role.upper(), not u.disabled] for u in users],
    )


def add_user(lake: Lake, name: str, password: str, *, role: str = "reader", email: str | None = None,
             groups: Iterable[str] = ()) -> User:
    """Create a console user (a disabled one's name may be reused), in `groups` (which
    must exist)."""
    from ..governance.groups import change_memberships, require_groups

    check_name(name)
    check_password(password)
    check_role(role)
    with lake.writing(_TABLES) as con:
        prev = next((u for u in read_users(con) if u.name == name), None)
        if prev is not None and not prev.disabled:
            raise PrincipalError(f"console user {name!r} exists already; change it with `eventlake users set {name} ...`")
        groups = require_groups(con, groups)
        user = User(name, role, email or None, False, _hasher.hash(password), prev.updated_at if prev else None)
        with lake.transaction(con):
            user = _write_user(con, user)
            change_memberships(con, name, add=groups)
            _write_snapshot(con)
        user = next(u for u in read_users(con) if u.name == name)
    return user


def update_user(lake: Lake, name: str, *, password: str | None = None, role: str | None = None,
                email: str | None = None, disabled: bool | None = None,
                add_groups: Iterable[str] = (), remove_groups: Iterable[str] = ()) -> User:
    """Change a user's password, role, e-mail or disabled flag (None: kept), and put them
    in or take them out of groups. Disabling a user also ends their tokens' use (tokens
    of a disabled user are refused)."""
    from ..governance.groups import change_memberships, require_groups

    add_groups, remove_groups = list(add_groups), list(remove_groups)
    user_change = any(v is not None for v in (password, role, email, disabled)) or not (add_groups or remove_groups)
    if password is not None:
        check_password(password)
    if role is not None:
        check_role(role)
    with lake.writing(_TABLES) as con:
        prev = next((u for u in read_users(con) if u.name == name), None)
        if prev is None:
            raise PrincipalError(f"no console user named {name!r} (see `eventlake users list`)")
        user = replace(
            prev,
            password_hash=_hasher.hash(password) if password is not None else prev.password_hash,
            role=role or prev.role,
            email=prev.email if email is None else (email or None),
            disabled=prev.disabled if disabled is None else disabled,
        )
        require_groups(con, add_groups + remove_groups)
        with lake.transaction(con):
            change_memberships(con, name, add=add_groups, remove=remove_groups)
            if user_change:
                _write_user(con, user)
                _write_snapshot(con)
        user = next(u for u in read_users(con) if u.name == name)
    return user


def add_token(lake: Lake, user_name: str, note: str = "") -> tuple[Token, str]:
    """A new API token for `user_name`. Returns (token record, token): the token itself is
    not stored and cannot be shown again."""
    with lake.writing(_TABLES) as con:
        user = next((u for u in read_users(con) if u.name == user_name), None)
        if user is None or user.disabled:
            raise PrincipalError(f"no active console user named {user_name!r} (create one with `eventlake users add {user_name}`)")
        token_id = secrets.token_hex(4)
        token = f"elk_{token_id}_{secrets.token_urlsafe(32)}"
        now = dt.datetime.now(dt.timezone.utc)
        rec = Token(token_id, hash_token(token), user_name, note, now, False, now)
        with lake.transaction(con):
            con.execute(
                'INSERT INTO lake."api_tokens" (token_id, token_hash, user_name, note, created_at, revoked, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
                [rec.token_id, rec.token_hash, rec.user_name, rec.note, rec.created_at, False, rec.updated_at],
            )
            audit.change(con, "token_add", rec.token_id, user=user_name, note=note or None)
    return rec, token


def revoke_token(lake: Lake, token_id: str) -> Token:
    with lake.writing(_TABLES) as con:
        prev = next((t for t in read_tokens(con) if t.token_id == token_id), None)
        if prev is None:
            raise PrincipalError(f"no API token with id {token_id!r} (see `eventlake tokens list`)")
        rec = replace(prev, revoked=True, updated_at=_now_after(prev.updated_at))
        with lake.transaction(con):
            con.execute(
                'INSERT INTO lake."api_tokens" (token_id, token_hash, user_name, note, created_at, revoked, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
                [rec.token_id, rec.token_hash, rec.user_name, rec.note, rec.created_at, True, rec.updated_at],
            )
            audit.change(con, "token_revoke", rec.token_id, user=rec.user_name)
    return rec


# --- checking ----------------------------------------------------------------------


class Principals:
    """The users and tokens as the console sees them: loaded from the lake, refreshed at
    most every `refresh_seconds` (a new user, a revoked token take effect without a
    restart). A failed refresh keeps the last good state."""

    def __init__(self, lake: Lake, refresh_seconds: float = 5.0, connect=None):
        self.lake = lake
        self.refresh_seconds = refresh_seconds
        # a read connection to the lake (the console passes its query runner's cursor:
        # far cheaper than attaching the catalog at every refresh)
        self._connect = connect
        self._users: dict[str, User] = {}
        self._tokens: dict[str, Token] = {}
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()

    def _fresh(self) -> None:
        if time.monotonic() - self._loaded_at < self.refresh_seconds:
            return
        with self._lock:
            if time.monotonic() - self._loaded_at < self.refresh_seconds:
                return
            try:
                if self._connect is None:
                    users, tokens = load_principals(self.lake)
                else:
                    con = self._connect()
                    try:
                        users, tokens = read_users(con), read_tokens(con)
                    finally:
                        con.close()
                self._users = {u.name: u for u in users}
                self._tokens = {t.token_hash: t for t in tokens if not t.revoked}
            except (duckdb.Error, LakeError, OSError):
                pass
            self._loaded_at = time.monotonic()

    def refresh(self) -> None:
        self._loaded_at = float("-inf")
        self._fresh()

    def user(self, name: str) -> User | None:
        """The active user of that name, else None."""
        self._fresh()
        u = self._users.get(name)
        return u if u is not None and not u.disabled else None

    def login(self, name: str, password: str) -> User | None:
        """The user if the name and password match an active user; constant work either way."""
        self._fresh()
        u = self._users.get(name)
        try:
            _hasher.verify(u.password_hash if u is not None else _DUMMY_HASH, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        return u if u is not None and not u.disabled else None

    def token_user(self, token: str) -> tuple[User, Token] | None:
        """(user, token) for a valid, unrevoked token of an active user, else None."""
        if not TOKEN_RE.match(token or ""):
            return None
        self._fresh()
        digest = hash_token(token)
        rec = self._tokens.get(digest)
        if rec is None or not hmac.compare_digest(rec.token_hash, digest):
            return None
        u = self.user(rec.user_name)
        return (u, rec) if u is not None else None
