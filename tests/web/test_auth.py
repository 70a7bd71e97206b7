"""Signing in, sessions, API tokens, CSRF and the headers every page carries: the
console refuses what it must refuse, and values from the data stay text."""

from __future__ import annotations

import datetime as dt
import re
import time

import httpx
import pytest

from eventlake.collect.app import ServerThread
from eventlake.web.app import ConsoleOptions, create_console
from eventlake.web.principals import add_token, add_user, revoke_token, update_user

from .conftest import ADMIN, READER, login, sign_in

XSS = '<script>alert("xss")</script><img src=x onerror="alert(1)">'


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture
def client(console_url):
    with httpx.Client(base_url=console_url, follow_redirects=False, timeout=30) as c:
        yield c


def test_unauthenticated_requests_are_refused(client):
    page = client.get("/health", headers={"Accept": "text/html"})
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Fhealth"
    api = client.get("/api/insights", headers={"Accept": "application/json"})
    assert api.status_code == 401
    assert api.headers["www-authenticate"] == 'Bearer realm="eventlake"'
    assert api.json() == {"error": "sign in, or send Authorization: Bearer TOKEN"}
    post = client.post("/logout")
    assert post.status_code == 401
    # the login page and static files need no session
    assert client.get("/login").status_code == 200
    assert client.get("/static/app.css").status_code == 200


def test_login_sets_a_signed_httponly_samesite_cookie(client):
    token = _csrf(client.get("/login").text)
    res = client.post("/login", data={"username": ADMIN[0], "password": ADMIN[1], "csrf_token": token, "next": "/health"})
    assert res.status_code == 303 and res.headers["location"] == "/health"
    cookie = res.headers["set-cookie"]
    assert cookie.startswith("eventlake_session=")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower() and "path=/" in cookie.lower()
    assert client.get("/health").status_code == 200
    # a cookie changed by hand is not a session
    value = client.cookies["eventlake_session"]
    forged = httpx.Client(base_url=str(client.base_url), follow_redirects=False, cookies={"eventlake_session": value[:-3] + "AAA"})
    assert forged.get("/health", headers={"Accept": "text/html"}).status_code == 303
    forged.close()


def test_wrong_password_and_unknown_user_get_the_same_answer(client):
    answers = []
    for name, password in ((ADMIN[0], "not-the-password"), ("nobody-here", "whatever-123")):
        token = _csrf(client.get("/login").text)
        res = client.post("/login", data={"username": name, "password": password, "csrf_token": token})
        answers.append((res.status_code, "Wrong user name or password." in res.text))
    assert answers == [(401, True), (401, True)]
    assert client.get("/health", headers={"Accept": "text/html"}).status_code == 303


def test_login_form_needs_its_csrf_token(client):
    client.get("/login")
    res = client.post("/login", data={"username": ADMIN[0], "password": ADMIN[1], "csrf_token": "made-up"})
    assert res.status_code == 403
    assert "The sign-in form expired" in res.text
    assert client.get("/health", headers={"Accept": "text/html"}).status_code == 303


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"])
def test_login_never_redirects_off_site(client, target):
    token = _csrf(client.get("/login").text)
    res = client.post("/login", data={"username": ADMIN[0], "password": ADMIN[1], "csrf_token": token, "next": target})
    assert res.status_code == 303
    assert res.headers["location"] == "/"


def test_logout_needs_the_csrf_token(console_url):
    c = login(console_url, ADMIN)
    assert c.post("/logout", data={}).status_code == 403
    assert c.get("/health").status_code == 200  # still signed in
    res = c.post("/logout", data={"csrf_token": c.csrf})
    assert res.status_code == 303 and res.headers["location"] == "/login"
    assert c.get("/health", headers={"Accept": "text/html"}).status_code == 303
    c.close()


def test_pages_carry_security_headers(admin_client):
    res = admin_client.get("/health")
    csp = res.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert res.headers["x-frame-options"] == "DENY"
    assert res.headers["x-content-type-options"] == "nosniff"
    assert res.headers["cache-control"] == "no-store"


