"""Each destination type against a loopback server standing in for the vendor: the
exact request shapes, the signature, only allowlisted fields, and the retry policy."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time

import orjson
import pytest

from eventlake.destinations import event_from_record
from eventlake.destinations.ga4 import ga4_name
from eventlake.destinations.webhook import verify_signature

from . import SECRET, Reply, Vendor, free_port, make_dest, record, secret, vendor  # noqa: F401

pytestmark = pytest.mark.usefixtures("secret")


def send(dest, records):
    async def run():
        try:
            return await dest.send([event_from_record(r) for r in records])
        finally:
            await dest.aclose()

    return asyncio.run(run())


def final(outcomes):
    return {o.message_id: o.status for o in outcomes if o.status != "retry"}


# -- webhook ----------------------------------------------------------------------
def test_webhook_body_and_signature(vendor):
    recs = [record(i, properties={"plan": "pro"}, extra={"context": {"ip": "1.2.3.4"}, "traits": {"email": "a@b.c"}}) for i in range(3)]
    dest = make_dest("webhook", vendor.url + "/hook", name="hooks")
    outcomes = send(dest, recs)
    assert [o.status for o in outcomes] == ["delivered"] * 3
    assert all(o.attempt == 1 and o.http_status == 200 and o.duration_ms > 0 for o in outcomes)
    (req,) = vendor.requests
    assert req.path == "/hook"
    ts = req.headers["x-eventlake-timestamp"]
    expected = "sha256=" + hmac.new(SECRET.encode(), ts.encode() + b"." + req.body, hashlib.sha256).hexdigest()
    assert req.headers["x-eventlake-signature"] == expected
    assert verify_signature(SECRET, ts, req.body, req.headers["x-eventlake-signature"])
    assert not verify_signature("other", ts, req.body, req.headers["x-eventlake-signature"])
    assert not verify_signature(SECRET, ts, req.body + b" ", req.headers["x-eventlake-signature"])
    # a replayed request (old timestamp) is refused, and the timestamp cannot be changed
    assert not verify_signature(SECRET, ts, req.body, req.headers["x-eventlake-signature"], now=int(ts) + 3600)
    assert not verify_signature(SECRET, str(int(ts) + 1), req.body, req.headers["x-eventlake-signature"])
    body = req.json
    assert body["destination"] == "hooks" and body["sent_at"].endswith("Z")
    assert body["events"] == [
        {k: r["payload"][k] for k in ("type", "messageId", "event", "userId", "anonymousId", "timestamp", "properties")}
        for r in recs
    ]
    # context and traits are not in the default allowlist: they never leave
    assert b"1.2.3.4" not in req.body and b"a@b.c" not in req.body


def test_webhook_fields_allowlist_and_batches(vendor):
    recs = [record(i, extra={"context": {"page": {"path": "/x"}}}) for i in range(5)]
    dest = make_dest("webhook", vendor.url, fields=["event", "context"], batch_size=2)
    send(dest, recs)
    # batches go out concurrently: their order of arrival is not fixed
    assert sorted(len(b["events"]) for b in vendor.bodies()) == [1, 2, 2]
    first = vendor.bodies()[0]["events"][0]
    assert set(first) == {"type", "messageId", "event", "context"}


def test_webhook_secret_missing_is_clear(vendor, monkeypatch):
    monkeypatch.delenv("EVENTLAKE_TEST_SECRET")
    dest = make_dest("webhook", vendor.url)
    from eventlake.errors import ConfigError

    with pytest.raises(ConfigError, match="EVENTLAKE_TEST_SECRET"):
        send(dest, [record(1)])
    assert vendor.requests == []


# -- GA4 --------------------------------------------------------------------------
def test_ga4_request_shape(vendor):
    recs = [record(i, event="Order Completed", anonymous_id="c1", user_id="u1", properties={"revenue": 9.5, "coupon": "X" * 150, "items": [1, 2], "ok": True, "Plan Name": "pro"}) for i in range(3)]
    recs.append(record(3, type="page", event="Home", anonymous_id="c2", user_id=None,
                       properties={"url": "https://ex.com/?q=1", "title": "Home", "referrer": "https://google.com/", "path": "/"}))
    recs.append(record(4, type="identify", anonymous_id="c2"))  # not a GA4 event: not accepted
    dest = make_dest("ga4", vendor.url + "/mp/collect", measurement_id="G-TEST123")
    accepted = [r for r in recs if dest.accepts(r)]
    assert len(accepted) == 4
    outcomes = send(dest, accepted)
    assert set(final(outcomes).values()) == {"delivered"}
    assert len(vendor.requests) == 2
    for req in vendor.requests:
        assert req.path == "/mp/collect"
        assert req.query == {"measurement_id": ["G-TEST123"], "api_secret": [SECRET]}
    ts = 1795683599500000  # 2026-11-26T08:59:59.500Z in microseconds
    by_client = {b["client_id"]: b for b in vendor.bodies()}
    assert by_client["c1"] == {
        "client_id": "c1",
        "user_id": "u1",
        "events": [
            {"name": "Order_Completed", "params": {"revenue": 9.5, "coupon": "X" * 100, "ok": "true", "Plan_Name": "pro"}, "timestamp_micros": ts}
        ] * 3,
    }
    assert by_client["c2"] == {
        "client_id": "c2",
        "events": [{
            "name": "page_view",
            "params": {"page_location": "https://ex.com/?q=1", "page_title": "Home", "page_referrer": "https://google.com/", "path": "/"},
            "timestamp_micros": ts,
        }],
    }


def test_ga4_at_most_25_events_per_request(vendor):
    recs = [record(i, anonymous_id="same") for i in range(60)]
    dest = make_dest("ga4", vendor.url, measurement_id="G-X", batch_size=25)
    outcomes = send(dest, recs)
    assert len(outcomes) == 60 and {o.status for o in outcomes} == {"delivered"}
    assert sorted(len(b["events"]) for b in vendor.bodies()) == [10, 25, 25]
    sent_ids = [r["payload"]["messageId"] for r in recs]
    assert sorted(o.message_id for o in outcomes) == sorted(sent_ids)


def test_ga4_batch_size_above_limit_refused():
    from eventlake.destinations import parse_destination
    from eventlake.errors import ConfigError

    with pytest.raises(ConfigError, match="vendor limit of 25"):
        parse_destination("g", {"type": "ga4", "measurement_id": "G-1", "secret_env": "X", "batch_size": 26})


def test_ga4_names():
    assert ga4_name("Order Completed") == "Order_Completed"
    assert ga4_name("sign-up: done!") == "sign_up_done"
    assert ga4_name("2fa enabled") == "e_2fa_enabled"
    assert ga4_name("session_start") == "e_session_start"
    assert ga4_name("ga_custom") == "e_ga_custom"
    assert ga4_name("_private") == "private"
    assert ga4_name("Bestellung aufgegeben ü") == "Bestellung_aufgegeben"
    assert ga4_name("") == "event"
    assert len(ga4_name("x" * 100)) == 40


def test_ga4_event_without_ids_fails_without_request(vendor):
    dest = make_dest("ga4", vendor.url, measurement_id="G-X")
    outcomes = send(dest, [record(1, anonymous_id=None, user_id=None)])
    assert [(o.status, o.attempt) for o in outcomes] == [("failed", 0)]
    assert "client_id" in outcomes[0].error
    assert vendor.requests == []


# -- Amplitude ----------------------------------------------------------------------
def test_amplitude_request_shape(vendor):
    recs = [
        record(1, event="Song Played", properties={"genre": "jazz"}, extra={"context": {"ip": "9.9.9.9"}}),
        record(2, type="page", event="Pricing", user_id=None, properties={"path": "/pricing"}),
        record(3, type="screen", event="", anonymous_id="dev-3", user_id="user-0003", properties={}),
    ]
    dest = make_dest("amplitude", vendor.url + "/2/httpapi", batch_size=2, min_id_length=3)
    outcomes = send(dest, recs)
    assert [o.status for o in outcomes] == ["delivered"] * 3
    assert [r.path for r in vendor.requests] == ["/2/httpapi"] * 2
    # the two batches are sent concurrently: order them by their first event
    bodies = sorted(vendor.bodies(), key=lambda b: b["events"][0]["insert_id"])
    t = 1795683599500
    assert bodies[0] == {
        "api_key": SECRET,
        "events": [
            {"event_type": "Song Played", "user_id": "user-0001", "device_id": "anon-1", "time": t,
             "insert_id": recs[0]["message_id"], "event_properties": {"genre": "jazz"}},
            {"event_type": "Viewed Pricing Page", "device_id": "anon-1", "time": t,
             "insert_id": recs[1]["message_id"], "event_properties": {"path": "/pricing"}},
        ],
        "options": {"min_id_length": 3},
    }
    assert bodies[1]["events"] == [
        {"event_type": "Loaded a Screen", "user_id": "user-0003", "device_id": "dev-3", "time": t,
         "insert_id": recs[2]["message_id"], "event_properties": {}},
    ]
    assert b"9.9.9.9" not in b"".join(r.body for r in vendor.requests)


def test_amplitude_identify_only_with_traits(vendor):
    rec = record(1, type="identify", extra={"traits": {"plan": "pro"}})
    assert not make_dest("amplitude", vendor.url).accepts(rec)
    dest = make_dest("amplitude", vendor.url, fields=["userId", "anonymousId", "traits"])
    assert dest.accepts(rec)
    send(dest, [rec])
    (body,) = vendor.bodies()
    assert body["events"] == [{"event_type": "$identify", "user_id": "user-0001", "device_id": "anon-1",
                               "insert_id": rec["message_id"], "user_properties": {"$set": {"plan": "pro"}}}]


def test_amplitude_invalid_events_fail_others_resent(vendor):
    recs = [record(i) for i in range(4)]
    vendor.script = [Reply(400, orjson.dumps({
        "code": 400, "error": "Invalid field values on some events",
        "events_with_invalid_fields": {"time": [1]}, "events_with_missing_fields": {"event_type": [3]},
    }))]
    dest = make_dest("amplitude", vendor.url)
    outcomes = send(dest, recs)
    ids = [r["message_id"] for r in recs]
    assert final(outcomes) == {ids[0]: "delivered", ids[1]: "failed", ids[2]: "delivered", ids[3]: "failed"}
    assert [len(b["events"]) for b in vendor.bodies()] == [4, 2]
    assert [e["insert_id"] for e in vendor.bodies()[1]["events"]] == [ids[0], ids[2]]
    failed = {o.message_id: o.error for o in outcomes if o.status == "failed"}
    assert "invalid time" in failed[ids[1]] and "missing event_type" in failed[ids[3]]
    retried = [o for o in outcomes if o.status == "retry"]
    assert sorted(o.message_id for o in retried) == [ids[0], ids[2]] and all(o.attempt == 1 for o in retried)


def test_amplitude_missing_field_fails_all_without_retry(vendor):
    vendor.default = Reply(400, b'{"code": 400, "error": "Request missing required field", "missing_field": "api_key"}')
    dest = make_dest("amplitude", vendor.url)
    outcomes = send(dest, [record(1), record(2)])
    assert [(o.status, o.attempt, o.http_status) for o in outcomes] == [("failed", 1, 400)] * 2
    assert "missing_field" in outcomes[0].error
    assert len(vendor.requests) == 1


def test_amplitude_429_retried(vendor):
    vendor.script = [Reply(429, b'{"code": 429, "error": "Too many requests for some devices and users"}')]
    dest = make_dest("amplitude", vendor.url)
    outcomes = send(dest, [record(1)])
    assert [(o.status, o.attempt, o.http_status) for o in outcomes] == [("retry", 1, 429), ("delivered", 2, 200)]


# -- Segment-compatible ------------------------------------------------------------
def test_segment_batch_with_basic_auth(vendor):
    import base64

    recs = [record(1), record(2, type="page", event="Home")]
    dest = make_dest("segment", vendor.url + "/base/")
    send(dest, recs)
    (req,) = vendor.requests
    assert req.path == "/base/v1/batch"
    assert req.headers["authorization"] == "Basic " + base64.b64encode(f"{SECRET}:".encode()).decode()
    body = req.json
    assert body["sentAt"].endswith("Z")
    assert body["batch"] == [
        {k: r["payload"][k] for k in ("type", "messageId", "event", "name", "userId", "anonymousId", "timestamp", "properties") if k in r["payload"]}
        for r in recs
    ]


# -- retry policy -------------------------------------------------------------------
def test_500_twice_then_delivered_on_attempt_3(vendor):
    vendor.script = [Reply(500, b"boom"), Reply(503, b"busy")]
    dest = make_dest("webhook", vendor.url)
    outcomes = send(dest, [record(1)])
    assert [(o.status, o.attempt, o.http_status) for o in outcomes] == [("retry", 1, 500), ("retry", 2, 503), ("delivered", 3, 200)]
    assert outcomes[0].error == "HTTP 500: boom"
    assert len(vendor.requests) == 3
    # each attempt is signed afresh
    assert all(r.headers["x-eventlake-signature"].startswith("sha256=") for r in vendor.requests)


def test_429_retry_after_honoured(vendor):
    vendor.script = [Reply(429, b"slow down", {"Retry-After": "1"})]
    dest = make_dest("segment", vendor.url)
    outcomes = send(dest, [record(1)])
    assert [(o.status, o.attempt, o.http_status) for o in outcomes] == [("retry", 1, 429), ("delivered", 2, 200)]
    first, second = vendor.requests
    assert second.at - first.at >= 0.95  # backoff alone would be ~0.01 s


def test_retry_after_too_long_gives_up(vendor):
    vendor.script = [Reply(503, b"", {"Retry-After": "3600"})]
    dest = make_dest("webhook", vendor.url, max_retry_after_s=5)
    outcomes = send(dest, [record(1)])
    assert [(o.status, o.attempt) for o in outcomes] == [("failed", 1)]
    assert "Retry-After 3600s" in outcomes[0].error


def test_400_failed_not_retried(vendor):
    vendor.default = Reply(400, b'{"error": "bad"}')
    dest = make_dest("webhook", vendor.url)
    outcomes = send(dest, [record(1)])
    assert [(o.status, o.attempt, o.http_status) for o in outcomes] == [("failed", 1, 400)]
    assert len(vendor.requests) == 1


def test_timeout_retried(vendor):
    vendor.script = [Reply(200, b"{}", delay=1.5)]
    dest = make_dest("webhook", vendor.url, timeout_s=0.3)
    started = time.monotonic()
    outcomes = send(dest, [record(1)])
    assert [(o.status, o.attempt, o.http_status) for o in outcomes] == [("retry", 1, None), ("delivered", 2, 200)]
    assert "timeout" in outcomes[0].error
    assert time.monotonic() - started < 1.5


def test_gives_up_after_max_attempts():
    dest = make_dest("webhook", f"http://127.0.0.1:{free_port()}", max_attempts=3)
    outcomes = send(dest, [record(1)])
    assert [(o.status, o.attempt) for o in outcomes] == [("retry", 1), ("retry", 2), ("failed", 3)]
    assert "connection error" in outcomes[-1].error and "gave up after 3 attempts" in outcomes[-1].error


def test_backoff_grows_with_jitter():
    dest = make_dest("webhook", "http://127.0.0.1:1", backoff_s=1.0, max_backoff_s=8.0)
    waits = [[dest.backoff(a) for _ in range(50)] for a in range(1, 6)]
    for a, ws in enumerate(waits, start=1):
        cap = min(8.0, 2 ** (a - 1))
        assert all(cap / 2 <= w <= cap for w in ws)
        assert len(set(ws)) > 1  # jitter


def test_concurrency_bounds_requests_in_flight(vendor):
    active = {"now": 0, "max": 0}
    import threading

    lock = threading.Lock()

    def slow(seen):
        with lock:
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
        time.sleep(0.05)
        with lock:
            active["now"] -= 1
        return Reply(204, b"")

    vendor.default = slow
    dest = make_dest("ga4", vendor.url, measurement_id="G-X", concurrency=3)
    outcomes = send(dest, [record(i, anonymous_id=f"c{i}") for i in range(12)])
    assert len(vendor.requests) == 12 and {o.status for o in outcomes} == {"delivered"}
    assert 1 < active["max"] <= 3


def test_vendor_restarts_on_same_port():
    # the helper used by the replay tests: a vendor that was down comes back on its port
    port = free_port()
    v = Vendor(port).start()
    try:
        assert v.port == port
    finally:
        v.stop()


@pytest.mark.parametrize("status,retried", [(408, True), (401, False), (404, False), (413, False), (504, True)])
def test_which_statuses_are_retried(vendor, status, retried):
    vendor.script = [Reply(status, b"")]
    outcomes = send(make_dest("webhook", vendor.url), [record(1)])
    expected = [("retry", 1, status), ("delivered", 2, 200)] if retried else [("failed", 1, status)]
    assert [(o.status, o.attempt, o.http_status) for o in outcomes] == expected
