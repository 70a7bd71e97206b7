"""The console's pages, each a module with a FastAPI `router` and its `NAV` entry
(title, path, the least role that sees it), listed once here in menu order."""

from __future__ import annotations

from . import admin, explorer, health, home, sql, web

PAGES = [home, admin, web, explorer, sql, health]


def nav(viewer) -> list[tuple[str, str]]:
    """(title, path) of the pages the viewer may open, in menu order."""
    if viewer is None:
        return []
    return [(p.NAV[0], p.NAV[1]) for p in PAGES if getattr(p, "NAV", None) and viewer.can(p.NAV[2])]
