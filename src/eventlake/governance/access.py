"""Running a query as a principal: the token names the user, the user's groups, tenant
grants and the column policies make their scope (policy.py), the rewrite (rewrite.py)
applies it, and the engine runs what comes out — DuckDB or Spark alike. An engine error
is scrubbed of values before the principal sees it.

    principal = principal_for_token(lake, token)
    table = run_as(principal, "duckdb", "SELECT ...")"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ..engines import get_engine
from ..errors import EventlakeError, QueryError
from ..lake import Lake
from ..web.principals import TOKEN_RE, Principals, User
from .groups import groups_of
from .policy import AccessError, Scope, build_scope
from .rewrite import PolicyError, rewrite, scrub_error
from .store import column_policies


class AuthError(EventlakeError):
    """The token given is not a valid, active API token."""


@dataclass(frozen=True)
class Principal:
    user: User
    groups: frozenset[str]
    via: str = "token"


def principal_for_token(lake: Lake, token: str, con=None) -> Principal:
    """The active user a token belongs to, with their groups; AuthError otherwise (the
    message never says which part was wrong). `con`: an open read connection to reuse."""
    token = (token or "").strip()
    if not TOKEN_RE.match(token):
        raise AuthError("invalid or revoked API token (--token / EVENTLAKE_TOKEN)")
    own = con is None
    if own:
        con = lake.connect(read_only=True)
    try:
        found = Principals(lake, refresh_seconds=0, connect=lambda: _Borrowed(con)).token_user(token)
        if found is None:
            raise AuthError("invalid or revoked API token (--token / EVENTLAKE_TOKEN)")
        return Principal(found[0], groups_of(con, found[0].name))
    finally:
        if own:
            con.close()


class _Borrowed:
    """A connection lent to code that closes what it is given: closing is a no-op."""

    def __init__(self, con):
        self._con = con

    def __getattr__(self, name):
        return getattr(self._con, name)

    def close(self) -> None:
        pass


def scope_for(lake: Lake, principal: Principal, con=None) -> Scope:
    own = con is None
    if own:
        con = lake.connect(read_only=True)
    try:
        return build_scope(lake, con, principal.user.name, principal.groups, column_policies(con))
    finally:
        if own:
            con.close()


def prepare(lake: Lake, principal: Principal, sql: str, params: dict[str, Any] | None = None) -> tuple[Scope, str, dict[str, Any]]:
    """The principal's scope and the rewritten SQL with its parameters."""
    scope = scope_for(lake, principal)
    out, bound = rewrite(sql, scope.policy, query_params=params or {})
    return scope, out, bound


def run_as(lake: Lake, principal: Principal, engine: str, sql: str, params: dict[str, Any] | None = None,
           **engine_options) -> pa.Table:
    """Run `sql` (with a saved query's `params`) as `principal` on `engine`."""
    scope, out, bound = prepare(lake, principal, sql, params)
    eng = get_engine(engine, scope.lake, **engine_options)
    try:
        return eng.query(out, bound)
    except PolicyError:
        raise
    except QueryError as exc:
        raise QueryError(scrub_error(str(exc))) from None
    finally:
        eng.close()
