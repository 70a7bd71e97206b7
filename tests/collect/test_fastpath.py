"""The collector's hot path: the pure-ASGI fast path for server-side tracking POSTs
answers exactly as the framework path did (status, body, headers), and the caches and
shortcuts on the way (IP and Basic-auth caches, received_at clock, validation, the
sanitizer's pre-check, the raw log's writer thread) never change an answer."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import random
import re
import time
import uuid
from collections import Counter

import orjson
import pytest

from eventlake.collect import app as appmod
from eventlake.collect import privacy
from eventlake.collect.app import Rejected, validate_event
from eventlake.collect.rawlog import RawLog, sealed_segments

OK = {"userId": "u1", "event": "E", "messageId": "m1"}


def _err(message: str, code: str) -> dict:
    return {"success": False, "error": message, "code": code, "message": message}


# (name, path, body bytes, extra headers, use the key, expected status, expected body)
CASES = [
    ("ok", "/v1/track", orjson.dumps(OK), {}, True, 200, {"success": True}),
    ("unknown key", "/v1/track", orjson.dumps(OK), {}, "nope", 401, _err("unknown or revoked write key", "unauthorized")),
    ("no key", "/v1/track", orjson.dumps(OK), {}, False, 401, _err(
        "no write key: send it as the HTTP Basic user name (empty password) or as 'writeKey' in the body", "unauthorized")),
    ("bad json", "/v1/track", b'{"userId": ', {}, True, 400, _err(
        "the body is not valid JSON: unexpected end of data: line 1 column 12 (char 11)", "malformed_json")),
    ("not an object", "/v1/track", b"[1,2]", {}, True, 400, _err("the body must be a JSON object, not list", "malformed_json")),
    ("too large", "/v1/track", b'{"a":"' + b"x" * 40000 + b'"}', {}, True, 413, _err(
        "the request is 40008 bytes; an event may have at most 32 KB", "too_large")),
    ("missing event", "/v1/track", orjson.dumps({"userId": "u1"}), {}, True, 400, _err(
        "event (track): missing field 'event' (the event name, a non-empty string)", "invalid_event")),
    ("missing ids", "/v1/track", orjson.dumps({"event": "E"}), {}, True, 400, _err(
        "event (track): missing field 'userId' or 'anonymousId' (one of them is required)", "invalid_event")),
    ("bad time", "/v1/track", orjson.dumps({**OK, "timestamp": "yesterday"}), {}, True, 400, _err(
        "event (track): field 'timestamp' is not an ISO-8601 time: 'yesterday'", "invalid_event")),
    ("bad encoding", "/v1/track", b"{}", {"Content-Encoding": "br"}, True, 400, _err(
        "unsupported Content-Encoding 'br' (use gzip or none)", "malformed_request")),
    ("batch without batch", "/v1/batch", b"{}", {}, True, 400, _err("missing field 'batch' (an array of events)", "invalid_event")),
    ("batch bad type", "/v1/batch", orjson.dumps({"batch": [{"type": "nope"}]}), {}, True, 400, _err(
        "batch[0]: field 'type' is 'nope', not one of track, page, screen, identify, group, alias", "invalid_event")),
]


@pytest.mark.parametrize("name,path,body,headers,use_key,status,expected", CASES, ids=[c[0] for c in CASES])
def test_fast_path_answers_as_before(shared_collector, name, path, body, headers, use_key, status, expected):
    c = shared_collector
    key = c.key if use_key is True else ("" if use_key is False else use_key)
    r = c.post(path, content=body, key=key, headers=headers)
    assert r.status_code == status, r.text
    assert r.json() == expected
    # the same headers as Starlette's Response behind the CORS middleware gave
    names = [k.decode().lower() for k, _ in r.headers.raw if k.lower() not in (b"date", b"server")]
    assert names == ["content-length", "content-type", "vary"]
    assert r.headers["content-type"] == "application/json" and r.headers["vary"] == "Origin"
    assert int(r.headers["content-length"]) == len(r.content)
    if status != 200 or name == "ok":
        # a browser's request (with an Origin) goes the framework's way, through CORS:
        # the same status and body
        r2 = c.post(path, content=body, key=key, headers={**headers, "Origin": "https://anywhere.example"})
        assert (r2.status_code, r2.json()) == (status, expected)
        assert r2.headers["access-control-allow-origin"] == "*"


def test_backpressure_answer_has_retry_after_first(make_collector):
    c = make_collector(rawlog={"min_free_bytes": 1 << 62})
    r = c.post("/v1/track", OK)
    assert r.status_code == 503 and r.json()["code"] == "backpressure"
    names = [k.decode().lower() for k, _ in r.headers.raw if k.lower() not in (b"date", b"server")]
    assert names == ["retry-after", "content-length", "content-type", "vary"]
    assert r.headers["retry-after"] == "30"


def test_health_reports_group_commits(make_collector):
    c = make_collector()
    for i in range(3):
        assert c.post("/v1/track", {**OK, "messageId": f"m{i}"}).status_code == 200
    rl = c.health()["raw_log"]
    assert rl["group_commits"] >= 1 and 1 <= rl["appends_per_commit"] <= 3
    assert rl["mean_commit_ms"] >= 0 and rl["pending_bytes"] == 0


# --- caches and shortcuts ----------------------------------------------------------------


def _reference_ip(value):
    if not isinstance(value, str) or not value or len(value) > 64:
        return None
    try:
        return str(ipaddress.ip_address(value.strip().strip("[]")))
    except ValueError:
        return None


@pytest.mark.parametrize("value", [
    "8.8.8.8", " 8.8.8.8 ", "[::1]", "2001:DB8:0:0:0:0:0:1", "::ffff:1.2.3.4", "999.1.1.1", "", "x" * 70,
    "not an ip", None, 42, True, {"a": 1}, ["8.8.8.8"],
])
def test_ip_cache_gives_the_same_answers(value):
    for _ in range(2):  # uncached, then cached
        assert appmod._valid_ip(value) == _reference_ip(value)


@pytest.mark.parametrize("header", ["Basic dGVzdDo=", "basic dGVzdDo=", "Basic !!!", "Bearer abc", "Basic ", "Basic w6k6"])
def test_basic_auth_cache_gives_the_same_answers(header):
    for _ in range(2):
        assert appmod._basic_user_cached(header) == appmod._basic_user(header)


def test_received_at_clock(monkeypatch):
    clock = appmod._Clock()
    fmt = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
    before = dt.datetime.now(dt.timezone.utc)
    s = clock.now()
    after = dt.datetime.now(dt.timezone.utc)
    assert fmt.match(s)
    t = dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)
    assert before - dt.timedelta(milliseconds=1) <= t <= after + dt.timedelta(milliseconds=1)
    # the seconds part follows the clock across seconds (and days)
    for ns, expected in [
        (1_764_115_199_999_999_000, "2025-11-25T23:59:59.999999Z"),
        (1_764_115_200_000_001_000, "2025-11-26T00:00:00.000001Z"),
        (1_764_115_200_123_456_789, "2025-11-26T00:00:00.123456Z"),
    ]:
        monkeypatch.setattr(appmod.time, "time_ns", lambda ns=ns: ns)
        assert clock.now() == expected


def _reference_validate(ev, index, endpoint_type):
    """validate_event as it was before the hot path was written out (the reference)."""
    where = appmod._where(index)
    if not isinstance(ev, dict):
        raise Rejected(400, "invalid_event", f"{where}: an event must be a JSON object, not {type(ev).__name__}")
    ev = dict(ev)
    if endpoint_type is None:
        t = ev.get("type")
        if t is None:
            raise Rejected(400, "invalid_event", f"{where}: missing field 'type' (one of {', '.join(appmod.EVENT_TYPES)})")
        if t not in appmod.EVENT_TYPES:
            raise Rejected(400, "invalid_event", f"{where}: field 'type' is {t!r}, not one of {', '.join(appmod.EVENT_TYPES)}")
    else:
        t = endpoint_type
    ev["type"] = t
    where = f"{where} ({t})"

    def present(f):
        v = ev.get(f)
        if isinstance(v, bool):
            return False
        if isinstance(v, str):
            return bool(v.strip())
        return isinstance(v, (int, float))

    for f in ("userId", "anonymousId", "groupId", "previousId"):
        v = ev.get(f)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (str, int, float))):
            raise Rejected(400, "invalid_event", f"{where}: field '{f}' must be a string")
        if isinstance(v, str) and len(v) > 1024:
            raise Rejected(400, "invalid_event", f"{where}: field '{f}' is longer than 1024 characters")
    if t == "alias":
        for f in ("userId", "previousId"):
            if not present(f):
                raise Rejected(400, "invalid_event", f"{where}: missing field '{f}'")
    elif not (present("userId") or present("anonymousId")):
        raise Rejected(400, "invalid_event", f"{where}: missing field 'userId' or 'anonymousId' (one of them is required)")
    if t == "track":
        name = ev.get("event")
        if not isinstance(name, str) or not name.strip():
            raise Rejected(400, "invalid_event", f"{where}: missing field 'event' (the event name, a non-empty string)")
        if len(name) > 512:
            raise Rejected(400, "invalid_event", f"{where}: field 'event' is longer than 512 characters")
    if t == "group" and not present("groupId"):
        raise Rejected(400, "invalid_event", f"{where}: missing field 'groupId'")
    if t in ("page", "screen") and ev.get("name") is not None and not isinstance(ev.get("name"), str):
        raise Rejected(400, "invalid_event", f"{where}: field 'name' must be a string")
    for f in ("properties", "traits", "context", "integrations"):
        v = ev.get(f)
        if v is not None and not isinstance(v, dict):
            raise Rejected(400, "invalid_event", f"{where}: field '{f}' must be a JSON object")
    for f in ("timestamp", "sentAt", "originalTimestamp", "receivedAt"):
        v = ev.get(f)
        if v is not None and not appmod._is_iso_time(v):
            raise Rejected(400, "invalid_event", f"{where}: field '{f}' is not an ISO-8601 time: {str(v)[:64]!r}")
    mid = ev.get("messageId")
    if mid is None or (isinstance(mid, str) and not mid.strip()):
        ev["messageId"] = str(uuid.uuid4())
    elif isinstance(mid, bool) or not isinstance(mid, (str, int)):
        raise Rejected(400, "invalid_event", f"{where}: field 'messageId' must be a string")
    elif isinstance(mid, int):
        ev["messageId"] = str(mid)
    elif len(mid) > 256:
        raise Rejected(400, "invalid_event", f"{where}: field 'messageId' is longer than 256 characters")
    return ev


def _outcome(fn, ev, index, etype):
    try:
        out = fn(ev, index, etype)
    except Rejected as exc:
        return ("rejected", exc.status, exc.kind, exc.message)
    out = dict(out)
    if len(str(out.get("messageId"))) == 36 and str(out["messageId"]).count("-") == 4 and ev.get("messageId") != out["messageId"]:
        out["messageId"] = "<generated>"
    return ("ok", out)


def test_validate_event_answers_as_the_reference():
    rng = random.Random(7)
    values = [None, "", " ", "x", "u" * 1025, "e" * 513, 0, 1, 2.5, True, False, [], {}, {"a": 1}, "2026-11-26T10:00:00Z",
              "2026-11-26", "yesterday", "m" * 257, 12345678901234]
    fields = ["type", "userId", "anonymousId", "groupId", "previousId", "event", "name", "properties", "traits",
              "context", "integrations", "timestamp", "sentAt", "originalTimestamp", "receivedAt", "messageId", "writeKey"]
    types = [None, "track", "page", "screen", "identify", "group", "alias"]
    checked = 0
    for _ in range(20000):
        ev = {f: rng.choice(values) for f in rng.sample(fields, rng.randint(0, 8))}
        if rng.random() < 0.5:
            ev["type"] = rng.choice(["track", "page", "screen", "identify", "group", "alias", "nope"])
        if rng.random() < 0.5:
            ev["userId"] = rng.choice(["u1", 7, "u" * 1025, True])
        etype = rng.choice(types)
        index = rng.choice([None, 0, 5])
        assert _outcome(validate_event, ev, index, etype) == _outcome(_reference_validate, ev, index, etype), (ev, index, etype)
        checked += 1
    assert _outcome(validate_event, "x", 3, None) == _outcome(_reference_validate, "x", 3, None)
    assert checked == 20000


def _reference_sanitize_string(value, counts):
    """sanitize_string without the one-scan pre-check of the token patterns."""
    if len(value) < 6:
        return value
    out = value
    if "@" in out:
        out, n = privacy.EMAIL_RE.subn(privacy.EMAIL, out)
        if n:
            counts["email"] += n
    for rx in privacy.TOKEN_RES:
        out, n = rx.subn(privacy.TOKEN, out)
        if n:
            counts["token"] += n
    saved = privacy.TOKEN_RES
    try:
        privacy.TOKEN_RES = ()  # the rest of sanitize_string, tokens already done
        rest_counts = Counter()
        out = privacy.sanitize_string(out, rest_counts)
    finally:
        privacy.TOKEN_RES = saved
    counts.update(rest_counts)
    return out


@pytest.mark.parametrize("value", [
    "hello world", "Authorization: Bearer abcdefgh12345678", "basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
    "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abc", "key sk_live_abcdefgh1234", "AKIAABCDEFGHIJKLMNOP",
    "ghp_" + "a" * 36, "xoxb-1234567890-abc", "AIza" + "B" * 35, "sk-proj-" + "c" * 24, "glpat-" + "d" * 20,
    "-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----", "mail me: a.b@example.com, Bearer zzzzzzzzzz",
    "card 4111 1111 1111 1111", "BEARER lowercase-not-needed-1234", "plain words only here",
])
def test_token_precheck_changes_nothing(value):
    a, b = Counter(), Counter()
    assert privacy.sanitize_string(value, a) == _reference_sanitize_string(value, b)
    assert a == b


def test_sanitize_dict_matches_the_generic_walk():
    def generic(value, counts, depth=0):
        if isinstance(value, str):
            return privacy.sanitize_string(value, counts)
        if isinstance(value, bool) or value is None or isinstance(value, float):
            return value
        if isinstance(value, int):
            return privacy.sanitize_value(value, counts)
        if isinstance(value, dict):
            return {k: generic(v, counts, depth + 1) for k, v in value.items()}
        if isinstance(value, list):
            return [generic(v, counts, depth + 1) for v in value]
        return value

    doc = {"a": "abc", "b": "user@example.com", "c": 4111111111111111, "d": -4111111111111111, "e": 10**12 - 1,
           "f": True, "g": None, "h": 1.5, "i": {"j": ["x@y.io", 5555555555554444, {"k": "ok"}]}, "l": "12345"}
    c1, c2 = Counter(), Counter()
    assert privacy.sanitize_value(doc, c1) == generic(doc, c2)
    assert c1 == c2 == Counter({"email": 2, "card": 3})


# --- the raw log's writer thread ---------------------------------------------------------


def test_writer_thread_serves_successive_event_loops_and_stops_on_close(tmp_path):
    rl = RawLog(tmp_path / "raw", sync_process=False)

    async def put(i):
        await asyncio.gather(*(rl.append([b'{"n":%d}' % (i * 10 + k)]) for k in range(10)))

    asyncio.run(put(0))
    asyncio.run(put(1))  # a new event loop: answers go to it
    assert rl.committed_appends == 20 and 1 <= rl.commits <= 20
    thread = rl._thread
    assert thread is not None and thread.is_alive()
    asyncio.run(rl.close())
    thread.join(5)
    assert not thread.is_alive()
    lines = [ln for p in sealed_segments(tmp_path / "raw") for ln in p.read_bytes().splitlines()]
    assert sorted(orjson.loads(ln)["n"] for ln in lines) == list(range(20))


def test_event_loop_is_free_while_the_writer_fsyncs(tmp_path, monkeypatch):
    import os

    real_fsync = os.fsync

    def slow_fsync(fd):
        time.sleep(0.2)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", slow_fsync)

    async def main():
        rl = RawLog(tmp_path / "raw", sync_process=False)
        task = asyncio.ensure_future(rl.append([b'{"n":1}']))
        ticks = 0
        while not task.done():
            await asyncio.sleep(0.01)
            ticks += 1
        await task
        await rl.close()
        return ticks

    assert asyncio.run(main()) >= 5  # the loop kept running during the 0.2 s fsync


def test_body_without_content_length_over_the_limit_is_413_whole_or_in_pieces(make_collector):
    """A body sent without Content-Length (chunked): when it came whole in the first
    ASGI message, the answer names its size; when it comes in pieces, reading stops at
    the limit."""
    import base64

    c = make_collector()
    body = b'{"a":"' + b"x" * 40000 + b'"}'
    auth = "Basic " + base64.b64encode(f"{c.key}:".encode()).decode()

    def answer(messages: list[dict]):
        async def receive():
            return messages.pop(0)

        scope = {"type": "http", "method": "POST", "path": "/v1/track", "client": ("127.0.0.1", 1),
                 "headers": [(b"authorization", auth.encode()), (b"transfer-encoding", b"chunked")]}
        req = appmod._Req(scope, receive)
        coro = c.collector.answer(req, "track")
        return asyncio.run_coroutine_threadsafe(coro, c.collector.loop).result(30)

    status, raw, _ = answer([{"type": "http.request", "body": body, "more_body": False}])
    assert (status, orjson.loads(raw)["message"]) == (413, "the request is 40008 bytes; an event may have at most 32 KB")
    pieces = [{"type": "http.request", "body": body[i:i + 10000], "more_body": i + 10000 < len(body)} for i in range(0, len(body), 10000)]
    status, raw, _ = answer(pieces)
    assert (status, orjson.loads(raw)["message"]) == (413, "the request is over 32768 bytes; an event may have at most 32 KB")
    status, raw, _ = answer([{"type": "http.request", "body": b'{"userId":"u1",', "more_body": True},
                             {"type": "http.request", "body": b'"event":"E","messageId":"piece-1"}', "more_body": False}])
    assert (status, raw) == (200, b'{"success":true}')
