"""The collector forwards what it has durably stored to its destinations: a track event
sent to the collector reaches a webhook (a real HTTP server on loopback), signed, with
only the allowlisted fields, and the outcome lands in `deliveries`."""

from __future__ import annotations

import hashlib
import hmac
import time

from eventlake.collect.app import ServerThread, create_app
from eventlake.collect.sources import add_source
from eventlake.destinations.fanout import Fanout
from eventlake.destinations.webhook import TIMESTAMP_HEADER
from tests.collect.conftest import Harness
from tests.destinations import SECRET, deliveries, make_dest, secret, vendor  # noqa: F401  (fixtures)


def test_accepted_events_are_forwarded_and_recorded(lake, tmp_path, vendor, secret):  # noqa: F811
    _, key = add_source(lake, "web")
    fanout = Fanout(lake, [make_dest("webhook", vendor.url + "/hook", name="hook")], flush_interval=0.1)
    server = ServerThread(create_app(lake, tmp_path / "raw", fanout=fanout, source_refresh_seconds=0.2)).start()
    h = Harness(lake, tmp_path / "raw", key, server)
    try:
        r = h.post("/v1/track", {"userId": "u1", "event": "Signed Up", "messageId": "m-1", "properties": {"plan": "pro"},
                                 "context": {"ip": "8.8.8.8"}})
        assert r.status_code == 200
        for _ in range(100):
            if vendor.requests:
                break
            time.sleep(0.05)
    finally:
        h.close()  # shuts the app down: the fan-out drains and writes its outcomes
    (req,) = vendor.requests
    events = req.json if isinstance(req.json, list) else req.json.get("events", req.json)
    sent = events[0] if isinstance(events, list) else events
    assert sent["messageId"] == "m-1" and sent["event"] == "Signed Up" and sent["properties"] == {"plan": "pro"}
    assert "context" not in sent  # not an allowlisted field by default
    ts = req.headers[TIMESTAMP_HEADER.lower()]
    expected = "sha256=" + hmac.new(SECRET.encode(), ts.encode() + b"." + req.body, hashlib.sha256).hexdigest()
    assert req.headers["x-eventlake-signature"] == expected
    rows = deliveries(lake, "hook")
    assert [(d["message_id"], d["status"], d["attempt"], d["http_status"]) for d in rows] == [("m-1", "delivered", 1, 200)]
