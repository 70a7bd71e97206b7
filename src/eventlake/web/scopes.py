"""Whose policy a console request runs under (docs/governance.md).

A viewer with the admin role runs without a policy, like the local admin of the CLI.
Readers and authors run under their scope (governance/policy.py): built from their user
name and groups over a cursor of the console's query connection, and kept SCOPE_TTL
seconds per user (and set of groups), so a page's queries share one and a change of
grants or policies applies within seconds. Pages pass the scope to the QueryRunner
(`run(..., scope=scope_of(request))`), which rewrites every query through it."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from ..governance.policy import AccessError, Scope, build_scope
from ..governance.rewrite import PolicyError
from ..governance.store import column_policies
from .app import console_of, viewer_of

SCOPE_TTL = 5.0


def scope_of(request: Request) -> Scope | None:
    """The request's scope: None for an admin (no policy); AccessError when the viewer's
    grants cannot be served together."""
    viewer = viewer_of(request)
    if viewer.can("admin"):
        return None
    cached = getattr(request.state, "scope", None)
    if cached is not None:
        return cached
    console = console_of(request)
    user = viewer.user
    groups = frozenset(user.groups)

    def build() -> Scope:
        cur = console.queries.cursor()
        try:
            return build_scope(console.lake, cur, user.name, groups, column_policies(cur))
        finally:
            cur.close()

    scope = console.queries.remember(("scope", user.name, groups), SCOPE_TTL, build)
    request.state.scope = scope
    return scope


def cache_key(request: Request) -> Any:
    """What a page cache shared by viewers must be keyed by: None for admins, else the
    user (two principals' results never share an entry)."""
    viewer = viewer_of(request)
    return None if viewer.can("admin") else ("user", viewer.name)


def refused(exc: BaseException) -> bool:
    """Did a policy refuse this query (rather than the query failing)?"""
    return isinstance(exc, (PolicyError, AccessError))


def failed(request: Request, action: str, exc: BaseException, **fields: Any) -> None:
    """Record a failed run: status `refused` when a policy refused it, else `error`."""
    console_of(request).record(request, action, status="refused" if refused(exc) else "error", error=str(exc), **fields)
