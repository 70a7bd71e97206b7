"""The log explorer: every saved query (insight) by category, each with a typed
parameter form; a run shows one page of the result, the SQL that ran with its bound
values, and CSV / JSON / Parquet downloads of the whole result. Parameters travel in
the URL (GET), so a run is a link to share.

    /explorer                         saved queries by category (?q= filters)
    /explorer/{name}?<params>&run=1   the form, and the result's page (&page=N)
    /explorer/{name}/download?format=csv&<params>
    /api/insights                     the saved queries and their parameters (JSON)
    /api/insights/{name}?<params>&format=json|csv|parquet&limit=N

Queries run under the viewer's scope (web/scopes.py): an insight that reads a table
the viewer may not see shows the policy's refusal (recorded as `refused`).

The result helpers here (`result_grid`, `download_response`, `json_response`) are
shared with the SQL editor."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...errors import EventlakeError, InsightError
from ...insights import get_insight, list_insights
from ...insights.registry import Insight, Param
from ...output import DOWNLOAD_TYPES, _plain, _portable, encode_result
from ..app import console_of
from ..queries import Result
from ..render import cell
from ..scopes import cache_key, failed, scope_of

router = APIRouter()
NAV = ("Log explorer", "/explorer", "reader")
PAGE_SIZE = 100
# query-string names the explorer keeps for itself (no insight has a parameter so named)
RESERVED = ("run", "page", "format", "limit")
CATEGORY_TITLES = {
    "bi": "BI usage",
    "cloudtrail": "CloudTrail",
    "s3-access": "S3 access logs",
    "vpc-flow": "VPC flow logs",
    "alb": "Load balancer (ALB) logs",
    "cloudfront": "CloudFront logs",
    "web": "Web analytics",
    "product": "Product analytics",
    "general": "General",
}
_INPUT_TYPES = {"int": "number", "date": "date", "timestamp": "text", "str": "text", "bool": "select"}
_HINTS = {
    "int": "a whole number, 0 or more",
    "date": "YYYY-MM-DD",
    "timestamp": "ISO time (UTC unless an offset is given), now, or now-90m / now-3h / now-7d / now-2w",
    "str": "text",
    "bool": "true or false",
}


# -- shared result helpers ---------------------------------------------------------


def result_grid(table: pa.Table) -> tuple[list[str], list[list[Any]]]:
    """Column names and rows as lists (duplicate column names survive, unlike dicts)."""
    columns = list(table.column_names)
    if table.num_rows == 0:
        return columns, []
    return columns, [list(r) for r in zip(*(c.to_pylist() for c in table.columns))]


def _column_text(col: pa.ChunkedArray) -> list[str]:
    """A column's values as table-cell text (what the `cell` filter gives), with fast
    paths for the common types: a 1,000-row result of 40 columns renders in a blink."""
    t = col.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return ["" if v is None else v for v in col.to_pylist()]
    if pa.types.is_integer(t):
        return ["" if v is None else f"{v:,}" for v in col.to_pylist()]
    if pa.types.is_timestamp(t) and t.tz in (None, "UTC", "Etc/UTC", "+00:00"):
        secs = pc.cast(col, pa.timestamp("s", tz=t.tz), safe=False)
        text = pc.strftime(secs, format="%Y-%m-%d %H:%M:%S" + ("Z" if t.tz else ""))
        return ["" if v is None else v for v in text.to_pylist()]
    return [cell(v) for v in col.to_pylist()]


def _numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def display_grid(table: pa.Table) -> tuple[list[str], list[list[tuple[str, bool]]]]:
    """Column names and rows of (cell text, is a number) for the result table."""
    columns = list(table.column_names)
    if table.num_rows == 0:
        return columns, []
    flags = [_numeric(f.type) for f in table.schema]
    texts = [_column_text(c) for c in table.columns]
    return columns, [list(zip(r, flags)) for r in zip(*texts)]


def download_response(table: pa.Table, fmt: str, stem: str, headers: dict[str, str] | None = None) -> Response:
    """`table` as a file to save: `stem.<fmt>` in Content-Disposition."""
    if fmt not in DOWNLOAD_TYPES:
        raise EventlakeError(f"unknown download format {fmt!r}; choose one of {', '.join(DOWNLOAD_TYPES)}")
    return Response(encode_result(table, fmt), media_type=DOWNLOAD_TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"', **(headers or {})})


def json_response(value: Any, status_code: int = 200) -> Response:
    body = orjson.dumps(value, default=_plain, option=orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS)
    return Response(body, status_code=status_code, media_type="application/json")


def result_json(result: Result, **extra: Any) -> dict[str, Any]:
    columns, rows = result_grid(_portable(result.table))
    return {**extra, "columns": columns, "rows": rows, "row_count": len(rows), "truncated": result.truncated,
            "elapsed_ms": round(result.elapsed_ms, 1)}


def parse_format(fmt: str | None, allowed: tuple[str, ...] = tuple(DOWNLOAD_TYPES)) -> str:
    fmt = (fmt or "csv").lower()
    if fmt not in allowed:
        raise EventlakeError(f"unknown format {fmt!r}; choose one of {', '.join(allowed)}")
    return fmt


# -- parameters --------------------------------------------------------------------


def given_values(request: Request, insight: Insight) -> dict[str, str]:
    """The insight's parameters as given in the query string: reserved names dropped, and
    empty fields left out (so the default applies, or 'needs parameter' for a required one)."""
    out: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key in RESERVED or key.startswith("__"):
            continue
        if value.strip() == "" and insight.param(key) is not None:
            continue
        out[key] = value
    return out


def _shown(value: Any) -> str:
    """A bound value as the page shows it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _field(p: Param, given: dict[str, str], insight: Insight) -> dict[str, Any]:
    """What the form shows for one parameter: the given text, else the default (a date
    default such as `today` as the date it means, for the date input)."""
    value = given.get(p.name)
    if value is None and p.default is not None:
        value = p.default
        if p.type in ("date", "bool"):
            value = _shown(p.convert(p.default, insight.name))
    if p.type == "bool" and value is not None:
        try:
            value = _shown(p.convert(value, insight.name))
        except InsightError:
            pass
    return {"name": p.name, "type": p.type, "input": _INPUT_TYPES[p.type], "value": value or "",
            "required": p.required, "default": p.default, "description": p.description, "hint": _HINTS[p.type]}


