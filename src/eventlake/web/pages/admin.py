"""Admin console (being built)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
NAV = ("Admin console", "/admin", "reader")
