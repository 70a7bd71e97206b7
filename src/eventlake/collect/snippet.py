"""The page-view snippet served at `/s.js`, and what the collector makes of its beacons.

    <script defer src="https://HOST/s.js" data-key="WRITE_KEY"></script>

The script sets no cookie, uses no storage and reads nothing to tell visitors apart: it
sends the page's URL, the referrer and the title with `navigator.sendBeacon` (falling
back to `fetch(..., {keepalive: true})`), once per page and again on single-page-app
navigation (`history.pushState`, sent once the app has had a moment to set the new
title, and `popstate`), where the referrer becomes the previous
URL of the same site — so the navigation does not count as a new visit. A visit is
counted the privacy-first way: a page view whose referrer is not the same site starts
one (the loader's `visit_start`).

A beacon is a small JSON text body `{"k": key, "u": url, "r": referrer, "t": title}`
posted to `/v1/p` (text/plain, so the browser sends it without a CORS preflight). The
collector turns it into a Segment `page` event with no user or anonymous id, after
checking that the URL's host is one of the sites registered for the key: anything else
is spam (counted, not stored)."""

from __future__ import annotations

import hashlib
import uuid
from urllib.parse import urlsplit

import orjson

# Hand-minified; tests check it stays under 1.5 KB and run it in a real browser.
SNIPPET_JS = (
    '!function(w,d){var s=d.currentScript;if(!s)return;var k=s.getAttribute("data-key"),'
    'a=s.getAttribute("data-api")||s.src.replace(/\\/s\\.js([?#].*)?$/,"/v1/p"),l=w.location,n=navigator,h=w.history,p=null;'
    'function v(){var u=l.href;if(u===p||/^(localhost|127\\.|\\[::1\\])/.test(l.hostname)&&!s.hasAttribute("data-local"))return;'
    'var b=JSON.stringify({k:k,u:u,r:p||d.referrer||null,t:d.title});p=u;'
    'try{if(n.sendBeacon&&n.sendBeacon(a,new Blob([b],{type:"text/plain"})))return}catch(e){}'
    'try{fetch(a,{method:"POST",body:b,keepalive:!0,headers:{"Content-Type":"text/plain"}})}catch(e){}}'
    'var o=h.pushState;if(o){h.pushState=function(){o.apply(this,arguments);setTimeout(v,0)};w.addEventListener("popstate",v)}'
    'if(d.visibilityState==="prerender")d.addEventListener("visibilitychange",function f(){if(d.visibilityState!=="prerender"){d.removeEventListener("visibilitychange",f);v()}});else v()}(window,document);\n'
)
SNIPPET_BYTES = SNIPPET_JS.encode()
SNIPPET_ETAG = '"' + hashlib.sha256(SNIPPET_BYTES).hexdigest()[:16] + '"'
MAX_BEACON_BYTES = 8 * 1024


class BeaconError(ValueError):
    """A beacon that is not a page view of the snippet's shape (answered 400)."""


def parse_beacon(body: bytes) -> tuple[str, dict]:
    """(write key, page fields) from a beacon body; BeaconError naming what is wrong."""
    if len(body) > MAX_BEACON_BYTES:
        raise BeaconError(f"beacon is {len(body):,} bytes, at most {MAX_BEACON_BYTES:,}")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BeaconError(f"beacon is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BeaconError("beacon is not a JSON object")
    key, url = data.get("k"), data.get("u")
    if not isinstance(key, str) or not key:
        raise BeaconError("beacon has no write key (k)")
    if not isinstance(url, str) or not url:
        raise BeaconError("beacon has no page URL (u)")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BeaconError(f"page URL {url[:200]!r} is not an http(s) URL")
    referrer = data.get("r")
    title = data.get("t")
    return key, {
        "url": url,
        "host": parts.hostname.lower(),
        "path": parts.path or "/",
        "referrer": referrer if isinstance(referrer, str) and referrer else None,
        "title": title[:500] if isinstance(title, str) else None,
    }


def is_registered(host: str, sites: list[str] | None) -> bool:
    """Whether a page view's host belongs to the source: one of its sites, or a
    subdomain of one (`blog.example.com` for `example.com`). No sites: nothing is."""
    host = host.lower().rstrip(".")
    for site in sites or []:
        site = site.lower().strip().rstrip(".")
        if site and (host == site or host.endswith("." + site)):
            return True
    return False


def page_event(page: dict, user_agent: str | None) -> dict:
    """The Segment `page` event a beacon stands for (no user or anonymous id)."""
    return {
        "type": "page",
        "messageId": str(uuid.uuid4()),
        "properties": {"url": page["url"], "path": page["path"], "referrer": page["referrer"], "title": page["title"]},
        "context": {
            "library": {"name": "eventlake.js", "version": "1"},
            "page": {"url": page["url"], "path": page["path"], "referrer": page["referrer"], "title": page["title"]},
            "userAgent": user_agent,
        },
    }
