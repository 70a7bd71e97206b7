"""The collector's HTTP API against a real server (uvicorn on a loopback port), a real
raw log and a real lake: status codes and reasons, durable acknowledgement, privacy
rules, enrichment and the IP option, end to end into raw_events and events."""

from __future__ import annotations

import gzip
import random
import threading
import time

import httpx
import orjson
import pytest

from eventlake.collect.privacy import CARD, EMAIL, SECRET, TOKEN
from eventlake.collect.sources import add_source, revoke_source

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
IPAD = "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
GB_IP = "81.2.69.142"  # a UK address
US_IP = "8.8.8.8"


def track(event="Signed Up", user="u1", **extra) -> dict:
    return {"userId": user, "event": event, **extra}


# --- acceptance and storage --------------------------------------------------------------


def test_track_is_acknowledged_then_loaded(make_collector):
    c = make_collector()
    r = c.post("/v1/track", track(properties={"plan": "pro"}, messageId="m-1", timestamp="2026-11-26T08:00:00Z"), headers={"User-Agent": FIREFOX})
    assert r.status_code == 200 and r.json() == {"success": True}
    # acknowledged means on disk, in the raw log, before any load
    lines = b"".join(p.read_bytes() for p in c.raw_dir.glob("seg-*"))
    assert b'"message_id":"m-1"' in lines
    stats = c.load()
    assert stats.records_loaded == 1
    rows = c.query("SELECT type, event, user_id, message_id, properties, source, browser, os, device_type, CAST(event_date AS VARCHAR) FROM events")
    assert rows == [("track", "Signed Up", "u1", "m-1", '{"plan":"pro"}', "web", "Firefox", "Linux", "desktop", "2026-11-26")]
    [raw] = c.query("SELECT source, key_id, type, message_id, segment FROM raw_events")
    assert raw[0] == "web" and raw[1].startswith("k_") and raw[2:4] == ("track", "m-1") and raw[4].startswith("seg-")


def test_every_endpoint_and_type(make_collector):
    c = make_collector()
    assert c.post("/v1/track", track(messageId="t")).status_code == 200
    assert c.post("/v1/page", {"anonymousId": "a1", "name": "Home", "messageId": "p", "properties": {"url": "https://ex.com/"}}).status_code == 200
    assert c.post("/v1/screen", {"userId": "u1", "name": "Settings", "messageId": "s"}).status_code == 200
    assert c.post("/v1/identify", {"userId": "u1", "traits": {"plan": "pro"}, "messageId": "i"}).status_code == 200
    assert c.post("/v1/group", {"userId": "u1", "groupId": "g1", "traits": {"name": "Acme"}, "messageId": "g"}).status_code == 200
    assert c.post("/v1/alias", {"userId": "u1", "previousId": "a1", "messageId": "a"}).status_code == 200
    batch = {"batch": [{"type": "track", "userId": "u2", "event": "Batched", "messageId": "b1"}, {"type": "page", "userId": "u2", "messageId": "b2"}]}
    assert c.post("/v1/batch", batch).status_code == 200
    assert c.post("/v1/import", {"batch": [{"type": "identify", "anonymousId": "x", "messageId": "imp"}]}).status_code == 200
    c.load()
    rows = c.query("SELECT message_id, type, event, name, user_id, anonymous_id, group_id, previous_id FROM events ORDER BY message_id")
    assert rows == [
        ("a", "alias", None, None, "u1", None, None, "a1"),
        ("b1", "track", "Batched", None, "u2", None, None, None),
        ("b2", "page", None, None, "u2", None, None, None),
        ("g", "group", None, None, "u1", None, "g1", None),
        ("i", "identify", None, None, "u1", None, None, None),
        ("imp", "identify", None, None, None, "x", None, None),
        ("p", "page", None, "Home", None, "a1", None, None),
        ("s", "screen", None, "Settings", "u1", None, None, None),
        ("t", "track", "Signed Up", None, "u1", None, None, None),
    ]
    endpoints = {r["endpoint"] for r in c.requests()}
    assert endpoints == {"/v1/track", "/v1/page", "/v1/screen", "/v1/identify", "/v1/group", "/v1/alias", "/v1/batch", "/v1/import"}