def describe(insight: Insight) -> dict[str, Any]:
    """An insight as the API lists it."""
    return {
        "name": insight.name,
        "category": insight.category,
        "description": insight.description,
        "params": [{"name": p.name, "type": p.type, "default": p.default, "required": p.required,
                    "description": p.description} for p in insight.params],
    }


def _insight_or_404(request: Request, name: str, html: bool = True) -> Insight | Response:
    try:
        return get_insight(name)
    except InsightError:
        if html:
            return console_of(request).render(request, "error.html", status_code=404, title="No such saved query",
                                              message=f"There is no saved query named {name!r}.")
        return json_response({"error": f"unknown insight {name!r}"}, status_code=404)


def message(exc: Exception) -> str:
    """An error's message for the web: the CLI's "give --param NAME=VALUE" hint dropped."""
    return re.sub(r": give --param [a-z0-9_]+=VALUE$", "", str(exc))


def paged_sql(insight: Insight) -> str:
    return f"SELECT * FROM (\n{insight.sql.rstrip().rstrip(';')}\n) LIMIT $__limit OFFSET $__offset"


def scoped_paged_sql(insight: Insight, limit: int, offset: int) -> str:
    """paged_sql with the page's bounds written in (the rewrite binds no `__` names but
    the policy's); both are ints the page computed."""
    return f"SELECT * FROM (\n{insight.sql.rstrip().rstrip(';')}\n) LIMIT {int(limit)} OFFSET {int(offset)}"


def count_sql(insight: Insight) -> str:
    return f"SELECT count(*) AS n FROM (\n{insight.sql.rstrip().rstrip(';')}\n)"


COUNT_TTL = 60.0  # seconds a result's row count is reused while paging through it


def _count(request: Request, insight: Insight, bound: dict[str, Any]) -> tuple[int, float]:
    """The result's row count (and the ms it took): counted once per viewer scope, then
    reused for a minute by the pages that follow."""
    console = console_of(request)
    cache: dict = console.__dict__.setdefault("_explorer_counts", {})
    key = (cache_key(request), insight.name, tuple(sorted((k, repr(v)) for k, v in bound.items())))
    now = time.monotonic()
    hit = cache.get(key)
    if hit is not None and now - hit[0] < COUNT_TTL:
        return hit[1], 0.0
    res = console.queries.run(count_sql(insight), bound, timeout=console.options.sql_time_limit,
                              scope=scope_of(request))
    total = res.table.column(0)[0].as_py()
    if len(cache) >= 256:
        cache.clear()
    cache[key] = (now, total)
    return total, res.elapsed_ms


# -- pages -------------------------------------------------------------------------


@router.get("/explorer")
def explorer(request: Request, q: str = ""):
    console = console_of(request)
    needle = q.strip().lower()
    groups: dict[str, list[Insight]] = {}
    for ins in list_insights():
        if needle and needle not in f"{ins.name} {ins.category} {ins.description}".lower():
            continue
        groups.setdefault(ins.category, []).append(ins)
    order = list(CATEGORY_TITLES)
    categories = sorted(groups, key=lambda c: (order.index(c) if c in order else len(order), c))
    console.record(request, "view", asset_type="page", asset_id="console:/explorer", asset_name="Log explorer")
    return console.render(
        request, "explorer.html", title="Log explorer", q=q,
        groups=[(c, CATEGORY_TITLES.get(c, c), groups[c]) for c in categories],
        total=sum(len(v) for v in groups.values()), all_count=len(list_insights()),
    )


