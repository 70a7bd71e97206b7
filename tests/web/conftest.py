"""Fixtures of the console tests: one demo lake per test process (the demo dataset,
ingested as `make demo` does), a console serving it on a loopback port, and Playwright
driving Debian's chromium (never a downloaded browser), signed in.

Tests share the demo lake and its console: a test that writes (sign-ins, usage
events) must assert on what it wrote itself (its own user, its own query), never on
totals other tests change."""

from __future__ import annotations

import os
import re
import shutil

import httpx
import pytest
from typer.testing import CliRunner

from eventlake.cli import app as cli_app
from eventlake.collect.app import ServerThread
from eventlake.lake import Lake
from eventlake.web.app import ConsoleOptions, create_console
from eventlake.web.principals import add_user

from ..conftest import REQUIRE_SERVICES

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
DEMO_DAYS = 30
DEMO_SEED = 7
# (name, password, role, email)
ADMIN = ("alice", "alice-pass-1", "admin", "alice@example.com")
AUTHOR = ("carol", "carol-pass-1", "author", "carol@example.com")
READER = ("bob", "bob-pass-12", "reader", None)


def cli(lake: Lake | None, *args: str) -> str:
    """Run an eventlake command in-process; fail the test with its output if it fails."""
    argv = (["--lake", str(lake.path)] if lake is not None else []) + list(args)
    res = CliRunner().invoke(cli_app, argv, catch_exceptions=False)
    assert res.exit_code == 0, f"eventlake {' '.join(argv)} failed:\n{res.output}"
    return res.output


def build_demo_lake(root) -> Lake:
    """The demo dataset in a new lake under `root`, loaded the way `make demo` does."""
    logs = root / "logs"
    lake = Lake(root / "lake")
    cli(None, "demo", "generate", "--out", str(logs), "--seed", str(DEMO_SEED), "--days", str(DEMO_DAYS))
    cli(lake, "ingest", "cloudtrail", str(logs / "cloudtrail"))
    cli(lake, "ingest", "bi-metadata", str(logs / "quicksight"))
    for t in ("s3-access", "vpc-flow", "alb", "cloudfront"):
        # the demo's service logs hold a few damaged lines: quarantined, never fatal
        CliRunner().invoke(cli_app, ["--lake", str(lake.path), "ingest", t, str(logs / "service-logs" / t)])
    cli(lake, "demo", "events", "--seed", str(DEMO_SEED), "--days", str(DEMO_DAYS))
    for name, password, role, email in (ADMIN, AUTHOR, READER):
        add_user(lake, name, password, role=role, email=email)
    return lake


@pytest.fixture(scope="session")
def demo_lake(tmp_path_factory) -> Lake:
    return build_demo_lake(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="session")
def console_url(demo_lake):
    """Base URL of a console on the demo lake (usage written every 0.2 s)."""
    opts = ConsoleOptions(usage_flush_seconds=0.2, principals_refresh_seconds=0.2)
    with ServerThread(create_console(demo_lake, opts)) as srv:
        yield srv.url


def login(base_url: str, user=ADMIN) -> httpx.Client:
    """An HTTP client signed in to the console as `user` (session cookie, CSRF token in
    `client.csrf`)."""
    client = httpx.Client(base_url=base_url, follow_redirects=False, timeout=30)
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    res = client.post("/login", data={"username": user[0], "password": user[1], "csrf_token": token, "next": "/"})
    assert res.status_code == 303, res.text
    home = client.get("/health")
    client.csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text).group(1)
    return client


@pytest.fixture
def admin_client(console_url):
    c = login(console_url, ADMIN)
    try:
        yield c
    finally:
        c.close()


def _chromium_missing() -> str | None:
    if os.path.exists(CHROMIUM) and shutil.which("chromium"):
        return None
    return "Debian's chromium is not installed (make dev installs it)"


@pytest.fixture(scope="session")
def browser():
    missing = _chromium_missing()
    if missing:
        if REQUIRE_SERVICES:
            pytest.fail(missing + " and EVENTLAKE_REQUIRE_SERVICES=1")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def sign_in(page, base_url: str, user=ADMIN, next_path: str = "/") -> None:
    """Sign in through the login form, as a person would."""
    from urllib.parse import quote

    page.goto(f"{base_url}/login?next={quote(next_path, safe='')}")
    page.fill("input[name=username]", user[0])
    page.fill("input[name=password]", user[1])
    page.click("button[type=submit]")
    page.wait_for_load_state("load")


@pytest.fixture
def page(browser, console_url):
    """A fresh browser context signed in as the admin. JavaScript errors, CSP violations
    and responses of 400 or more fail the test, except for URLs whose path a test lists
    in `page.expected_errors` (for a test that provokes one)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.expected_errors = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)

    def on_response(res) -> None:
        if res.status >= 400 and not any(p in res.url for p in pg.expected_errors):
            errors.append(f"{res.status} {res.request.method} {res.url}")

    pg.on("response", on_response)
    sign_in(pg, console_url, next_path="/health")
    try:
        yield pg
    finally:
        context.close()
    assert errors == [], f"JavaScript errors or CSP violations in the page: {errors}"
