"""Web analytics (being built)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
NAV = ("Web analytics", "/web", "reader")
