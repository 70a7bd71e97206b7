"""Shared collector fixtures: a running collector (uvicorn on a loopback port) over a
real raw log and a real lake, and a handle to send to it and read what it stored."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import orjson
import pytest

from eventlake.collect.app import ServerThread, create_app
from eventlake.collect.rawlog import RawLog
from eventlake.collect.sources import add_source
from eventlake.lake import Lake


class Harness:
    """A running collector: its lake, raw log folder, write key and an HTTP client."""

    def __init__(self, lake: Lake, raw_dir: Path, key: str, server: ServerThread):
        self.lake = lake
        self.raw_dir = raw_dir
        self.key = key
        self.server = server
        self.url = server.url
        self.http = httpx.Client(base_url=server.url, timeout=30)

    @property
    def collector(self):
        return self.server.app.state.collector

    def post(self, path: str, body=None, *, key: str | None = None, content: bytes | None = None, headers: dict | None = None) -> httpx.Response:
        auth = None if key == "" else ((key if key is not None else self.key), "")
        if content is None:
            content = orjson.dumps(body)
        return self.http.post(path, content=content, auth=auth, headers={"Content-Type": "application/json", **(headers or {})})

    def load(self):
        """Seal what was acknowledged and load it into the lake, now."""
        return self.collector.rotate_and_load_threadsafe()

    def query(self, sql: str, params=None) -> list[tuple]:
        con = self.lake.connect(read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()

    def payloads(self) -> list[dict]:
        return [json.loads(p) for (p,) in self.query("SELECT payload FROM raw_events ORDER BY received_at, message_id")]

    def requests(self) -> list[dict]:
        return [json.loads(p) for (p,) in self.query("SELECT request FROM raw_events ORDER BY received_at, message_id")]

    def health(self) -> dict:
        return self.http.get("/health").json()

    def close(self) -> None:
        self.http.close()
        self.server.stop()


@pytest.fixture
def make_collector(lake, tmp_path):
    """make_collector(source options..., app=dict(app options), rawlog=dict(RawLog options)) -> Harness."""
    running: list[Harness] = []

    def factory(name: str = "web", *, app: dict | None = None, rawlog: dict | None = None, **source_options) -> Harness:
        _, key = add_source(lake, name, **source_options)
        raw_dir = tmp_path / f"raw-{len(running)}"
        rl = RawLog(raw_dir, **(rawlog or {})) if rawlog is not None else None
        application = create_app(lake, raw_dir, rawlog=rl, **{"source_refresh_seconds": 0.2, **(app or {})})
        server = ServerThread(application).start()
        h = Harness(lake, raw_dir, key, server)
        running.append(h)
        return h

    yield factory
    for h in running:
        h.close()


@pytest.fixture(scope="module")
def shared_collector(tmp_path_factory):
    """One collector per test module, for tests that only send requests it rejects
    (nothing they send is stored, so they do not see each other)."""
    base = tmp_path_factory.mktemp("shared-collector")
    lake = Lake(base / "lake")
    con = lake.connect(create=True)
    lake.ensure_tables(con)
    con.close()
    _, key = add_source(lake, "web")
    raw_dir = base / "raw"
    server = ServerThread(create_app(lake, raw_dir)).start()
    h = Harness(lake, raw_dir, key, server)
    yield h
    h.close()