@router.get("/explorer/{name}")
def explorer_insight(request: Request, name: str):
    console = console_of(request)
    found = _insight_or_404(request, name)
    if isinstance(found, Response):
        return found
    insight = found
    given = given_values(request, insight)
    run = request.query_params.get("run") is not None
    try:
        page = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        page = 1
    context: dict[str, Any] = {
        "insight": insight, "category_title": CATEGORY_TITLES.get(insight.category, insight.category),
        "fields": [_field(p, given, insight) for p in insight.params], "ran": False, "error": None,
        "page": page, "page_size": PAGE_SIZE, "share": {**given, "run": "1"},
    }
    if not run:
        console.record(request, "view", asset_type="insight", asset_id=insight.name, asset_name=insight.name)
        return console.render(request, "explorer_insight.html", title=insight.name, **context)
    limits = {"__limit": PAGE_SIZE + 1, "__offset": (page - 1) * PAGE_SIZE}
    try:
        bound = insight.bind(given)
        scope = scope_of(request)
        if scope is None:
            res = console.queries.run(paged_sql(insight), {**bound, **limits}, timeout=console.options.sql_time_limit)
        else:
            res = console.queries.run(scoped_paged_sql(insight, limits["__limit"], limits["__offset"]), bound,
                                      timeout=console.options.sql_time_limit, scope=scope)
        has_next = res.table.num_rows > PAGE_SIZE
        table = res.table.slice(0, PAGE_SIZE)
        elapsed = res.elapsed_ms
        if page == 1 and not has_next:
            total = table.num_rows
        else:
            total, count_ms = _count(request, insight, bound)
            elapsed += count_ms
    except EventlakeError as exc:
        failed(request, "run_insight", exc, asset_type="insight", asset_id=insight.name, asset_name=insight.name,
               params=given)
        context.update(ran=True, error=message(exc))
        return console.render(request, "explorer_insight.html", status_code=400, title=insight.name, **context)
    columns, rows = display_grid(table)
    console.record(request, "run_insight", asset_type="insight", asset_id=insight.name, asset_name=insight.name,
                   rows=total, duration_ms=round(elapsed, 1), params={k: _shown(v) for k, v in bound.items()})
    first = (page - 1) * PAGE_SIZE + 1 if rows else 0
    context.update(
        ran=True, columns=columns, rows=rows, total=total, elapsed_ms=elapsed, has_next=has_next,
        first=first, last=(page - 1) * PAGE_SIZE + len(rows), sql=paged_sql(insight),
        bound=[(p.name, p.type, _shown(bound[p.name])) for p in insight.params]
        + [("__limit", "int", str(limits["__limit"])), ("__offset", "int", str(limits["__offset"]))],
        download_params=given,
    )
    return console.render(request, "explorer_insight.html", title=insight.name, **context)


@router.get("/explorer/{name}/download")
def explorer_download(request: Request, name: str):
    console = console_of(request)
    found = _insight_or_404(request, name)
    if isinstance(found, Response):
        return found
    insight = found
    fmt = parse_format(request.query_params.get("format"))
    given = given_values(request, insight)
    try:
        res = console.queries.insight(insight, given, timeout=console.options.sql_time_limit, scope=scope_of(request))
    except EventlakeError as exc:
        failed(request, "download", exc, asset_type="insight", asset_id=insight.name, asset_name=insight.name,
               format=fmt, params=given)
        raise
    console.record(request, "download", asset_type="insight", asset_id=insight.name, asset_name=insight.name,
                   rows=res.table.num_rows, duration_ms=round(res.elapsed_ms, 1), format=fmt,
                   params={k: _shown(v) for k, v in res.params.items()})
    return download_response(res.table, fmt, insight.name)


# -- JSON API ----------------------------------------------------------------------


@router.get("/api/insights")
def api_insights(request: Request):
    return json_response({"insights": [describe(i) for i in list_insights()]})


@router.get("/api/insights/{name}")
def api_insight(request: Request, name: str):
    console = console_of(request)
    found = _insight_or_404(request, name, html=False)
    if isinstance(found, Response):
        return found
    insight = found
    fmt = parse_format(request.query_params.get("format", "json"), ("json", "csv", "parquet"))
    limit_text = request.query_params.get("limit")
    limit = None
    if limit_text not in (None, ""):
        try:
            limit = int(limit_text)
        except ValueError:
            raise InsightError(f"limit must be a whole number of rows, got {limit_text!r}") from None
        if limit < 0:
            raise InsightError(f"limit must not be negative, got {limit}")
    given = given_values(request, insight)
    try:
        res = console.queries.insight(insight, given, limit=limit, timeout=console.options.sql_time_limit,
                                      scope=scope_of(request))
    except EventlakeError as exc:
        failed(request, "run_insight", exc, asset_type="insight", asset_id=insight.name, asset_name=insight.name,
               params=given, format=fmt)
        raise
    console.record(request, "run_insight" if fmt == "json" else "download", asset_type="insight",
                   asset_id=insight.name, asset_name=insight.name, rows=res.table.num_rows,
                   duration_ms=round(res.elapsed_ms, 1), params={k: _shown(v) for k, v in res.params.items()}, format=fmt)
    if fmt != "json":
        return download_response(res.table, fmt, insight.name, {"X-Eventlake-Truncated": "true" if res.truncated else "false"})
    return json_response(result_json(res, insight=insight.name, params=res.params))