def test_write_key_in_body_and_message_id_generated(make_collector):
    c = make_collector()
    r = c.post("/v1/batch", {"writeKey": c.key, "batch": [{"type": "track", "userId": "u", "event": "E", "writeKey": c.key}]}, key="")
    assert r.status_code == 200, r.text
    r = c.post("/v1/track", {"writeKey": c.key, "userId": "u", "event": "F"}, key="")
    assert r.status_code == 200, r.text
    c.load()
    ids = [m for (m,) in c.query("SELECT message_id FROM events")]
    assert len(ids) == 2 and all(len(m) == 36 and m.count("-") == 4 for m in ids)  # uuid4
    # the key is never stored
    blob = b"".join(p.read_bytes() for p in c.lake.path.rglob("*") if p.is_file())
    assert c.key.encode() not in blob
    assert all("writeKey" not in p for p in c.payloads())


def test_batch_context_and_sent_at_apply_to_each_event(make_collector):
    c = make_collector()
    body = {
        "sentAt": "2026-11-26T10:00:05Z",
        "context": {"library": {"name": "my-lib", "version": "1"}},
        "batch": [
            {"type": "track", "userId": "u", "event": "E", "messageId": "e1", "timestamp": "2026-11-26T10:00:00Z"},
            {"type": "track", "userId": "u", "event": "E", "messageId": "e2", "context": {"library": {"name": "other"}}},
        ],
    }
    assert c.post("/v1/batch", body).status_code == 200
    c.load()
    assert c.query("SELECT message_id, library FROM events ORDER BY 1") == [("e1", "my-lib"), ("e2", "other")]
    assert [p["sentAt"] for p in c.payloads()] == ["2026-11-26T10:00:05Z"] * 2


def test_gzip_body(make_collector):
    c = make_collector()
    body = gzip.compress(orjson.dumps({"batch": [track(type="track", messageId="gz")]}))
    r = c.post("/v1/batch", content=body, headers={"Content-Encoding": "gzip"})
    assert r.status_code == 200, r.text
    c.load()
    assert c.query("SELECT message_id FROM events") == [("gz",)]


def test_duplicate_message_ids_load_once(make_collector):
    c = make_collector()
    for _ in range(3):
        assert c.post("/v1/track", track(messageId="same")).status_code == 200
    c.load()
    assert c.post("/v1/track", track(messageId="same")).status_code == 200
    c.load()
    assert c.query("SELECT count(*) FROM events") == [(1,)]
    assert c.query("SELECT count(*) FROM raw_events") == [(4,)]


# --- authentication ----------------------------------------------------------------------


def test_unknown_missing_and_revoked_keys_are_401(make_collector):
    c = make_collector()
    r = c.post("/v1/track", track(), key="not-a-key")
    assert r.status_code == 401 and r.json()["error"] == "unknown or revoked write key"
    r = c.post("/v1/track", track(), key="")
    assert r.status_code == 401 and "no write key" in r.json()["error"]
    r = c.post("/v1/track", {**track(), "writeKey": "wrong"}, key="")
    assert r.status_code == 401
    r = c.http.post("/v1/track", content=orjson.dumps(track()), headers={"Authorization": "Basic !!!notbase64"})
    assert r.status_code == 401
    assert c.post("/v1/track", track()).status_code == 200
    revoke_source(c.lake, "web")
    deadline = time.monotonic() + 10
    while c.post("/v1/track", track()).status_code != 401:
        assert time.monotonic() < deadline, "a revoked key is still accepted"
        time.sleep(0.1)
    assert c.health()["rejected"]["unauthorized"] >= 5


def test_source_added_while_running_is_accepted_within_seconds(make_collector):
    c = make_collector()
    _, key2 = add_source(c.lake, "backend")
    deadline = time.monotonic() + 10
    while (r := c.post("/v1/track", track(), key=key2)).status_code == 401:
        assert time.monotonic() < deadline, "a new source is not accepted"
        time.sleep(0.1)
    assert r.status_code == 200, r.text
    c.load()
    assert c.query("SELECT source FROM events") == [("backend",)]


