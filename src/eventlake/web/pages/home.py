"""`/`: the console opens on the admin console."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

router = APIRouter()
NAV = None


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    return RedirectResponse("/admin", status_code=303)
