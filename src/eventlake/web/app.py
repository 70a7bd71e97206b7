"""The web console: server-rendered pages over the lake (FastAPI + Jinja2).

    app = create_console(lake)            # then serve it with uvicorn

Every page and API endpoint needs a signed-in user: a login session (a signed,
HttpOnly, SameSite=Lax cookie that holds the user name and a CSRF token) or an API
token in `Authorization: Bearer`. Forms and JSON posts made with a session carry the
CSRF token (`csrf_token` field or `X-CSRF-Token` header); token requests need none
(a browser never adds that header by itself). Pages send a Content-Security-Policy
that allows scripts and styles from the console itself only: no inline script runs, so
values from event data rendered into a page stay text even if escaping were missed.

The pages are routers in `web/pages/`, listed once in `pages.PAGES`."""

from __future__ import annotations

import hmac
import os
import secrets
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.middleware.sessions import SessionMiddleware

from ..errors import EventlakeError
from ..governance import audit
from ..governance.audit import AuditCommitter
from ..insights import get_insight
from ..lake import Lake
from .principals import Principals, User
from .queries import QueryRunner
from .usage import UsageRecorder

HERE = Path(__file__).parent
SESSION_COOKIE = "eventlake_session"
SESSION_MAX_AGE = 12 * 3600
# paths served without a signed-in user
PUBLIC = ("/login", "/static/", "/healthz")
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


class Forbidden(EventlakeError):
    """The signed-in user's role does not allow this."""


@dataclass(frozen=True)
class Viewer:
    """Who makes a request: the user and how they proved it (session or token)."""

    user: User
    auth: str  # session | token
    csrf: str | None = None
    token_id: str | None = None

    @property
    def name(self) -> str:
        return self.user.name

    def can(self, role: str) -> bool:
        return self.user.can(role)


@dataclass
class ConsoleOptions:
    secure_cookies: bool = False  # set the Secure flag (serve over HTTPS, or behind a TLS proxy)
    record_usage: bool = True
    usage_flush_seconds: float = 2.0
    principals_refresh_seconds: float = 5.0
    sql_row_limit: int = 1000
    sql_time_limit: float = 30.0


def session_secret(lake: Lake) -> str:
    """The key that signs session cookies: made once per lake, kept in
    `<lake>/console/session.key` (mode 0600)."""
    path = lake.path / "console" / "session.key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w") as fh:
        fh.write(key)
    tmp.replace(path)
    return key


