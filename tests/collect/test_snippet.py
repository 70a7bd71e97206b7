"""The page-view snippet: /s.js (size, caching), beacons to /v1/p (spam rule, visits,
sanitizer), and the script itself in a real browser (Debian's Chromium driven by
Playwright): a page view on load, single-page-app navigation, no cookies, no storage."""

from __future__ import annotations

import http.server
import os
import shutil
import threading

import httpx
import orjson
import pytest

from eventlake.collect.snippet import SNIPPET_BYTES, is_registered

CHROMIUM = "/usr/bin/chromium"


def beacon(h, url: str, referrer: str | None = None, title: str = "Home", key: str | None = None) -> httpx.Response:
    body = orjson.dumps({"k": key or h.key, "u": url, "r": referrer, "t": title})
    return h.http.post("/v1/p", content=body, headers={"Content-Type": "text/plain"})


def pages(h) -> list[tuple]:
    return h.query("SELECT host, path, referrer_host, visit_start, user_id, anonymous_id, library FROM events ORDER BY timestamp, message_id")


def test_snippet_is_small_and_cached(make_collector):
    h = make_collector(sites=["example.com"])
    r = h.http.get("/s.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/javascript")
    assert r.content == SNIPPET_BYTES and len(r.content) < 1536
    assert b"cookie" not in r.content.lower() and b"localstorage" not in r.content.lower()
    assert b"sendBeacon" in r.content and b"keepalive" in r.content and b"pushState" in r.content
    again = h.http.get("/s.js", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304


def test_registered_hosts_only():
    assert is_registered("example.com", ["example.com"])
    assert is_registered("blog.example.com", ["example.com"])
    assert not is_registered("example.com.evil.io", ["example.com"])
    assert not is_registered("notexample.com", ["example.com"])
    assert not is_registered("example.com", [])


def test_beacons_become_page_views_and_spam_is_dropped(make_collector):
    h = make_collector(sites=["example.com"])
    assert beacon(h, "https://example.com/?utm_source=news&token=abc", "https://news.ycombinator.com/item?id=1").status_code == 202
    assert beacon(h, "https://example.com/pricing", "https://example.com/?utm_source=news").status_code == 202
    assert beacon(h, "https://docs.example.com/start").status_code == 202
    assert beacon(h, "https://spam.example.net/", "https://example.com/").status_code == 202  # not registered
    assert beacon(h, "https://example.com/", key="not-a-key").status_code == 401
    bad = h.http.post("/v1/p", content=b"{not json", headers={"Content-Type": "text/plain"})
    assert bad.status_code == 400 and "beacon is not JSON" in bad.json()["error"]
    assert h.health()["spam_page_views"] == {"web": 1}
    h.load()
    assert pages(h) == [
        ("example.com", "/", "news.ycombinator.com", True, None, None, "eventlake.js"),
        ("example.com", "/pricing", "example.com", False, None, None, "eventlake.js"),
        ("docs.example.com", "/start", None, True, None, None, "eventlake.js"),
    ]
    urls = [p["properties"]["url"] for p in h.payloads()]
    assert "token=abc" not in " ".join(urls)  # query strings go, utm_* stay
    assert "https://example.com/?utm_source=news" in urls


class _Site(http.server.ThreadingHTTPServer):
    daemon_threads = True


def _site(html: bytes) -> _Site:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # every path serves the same single-page app
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args):
            pass

    server = _Site(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.skipif(not os.path.exists(CHROMIUM) or shutil.which("chromium") is None, reason="Debian's chromium is not installed (make dev installs it)")
def test_snippet_in_a_real_browser(make_collector):
    from playwright.sync_api import sync_playwright

    h = make_collector(sites=["127.0.0.1"])
    html = (
        f'<!doctype html><title>Shop</title><script defer src="{h.url}/s.js" data-key="{h.key}" data-local></script>'
        '<a id="go" href="#" onclick="history.pushState({}, \'\', \'/checkout\'); document.title=\'Checkout\'; return false">go</a>'
    ).encode()
    site = _site(html)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM,
                args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
            )
            try:
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{site.server_port}/products?ref=x")
                page.wait_for_load_state("networkidle")
                page.click("#go")  # single-page-app navigation
                page.wait_for_timeout(500)
                assert page.context.cookies() == []
                assert page.evaluate("localStorage.length + sessionStorage.length") == 0
            finally:
                browser.close()
    finally:
        site.shutdown()
    for _ in range(50):
        if h.health()["accepted"] >= 2:
            break
        import time

        time.sleep(0.1)
    h.load()
    assert pages(h) == [
        ("127.0.0.1", "/products", None, True, None, None, "eventlake.js"),
        ("127.0.0.1", "/checkout", "127.0.0.1", False, None, None, "eventlake.js"),
    ]
    titles = [p["properties"]["title"] for p in h.payloads()]
    assert titles == ["Shop", "Checkout"]
