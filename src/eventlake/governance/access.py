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
from . import audit
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
    token_id: str | None = None


def principal_for_token(lake: Lake, token: str, con=None, via: str = "cli") -> Principal:
    """The active user a token belongs to, with their groups; AuthError otherwise (the
    message never says which part was wrong, and the refusal is audited). `con`: an open
    read connection to reuse."""
    token = (token or "").strip()
    found = None
    if TOKEN_RE.match(token) and lake.exists():
        own = con is None
        if own:
            con = lake.connect(read_only=True)
        try:
            found = Principals(lake, refresh_seconds=0, connect=lambda: _Borrowed(con)).token_user(token)
            if found is not None:
                return Principal(found[0], groups_of(con, found[0].name), token_id=found[1].token_id)
        finally:
            if own:
                con.close()
    audit.record(lake, audit.AuditEvent("login", None, "refused", via=via, auth="token", reason="invalid or revoked API token"))
    raise AuthError("invalid or revoked API token (--token / EVENTLAKE_TOKEN)")


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


def query_event(principal: Principal | None, sql: str, *, via: str = "cli", action: str = "query",
                target: str | None = None, params: dict[str, Any] | None = None, **detail: Any) -> audit.AuditEvent:
    """The audit event of a query by `principal` (None: the local admin), before its
    outcome is known. `action`: query, or export when the result goes to a file."""
    actor, auth, token_id = ((audit.local_actor(), "local", None) if principal is None
                             else (principal.user.name, principal.via, principal.token_id))
    return audit.AuditEvent(action, actor, via=via, auth=auth, token_id=token_id, target=target, statement=sql,
                            detail={"params": params or None, **detail})


def refused(event: audit.AuditEvent, exc: Exception) -> audit.AuditEvent:
    """`event`, refused (a policy or access refusal) or failed (any other error), with why."""
    event.outcome = "refused" if isinstance(exc, (PolicyError, AccessError, AuthError)) else "error"
    event.reason = str(exc)[:2000]
    return event


def run_as(lake: Lake, principal: Principal | None, engine: str, sql: str, params: dict[str, Any] | None = None,
           *, via: str = "cli", action: str = "query", target: str | None = None, detail: dict[str, Any] | None = None,
           **engine_options) -> pa.Table:
    """Run `sql` (with a saved query's `params`; `target`: its name) as `principal` on
    `engine` — or, with no principal, as the local admin, without a policy; audited,
    refusals included (`detail`: more to record, e.g. the export's file)."""
    event = query_event(principal, sql, via=via, action=action, target=target, params=params, engine=engine, **(detail or {}))
    try:
        if principal is None:
            eng = get_engine(engine, lake, **engine_options)
            out, bound = sql, params
        else:
            scope, out, bound = prepare(lake, principal, sql, params)
            eng = get_engine(engine, scope.lake, **engine_options)
        try:
            table = eng.query(out, bound)
        except PolicyError:
            raise
        except QueryError as exc:
            if principal is None:
                raise
            raise QueryError(scrub_error(str(exc))) from None
        finally:
            eng.close()
    except EventlakeError as exc:
        audit.record(lake, refused(event, exc))
        raise
    event.rows = table.num_rows
    audit.record(lake, event)
    return table
