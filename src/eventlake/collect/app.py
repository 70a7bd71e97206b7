"""The collector's HTTP API: Segment's tracking API (track, page, screen, identify,
group, alias, batch/import) in front of the raw log.

A request is answered 200 only after its events are durably in the raw log
(`RawLog.append` returned: written and fsynced). Everything else is answered with a
JSON body `{"success": false, "error": "<reason>", "code": ..., "message": ...}`:

    400  malformed JSON, a missing or mistyped field (the reason names the field and
         the event's index); one bad event rejects the whole request, nothing is stored
    401  no write key, or an unknown or revoked one
    403  a browser request from a host that is not one of the source's --site hosts
    413  an event over 32 KB, or a request over 500 KB (Segment's limits)
    429  too many requests in flight (Retry-After)
    503  the raw log cannot take more now, or the disk is full (Retry-After)

`GET /health` reports the counters kept in memory since start.

The body is read and parsed here (orjson), not by pydantic: this is the hot path.
Run it with uvicorn's proxy header handling off (`proxy_headers=False`): whether
X-Forwarded-For is believed is this app's `trust_proxy` option.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import logging
import math
import os
import threading
import time
import uuid
import zlib
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import orjson
from fastapi import FastAPI, Request
from starlette.requests import ClientDisconnect
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from ..lake import Lake
from .privacy import apply_policy_to_own
from .rawlog import Backpressure, RawLog, sealed_segments
from .snippet import SNIPPET_BYTES, SNIPPET_ETAG, BeaconError, is_registered, page_event, parse_beacon
from .sources import Source, SourceRegistry

log = logging.getLogger("eventlake.collect")

EVENT_TYPES = ("track", "page", "screen", "identify", "group", "alias")
MAX_EVENT_BYTES = 32 * 1024
MAX_REQUEST_BYTES = 500 * 1024
ENDPOINTS = {
    "/v1/track": "track",
    "/v1/page": "page",
    "/v1/screen": "screen",
    "/v1/identify": "identify",
    "/v1/group": "group",
    "/v1/alias": "alias",
    "/v1/batch": None,
    "/v1/import": None,
}
_TIME_FIELDS = ("timestamp", "sentAt", "originalTimestamp", "receivedAt")
_OBJECT_FIELDS = ("properties", "traits", "context", "integrations")


@dataclass
class CollectorOptions:
    trust_proxy: bool = False  # believe X-Forwarded-For (the address the proxy appended last)
    max_in_flight: int = 512  # requests being read or waiting for the raw log; more: 429
    max_event_bytes: int = MAX_EVENT_BYTES
    max_request_bytes: int = MAX_REQUEST_BYTES
    source_refresh_seconds: float = 5.0  # re-read collector_sources this often
    load_interval: float | None = None  # seconds between loads into the lake; None: no loader
    # Loads yield to requests: after an interval in which the server's thread was busy
    # more than `load_busy` of the time, the next load waits another interval, but never
    # later than `load_max_lag` seconds after the previous load (0: loads never wait).
    # Requests and loads share the CPU; a server at full load answers ~6% more single
    # events while loads wait (bench/README.md), and the raw log holds what waits.
    load_busy: float = 0.75
    load_max_lag: float = 60.0
    load_on_shutdown: bool = True  # when the loader runs: load what is pending at shutdown
    load_process: bool = True  # load in a child process (False: in a thread of the collector)
    # DuckDB threads of a load: one by default, so that a load takes at most one core
    # from the requests (two threads doubled the loader's CPU at full load and cut the
    # requests' rate by a tenth, bench/README.md); None: the lake's own setting
    loader_threads: int | None = 1
    # RawLog settings when the app makes its own raw log
    segment_bytes: int = 64 * 1024 * 1024
    segment_seconds: float = 60.0
    max_pending_bytes: int = 32 * 1024 * 1024
    min_free_bytes: int = 256 * 1024 * 1024
    fsync: bool = True
    sync_process: bool = True  # fsync in a helper process (False: in a writer thread)


class Rejected(Exception):
    """A request answered with an error status."""

    def __init__(self, status: int, kind: str, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.retry_after = retry_after


def _json(status: int, body: dict, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def _error_answer(exc: Rejected) -> tuple[int, bytes, str | None]:
    """(status, JSON body, Retry-After value or None) of a rejected request."""
    retry_after = None if exc.retry_after is None else str(max(1, math.ceil(exc.retry_after)))
    body = orjson.dumps({"success": False, "error": exc.message, "code": exc.kind, "message": exc.message})
    return exc.status, body, retry_after


def _error_response(exc: Rejected) -> Response:
    return _answer_response(_error_answer(exc))


def _answer_response(answer: tuple[int, bytes, str | None]) -> Response:
    status, body, retry_after = answer
    headers = None if retry_after is None else {"Retry-After": retry_after}
    return Response(body, status_code=status, media_type="application/json", headers=headers)


_OK = (200, b'{"success":true}', None)
# the headers Starlette's Response and the CORS middleware gave a request without an
# Origin: content-length, content-type, vary (Retry-After first when there is one)
_OK_HEADERS = [(b"content-length", b"16"), (b"content-type", b"application/json"), (b"vary", b"Origin")]
_BODY_OK = {"type": "http.response.body", "body": b'{"success":true}'}


async def _send_answer(send, answer: tuple[int, bytes, str | None]) -> None:
    """Answer a request on the ASGI fast path: two sends, no Response object."""
    status, body, retry_after = answer
    if answer is _OK:
        await send({"type": "http.response.start", "status": 200, "headers": _OK_HEADERS})
        await send(_BODY_OK)
        return
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json"), (b"vary", b"Origin")]
    if retry_after is not None:
        headers.insert(0, (b"retry-after", retry_after.encode("latin-1")))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# the request headers the collector reads (first occurrence wins, as in Starlette)
_WANTED_HEADERS = frozenset(
    (b"authorization", b"content-length", b"content-encoding", b"origin", b"referer", b"user-agent", b"x-forwarded-for")
)


class _Req:
    """What the collector needs of an HTTP request, read straight from the ASGI scope
    (no Starlette Request): the headers it uses (lower-case names, latin-1 values),
    the path, the client address and the ASGI receive callable for the body."""

    __slots__ = ("headers", "path", "client", "receive")

    def __init__(self, scope, receive, headers: dict | None = None):
        if headers is None:
            headers = _wanted_headers(scope["headers"])
        self.headers = headers
        self.path = scope["path"]
        self.client = scope.get("client")
        self.receive = receive


def _wanted_headers(raw) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in raw:
        if k in _WANTED_HEADERS:
            name = k.decode("latin-1")
            if name not in out:
                out[name] = v.decode("latin-1")
    return out


class _Clock:
    """received_at as '%Y-%m-%dT%H:%M:%S.%fZ' (UTC), the seconds part formatted once a second."""

    __slots__ = ("_sec", "_prefix")

    def __init__(self) -> None:
        self._sec = -1
        self._prefix = ""

    def now(self) -> str:
        sec, us = divmod(time.time_ns() // 1000, 1_000_000)
        if sec != self._sec:
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
            self._sec = sec
        return f"{self._prefix}.{us:06d}Z"


# --- enrichment --------------------------------------------------------------------


@lru_cache(maxsize=8192)
def parse_user_agent(ua: str) -> tuple[str | None, str | None, str | None]:
    """(device_type, browser, os) for a User-Agent string, by ua-parser; device_type is
    desktop | mobile | tablet | bot | other."""
    if not ua:
        return None, None, None
    try:
        from ua_parser import parse

        r = parse(ua[:1024])
    except Exception:  # ua-parser must never fail a request
        return "other", None, None
    browser = r.user_agent.family if r.user_agent and r.user_agent.family != "Other" else None
    os_name = r.os.family if r.os and r.os.family != "Other" else None
    device = r.device.family if r.device else None
    low = ua.lower()
    if device == "Spider" or any(w in low for w in ("bot", "crawler", "spider", "headlesschrome", "lighthouse")):
        dtype = "bot"
    elif (device and any(w in device for w in ("iPad", "Tablet", "Kindle", "Nexus 7", "Nexus 9", "Nexus 10"))) or (
        os_name == "Android" and "mobile" not in low
    ) or "tablet" in low:
        dtype = "tablet"
    elif (device and any(w in device for w in ("iPhone", "iPod"))) or os_name in (
        "iOS",
        "Android",
        "Windows Phone",
        "BlackBerry OS",
        "KaiOS",
        "Firefox OS",
    ) or "mobile" in low:
        dtype = "mobile"
    elif os_name in ("Windows", "Mac OS X", "macOS", "Linux", "Ubuntu", "Fedora", "Debian", "Chrome OS", "ChromeOS", "FreeBSD", "OpenBSD", "Solaris") or browser in (
        "Chrome",
        "Firefox",
        "Safari",
        "Edge",
        "Opera",
        "IE",
    ):
        dtype = "desktop"
    else:
        dtype = "other"
    return dtype, browser, os_name


@lru_cache(maxsize=65536)
def country_of(ip: str) -> str | None:
    """ISO 3166-1 alpha-2 country of a public IP address (offline, iptocc); None for
    private, reserved or unknown addresses."""
    try:
        import iptocc

        cc = iptocc.country_code(ip)
    except Exception:
        return None
    return cc or None


def _valid_ip(value) -> str | None:
    if not isinstance(value, str) or not value or len(value) > 64:
        return None
    return _normalized_ip(value)


@lru_cache(maxsize=65536)
def _normalized_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip().strip("[]")))
    except ValueError:
        return None


def _host_of(url: str | None) -> str | None:
    if not url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.lower() if host else None


# --- validation ----------------------------------------------------------------------


def _present_id(ev: dict, field: str) -> bool:
    v = ev.get(field)
    if type(v) is str:
        return bool(v.strip())
    if isinstance(v, bool):
        return False
    if isinstance(v, str):
        return bool(v.strip())
    return isinstance(v, (int, float))


def _where(index: int | None) -> str:
    return "event" if index is None else f"batch[{index}]"


_ID_FIELDS = ("userId", "anonymousId", "groupId", "previousId")


def _bad(index: int | None, t: str, what: str) -> Rejected:
    return Rejected(400, "invalid_event", f"{_where(index)} ({t}): {what}")


def validate_event(ev, index: int | None, endpoint_type: str | None) -> dict:
    """Check one event; returns it (a shallow copy, with `type` set) or raises
    Rejected(400) naming the event's index and the field. (The hot path: the checks
    are written out, with the message built only for a rejected event.)"""
    if not isinstance(ev, dict):
        raise Rejected(400, "invalid_event", f"{_where(index)}: an event must be a JSON object, not {type(ev).__name__}")
    ev = dict(ev)
    get = ev.get
    if endpoint_type is None:
        t = get("type")
        if t is None:
            raise Rejected(400, "invalid_event", f"{_where(index)}: missing field 'type' (one of {', '.join(EVENT_TYPES)})")
        if t not in EVENT_TYPES:
            raise Rejected(400, "invalid_event", f"{_where(index)}: field 'type' is {t!r}, not one of {', '.join(EVENT_TYPES)}")
    else:
        t = endpoint_type
    ev["type"] = t
    for f in _ID_FIELDS:
        v = get(f)
        if v is None:
            continue
        if type(v) is str:
            if len(v) > 1024:
                raise _bad(index, t, f"field '{f}' is longer than 1024 characters")
        elif isinstance(v, bool) or not isinstance(v, (str, int, float)):
            raise _bad(index, t, f"field '{f}' must be a string")
        elif isinstance(v, str) and len(v) > 1024:
            raise _bad(index, t, f"field '{f}' is longer than 1024 characters")
    if t == "alias":
        for f in ("userId", "previousId"):
            if not _present_id(ev, f):
                raise _bad(index, t, f"missing field '{f}'")
    elif not (_present_id(ev, "userId") or _present_id(ev, "anonymousId")):
        raise _bad(index, t, "missing field 'userId' or 'anonymousId' (one of them is required)")
    if t == "track":
        name = get("event")
        if not isinstance(name, str) or not name.strip():
            raise _bad(index, t, "missing field 'event' (the event name, a non-empty string)")
        if len(name) > 512:
            raise _bad(index, t, "field 'event' is longer than 512 characters")
    elif t == "group":
        if not _present_id(ev, "groupId"):
            raise _bad(index, t, "missing field 'groupId'")
    elif t == "page" or t == "screen":
        if get("name") is not None and not isinstance(get("name"), str):
            raise _bad(index, t, "field 'name' must be a string")
    for f in _OBJECT_FIELDS:
        v = get(f)
        if v is not None and not isinstance(v, dict):
            raise _bad(index, t, f"field '{f}' must be a JSON object")
    for f in _TIME_FIELDS:
        v = get(f)
        if v is not None and not _is_iso_time(v):
            raise _bad(index, t, f"field '{f}' is not an ISO-8601 time: {str(v)[:64]!r}")
    mid = get("messageId")
    if type(mid) is str and mid.strip():
        if len(mid) > 256:
            raise _bad(index, t, "field 'messageId' is longer than 256 characters")
    elif mid is None or (isinstance(mid, str) and not mid.strip()):
        ev["messageId"] = str(uuid.uuid4())
    elif isinstance(mid, bool) or not isinstance(mid, (str, int)):
        raise _bad(index, t, "field 'messageId' must be a string")
    elif isinstance(mid, int):
        ev["messageId"] = str(mid)
    elif len(mid) > 256:
        raise _bad(index, t, "field 'messageId' is longer than 256 characters")
    return ev


def _batch_events(doc: dict, max_event: int) -> list[dict]:
    """The checked events of a /v1/batch body, with the batch's shared context,
    integrations and sentAt merged in; 400 or 413 naming the first bad one."""
    batch = doc.get("batch")
    if not isinstance(batch, list):
        raise Rejected(400, "invalid_event", "missing field 'batch' (an array of events)")
    shared_ctx = doc.get("context") if isinstance(doc.get("context"), dict) else None
    shared_integrations = doc.get("integrations") if isinstance(doc.get("integrations"), dict) else None
    shared_sent = doc.get("sentAt") if _is_iso_time(doc.get("sentAt")) else None
    events = []
    for i, raw in enumerate(batch):
        ev = validate_event(raw, i, None)
        ev.pop("writeKey", None)
        if shared_ctx and isinstance(ev.get("context", {}), dict):
            ev["context"] = {**shared_ctx, **(ev.get("context") or {})}
        if shared_integrations and isinstance(ev.get("integrations", {}), dict):
            ev["integrations"] = {**shared_integrations, **(ev.get("integrations") or {})}
        if shared_sent and "sentAt" not in ev:
            ev["sentAt"] = shared_sent
        size = len(orjson.dumps(raw))
        if size > max_event:
            raise Rejected(413, "too_large", f"batch[{i}] is {size} bytes; an event may have at most {max_event // 1024} KB")
        events.append(ev)
    return events


def _is_iso_time(v) -> bool:
    if not isinstance(v, str) or not (10 <= len(v) <= 40):
        return False
    try:
        datetime.fromisoformat(v)
        return True
    except ValueError:
        return False


# --- counters ----------------------------------------------------------------------------


class Counters:
    def __init__(self) -> None:
        self.started = time.time()
        self.requests = 0
        self.accepted = 0
        self.accepted_by_source: Counter = Counter()
        self.dropped_by_allowlist: Counter = Counter()
        self.spam_page_views: Counter = Counter()  # snippet page views for a host not registered for the key
        self.properties_removed: Counter = Counter()
        self.query_params_removed: Counter = Counter()
        self.redactions: defaultdict[str, Counter] = defaultdict(Counter)
        self.rejected: Counter = Counter()
        self.backpressure = 0
        self.loads = 0
        self.loads_deferred = 0  # load intervals skipped because the server was saturated
        self.load_errors = 0
        self.last_load: dict | None = None
        self.last_load_error: str | None = None


# --- the collector -------------------------------------------------------------------------


class Collector:
    """The state behind the HTTP app: sources, raw log, counters and the loader."""

    def __init__(self, lake: Lake | None, rawlog_dir: Path | str, *, options: CollectorOptions, registry: SourceRegistry, rawlog=None, fanout=None):
        self.lake = lake
        self.rawlog_dir = Path(rawlog_dir)
        self.options = options
        self.registry = registry
        self.rawlog = rawlog
        self.counters = Counters()
        self.in_flight = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self._refresh_lock: asyncio.Lock | None = None
        self._load_lock: asyncio.Lock | None = None
        self._stop: asyncio.Event | None = None
        self._load_task: asyncio.Task | None = None
        self._loader = None
        self.started = False
        self.loading = False  # a load into the lake is running
        self.load_deferred_since: str | None = None  # a load waits for the server to be less busy since
        self.fanout = fanout  # eventlake.destinations.fanout.Fanout, or None
        self._clock = _Clock()
        # loads into the lake run in a child process (loadworker.py), driven from a
        # thread of their own, or in that thread (load_process=False); either way at a
        # lower CPU priority than the requests (see _background_priority)
        self._load_thread: ThreadPoolExecutor | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    async def startup(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._refresh_lock = asyncio.Lock()
        self._load_lock = asyncio.Lock()
        self._stop = asyncio.Event()
        if self.rawlog is None:
            o = self.options
            self.rawlog = RawLog(
                self.rawlog_dir,
                segment_bytes=o.segment_bytes,
                segment_seconds=o.segment_seconds,
                max_pending_bytes=o.max_pending_bytes,
                min_free_bytes=o.min_free_bytes,
                fsync=o.fsync,
                sync_process=o.sync_process,
            )
        await self.rawlog.start()
        if self.fanout is not None:
            await self.fanout.start()
        await asyncio.to_thread(self.registry.refresh)
        await asyncio.to_thread(_warm_up)
        if self.registry.last_error:
            log.warning("could not read collector sources: %s", self.registry.last_error)
        self.started = True
        if self.options.load_interval is not None and self.lake is not None:
            self._load_task = asyncio.create_task(self._load_loop(), name="eventlake-loader")
        log.info("collector ready: %d active source(s), raw log %s", len(self.registry), self.rawlog_dir)

    async def shutdown(self) -> None:
        if self._stop is not None:
            self._stop.set()
        if self._load_task is not None:
            try:
                await self._load_task
            except Exception:
                log.exception("loader task failed")
        if self.rawlog is not None and self.started:
            try:
                await self.rawlog.close()
            except Exception:
                log.exception("closing the raw log failed")
        self.started = False
        await asyncio.to_thread(self.registry.close)
        if self.fanout is not None:
            try:
                await self.fanout.close()
            except Exception:
                log.exception("closing the destinations failed")
        if self._load_task is not None and self.options.load_on_shutdown:
            await self._load(rotate=False)
        if self._loader is not None:
            await self._in_load_thread(self._loader.close)
        if self._load_thread is not None:
            self._load_thread.shutdown(wait=True)
            self._load_thread = None

    # -- loading ----------------------------------------------------------------------------------
    def _get_loader(self):
        if self._loader is None:
            if self.options.load_process:
                from .loadworker import LoaderProcess

                self._loader = LoaderProcess(self._load_lake(), self.rawlog_dir, nice=BACKGROUND_NICE)
            else:
                from .loader import Loader

                self._loader = Loader(self._load_lake(), self.rawlog_dir, keep_connection=True)
        return self._loader

    def _load_lake(self) -> Lake:
        """The lake as the loads open it: with the loader's DuckDB threads."""
        threads = self.options.loader_threads
        return self.lake if threads is None or self.lake.threads == threads else self.lake.with_threads(threads)

    async def _in_load_thread(self, fn):
        if self._load_thread is None:
            self._load_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="eventlake-loader", initializer=_background_priority)
        return await asyncio.get_running_loop().run_in_executor(self._load_thread, fn)

    async def _load_loop(self) -> None:
        stop = self._stop
        assert stop is not None
        o = self.options
        while not stop.is_set():
            await self._load(rotate=True)
            last = time.monotonic()
            while True:
                mark = _busy_mark()
                try:
                    await asyncio.wait_for(stop.wait(), timeout=o.load_interval)
                except (asyncio.TimeoutError, TimeoutError):
                    pass
                if stop.is_set() or time.monotonic() - last >= o.load_max_lag or self._busy(mark) <= o.load_busy:
                    break
                # the server was saturated: the load waits (the raw log holds the events)
                self.counters.loads_deferred += 1
                if self.load_deferred_since is None:
                    self.load_deferred_since = datetime.now(timezone.utc).isoformat()
            self.load_deferred_since = None

    @staticmethod
    def _busy(mark: tuple[float, float]) -> float:
        """The share of the time since `mark` (_busy_mark) that the server's thread (this
        one: the event loop's) ran."""
        cpu, at = mark
        return (time.thread_time() - cpu) / max(1e-6, time.monotonic() - at)

    async def _load(self, rotate: bool) -> object | None:
        """Seal the active segment (when it has data) and load every sealed segment into
        the lake, in a worker thread. Errors are logged and counted, never raised."""
        assert self._load_lock is not None
        async with self._load_lock:
            try:
                if rotate and self.started:
                    await asyncio.to_thread(self.rawlog.rotate)
                self.loading = True
                try:
                    stats = await self._in_load_thread(self._get_loader().load_pending)
                finally:
                    self.loading = False
            except Exception as exc:
                self.counters.load_errors += 1
                self.counters.last_load_error = f"{type(exc).__name__}: {exc}"
                log.error("loading the raw log into the lake failed (will retry): %s", self.counters.last_load_error)
                return None
            self.counters.loads += 1
            self.counters.last_load = _stats_dict(stats)
            self.counters.last_load["at"] = datetime.now(timezone.utc).isoformat()
            if getattr(stats, "files_failed", 0):
                self.counters.load_errors += 1
                self.counters.last_load_error = "; ".join(getattr(stats, "problems", [])[:3]) or "a segment failed to load"
            if getattr(stats, "records_read", 0):
                log.info(
                    "loaded %d segment(s): %d event(s), %d duplicate(s), %d quarantined",
                    stats.files_read, stats.records_loaded, stats.records_duplicate, stats.records_quarantined,
                )
            return stats

    async def rotate_and_load(self):
        """Seal what was acknowledged so far and load it now (also used by tests)."""
        return await self._load(rotate=True)

    def rotate_and_load_threadsafe(self, timeout: float = 120.0):
        """rotate_and_load from another thread than the server's."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(self.rotate_and_load(), self.loop).result(timeout)

    # -- requests ---------------------------------------------------------------------------------
    def _fresh_source(self, key: str) -> Source | None:
        """The key's source when the registry knows it and is fresh (no refresh due):
        the common case, answered without a coroutine; else None (ask `_lookup`)."""
        reg = self.registry
        src = reg.lookup(key)
        return src if src is not None and not reg.stale() else None

    async def _lookup(self, key: str) -> Source | None:
        src = self.registry.lookup(key)
        if src is None and self.registry.stale(1.0):
            # a source added a moment ago: refresh now (at most once a second, shared)
            assert self._refresh_lock is not None
            async with self._refresh_lock:
                if self.registry.stale(1.0):
                    await asyncio.to_thread(self.registry.refresh)
            src = self.registry.lookup(key)
        elif self.registry.stale():
            assert self._refresh_lock is not None
            if not self._refresh_lock.locked():
                asyncio.get_running_loop().create_task(self._refresh_bg())
        return src

    async def _refresh_bg(self) -> None:
        assert self._refresh_lock is not None
        async with self._refresh_lock:
            if self.registry.stale():
                await asyncio.to_thread(self.registry.refresh)

    async def _read_body(self, req: _Req, limit: int, message: dict | None = None) -> bytes:
        """The request's body, decompressed, at most `limit` bytes (else 413). `message`:
        its first ASGI message when the caller received it already (the caller checked
        the declared Content-Length before, _check_declared_length)."""
        encoding = req.headers.get("content-encoding")
        encoding = "identity" if encoding is None else (encoding.strip().lower() or "identity")
        receive = req.receive
        body = b""
        chunks: list[bytes] | None = None
        size = 0
        while True:
            if message is None:
                message = await receive()
            mtype = message["type"]
            if mtype == "http.request":
                chunk = message.get("body", b"")
                if chunk:
                    size += len(chunk)
                    if size > limit:
                        raise Rejected(413, "too_large", _too_large_msg(size, limit, at_least=True))
                    if chunks is not None:
                        chunks.append(chunk)
                    elif body:
                        chunks = [body, chunk]
                    else:
                        body = chunk
                if not message.get("more_body", False):
                    break
            elif mtype == "http.disconnect":
                raise ClientDisconnect()
            message = None
        if chunks is not None:
            body = b"".join(chunks)
        if encoding == "identity":
            return body
        if encoding not in ("gzip", "x-gzip", "deflate"):
            raise Rejected(400, "malformed_request", f"unsupported Content-Encoding {encoding!r} (use gzip or none)")
        wbits = 16 + zlib.MAX_WBITS if "gzip" in encoding else zlib.MAX_WBITS
        d = zlib.decompressobj(wbits)
        try:
            out = d.decompress(body, limit + 1)
        except zlib.error as exc:
            raise Rejected(400, "malformed_request", f"the {encoding} body cannot be decompressed: {exc}") from None
        if len(out) > limit:
            raise Rejected(413, "too_large", _too_large_msg(len(out), limit, at_least=True, what="decompressed request"))
        if not d.eof:
            raise Rejected(400, "malformed_request", f"the {encoding} body is cut off")
        return out

    def _client_ip(self, req: _Req) -> str | None:
        if self.options.trust_proxy:
            xff = req.headers.get("x-forwarded-for")
            if xff:
                for part in reversed(xff.split(",")):
                    ip = _valid_ip(part.strip())
                    if ip:
                        return ip
        client = req.client
        return _valid_ip(client[0]) if client else None

    async def handle(self, request: Request, endpoint_type: str | None) -> Response:
        """Answer a tracking request that came through the framework (browsers: with an
        Origin, through CORS) as a Response."""
        return _answer_response(await self.answer(_Req(request.scope, request.receive), endpoint_type))

    async def answer(self, req: _Req, endpoint_type: str | None) -> tuple[int, bytes, str | None]:
        """(status, JSON body, Retry-After or None) for a request to a tracking endpoint:
        read, check and store it; _OK means it was stored. (The hot path: one coroutine
        down to the raw log's append, the body taken from the first ASGI message when it
        came in one piece.)"""
        c = self.counters
        c.requests += 1
        if self.in_flight >= self.options.max_in_flight:
            c.rejected["overloaded"] += 1
            return _error_answer(Rejected(429, "overloaded", f"too many requests in flight ({self.in_flight}); retry later", retry_after=1))
        self.in_flight += 1
        try:
            if not self.started:
                raise Rejected(503, "unavailable", "the collector is starting or stopping", retry_after=1)
            o = self.options
            headers = req.headers
            is_batch = endpoint_type is None
            limit = o.max_request_bytes if is_batch else o.max_event_bytes
            auth = headers.get("authorization")
            header_key = _basic_user_cached(auth) if auth else None
            source = None
            if header_key:
                source = self._fresh_source(header_key) or await self._lookup(header_key)
                if source is None:
                    raise Rejected(401, "unauthorized", "unknown or revoked write key")
            _check_declared_length(headers, limit)
            message = await req.receive()
            if message.get("more_body", False) or message["type"] != "http.request" or "content-encoding" in headers:
                body = await self._read_body(req, limit, message)
            else:
                body = message.get("body", b"")
                if len(body) > limit:
                    raise Rejected(413, "too_large", _too_large_msg(len(body), limit))
            try:
                doc = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise Rejected(400, "malformed_json", f"the body is not valid JSON: {exc}") from None
            if type(doc) is not dict:
                raise Rejected(400, "malformed_json", f"the body must be a JSON object, not {type(doc).__name__}")
            if source is None:
                key = doc.get("writeKey")
                if not isinstance(key, str) or not key:
                    raise Rejected(401, "unauthorized", "no write key: send it as the HTTP Basic user name (empty password) or as 'writeKey' in the body")
                source = self._fresh_source(key) or await self._lookup(key)
                if source is None:
                    raise Rejected(401, "unauthorized", "unknown or revoked write key")
            origin = headers.get("origin")
            referer = headers.get("referer")
            site_host = (_host_of(origin) or _host_of(referer)) if (origin or referer) else None
            if origin and not source.site_allowed(_host_of(origin)):
                raise Rejected(403, "forbidden_site", f"pages on {site_host!r} may not send with the key of source {source.name!r} (not one of its sites)")
            if is_batch:
                events = _batch_events(doc, o.max_event_bytes)
            else:
                ev = validate_event(doc, None, endpoint_type)
                ev.pop("writeKey", None)
                events = [ev]
            records = self._records(req, source, events, len(body), site_host)
            if records:  # (_store, inline: one coroutine less per request)
                try:
                    await self.rawlog.append([orjson.dumps(records[0])] if len(records) == 1 else [orjson.dumps(r) for r in records])
                except Exception as exc:
                    raise self._not_stored(exc) from None
            self._stored(source, records)
            return _OK
        except Rejected as exc:
            c.rejected[exc.kind] += 1
            return _error_answer(exc)
        except Exception:
            log.exception("unexpected error handling %s", req.path)
            c.rejected["internal_error"] += 1
            return _error_answer(Rejected(500, "internal_error", "internal error; the request was not stored"))
        finally:
            self.in_flight -= 1

    async def handle_beacon(self, request: Request) -> Response:
        """A page view from the /s.js snippet (see snippet.py): 202 whether it was stored
        or dropped as spam (a page cannot read the answer of a beacon anyway)."""
        self.counters.requests += 1
        self.in_flight += 1
        try:
            body = await request.body()
            try:
                key, page = parse_beacon(body)
            except BeaconError as exc:
                self.counters.rejected["invalid_beacon"] += 1
                return _json(400, {"error": str(exc), "code": "invalid_beacon", "message": str(exc)})
            source = await self._lookup(key)
            if source is None:
                self.counters.rejected["unknown_key"] += 1
                return _json(401, {"error": "unknown write key", "code": "unauthorized", "message": "unknown write key"})
            if not is_registered(page["host"], source.sites):
                self.counters.spam_page_views[source.name] += 1
                return _json(202, {"success": False})
            event = page_event(page, request.headers.get("user-agent"))
            try:
                await self._store(source, self._records(_Req(request.scope, request.receive), source, [event], len(body), page["host"]))
            except Rejected as exc:
                self.counters.rejected[exc.kind] += 1
                return _error_response(exc)
            return _json(202, {"success": True})
        finally:
            self.in_flight -= 1

    async def _store(self, source: Source, records: list[dict]) -> None:
        """Write the raw records durably (returning is the acknowledgement), count them and
        hand them to the destinations; Rejected (503) when the raw log cannot take them.
        (`answer` does the same inline.)"""
        if records:
            try:
                await self.rawlog.append([orjson.dumps(r) for r in records])
            except Exception as exc:
                raise self._not_stored(exc) from None
        self._stored(source, records)

    def _not_stored(self, exc: Exception) -> Rejected:
        """The 503 of a request the raw log did not take (busy, or its write failed)."""
        if isinstance(exc, Backpressure):
            self.counters.backpressure += 1
            return Rejected(503, "backpressure", f"the collector cannot store more events now: {exc}", retry_after=exc.retry_after or 1)
        log.error("the raw log failed to store a request: %s", exc)
        return Rejected(503, "storage_error", f"the raw log failed to store the events: {type(exc).__name__}", retry_after=5)

    def _stored(self, source: Source, records: list[dict]) -> None:
        """Count records the raw log acknowledged and hand them to the destinations."""
        n = len(records)
        c = self.counters
        c.accepted += n
        c.accepted_by_source[source.name] += n
        if self.fanout is not None and records:
            try:
                self.fanout.submit(records)
            except Exception:  # forwarding must never fail an acknowledged request
                log.exception("handing events to the destinations failed")

    def _records(self, req: _Req, source: Source, events: list[dict], nbytes: int, site_host: str | None) -> list[dict]:
        """The raw-log records of a request's events. The events are the request's own
        copies (validate_event's, page_event's): the privacy rules change them in place."""
        policy = source.policy
        received_at = self._clock.now()
        header_ua = req.headers.get("user-agent") or None
        sock_ip = self._client_ip(req)
        endpoint = req.path
        keep_ip = source.keep_ip
        name = source.name
        c = self.counters
        redactions = c.redactions[name]  # the sanitizer counts into it
        shared = None  # the request metadata of events that name no IP or user agent of their own
        out: list[dict] = []
        for ev in events:
            result = apply_policy_to_own(ev, policy, redactions)
            payload = result.event
            if payload is None:
                c.dropped_by_allowlist[name] += 1
                continue
            if result.properties_removed:
                c.properties_removed[name] += result.properties_removed
            if result.query_params_removed:
                c.query_params_removed[name] += result.query_params_removed
            ctx = payload.get("context")
            if isinstance(ctx, dict) and ("ip" in ctx or ctx.get("userAgent")):
                ip = _valid_ip(ctx.get("ip")) or sock_ip
                ua = header_ua
                ctx_ua = ctx.get("userAgent")
                if ctx_ua and isinstance(ctx_ua, str):
                    ua = ctx_ua
                if not keep_ip and "ip" in ctx:
                    ctx = dict(ctx)
                    del ctx["ip"]
                    payload["context"] = ctx
                request = _request_meta(endpoint, nbytes, ua, ip, keep_ip, site_host)
            else:
                if shared is None:
                    shared = _request_meta(endpoint, nbytes, header_ua, sock_ip, keep_ip, site_host)
                request = shared
            rec = {
                "received_at": received_at,
                "source": name,
                "key_id": source.key_id,
                "type": payload["type"],
                "message_id": payload["messageId"],
                "payload": payload,
                "request": request,
            }
            if source.tenant:
                # where the loader puts it: the tenant the key wrote for when it was received
                rec["tenant"] = source.tenant
            out.append(rec)
        return out

    def health(self) -> dict:
        c = self.counters
        return {
            "status": "ok" if self.started else "stopped",
            "uptime_seconds": round(time.time() - c.started, 3),
            "in_flight": self.in_flight,
            "sources": len(self.registry),
            "sources_error": self.registry.last_error,
            "requests": c.requests,
            "accepted": c.accepted,
            "accepted_by_source": dict(c.accepted_by_source),
            "dropped_by_allowlist": dict(c.dropped_by_allowlist),
            "spam_page_views": dict(c.spam_page_views),
            "destinations": {n: dict(vars(st)) for n, st in self.fanout.stats.items()} if self.fanout is not None else {},
            "properties_removed": dict(c.properties_removed),
            "query_params_removed": dict(c.query_params_removed),
            "redactions": {k: dict(v) for k, v in c.redactions.items() if v},  # (a source's count exists once it sent events)
            "rejected": dict(c.rejected),
            "backpressure": c.backpressure,
            "raw_log": _rawlog_stats(self.rawlog),
            "loader": {
                "enabled": self._load_task is not None,
                "loading": self.loading,
                "loads": c.loads,
                "deferred": c.loads_deferred,
                "deferred_since": self.load_deferred_since,
                "errors": c.load_errors,
                "last_load": c.last_load,
                "last_error": c.last_load_error,
                "waiting": self._backlog(),
                "process": getattr(self._loader, "pid", None),  # the loader process, while it runs
            },
        }

    def _backlog(self) -> dict:
        """The sealed raw-log segments waiting for the loader: how many, their bytes,
        and how long ago the oldest was last written (how far the lake is behind what
        was acknowledged; loads run at a lower CPU priority than requests, so under
        sustained load this grows, and shrinks once the load eases)."""
        n = size = 0
        oldest = None
        for path in sealed_segments(self.rawlog_dir):
            try:
                st = path.stat()
            except FileNotFoundError:  # loaded and removed meanwhile
                continue
            n += 1
            size += st.st_size
            oldest = st.st_mtime if oldest is None else min(oldest, st.st_mtime)
        return {"segments": n, "bytes": size, "oldest_age_seconds": None if oldest is None else round(max(0.0, time.time() - oldest), 1)}


def _request_meta(endpoint: str, nbytes: int, ua: str | None, ip: str | None, keep_ip: bool, site_host: str | None) -> dict:
    """A record's `request`: where and how it came, with country and coarse device,
    browser and OS derived at receipt; the IP only when the source keeps IPs."""
    device_type, browser, os_name = parse_user_agent(ua[:1024]) if ua else (None, None, None)
    return {
        "endpoint": endpoint,
        "bytes": nbytes,
        "user_agent": ua,
        "country": country_of(ip) if ip else None,
        "device_type": device_type,
        "browser": browser,
        "os": os_name,
        "ip": ip if keep_ip else None,
        "site_host": site_host,
    }


def _rawlog_stats(rawlog) -> dict:
    """Group-commit figures of the raw log: how many write + fsync rounds, how many
    appends (requests) each acknowledged on average, and how long a round took."""
    commits = getattr(rawlog, "commits", None)
    if not isinstance(commits, int):
        return {}
    appends = rawlog.committed_appends
    return {
        "group_commits": commits,
        "appends_per_commit": round(appends / commits, 2) if commits else None,
        "mean_commit_ms": round(rawlog.commit_seconds * 1000 / commits, 3) if commits else None,
        "pending_bytes": rawlog.pending_bytes,
        "fsync_by": getattr(rawlog, "sync_mode", None),
        "fsync_helper_restarts": getattr(rawlog, "helper_restarts", None),
    }


# How many steps of CPU priority (nice) the loader's thread is below the requests'.
BACKGROUND_NICE = 10


def _busy_mark() -> tuple[float, float]:
    """(this thread's CPU time, now) for Collector._busy."""
    return time.thread_time(), time.monotonic()


def _background_priority() -> None:
    """(the loader's thread, at its start) Lower this thread's CPU priority, and so
    that of the DuckDB threads it starts, which inherit it: when requests and a load
    want the CPU at once, the requests (whose acknowledgement a client waits for) go
    first and the load (which nobody waits for) takes what is left; on an idle
    machine it runs at full speed."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + BACKGROUND_NICE))
    except (AttributeError, OSError):  # not Linux: threads share the process's priority
        pass


def _warm_up() -> None:
    """Load ua-parser's rules and the IP table before the first request needs them."""
    parse_user_agent("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0")
    country_of("8.8.8.8")


def _stats_dict(stats) -> dict:
    if stats is None:
        return {}
    if hasattr(stats, "__dataclass_fields__"):
        from dataclasses import asdict

        try:
            return {
                k: v
                for k, v in asdict(stats).items()
                if k != "started" and isinstance(v, (int, float, str, bool, type(None)))
            }
        except TypeError:
            pass
    if isinstance(stats, dict):
        return dict(stats)
    return {"result": str(stats)}


def _check_declared_length(headers: dict[str, str], limit: int) -> None:
    """413 before reading a body whose Content-Length is over `limit`; 400 when it is not a number."""
    cl = headers.get("content-length")
    if cl is not None:
        try:
            n = int(cl)
        except ValueError:
            raise Rejected(400, "malformed_request", "Content-Length is not a number") from None
        if n > limit:
            raise Rejected(413, "too_large", _too_large_msg(n, limit))


def _too_large_msg(n: int, limit: int, at_least: bool = False, what: str = "request") -> str:
    size = f"over {limit} bytes" if at_least else f"{n} bytes"
    kind = "an event" if limit <= MAX_EVENT_BYTES else "a request"
    return f"the {what} is {size}; {kind} may have at most {limit // 1024} KB"


def _basic_user(header: str | None) -> str | None:
    """The user name of an HTTP Basic Authorization header (Segment sends the write key
    as user name with an empty password); None when there is no Basic header."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return ""
    return decoded.split(":", 1)[0]


class _CollectorApp(FastAPI):
    """The collector's FastAPI app, with a pure-ASGI fast path in front of it: POSTs to
    the tracking endpoints from server-side clients (no Origin header) are read from
    the ASGI scope and `receive` and answered with two `send`s, without the framework's
    middleware, routing, Request or Response (most of a request's cost). Browsers'
    requests (with an Origin) and everything else go the whole way, through CORS.
    When FastAPI's native telemetry is on (found at startup), every request goes the
    whole way so that it is traced."""

    collector: "Collector"
    fast_path = True

    async def __call__(self, scope, receive, send) -> None:
        if self.fast_path and scope["type"] == "http" and scope["method"] == "POST":
            endpoint_type = ENDPOINTS.get(scope["path"], _MISSING)
            if endpoint_type is not _MISSING:
                headers = _wanted_headers(scope["headers"])
                if "origin" not in headers:
                    await _send_answer(send, await self.collector.answer(_Req(scope, receive, headers), endpoint_type))
                    return
        await super().__call__(scope, receive, send)


@lru_cache(maxsize=1024)
def _basic_user_cached(header: str) -> str | None:
    return _basic_user(header)


_MISSING = object()


def create_app(
    lake: Lake | None,
    rawlog_dir: Path | str,
    *,
    options: CollectorOptions | None = None,
    rawlog=None,
    registry: SourceRegistry | None = None,
    fanout=None,
    **option_overrides,
) -> FastAPI:
    """The collector app. `lake` holds collector_sources and receives the loads;
    `rawlog_dir` is the raw log's folder. Options are CollectorOptions fields (also as
    keyword arguments, e.g. trust_proxy=True, load_interval=5). `rawlog` (a RawLog not
    yet started) replaces the one the app would make; `registry` the source list read
    from the lake. The app starts the raw log at startup and closes it at shutdown."""
    opts = options or CollectorOptions()
    for k, v in option_overrides.items():
        if not hasattr(opts, k):
            raise TypeError(f"create_app: unknown option {k!r}")
        setattr(opts, k, v)
    reg = registry or SourceRegistry(lake, refresh_seconds=opts.source_refresh_seconds)
    collector = Collector(lake, rawlog_dir, options=opts, registry=reg, rawlog=rawlog, fanout=fanout)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        telemetry = getattr(app, "_native_telemetry", None)
        try:
            app.fast_path = not (telemetry is not None and telemetry.enabled())
        except Exception:
            app.fast_path = False
        await collector.startup()
        try:
            yield
        finally:
            await collector.shutdown()

    app = _CollectorApp(title="eventlake collector", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.collector = collector
    app.collector = collector

    def make_handler(endpoint_type: str | None):
        async def handler(request: Request) -> Response:
            return await collector.handle(request, endpoint_type)

        return handler

    for path, etype in ENDPOINTS.items():
        app.add_api_route(path, make_handler(etype), methods=["POST"], include_in_schema=False)

    async def health(request: Request) -> Response:
        return _json(200, collector.health())

    app.add_api_route("/health", health, methods=["GET"], include_in_schema=False)

    async def snippet(request: Request) -> Response:
        if request.headers.get("if-none-match") == SNIPPET_ETAG:
            return Response(status_code=304, headers={"ETag": SNIPPET_ETAG})
        return Response(
            SNIPPET_BYTES, media_type="application/javascript",
            headers={"ETag": SNIPPET_ETAG, "Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
        )

    async def beacon(request: Request) -> Response:
        return await collector.handle_beacon(request)

    app.add_api_route("/s.js", snippet, methods=["GET"], include_in_schema=False)
    app.add_api_route("/v1/p", beacon, methods=["POST"], include_in_schema=False)
    # server-side tracking POSTs skip all of this: see _CollectorApp
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["POST", "GET", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "Content-Encoding"],
        max_age=86400,
    )
    return app


class ServerThread:
    """Run an ASGI app with uvicorn in a background thread on a loopback port (for
    embedding the collector in another process, and for tests with real clients):

        with ServerThread(create_app(lake, raw_dir)) as srv:
            httpx.post(srv.url + "/v1/track", ...)
    """

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, **config):
        import socket
        import threading

        import uvicorn

        self.app = app
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host, self.port = host, self._sock.getsockname()[1]
        # idle keep-alive connections are kept 75 s (uvicorn's default is 5 s, the same as
        # httpx's idle expiry: a client could send on a connection as the server closed it)
        cfg = {"log_level": "warning", "proxy_headers": False, "lifespan": "on", "access_log": False,
               "timeout_keep_alive": 75, **config}
        self.server = uvicorn.Server(uvicorn.Config(app, **cfg))
        self._thread = threading.Thread(target=self._run, name="eventlake-collector", daemon=True)
        self.error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        try:
            self.server.run(sockets=[self._sock])
        except BaseException as exc:  # reported by start()
            self.error = exc

    def start(self, timeout: float = 30.0) -> "ServerThread":
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the collector did not start: {self.error!r}")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 60.0) -> None:
        self.server.should_exit = True
        self._thread.join(timeout)
        try:
            self._sock.close()
        except OSError:
            pass

    def __enter__(self) -> "ServerThread":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