def test_origin_outside_the_sources_sites_is_403(make_collector):
    c = make_collector(sites=["example.com"])
    assert c.post("/v1/track", track(), headers={"Origin": "https://www.example.com"}).status_code == 200
    r = c.post("/v1/track", track(), headers={"Origin": "https://evil.test"})
    assert r.status_code == 403 and "evil.test" in r.json()["error"]
    assert c.post("/v1/track", track()).status_code == 200  # server-side: no Origin
    c.load()
    assert sorted(r["site_host"] or "" for r in c.requests()) == ["", "www.example.com"]


# --- limits and validation ---------------------------------------------------------------


def test_oversize_event_and_batch_are_413(make_collector):
    c = make_collector()
    r = c.post("/v1/track", track(properties={"blob": "x" * 33_000}))
    assert r.status_code == 413 and "at most 32 KB" in r.json()["error"]
    big = [track(type="track", properties={"blob": "x" * 20_000}) for _ in range(30)]  # ~600 KB
    r = c.post("/v1/batch", {"batch": big})
    assert r.status_code == 413 and "at most 500 KB" in r.json()["error"]
    one_big = [track(type="track"), track(type="track", properties={"blob": "y" * 40_000})]
    r = c.post("/v1/batch", {"batch": one_big})
    assert r.status_code == 413 and "batch[1]" in r.json()["error"] and "32 KB" in r.json()["error"]
    bomb = gzip.compress(b'{"batch": [' + b" " * 5_000_000 + b"]}")
    r = c.post("/v1/batch", content=bomb, headers={"Content-Encoding": "gzip"})
    assert r.status_code == 413 and "decompressed" in r.json()["error"]
    c.load()
    assert c.query("SELECT count(*) FROM raw_events") == [(0,)]
    assert c.health()["rejected"]["too_large"] == 4


@pytest.mark.parametrize(
    "path,body,reason",
    [
        ("/v1/track", b"{not json", "the body is not valid JSON"),
        ("/v1/track", b"[1, 2]", "the body must be a JSON object, not list"),
        ("/v1/track", b"", "the body is not valid JSON"),
        ("/v1/track", {"userId": "u"}, "event (track): missing field 'event'"),
        ("/v1/track", {"event": "E"}, "event (track): missing field 'userId' or 'anonymousId'"),
        ("/v1/track", {"event": "E", "userId": ""}, "missing field 'userId' or 'anonymousId'"),
        ("/v1/track", {"event": 5, "userId": "u"}, "missing field 'event' (the event name, a non-empty string)"),
        ("/v1/track", {"event": "E", "userId": "u", "properties": [1]}, "field 'properties' must be a JSON object"),
        ("/v1/track", {"event": "E", "userId": "u", "timestamp": "yesterday"}, "field 'timestamp' is not an ISO-8601 time"),
        ("/v1/track", {"event": "E", "userId": {"id": 1}}, "field 'userId' must be a string"),
        ("/v1/page", {"name": "Home"}, "event (page): missing field 'userId' or 'anonymousId'"),
        ("/v1/screen", {"properties": {}}, "event (screen): missing field 'userId' or 'anonymousId'"),
        ("/v1/identify", {"traits": {"a": 1}}, "event (identify): missing field 'userId' or 'anonymousId'"),
        ("/v1/group", {"userId": "u"}, "event (group): missing field 'groupId'"),
        ("/v1/group", {"groupId": "g"}, "event (group): missing field 'userId' or 'anonymousId'"),
        ("/v1/alias", {"userId": "u"}, "event (alias): missing field 'previousId'"),
        ("/v1/alias", {"previousId": "p", "anonymousId": "a"}, "event (alias): missing field 'userId'"),
        ("/v1/batch", {"events": []}, "missing field 'batch'"),
        ("/v1/batch", {"batch": [{"userId": "u", "event": "E"}]}, "batch[0]: missing field 'type'"),
        ("/v1/batch", {"batch": [{"type": "track", "userId": "u", "event": "E"}, {"type": "click", "userId": "u"}]}, "batch[1]: field 'type' is 'click', not one of track, page, screen, identify, group, alias"),
        ("/v1/batch", {"batch": [{"type": "track", "userId": "u", "event": "E"}, {"type": "identify", "userId": "u"}, {"type": "track", "anonymousId": "a"}]}, "batch[2] (track): missing field 'event'"),
        ("/v1/batch", {"batch": [{"type": "track", "userId": "u", "event": "E"}, "not an event"]}, "batch[1]: an event must be a JSON object"),
    ],
)
def test_bad_requests_are_400_with_the_reason(shared_collector, path, body, reason):
    c = shared_collector
    r = c.post(path, content=body if isinstance(body, bytes) else orjson.dumps(body))
    assert r.status_code == 400, r.text
    j = r.json()
    assert reason in j["error"], j
    assert j["success"] is False and j["message"] == j["error"]
    # a batch with one bad event stores nothing at all
    assert not any(p.stat().st_size for p in c.raw_dir.glob("seg-*"))


