"""The demo's web and product events into a lake through the real collector: a collector
source (SOURCE, with the demo's sites) in the lake, the collector app on a loopback port
in this process, the calls posted to /v1/batch with the write key as HTTP Basic user,
then the raw log loaded into `raw_events` and `events` by the collector's Loader.

The calls carry past `timestamp`s and no `sentAt`, so the collector keeps their times
as sent (no clock-skew correction); `context.ip` and `context.userAgent` give each event
its country, device, browser and OS at receipt, and the IP is then dropped."""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from dataclasses import dataclass

import orjson

from ..errors import EventlakeError
from ..lake import Lake
from .web import SITES, build_events

SOURCE = "demo-web"
BATCH = 100  # events per /v1/batch request (about 100 KB)


@dataclass
class SendSummary:
    source: str
    key_id: str
    start: dt.date
    end: dt.date
    sent: int
    pages: int
    tracks: int
    identifies: int
    signups: int
    requests: int
    accepted: int
    loaded: int
    duplicates: int
    quarantined: int
    seconds: float
    new_key: bool = False  # an existing demo source was revoked and added again

    def lines(self) -> list[str]:
        out = [
            f"demo web and product events {self.start.isoformat()} .. {self.end.isoformat()} through the collector "
            f"(source {self.source}, key {self.key_id}{', replacing the previous key' if self.new_key else ''})",
            f"  sent {self.sent:,} ({self.pages:,} page, {self.tracks:,} track, {self.identifies:,} identify; {self.signups:,} signups) "
            f"in {self.requests} batches, accepted {self.accepted:,}, loaded {self.loaded:,} "
            f"({self.duplicates:,} duplicates, {self.quarantined:,} quarantined) in {self.seconds:.1f} s",
        ]
        if self.duplicates:
            out.append("  (the duplicates were in the lake already: the same seed, days and end date give the same message ids)")
        return out


def _fresh_source(lake: Lake) -> tuple[str, str, bool]:
    """(write key, key id, replaced): the demo's collector source, added now; one left by
    an earlier run is revoked first (its key is not stored, so it cannot be reused)."""
    from ..collect.sources import add_source, load_sources, revoke_source

    replaced = any(s.name == SOURCE and not s.revoked for s in load_sources(lake))
    if replaced:
        revoke_source(lake, SOURCE)
    src, key = add_source(lake, SOURCE, sites=SITES)
    return key, src.key_id, replaced


def _post(client, body: bytes, what: str) -> None:
    for attempt in range(20):
        res = client.post("/v1/batch", content=body, headers={"Content-Type": "application/json"})
        if res.status_code == 200:
            return
        if res.status_code in (429, 503):
            time.sleep(min(5.0, float(res.headers.get("Retry-After", "1"))))
            continue
        raise EventlakeError(f"the collector refused {what}: HTTP {res.status_code} {res.text[:300]}")
    raise EventlakeError(f"the collector kept refusing {what} (busy)")


def send_demo_events(lake: Lake, seed: int = 7, days: int = 30, end_date: dt.date | None = None) -> SendSummary:
    """Generate the demo's calls (eventlake.demo.web) and send them through a collector
    running in this process into `lake`; returns the counts at each step."""
    import httpx

    from ..collect.app import ServerThread, create_app
    from ..collect.loader import Loader

    t0 = time.monotonic()
    demo = build_events(seed=seed, days=days, end_date=end_date)
    key, key_id, replaced = _fresh_source(lake)
    with tempfile.TemporaryDirectory(prefix="eventlake-demo-rawlog-") as raw_dir:
        # a throw-away raw log: no fsync per batch, no free-space reserve
        app = create_app(lake, raw_dir, fsync=False, min_free_bytes=0)
        requests = 0
        with ServerThread(app) as srv, httpx.Client(base_url=srv.url, auth=(key, ""), timeout=120) as client:
            for i in range(0, len(demo.events), BATCH):
                _post(client, orjson.dumps({"batch": demo.events[i : i + BATCH]}), f"batch {i // BATCH + 1}")
                requests += 1
            health = client.get("/health").json()
        # stopping the server closed the raw log: every accepted event is in a sealed segment
        stats = Loader(lake, raw_dir).load_pending()
    if stats.files_failed:
        raise EventlakeError("loading the demo events failed: " + "; ".join(stats.problems[:3]))
    return SendSummary(
        source=SOURCE, key_id=key_id, start=demo.start, end=demo.end, sent=len(demo.events),
        pages=demo.count("page"), tracks=demo.count("track"), identifies=demo.count("identify"), signups=demo.signups,
        requests=requests, accepted=int(health["accepted_by_source"].get(SOURCE, 0)), loaded=stats.records_loaded,
        duplicates=stats.records_duplicate, quarantined=stats.records_quarantined, seconds=time.monotonic() - t0,
        new_key=replaced,
    )
