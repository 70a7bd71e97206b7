"""Sources: one module per kind of input, on the shared machinery in base.py and
stores.py. SOURCES lists every built-in source once; LOG_TYPE_MODULES the
line-oriented service logs (each module defines LOGTYPE, a logtypes.LineLog), all
loaded by the one line ingest in lines.py."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .logtypes import LineLog

LOG_TYPE_MODULES: dict[str, str] = {
    "s3-access": "eventlake.sources.s3_access",
    "vpc-flow": "eventlake.sources.vpc_flow",
    "alb": "eventlake.sources.alb",
    "cloudfront": "eventlake.sources.cloudfront",
}

SOURCES: dict[str, str] = {
    "cloudtrail": "eventlake.sources.cloudtrail",
    "bi-metadata": "eventlake.sources.bi_metadata",
    **LOG_TYPE_MODULES,
}


def log_types() -> dict[str, "LineLog"]:
    """name -> LineLog of every service-log type."""
    return {name: importlib.import_module(mod).LOGTYPE for name, mod in LOG_TYPE_MODULES.items()}


def log_type(name: str) -> "LineLog":
    from ..errors import SourceError

    types = log_types()
    if name in types:
        return types[name]
    by_table = {t.table.name: t for t in types.values()}
    if name in by_table:
        return by_table[name]
    raise SourceError(f"unknown log type {name!r}; known: {', '.join(types)}")
