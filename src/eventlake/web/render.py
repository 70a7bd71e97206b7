"""Template helpers: how values look in a page. Jinja2 autoescapes everything these
return, except `json_data`, whose JSON has <, > and & as \\u escapes (it goes into a
`<script type="application/json">` element, where HTML entities would not be decoded)."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any
from urllib.parse import urlencode

import orjson
from markupsafe import Markup

from ..output import _plain


def cell(value: Any) -> str:
    """A value as table-cell text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc)
        return value.strftime("%Y-%m-%d %H:%M:%S") + ("Z" if value.tzinfo is not None else "")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        if value != value:
            return "NaN"
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, decimal.Decimal):
        return cell(float(value))
    if isinstance(value, (list, dict)):
        return orjson.dumps(value, default=_plain).decode()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool)


def number(value: Any) -> str:
    return cell(value)


def size(n: Any) -> str:
    """Bytes as B/KiB/MiB/GiB/TiB."""
    if n is None:
        return ""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return str(n)


def percent(value: Any, digits: int = 1) -> str:
    if value is None:
        return ""
    return f"{float(value) * 100:.{digits}f}%"


def query(base: dict[str, Any] | None = None, **changes: Any) -> str:
    """A query string: `base` with `changes` applied (None removes a key), for links
    that keep the page's other settings."""
    params = {k: v for k, v in (base or {}).items() if v not in (None, "")}
    for k, v in changes.items():
        if v is None or v == "":
            params.pop(k, None)
        else:
            params[k] = v
    return "?" + urlencode(params, doseq=True) if params else "?"


def to_json(value: Any) -> Markup:
    """JSON for a `<script type="application/json">` data block: <, > and & escaped so
    the text can never close the element."""
    text = orjson.dumps(value, default=_plain, option=orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS).decode()
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


FILTERS = {"cell": cell, "number": number, "size": size, "percent": percent, "json_data": to_json}
def startingwith(text: Any, prefix: str) -> bool:
    return isinstance(text, str) and text.startswith(prefix)


GLOBALS = {"query": query, "is_number": is_number}
TESTS = {"startingwith": startingwith}