def test_bearer_tokens(demo_lake, client):
    add_user(demo_lake, "tokenuser", "token-user-pass", role="reader")
    rec, token = add_token(demo_lake, "tokenuser", note="ci")
    assert token.startswith(f"elk_{rec.token_id}_") and token not in rec.token_hash
    time.sleep(0.3)  # the console reloads principals every 0.2 s
    ok = client.get("/health", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200 and "tokenuser" in ok.text
    assert "set-cookie" not in ok.headers  # a token request opens no session
    for bad in ("elk_00000000_" + "x" * 43, token[:-1] + ("A" if token[-1] != "A" else "B"), "not-a-token"):
        res = client.get("/health", headers={"Authorization": f"Bearer {bad}"})
        assert res.status_code == 401 and res.json() == {"error": "invalid or revoked API token"}
    revoke_token(demo_lake, rec.token_id)
    time.sleep(0.3)
    assert client.get("/health", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    # a disabled user's other tokens stop too
    _, second = add_token(demo_lake, "tokenuser")
    time.sleep(0.3)
    assert client.get("/health", headers={"Authorization": f"Bearer {second}"}).status_code == 200
    update_user(demo_lake, "tokenuser", disabled=True)
    time.sleep(0.3)
    assert client.get("/health", headers={"Authorization": f"Bearer {second}"}).status_code == 401


def test_a_disabled_user_loses_their_session(demo_lake, console_url):
    add_user(demo_lake, "leaver", "leaver-pass-1", role="reader")
    time.sleep(0.3)
    c = login(console_url, ("leaver", "leaver-pass-1"))
    assert c.get("/health").status_code == 200
    update_user(demo_lake, "leaver", disabled=True)
    time.sleep(0.3)
    assert c.get("/health", headers={"Accept": "text/html"}).status_code == 303
    c.close()


def test_quarantine_is_for_admins_only(console_url):
    """The demo's service logs hold damaged lines: admins see where and why they were
    quarantined and the lines themselves; anyone else sees none of it (the records come
    from every source and tenant), only a note saying so."""
    seen = {}
    for user in (READER, ADMIN):
        c = login(console_url, user)
        seen[user[0]] = c.get("/health").text
        c.close()
    reader, admin = seen[READER[0]], seen[ADMIN[0]]
    reason = "elb_status_code &#39;5xx&#39; is not an integer"
    assert reason in admin and reason not in reader
    assert "Quarantined records come from every source and tenant, so they are shown to admins only." in reader
    assert "<th>record</th>" not in reader and "<th>record</th>" in admin
    assert admin.count(" 5xx ") >= 1 and reader.count(" 5xx ") == 0


# -- values from the data are text, never markup -------------------------------------


@pytest.fixture(scope="module")
def xss_console(tmp_path_factory):
    """A console on a lake whose quarantine holds a record carrying markup."""
    from eventlake.lake import Lake

    lake = Lake(tmp_path_factory.mktemp("xss") / "lake")
    con = lake.connect(create=True)
    lake.ensure_tables(con)
    con.execute(
        "INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?, ?)",
        ["alb", f"s3://logs/{XSS}.log.gz", "line 7", f"bad status {XSS}", XSS, "run-1", dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc)],
    )
    con.close()
    add_user(lake, ADMIN[0], ADMIN[1], role="admin")
    with ServerThread(create_console(lake, ConsoleOptions(usage_flush_seconds=0.2))) as srv:
        yield srv.url


def test_markup_in_data_is_escaped(xss_console):
    c = login(xss_console, ADMIN)
    html = c.get("/health").text
    c.close()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html


def test_markup_in_data_is_inert_in_the_browser(browser, xss_console):
    context = browser.new_context()
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(page, xss_console, ADMIN, "/health")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/health")
    cell = page.locator("#quarantined td code").first
    assert cell.inner_text() == XSS
    assert page.locator("#quarantined script").count() == 0 and page.locator("#quarantined img").count() == 0
    context.close()
    assert dialogs == []