def _templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(HERE / "templates")),
        autoescape=select_autoescape(["html"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    from . import render

    env.filters.update(render.FILTERS)
    env.globals.update(render.GLOBALS)
    env.tests.update(render.TESTS)
    return env


class Console:
    """What the pages share: the lake, the query runner, principals, usage and templates."""

    def __init__(self, lake: Lake, options: ConsoleOptions):
        self.lake = lake
        self.options = options
        self.queries = QueryRunner(lake)
        self.principals = Principals(lake, options.principals_refresh_seconds, connect=self.queries.cursor)
        self.usage = UsageRecorder(lake, options.usage_flush_seconds)
        self.audit = AuditCommitter(lake, options.usage_flush_seconds)
        self.templates = _templates()

    def render(self, request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        from .pages import nav

        viewer: Viewer | None = getattr(request.state, "viewer", None)
        html = self.templates.get_template(template).render(
            request=request, viewer=viewer, csrf_token=viewer.csrf if viewer else request.session.get("csrf"),
            nav=nav(viewer), path=request.url.path, **context,
        )
        return HTMLResponse(html, status_code=status_code)

    def record(self, request: Request, action: str, *, user: str | None = None, auth: str | None = None,
               **fields: Any) -> None:
        """Record what the request's viewer (or `user`, signing in) did: a usage event
        (queued), and its audit event (journalled before this returns)."""
        viewer: Viewer | None = getattr(request.state, "viewer", None)
        name = viewer.name if viewer else user
        auth = auth or (viewer.auth if viewer else "none")
        self.audit.record(console_audit_event(request, action, name, auth, viewer.token_id if viewer else None, fields))
        if self.options.record_usage:
            self.usage.record(action, name, auth=auth, page=request.url.path, **fields)


_AUDIT_ACTIONS = {"login_failed": "login", "run_insight": "query", "run_sql": "query", "download": "export"}


def console_audit_event(request: Request, action: str, user: str | None, auth: str, token_id: str | None,
                        fields: dict[str, Any]) -> audit.AuditEvent:
    """The audit event of a console event: sign-ins, page views, saved queries and SQL
    run, downloads (exports); refusals and errors with their reason."""
    status = fields.get("status", "refused" if action == "login_failed" else "ok")
    insight = fields.get("asset_id") if fields.get("asset_type") == "insight" else None
    detail = {k: fields.get(k) for k in ("params", "format", "truncated", "duration_ms", "asset_type")}
    return audit.AuditEvent(
        _AUDIT_ACTIONS.get(action, action), user, status if status in audit.OUTCOMES else "error",
        via="api" if request.url.path.startswith("/api/") else "console", auth=auth, token_id=token_id,
        target=insight or fields.get("asset_id") or request.url.path, statement=fields.get("sql"),
        tables=_insight_tables(insight) if insight and not fields.get("sql") else None, rows=fields.get("rows"),
        reason=fields.get("error") or fields.get("reason"), client=request.client.host if request.client else None,
        detail=detail,
    )


@lru_cache(maxsize=512)
def _insight_tables(name: str) -> list[str] | None:
    try:
        return audit.tables_of(get_insight(name).sql)
    except EventlakeError:
        return None


def console_of(request: Request) -> Console:
    return request.app.state.console


def viewer_of(request: Request) -> Viewer:
    return request.state.viewer


def require(request: Request, role: str) -> Viewer:
    viewer = viewer_of(request)
    if not viewer.can(role):
        raise Forbidden(f"this needs the {role} role; {viewer.name} is a {viewer.user.role}")
    return viewer


def check_csrf(request: Request, form_value: str | None = None) -> None:
    """Refuse a state-changing request made with a session cookie but without the
    session's CSRF token."""
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    if viewer is not None and viewer.auth == "token":
        return
    expected = request.session.get("csrf")
    given = form_value or request.headers.get("x-csrf-token") or ""
    if not expected or not hmac.compare_digest(str(expected), str(given)):
        raise Forbidden("the form's CSRF token is missing or stale: reload the page and try again")


def _wants_html(request: Request) -> bool:
    return request.method == "GET" and not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "text/html")


def safe_next(target: str | None) -> str:
    """A redirect target inside the console (never another site)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def create_console(lake: Lake, options: ConsoleOptions | None = None) -> FastAPI:
    options = options or ConsoleOptions()
    console = Console(lake, options)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if options.record_usage:
            console.usage.start()
        console.audit.start()
        try:
            yield
        finally:
            console.usage.close()
            console.audit.close()
            console.queries.close()

    app = FastAPI(title="eventlake console", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.console = console

    @app.middleware("http")
    async def authenticate(request: Request, call_next):
        path = request.url.path
        request.state.viewer = None
        auth = request.headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            found = console.principals.token_user(auth[7:].strip())
            if found is None:
                console.record(request, "login_failed", auth="token", status="refused", reason="invalid or revoked API token")
                return JSONResponse({"error": "invalid or revoked API token"}, status_code=401,
                                    headers={"WWW-Authenticate": 'Bearer realm="eventlake"'})
            request.state.viewer = Viewer(found[0], "token", token_id=found[1].token_id)
        else:
            name = request.session.get("user")
            user = console.principals.user(name) if name else None
            if user is not None and request.session.get("expires", 0) > time.time():
                request.state.viewer = Viewer(user, "session", request.session.get("csrf"))
            elif name:
                request.session.clear()
        if request.state.viewer is None and not path.startswith(PUBLIC):
            if _wants_html(request):
                nxt = path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={quote(nxt, safe='')}", status_code=303)
            return JSONResponse({"error": "sign in, or send Authorization: Bearer TOKEN"}, status_code=401,
                                headers={"WWW-Authenticate": 'Bearer realm="eventlake"'})
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    # added after (so outside) the authentication middleware: the session is decoded first
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(lake),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=options.secure_cookies,
    )

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden):
        console.record(request, "view", status="refused", reason=str(exc))
        if _wants_html(request) or request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded", "multipart/")):
            return console.render(request, "error.html", status_code=403, title="Not allowed", message=str(exc))
        return JSONResponse({"error": str(exc)}, status_code=403)

    @app.exception_handler(EventlakeError)
    async def eventlake_error(request: Request, exc: EventlakeError):
        if _wants_html(request):
            return console.render(request, "error.html", status_code=400, title="Error", message=str(exc))
        return JSONResponse({"error": str(exc)}, status_code=400)

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> Response:
        return JSONResponse({"status": "ok"})

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/", error: str | None = None):
        request.session.setdefault("csrf", secrets.token_urlsafe(32))
        return console.render(request, "login.html", next=safe_next(next), error=error, title="Sign in")

    @app.post("/login")
    async def login(request: Request):
        form = await request.form()
        name = str(form.get("username", "")).strip()
        password = str(form.get("password", ""))
        target = safe_next(str(form.get("next", "/")))
        if not request.session.get("csrf") or not hmac.compare_digest(str(request.session.get("csrf")), str(form.get("csrf_token", ""))):
            return console.render(request, "login.html", status_code=403, next=target, title="Sign in",
                                  error="The sign-in form expired: please try again.")
        user = console.principals.login(name, password)
        if user is None:
            console.record(request, "login_failed", user=name[:64] or None, auth="session", status="refused",
                           reason="wrong user name or password")
            request.session["csrf"] = secrets.token_urlsafe(32)
            return console.render(request, "login.html", status_code=401, next=target, title="Sign in",
                                  error="Wrong user name or password.", username=name)
        request.session.clear()  # a new session (and CSRF token) at every sign-in
        request.session.update({"user": user.name, "csrf": secrets.token_urlsafe(32), "expires": time.time() + SESSION_MAX_AGE})
        console.record(request, "login", user=user.name, auth="session")
        return RedirectResponse(target, status_code=303)

    @app.post("/logout")
    async def logout(request: Request):
        form = await request.form()
        check_csrf(request, form.get("csrf_token"))
        console.record(request, "logout")
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    from .pages import PAGES

    for page in PAGES:
        app.include_router(page.router)
    return app