def test_never_crashes_on_random_input(make_collector):
    c = make_collector()
    rnd = random.Random(7)
    pieces = [b"{", b"}", b"[", b"]", b'"batch"', b":", b",", b'"type"', b'"track"', b"null", b"1e999", b"\xff", b'"\\ud800"', b"0", b'"userId"', b'"event"']
    statuses = set()
    for i in range(150):
        if i % 3 == 0:
            body = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 300)))
        else:
            body = b"".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 40)))
        path = rnd.choice(["/v1/batch", "/v1/track", "/v1/page", "/v1/identify", "/v1/group", "/v1/alias"])
        headers = {"Content-Encoding": "gzip"} if i % 17 == 0 else {}
        r = c.post(path, content=body, headers=headers)
        statuses.add(r.status_code)
        assert r.status_code in (200, 400), (body, r.text)
    deep = b'{"batch": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    assert c.post("/v1/batch", content=deep).status_code == 400
    assert c.health()["rejected"].get("internal_error") is None
    assert 400 in statuses


# --- back-pressure ------------------------------------------------------------------------


def test_disk_nearly_full_is_503_with_retry_after(make_collector):
    c = make_collector(rawlog={"min_free_bytes": 1 << 60})
    r = c.post("/v1/track", track())
    assert r.status_code == 503
    assert int(r.headers["Retry-After"]) >= 1
    assert "nearly full" in r.json()["error"]
    assert c.health()["backpressure"] == 1


