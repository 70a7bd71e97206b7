"""Real Segment clients against a real collector, and the durability promise: every
event answered 200 ends up in `events` exactly once, even when the collector is
killed with SIGKILL while it loads.

- segment-analytics-python (the library itself, not a copy of its wire format)
- `eventlake serve collector` as a subprocess, killed with kill -9 under load
- @segment/analytics-node, when node, npm and the package are installed
  (tests/collect/node: `npm install` there)"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import orjson
import pytest

from eventlake.collect.app import ServerThread, create_app
from eventlake.collect.sources import add_source
from eventlake.lake import Lake

CLI = [sys.executable, "-c", "from eventlake.cli import main; main()"]
NODE_DIR = Path(__file__).resolve().parent / "node"


def query(lake: Lake, sql: str) -> list[tuple]:
    con = lake.connect(read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture
def collector(lake, tmp_path):
    _, key = add_source(lake, "app")
    raw = tmp_path / "raw"
    srv = ServerThread(create_app(lake, raw)).start()
    yield srv, key
    srv.stop()


def load(srv: ServerThread):
    return srv.app.state.collector.rotate_and_load_threadsafe()


# --- segment-analytics-python ------------------------------------------------------------


@pytest.fixture
def segment_module():
    """The analytics module with its global settings restored afterwards."""
    import segment.analytics as analytics

    saved = {k: getattr(analytics, k) for k in ("write_key", "host", "sync_mode", "debug", "send", "on_error")}
    analytics.default_client = None
    yield analytics
    if analytics.default_client is not None and not analytics.default_client.sync_mode:
        analytics.default_client.shutdown()  # (a sync-mode client has no consumer threads)
    analytics.default_client = None
    for k, v in saved.items():
        setattr(analytics, k, v)


def test_segment_python_client_every_call(collector, lake, segment_module):
    srv, key = collector
    analytics = segment_module
    analytics.write_key = key
    analytics.host = srv.url
    analytics.sync_mode = True
    errors = []
    analytics.on_error = lambda e, batch: errors.append(e)

    analytics.track("user-1", "Order Completed", {"revenue": 42.5, "currency": "EUR", "items": [{"sku": "A1"}]}, message_id="py-track")
    analytics.identify("user-1", {"plan": "pro", "email": "user1@example.com"}, message_id="py-identify")
    analytics.page("user-1", "Docs", "Install", {"url": "https://docs.example.com/install?session=abc&utm_source=hn", "title": "Install", "referrer": "https://news.ycombinator.com/"}, message_id="py-page")
    analytics.screen("user-1", "Settings", "Profile", {"tab": "privacy"}, message_id="py-screen")
    analytics.group("user-1", "org-7", {"name": "Acme"}, message_id="py-group")
    analytics.alias("anon-9", "user-1", message_id="py-alias")
    analytics.track(anonymous_id="anon-9", event="Viewed Pricing", message_id="py-anon")
    assert errors == []

    stats = load(srv)
    assert stats.records_loaded == 7 and stats.records_quarantined == 0
    rows = query(
        lake,
        "SELECT message_id, type, event, name, user_id, anonymous_id, group_id, previous_id, properties, traits, host, path, url, referrer_host, utm_source, library "
        "FROM events ORDER BY message_id",
    )
    by_id = {r[0]: r[1:] for r in rows}
    assert set(by_id) == {"py-track", "py-identify", "py-page", "py-screen", "py-group", "py-alias", "py-anon"}
    t = by_id["py-track"]
    assert t[:7] == ("track", "Order Completed", None, "user-1", None, None, None)
    assert json.loads(t[7]) == {"revenue": 42.5, "currency": "EUR", "items": [{"sku": "A1"}]}
    assert t[-1] == "analytics-python"
    i = by_id["py-identify"]
    assert i[:4] == ("identify", None, None, "user-1")
    assert json.loads(i[8]) == {"plan": "pro", "email": "[redacted:email]"}  # the sanitizer ran
    p = by_id["py-page"]
    assert p[:4] == ("page", None, "Install", "user-1")
    assert json.loads(p[7])["url"] == "https://docs.example.com/install?utm_source=hn"  # session= removed
    assert p[9:14] == ("docs.example.com", "/install", "https://docs.example.com/install?utm_source=hn", "news.ycombinator.com", "hn")
    s = by_id["py-screen"]
    assert s[:4] == ("screen", None, "Profile", "user-1") and json.loads(s[7]) == {"tab": "privacy"}
    g = by_id["py-group"]
    assert g[:6] == ("group", None, None, "user-1", None, "org-7") and json.loads(g[8]) == {"name": "Acme"}
    a = by_id["py-alias"]
    assert a[:7] == ("alias", None, None, "user-1", None, None, "anon-9")
    assert by_id["py-anon"][:5] == ("track", "Viewed Pricing", None, None, "anon-9")
    # the client's User-Agent is not a browser's
    assert query(lake, "SELECT DISTINCT device_type, browser FROM events") == [("other", None)]


def test_segment_python_client_batches_in_background(collector, lake):
    import segment.analytics as analytics

    srv, key = collector
    errors = []
    client = analytics.Client(write_key=key, host=srv.url, on_error=lambda e, batch: errors.append(e), upload_size=50, gzip=True)
    ids = [f"bg-{i:04d}" for i in range(730)]
    for mid in ids:
        client.track(user_id=f"u{int(mid[3:]) % 17}", event="Clicked", properties={"n": int(mid[3:])}, message_id=mid)
    client.flush()
    client.shutdown()
    assert errors == []
    load(srv)
    stored = query(lake, "SELECT message_id, CAST(json_extract(properties, '$.n') AS INTEGER) FROM events ORDER BY 1")
    assert stored == [(mid, int(mid[3:])) for mid in ids]


def test_segment_python_client_sees_the_error(collector):
    import segment.analytics as analytics
    from segment.analytics.request import APIError

    srv, key = collector
    client = analytics.Client(write_key="wrong-key", host=srv.url, sync_mode=True)
    with pytest.raises(APIError) as exc:
        client.track(user_id="u", event="E")
    assert exc.value.status == 401 and exc.value.code == "unauthorized"
    assert "unknown or revoked write key" in str(exc.value)


# --- kill -9 under load ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CollectorProcess:
    """`eventlake serve collector` in a subprocess."""

    def __init__(self, lake_path: Path, port: int, log: Path, *extra: str):
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(log, "ab")
        self.proc = subprocess.Popen(
            CLI + ["--lake", str(lake_path), "serve", "collector", "--port", str(port), *extra],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            assert self.proc.poll() is None, f"the collector exited: {log.read_text()[-3000:]}"
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the collector did not start"
            time.sleep(0.1)

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self.log.close()

    def terminate(self, timeout: float = 120) -> int:
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout)
        self.log.close()
        return rc


class Senders:
    """Threads that send batches until stopped and record every acknowledged messageId."""

    def __init__(self, key: str, threads: int = 4):
        self.key = key
        self.url: str | None = None
        self.acked: list[str] = []
        self.sent = 0
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(t,), daemon=True) for t in range(threads)]

    def start(self, url: str) -> "Senders":
        self.url = url
        for t in self._threads:
            t.start()
        return self

    def _run(self, t: int) -> None:
        rnd = random.Random(t)
        with httpx.Client(timeout=10) as http:
            while not self._stop.is_set():
                ids = [f"k{t}-{uuid.uuid4().hex[:12]}" for _ in range(rnd.randint(1, 25))]
                batch = [
                    {"type": "track", "userId": f"u{rnd.randint(1, 50)}", "event": "Tick", "messageId": mid, "properties": {"t": t}}
                    for mid in ids
                ]
                try:
                    r = http.post(self.url + "/v1/batch", content=orjson.dumps({"batch": batch}), auth=(self.key, ""))
                except httpx.HTTPError:
                    time.sleep(0.05)  # the server is gone or restarting: nothing was acknowledged
                    continue
                with self._lock:
                    self.sent += len(ids)
                    if r.status_code == 200:
                        self.acked.extend(ids)
                    elif r.status_code not in (503, 429):
                        self.errors.append(f"{r.status_code}: {r.text[:200]}")

    def count(self) -> int:
        with self._lock:
            return len(self.acked)

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(30)


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.slow
def test_kill_9_loses_no_acknowledged_event_and_loads_none_twice(tmp_path):
    lake_path = tmp_path / "lake"
    out = subprocess.run(CLI + ["--lake", str(lake_path), "sources", "add", "app"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    key = re.search(r"^([A-Za-z0-9_-]{43})$", out.stdout, re.M).group(1)
    log = tmp_path / "collector.log"
    lake = Lake(lake_path)
    port = _free_port()

    kills = 0
    for round_ in range(2):
        proc = CollectorProcess(lake_path, port, log, "--load-interval", "0.2")
        senders = Senders(key).start(proc.url)
        before = senders.count()
        # let it accept and load for a while, then kill it while requests are in
        # flight and a load into the lake is running (first round: the moment /health
        # reports one; second round: at a random moment, loads run every 0.2 s)
        _wait_for(lambda: senders.count() >= before + 300, 60, "acknowledged events")
        if round_ == 0:
            _wait_for(lambda: httpx.get(proc.url + "/health", timeout=5).json()["loader"]["loading"], 60, "a load in progress")
        else:
            time.sleep(random.uniform(0.2, 1.0))
        proc.kill9()
        kills += 1
        senders.stop()
        assert senders.errors == []
        if round_ == 0:
            acked_first = list(senders.acked)
        else:
            acked_second = list(senders.acked)

    # restart: recovery seals what the killed process left open, the loader loads it;
    # SIGTERM then flushes, seals and loads whatever is left; the process ends as
    # SIGTERM's default action (uvicorn re-raises the signal after a clean shutdown)
    proc = CollectorProcess(lake_path, port, log, "--load-interval", "0.5")
    senders = Senders(key, threads=2).start(proc.url)
    _wait_for(lambda: senders.count() >= 100, 60, "acknowledged events after restart")
    senders.stop()
    assert proc.terminate() in (0, -signal.SIGTERM), log.read_text()[-3000:]
    assert log.read_text().rstrip().endswith("Finished server process [%d]" % proc.proc.pid)
    assert senders.errors == []

    acked = acked_first + acked_second + senders.acked
    assert kills == 2 and len(acked) >= 700
    raw = lake_path / "collector" / "raw"
    assert list(raw.glob("seg-*")) == [], "segments left after a clean shutdown"
    rows = query(lake, "SELECT message_id, count(*) FROM events GROUP BY 1")
    counts = dict(rows)
    missing = [m for m in acked if m not in counts]
    assert missing == [], f"{len(missing)} acknowledged events lost, e.g. {missing[:5]}"
    assert [m for m, n in counts.items() if n != 1] == []
    assert len(acked) == len(set(acked))
    # raw_events holds each stored record once per receipt too (no segment loaded twice)
    assert query(lake, "SELECT count(*) - count(DISTINCT message_id) FROM raw_events") == [(0,)]
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]


# --- @segment/analytics-node -------------------------------------------------------------------


def _node_client_ready() -> str | None:
    if not shutil.which("node"):
        return "node is not installed"
    if not (NODE_DIR / "node_modules" / "@segment" / "analytics-node").is_dir():
        return f"@segment/analytics-node is not installed: run `npm install` in {NODE_DIR}"
    return None


@pytest.mark.skipif(_node_client_ready() is not None, reason=str(_node_client_ready()))
def test_segment_node_client(collector, lake):
    srv, key = collector
    r = subprocess.run(
        ["node", str(NODE_DIR / "send.mjs")],
        env={**os.environ, "WRITE_KEY": key, "HOST": srv.url},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=NODE_DIR,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    load(srv)
    rows = query(lake, "SELECT message_id, type, event, name, user_id, anonymous_id, group_id, previous_id, library FROM events ORDER BY message_id")
    assert rows == [
        ("node-alias", "alias", None, None, "user-2", None, None, "anon-2", "@segment/analytics-node"),
        ("node-group", "group", None, None, "user-2", None, "org-2", None, "@segment/analytics-node"),
        ("node-identify", "identify", None, None, "user-2", None, None, None, "@segment/analytics-node"),
        ("node-page", "page", None, "Pricing", "user-2", None, None, None, "@segment/analytics-node"),
        ("node-screen", "screen", None, "Home", "user-2", None, None, None, "@segment/analytics-node"),
        ("node-track", "track", "Plan Upgraded", None, "user-2", None, None, None, "@segment/analytics-node"),
    ]
    [(props,)] = query(lake, "SELECT properties FROM events WHERE message_id = 'node-track'")
    assert json.loads(props) == {"from": "free", "to": "pro"}
