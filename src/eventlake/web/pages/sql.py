"""The SQL editor (authors and admins): one SELECT over the lake's tables, run through
the console's read-only query engine with a row limit and a time limit; the result
shown or downloaded as CSV / JSON / Parquet. Runs are POSTs with the CSRF token.

    /sql        GET: the editor, with the lake's tables and columns beside it
                POST (csrf_token, sql, limit, action=run|csv|json|parquet): run or download
    /api/sql    POST JSON {"sql": ..., "limit": N} -> {"columns", "rows", "truncated", "elapsed_ms"}

An admin's SQL is checked by engines/guard.py; anyone else's runs under their scope
(web/scopes.py): the governance rewrite checks it, applies masks and tenant filters, and
its refusals are recorded with status `refused`. The side list shows the tables the
viewer's scope holds."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from fastapi import APIRouter, Request

from ...engines.guard import SECRET_TABLES
from ...errors import EventlakeError, QueryError
from ..app import check_csrf, console_of, require
from ..queries import Result
from ..scopes import failed, scope_of
from .explorer import display_grid, download_response, json_response, result_json

router = APIRouter()
NAV = ("SQL", "/sql", "author")
ACTIONS = ("run", "csv", "json", "parquet")
EXAMPLE = "SELECT event_date, count(*) AS requests\nFROM alb_logs\nGROUP BY event_date\nORDER BY event_date"
FORM_LIMIT = 200  # the row limit the form starts with (at most the console's sql_row_limit)
TABLES_TTL = 10.0  # seconds the side list of tables and columns is reused


def _limit(console, text: Any) -> tuple[int, str | None]:
    """The row limit asked for, capped by the console's sql_row_limit: (limit, note)."""
    cap = console.options.sql_row_limit
    if text is None or str(text).strip() == "":
        return cap, None
    try:
        n = int(str(text).strip())
    except ValueError:
        raise QueryError(f"the row limit must be a whole number of rows (1 to {cap}), got {str(text)!r}") from None
    if n < 1:
        raise QueryError(f"the row limit must be at least 1, got {n}")
    if n > cap:
        return cap, f"row limit lowered to {cap:,}, the most this console returns"
    return n, None


def _tables(request: Request) -> list[tuple[str, list[tuple[str, str]]]]:
    """The lake's tables that can be queried here and their columns (read at most every
    TABLES_TTL seconds); a governed viewer's: those of their scope."""
    console = console_of(request)
    try:
        scope = scope_of(request)
    except EventlakeError:
        return []
    if scope is not None:
        return sorted((name, list(tp.columns)) for name, tp in scope.policy.tables.items())
    tables = console.queries.remember("sql-tables", TABLES_TTL, console.queries.tables)
    return [(t, cols) for t, cols in tables if t not in SECRET_TABLES]


def _sql_id(sql: str) -> str:
    return "sql:" + hashlib.sha256(sql.encode()).hexdigest()[:12]


def _sql_name(sql: str) -> str:
    first = " ".join(sql.split())
    return first[:80] + ("…" if len(first) > 80 else "")


def run_sql(request: Request, sql: str, limit: int, action: str = "run_sql", **detail: Any) -> Result:
    """Run `sql` for the request's viewer and record it (`run_sql`, or `download`)."""
    console = console_of(request)
    ids = {"asset_type": "sql", "asset_id": _sql_id(sql), "asset_name": _sql_name(sql)}
    if not sql.strip():
        raise QueryError("write a SELECT query first")
    try:
        res = console.queries.run_checked(sql, limit=limit, timeout=console.options.sql_time_limit,
                                          scope=scope_of(request))
    except EventlakeError as exc:
        failed(request, action, exc, sql=sql, **ids, **detail)
        raise
    console.record(request, action, rows=res.table.num_rows, duration_ms=round(res.elapsed_ms, 1), sql=sql,
                   truncated=res.truncated, **ids, **detail)
    return res


def _page(request: Request, status_code: int = 200, **context: Any):
    console = console_of(request)
    context.setdefault("sql", EXAMPLE)
    context.setdefault("limit", min(FORM_LIMIT, console.options.sql_row_limit))
    return console.render(
        request, "sql.html", status_code=status_code, title="SQL", tables=_tables(request),
        row_cap=console.options.sql_row_limit, time_limit=console.options.sql_time_limit, **context,
    )


@router.get("/sql")
def sql_editor(request: Request):
    require(request, "author")
    console = console_of(request)
    console.record(request, "view", asset_type="page", asset_id="console:/sql", asset_name="SQL")
    return _page(request, ran=False)


@router.post("/sql")
async def sql_run(request: Request):
    require(request, "author")
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))
    console = console_of(request)
    sql = str(form.get("sql") or "")
    action = str(form.get("action") or "run")
    if action not in ACTIONS:
        action = "run"
    try:
        limit, note = _limit(console, form.get("limit"))
    except QueryError as exc:
        return _page(request, 400, sql=sql, limit=form.get("limit"), ran=True, error=str(exc))
    if action != "run":
        try:
            res = run_sql(request, sql, limit, action="download", format=action)
        except EventlakeError as exc:
            return _page(request, 400, sql=sql, limit=limit, ran=True, error=str(exc))
        return download_response(res.table, action, "query",
                                 {"X-Eventlake-Truncated": "true" if res.truncated else "false"})
    try:
        res = run_sql(request, sql, limit)
    except EventlakeError as exc:
        return _page(request, 400, sql=sql, limit=limit, ran=True, error=str(exc))
    columns, rows = display_grid(res.table)
    return _page(request, sql=sql, limit=limit, ran=True, note=note, columns=columns, rows=rows,
                 truncated=res.truncated, elapsed_ms=res.elapsed_ms)


@router.post("/api/sql")
async def api_sql(request: Request):
    require(request, "author")
    check_csrf(request)
    console = console_of(request)
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        return json_response({"error": f"the request body is not JSON: {exc}"}, 400)
    if not isinstance(body, dict) or not isinstance(body.get("sql"), str):
        return json_response({"error": 'send a JSON object {"sql": "SELECT ...", "limit": N}'}, 400)
    limit_value = body.get("limit")
    if limit_value is not None and (isinstance(limit_value, bool) or not isinstance(limit_value, (int, str))):
        return json_response({"error": f"limit must be a whole number of rows, got {limit_value!r}"}, 400)
    try:
        limit, note = _limit(console, limit_value)
        res = run_sql(request, body["sql"], limit, api=True)
    except EventlakeError as exc:
        return json_response({"error": str(exc)}, 400)
    return json_response(result_json(res, limit=limit, **({"note": note} if note else {})))