def test_full_write_queue_is_503_and_every_200_is_durable(make_collector):
    c = make_collector(rawlog={"max_pending_bytes": 600})
    results: list[tuple[str, int, str | None]] = []
    lock = threading.Lock()

    def send(t: int) -> None:
        with httpx.Client(base_url=c.url, timeout=30) as http:
            for i in range(15):
                mid = f"t{t}-{i}"
                body = orjson.dumps({"batch": [{"type": "track", "userId": "u", "event": "E", "messageId": mid, "properties": {"pad": "p" * 150}}]})
                r = http.post("/v1/batch", content=body, auth=(c.key, ""))
                with lock:
                    results.append((mid, r.status_code, r.headers.get("Retry-After")))

    threads = [threading.Thread(target=send, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = {code for _, code, _ in results}
    assert codes <= {200, 503}
    assert all(ra and int(ra) >= 1 for _, code, ra in results if code == 503)
    c.load()
    acked = {mid for mid, code, _ in results if code == 200}
    stored = {m for (m,) in c.query("SELECT message_id FROM events")}
    assert acked == stored
    assert c.health()["backpressure"] == sum(code == 503 for _, code, _ in results)


def test_too_many_requests_in_flight_is_429(make_collector):
    c = make_collector(app={"max_in_flight": 1})
    started = threading.Event()
    release = threading.Event()

    def slow_body():
        yield b'{"userId": "u", '
        started.set()
        release.wait(10)
        yield b'"event": "Slow"}'

    result = {}

    def slow_request():
        with httpx.Client(base_url=c.url, timeout=30) as http:
            result["r"] = http.post("/v1/track", content=slow_body(), auth=(c.key, ""), headers={"Content-Type": "application/json"})

    t = threading.Thread(target=slow_request)
    t.start()
    assert started.wait(10)
    deadline = time.monotonic() + 10
    while c.collector.in_flight < 1:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    r = c.post("/v1/track", track())
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    release.set()
    t.join()
    assert result["r"].status_code == 200
    assert c.post("/v1/track", track()).status_code == 200


# --- privacy -------------------------------------------------------------------------------------


def test_allowlists_and_sanitizer_end_to_end(make_collector):
    c = make_collector(event_allowlist=["Signed Up", "Order Completed"], property_allowlist=["plan", "note", "card", "url"], query_allowlist=["ref"])
    batch = [
        {"type": "track", "userId": "u1", "event": "Signed Up", "messageId": "keep",
         "properties": {"plan": "pro", "email": "not-allowed@example.com", "note": "mail me at jo@example.com",
                        "card": "4111 1111 1111 1111", "url": "https://ex.com/w?invite=abc&ref=hn&utm_source=tw"}},
        {"type": "track", "userId": "u1", "event": "Mouse Moved", "messageId": "dropped"},
        {"type": "identify", "userId": "u1", "messageId": "who",
         "traits": {"email": "u1@example.com", "api_key": "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "session": "d41d8cd98f00b204e9800998ecf8427e", "name": "Jo"}},
    ]
    r = c.post("/v1/batch", {"batch": batch})
    assert r.status_code == 200
    c.load()
    stored = {p["messageId"]: p for p in c.payloads()}
    assert set(stored) == {"keep", "who"}  # the event outside the allowlist is not stored
    assert stored["keep"]["properties"] == {
        "plan": "pro",
        "note": f"mail me at {EMAIL}",
        "card": CARD,
        "url": "https://ex.com/w?ref=hn&utm_source=tw",
    }
    assert stored["who"]["traits"] == {"email": EMAIL, "api_key": TOKEN, "session": SECRET, "name": "Jo"}
    [(props,)] = c.query("SELECT properties FROM events WHERE message_id = 'keep'")
    assert "example.com" not in props and "4111" not in props
    h = c.health()
    assert h["dropped_by_allowlist"] == {"web": 1}
    assert h["properties_removed"] == {"web": 1}
    assert h["query_params_removed"] == {"web": 1}
    assert h["redactions"] == {"web": {"email": 2, "card": 1, "token": 1, "secret": 1}}
    assert h["accepted"] == 2


def test_only_dropped_events_is_still_200(make_collector):
    c = make_collector(event_allowlist=["Allowed"])
    r = c.post("/v1/track", track(event="Other"))
    assert r.status_code == 200 and r.json() == {"success": True}
    c.load()
    assert c.query("SELECT count(*) FROM raw_events") == [(0,)]


def test_ip_is_dropped_by_default(make_collector):
    c = make_collector()
    assert c.post("/v1/track", track(messageId="a", context={"ip": GB_IP, "userAgent": IPHONE})).status_code == 200
    assert c.post("/v1/track", track(messageId="b"), headers={"User-Agent": IPAD}).status_code == 200
    c.load()
    p = {x["messageId"]: x for x in c.payloads()}
    assert "ip" not in p["a"]["context"]
    assert all(r["ip"] is None for r in c.requests())
    rows = c.query("SELECT message_id, country, device_type, browser, os FROM events ORDER BY 1")
    assert rows == [("a", "GB", "mobile", "Mobile Safari", "iOS"), ("b", None, "tablet", "Mobile Safari", "iOS")]
    blob = b"".join(p.read_bytes() for p in c.lake.path.rglob("*") if p.is_file())
    assert GB_IP.encode() not in blob and b"127.0.0.1" not in blob


def test_ip_is_kept_when_the_source_opts_in(make_collector):
    c = make_collector(keep_ip=True)
    assert c.post("/v1/track", track(messageId="a", context={"ip": US_IP})).status_code == 200
    assert c.post("/v1/track", track(messageId="b")).status_code == 200
    c.load()
    req = {p["messageId"]: r for p, r in zip(c.payloads(), c.requests())}
    assert req["a"]["ip"] == US_IP and req["a"]["country"] == "US"
    assert req["b"]["ip"] == "127.0.0.1" and req["b"]["country"] is None
    assert {p["messageId"]: p.get("context", {}).get("ip") for p in c.payloads()} == {"a": US_IP, "b": None}


@pytest.mark.parametrize("trust", [False, True])
def test_x_forwarded_for_only_with_trust_proxy(make_collector, trust):
    c = make_collector(keep_ip=True, app={"trust_proxy": trust})
    r = c.post("/v1/track", track(), headers={"X-Forwarded-For": f"10.0.0.9, {GB_IP}", "User-Agent": GOOGLEBOT})
    assert r.status_code == 200
    c.load()
    [req] = c.requests()
    if trust:
        assert req["ip"] == GB_IP and req["country"] == "GB"
    else:
        assert req["ip"] == "127.0.0.1" and req["country"] is None
    assert req["device_type"] == "bot"


def test_health(make_collector):
    c = make_collector()
    c.post("/v1/track", track())
    c.post("/v1/track", {"bad": 1})
    h = c.health()
    assert h["status"] == "ok" and h["accepted"] == 1 and h["requests"] == 2
    assert h["rejected"] == {"invalid_event": 1}
    assert h["sources"] == 1 and h["in_flight"] == 0
    assert h["redactions"] == {}  # nothing redacted yet: no entry for the source
    assert h["loader"]["waiting"] == {"segments": 0, "bytes": 0, "oldest_age_seconds": None}
    # a sealed segment waits for the loader until it is loaded
    sealed = c.collector.rawlog.rotate()
    waiting = c.health()["loader"]["waiting"]
    assert waiting["segments"] == 1 and waiting["bytes"] == sealed.stat().st_size > 0
    assert 0 <= waiting["oldest_age_seconds"] < 60
    assert c.load().records_loaded == 1
    assert c.health()["loader"]["waiting"] == {"segments": 0, "bytes": 0, "oldest_age_seconds": None}


# --- enrichment helpers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ua,expected",
    [
        (FIREFOX, ("desktop", "Firefox", "Linux")),
        (IPHONE, ("mobile", "Mobile Safari", "iOS")),
        (IPAD, ("tablet", "Mobile Safari", "iOS")),
        (GOOGLEBOT, ("bot", "Googlebot", None)),
        ("Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36", ("tablet", "Chrome", "Android")),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36", ("mobile", "Chrome", "Android")),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0", ("desktop", "Edge", "Windows")),
        ("analytics-python/2.4.0", ("other", None, None)),
        ("", (None, None, None)),
    ],
)
def test_parse_user_agent(ua, expected):
    from eventlake.collect.app import parse_user_agent

    assert parse_user_agent(ua) == expected


def test_country_and_basic_auth_helpers():
    import base64

    from eventlake.collect.app import _basic_user, country_of

    assert country_of(GB_IP) == "GB" and country_of("2001:4860:4860::8888") == "US"
    assert country_of("127.0.0.1") is None and country_of("10.1.2.3") is None and country_of("garbage") is None
    assert _basic_user("Basic " + base64.b64encode(b"the-key:").decode()) == "the-key"
    assert _basic_user("basic " + base64.b64encode(b"the-key").decode()) == "the-key"
    assert _basic_user("Bearer xyz") is None and _basic_user(None) is None
    assert _basic_user("Basic %%%") == ""


def test_loads_run_in_a_child_process_of_lower_cpu_priority(make_collector):
    """By default the loads run in a loader process of the collector's, BACKGROUND_NICE
    steps of CPU priority below the requests (and with a GIL of its own); it goes with
    the collector."""
    import os

    import psutil

    from eventlake.collect.app import BACKGROUND_NICE

    c = make_collector()
    assert c.post("/v1/track", track(messageId="proc-1")).status_code == 200
    assert c.load().records_loaded == 1
    pid = c.health()["loader"]["process"]
    assert isinstance(pid, int) and pid != os.getpid()
    proc = psutil.Process(pid)
    assert proc.ppid() == os.getpid()
    assert "eventlake.collect.loadworker" in proc.cmdline()
    # the lake's settings (a PostgreSQL catalog's may hold a password) go over the
    # socket: other users can read a command line
    assert not any(str(c.lake.path) in arg or "sqlite" in arg for arg in proc.cmdline())
    main = os.getpriority(os.PRIO_PROCESS, os.getpid())
    assert proc.nice() == min(19, main + BACKGROUND_NICE)
    # the request path (the server's event loop thread) keeps the process's priority
    assert os.getpriority(os.PRIO_PROCESS, c.server._thread.native_id) == main
    c.close()
    proc.wait(30)  # (the collector reaped it: closed with the collector)
    assert not proc.is_running()
    assert c.query("SELECT message_id FROM raw_events") == [("proc-1",)]


def test_loads_use_one_duckdb_thread_unless_told(make_collector):
    """A load takes at most one core from the requests by default (loader_threads=1,
    `serve collector --loader-threads`): DuckDB starts a worker thread per thread beyond
    the first, so the loader process with three has two threads more than with one."""
    import psutil

    counts = {}
    for threads in (1, 3):
        c = make_collector(f"t{threads}", app={"loader_threads": threads})
        assert c.post("/v1/track", track(messageId=f"threads-{threads}")).status_code == 200
        assert c.load().records_loaded == 1
        counts[threads] = psutil.Process(c.health()["loader"]["process"]).num_threads()
        c.close()
    assert counts[3] - counts[1] == 2, counts
    from eventlake.collect.app import CollectorOptions

    assert CollectorOptions().loader_threads == 1


def test_a_killed_loader_process_is_replaced_at_the_next_load(make_collector):
    import os
    import signal

    import psutil

    c = make_collector()
    assert c.post("/v1/track", track(messageId="k-1")).status_code == 200
    assert c.load().records_loaded == 1
    first = c.health()["loader"]["process"]
    os.kill(first, signal.SIGKILL)
    psutil.Process(first).wait(10)
    assert c.post("/v1/track", track(messageId="k-2")).status_code == 200
    assert c.load().records_loaded == 1  # a new process loads what was pending
    second = c.health()["loader"]["process"]
    assert second not in (None, first)
    assert sorted(c.query("SELECT message_id FROM raw_events")) == [("k-1",), ("k-2",)]


def test_loads_can_run_on_a_thread_of_lower_cpu_priority(make_collector):
    """load_process=False: the loader's thread (and the DuckDB threads it starts) runs
    BACKGROUND_NICE steps of CPU priority below the requests."""
    import os

    from eventlake.collect.app import BACKGROUND_NICE

    c = make_collector(app={"load_process": False})
    assert c.post("/v1/track", track(messageId="nice-1")).status_code == 200
    assert c.load().records_loaded == 1
    assert c.health()["loader"]["process"] is None
    [loader] = [t for t in threading.enumerate() if t.name.startswith("eventlake-loader")]
    main = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert os.getpriority(os.PRIO_PROCESS, loader.native_id) == min(19, main + BACKGROUND_NICE)
    # the request path (the server's event loop thread) keeps the process's priority
    server = c.server._thread
    assert os.getpriority(os.PRIO_PROCESS, server.native_id) == main


def test_loads_wait_while_the_server_is_saturated_but_not_longer_than_the_max_lag(make_collector, monkeypatch):
    """Loads yield to requests: while the server's thread is busier than load_busy, each
    interval's load waits, until load_max_lag seconds after the previous load; /health
    counts the waits. A server that is not saturated loads at every interval."""
    from eventlake.collect.app import Collector

    busy = {"value": 0.95}
    monkeypatch.setattr(Collector, "_busy", staticmethod(lambda mark: busy["value"]))
    c = make_collector(app={"load_interval": 0.1, "load_max_lag": 2.5})
    deadline = time.time() + 10
    while c.health()["loader"]["loads"] < 1 and time.time() < deadline:  # the load at start
        time.sleep(0.02)
    started = time.monotonic()
    assert c.post("/v1/track", track(messageId="lag-1")).status_code == 200
    while not c.query("SELECT message_id FROM raw_events") and time.time() < deadline:
        time.sleep(0.05)
    waited = time.monotonic() - started
    assert c.query("SELECT message_id FROM raw_events") == [("lag-1",)]
    assert waited >= 1.0, waited  # (the lag counts from the previous load, a moment before the post)
    loader = c.health()["loader"]
    assert loader["deferred"] >= 5, loader

    busy["value"] = 0.2
    time.sleep(0.5)  # the loop leaves the wait it was in
    before = c.health()["loader"]
    assert c.post("/v1/track", track(messageId="lag-2")).status_code == 200
    deadline = time.time() + 10
    # (a load's rows are visible at its commit, a moment before /health counts the load)
    while (len(c.query("SELECT message_id FROM raw_events")) < 2 or c.health()["loader"]["loads"] <= before["loads"]) and time.time() < deadline:
        time.sleep(0.02)
    after = c.health()["loader"]
    assert len(c.query("SELECT message_id FROM raw_events")) == 2
    assert after["loads"] > before["loads"] and after["deferred"] == before["deferred"]
    assert after["deferred_since"] is None
