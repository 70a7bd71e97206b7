"""`/`: the console opens on the admin console — or, for a principal whose scope holds
no BI usage (a tenant with web and product events only, say), on the first page their
tables can fill: web analytics, else the log explorer."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from ...governance.policy import AccessError
from ..scopes import scope_of

router = APIRouter()
NAV = None


@router.get("/", include_in_schema=False)
def home(request: Request) -> RedirectResponse:
    try:
        scope = scope_of(request)
    except AccessError:
        scope = None  # every page shows the reason
    if scope is None or "bi_events" in scope.policy.tables:
        return RedirectResponse("/admin", status_code=303)
    if "events" in scope.policy.tables:
        return RedirectResponse("/web", status_code=303)
    return RedirectResponse("/explorer", status_code=303)
