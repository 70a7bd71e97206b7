"""Helpers for the destination tests: a real HTTP server on loopback standing in for
a vendor (it records every request and answers from a script), raw records in the
collector's format, and reading back the deliveries table."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Union
from urllib.parse import parse_qs, urlsplit

import orjson

from eventlake.destinations import Destination, build_destination, parse_destination
from eventlake.lake import Lake
from eventlake.sources.base import insert_rows

UTC = dt.timezone.utc


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a slow vendor)


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float  # time.monotonic() on arrival

    @property
    def json(self):
        return orjson.loads(self.body)


Script = Union[Reply, Callable[[Seen], Reply]]


class Vendor:
    """A ThreadingHTTPServer on 127.0.0.1. `script` replies are used in order, one per
    request, then `default`. A script entry may be a function of the request."""

    def __init__(self, port: int = 0):
        self.port = port
        self.requests: list[Seen] = []
        self.script: list[Script] = []
        self.default: Script = Reply(200, b'{"code": 200}')
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Vendor":
        vendor = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                parts = urlsplit(self.path)
                seen = Seen("POST", parts.path, parse_qs(parts.query), {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic())
                with vendor._lock:
                    vendor.requests.append(seen)
                    entry = vendor.script.pop(0) if vendor.script else vendor.default
                reply = entry(seen) if callable(entry) else entry
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:  # the client gave up (timeout)
                    pass

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
            self._thread.join(5)

    def bodies(self) -> list:
        return [r.json for r in self.requests]


def free_port() -> int:
    """A loopback port nothing listens on (a vendor that is down)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


FAST = {"backoff_s": 0.01, "max_backoff_s": 0.05, "timeout_s": 2.0}


def make_dest(dtype: str, url: str, name: str = "d1", **keys) -> Destination:
    """A destination configured as eventlake.toml would, with tiny retry delays."""
    table = {"type": dtype, "url": url, "secret_env": "EVENTLAKE_TEST_SECRET", **FAST, **keys}
    return build_destination(parse_destination(name, table))


def record(
    n: int,
    *,
    source: str = "web",
    type: str = "track",
    event: str = "Signed Up",
    received_at: dt.datetime | None = None,
    anonymous_id: str | None = "anon-1",
    user_id: str | None = "user-0001",
    properties: dict | None = None,
    extra: dict | None = None,
) -> dict:
    """A raw record in the collector's format (see eventlake.collect)."""
    received_at = received_at or dt.datetime(2026, 11, 26, 9, 0, tzinfo=UTC) + dt.timedelta(seconds=n)
    message_id = f"msg-{n:04d}-{uuid.uuid4().hex[:6]}"
    payload: dict = {"type": type, "messageId": message_id, "timestamp": "2026-11-26T08:59:59.500Z"}
    if type == "track":
        payload["event"] = event
    elif type in ("page", "screen"):
        payload["name"] = event
    if anonymous_id is not None:
        payload["anonymousId"] = anonymous_id
    if user_id is not None:
        payload["userId"] = user_id
    payload["properties"] = properties if properties is not None else {"plan": "pro", "n": n}
    payload.update(extra or {})
    return {
        "received_at": received_at.isoformat().replace("+00:00", "Z"),
        "source": source,
        "key_id": "k_test",
        "type": type,
        "message_id": message_id,
        "payload": payload,
        "request": {"endpoint": "/v1/batch", "bytes": 100, "user_agent": "test", "country": "DE", "ip": None},
    }


def load_raw(lake: Lake, records: list[dict]) -> None:
    """Put raw records into raw_events as the collector's loader would."""
    rows = []
    for r in records:
        at = dt.datetime.fromisoformat(r["received_at"].replace("Z", "+00:00"))
        rows.append((at.date(), at, r["source"], r["key_id"], r["message_id"], r["type"],
                     orjson.dumps(r["payload"]).decode(), orjson.dumps(r["request"]).decode(), "segment-0001"))
    con = lake.connect()
    try:
        with lake.transaction(con):
            insert_rows(con, "lake.raw_events",
                        ("received_date", "received_at", "source", "key_id", "message_id", "type", "payload", "request", "segment"),
                        rows)
    finally:
        con.close()


def deliveries(lake: Lake, destination: str | None = None) -> list[dict]:
    con = lake.connect(read_only=True)
    try:
        cur = con.execute(
            "SELECT destination, message_id, attempt, status, http_status, error, duration_ms, replay, attempt_date, attempted_at "
            "FROM lake.deliveries WHERE ? IS NULL OR destination = ? ORDER BY message_id, attempted_at, attempt",
            [destination, destination],
        )
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row)) for row in cur.fetchall()]
    finally:
        con.close()


# -- fixtures (imported by the test modules) ---------------------------------------
import pytest  # noqa: E402

SECRET = "s3cret-for-tests"


@pytest.fixture
def vendor():
    v = Vendor().start()
    yield v
    v.stop()


@pytest.fixture(autouse=False)
def secret(monkeypatch):
    monkeypatch.setenv("EVENTLAKE_TEST_SECRET", SECRET)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    return SECRET
