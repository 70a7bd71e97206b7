"""What every destination shares: its configuration, the event it is given (a raw
record's payload cut down to the allowlisted fields), the HTTP attempt loop with
retries and backoff, and the Outcome of every attempt.

A destination type only says how a list of events becomes vendor requests
(`build_requests`) and, when the vendor has its own error shapes, how a response is
judged (`judge`). Sending, retrying, timing and recording are done here, once.

Retry policy: 5xx, 429 (Retry-After honoured), 408, timeouts and connection errors are
retried with exponential backoff and jitter up to `max_attempts`; any other 4xx fails
at once. Every attempt yields one Outcome per event it carried (status `retry` for an
attempt that will be repeated), so the deliveries table shows the whole history.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import os
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Iterable
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson

from ..errors import ConfigError

# The payload fields forwarded unless a destination lists its own `fields`.
DEFAULT_FIELDS: tuple[str, ...] = (
    "type", "event", "name", "messageId", "userId", "anonymousId", "timestamp", "properties",
)
EVENT_TYPES = ("track", "page", "screen", "identify", "group", "alias")
STATUSES = ("delivered", "retry", "failed", "dropped")
USER_AGENT = "eventlake-destinations/0.1"
ERROR_LIMIT = 500  # characters of an error message kept in deliveries


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class Outcome:
    """What became of one event in one attempt (or why it was not attempted)."""

    message_id: str
    status: str  # delivered | retry | failed | dropped
    attempt: int = 0  # 1 for the first try; 0 when never sent (dropped, or refused before sending)
    http_status: int | None = None
    error: str | None = None
    duration_ms: float | None = None
    attempted_at: dt.datetime = field(default_factory=utcnow)


@dataclass
class DestinationConfig:
    """One `[destinations.NAME]` table, validated. Secrets are never held here: only
    the name of the environment variable that has them."""

    name: str
    type: str
    url: str | None = None
    secret_env: str | None = None
    sources: tuple[str, ...] | None = None  # None: every collector source
    events: tuple[str, ...] | None = None  # None: every event name
    fields: tuple[str, ...] = DEFAULT_FIELDS
    batch_size: int | None = None  # None: the type's default
    max_attempts: int = 5
    backoff_s: float = 0.5  # first retry waits about this long, doubling each time
    max_backoff_s: float = 30.0
    max_retry_after_s: float = 300.0  # a longer Retry-After gives up (failed; `replay` sends it later)
    timeout_s: float = 10.0
    queue_size: int = 10_000
    concurrency: int | None = None  # requests in flight; None: the type's default
    options: dict[str, Any] = field(default_factory=dict)  # type-specific keys (e.g. measurement_id)

    def secret(self) -> str | None:
        """The secret's value, read from the environment when needed (never stored)."""
        if not self.secret_env:
            return None
        value = os.environ.get(self.secret_env)
        if not value:
            raise ConfigError(
                f"destination {self.name!r}: environment variable {self.secret_env} (secret_env) is not set"
            )
        return value


@dataclass
class Request:
    """One vendor request and the events it carries (by index into the send() list)."""

    url: str
    body: bytes
    indexes: list[int]
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "POST"


@dataclass
class Verdict:
    """How a response is judged: one status for the whole request, or per event.
    `per_event` maps an index (into the request's events) to (status, error);
    events not named get `status`. `resend` lists indexes to send again at once
    (another attempt) because the vendor refused the request for others' faults."""

    status: str
    error: str | None = None
    retry_after: float | None = None
    per_event: dict[int, tuple[str, str | None]] = field(default_factory=dict)
    resend: list[int] = field(default_factory=list)


class Destination:
    """A configured destination of one type. Subclasses set `type`, `default_url`,
    `max_batch` / `default_batch`, `event_types`, and implement `build_requests`."""

    type: ClassVar[str] = ""
    default_url: ClassVar[str | None] = None
    max_batch: ClassVar[int] = 1000  # vendor limit of events per request
    default_batch: ClassVar[int] = 100
    default_concurrency: ClassVar[int] = 2
    event_types: ClassVar[tuple[str, ...]] = EVENT_TYPES  # the event types it forwards
    required_options: ClassVar[tuple[str, ...]] = ()
    allowed_options: ClassVar[tuple[str, ...]] = ()
    secret_required: ClassVar[bool] = True
    secret_meaning: ClassVar[str] = "secret"

    def __init__(self, config: DestinationConfig, *, client: httpx.AsyncClient | None = None):
        self.config = config
        self._client = client
        self._own_client = client is None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._limit: asyncio.Semaphore | None = None
        self._limit_loop: asyncio.AbstractEventLoop | None = None

    # -- identity -------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.config.name

    @property
    def url(self) -> str:
        url = self.config.url or self.default_url
        if not url:
            raise ConfigError(f"destination {self.name!r} ({self.type}) needs a url")
        return url

    @property
    def batch_size(self) -> int:
        return min(self.config.batch_size or self.default_batch, self.max_batch)

    @property
    def concurrency(self) -> int:
        return self.config.concurrency or self.default_concurrency

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._limit is None or self._limit_loop is not loop:
            self._limit = asyncio.Semaphore(self.concurrency)
            self._limit_loop = loop
        return self._limit

    @classmethod
    def validate(cls, config: DestinationConfig) -> None:
        """Type-specific checks of a configuration (raise ConfigError)."""
        where = f"destination {config.name!r} ({cls.type})"
        if not (config.url or cls.default_url):
            raise ConfigError(f"{where}: url is required")
        url = config.url or cls.default_url or ""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"{where}: url {display_url(url)!r} must be an http:// or https:// URL")
        if cls.secret_required and not config.secret_env:
            raise ConfigError(
                f"{where}: secret_env is required (the name of the environment variable holding the {cls.secret_meaning})"
            )
        for key in cls.required_options:
            if config.options.get(key) in (None, ""):
                raise ConfigError(f"{where}: {key} is required")
        if config.batch_size is not None and config.batch_size > cls.max_batch:
            raise ConfigError(f"{where}: batch_size {config.batch_size} is above the vendor limit of {cls.max_batch} events per request")

    def describe(self) -> dict[str, Any]:
        """What `destinations list` shows: never a secret, URLs without credentials or query values."""
        c = self.config
        return {
            "name": c.name,
            "type": c.type,
            "url": display_url(self.url),
            "secret_env": c.secret_env or "",
            "secret_set": bool(c.secret_env and os.environ.get(c.secret_env)),
            "sources": list(c.sources) if c.sources is not None else None,
            "events": list(c.events) if c.events is not None else None,
            "fields": list(c.fields),
            "batch_size": self.batch_size,
            "max_attempts": c.max_attempts,
            "concurrency": self.concurrency,
            **{k: v for k, v in c.options.items()},
        }

    # -- selection and shaping ------------------------------------------------
    def accepts(self, record: dict) -> bool:
        """Whether a raw record is for this destination: its source, type and event
        name pass the configured filters and the type is one this destination sends."""
        c = self.config
        if c.sources is not None and record.get("source") not in c.sources:
            return False
        rtype = record.get("type") or (record.get("payload") or {}).get("type")
        if rtype not in self.event_types:
            return False
        if c.events is not None:
            payload = record.get("payload") or {}
            name = payload.get("event") if rtype == "track" else payload.get("name")
            if name not in c.events:
                return False
        return True

    def project(self, event: dict) -> dict:
        """The event cut down to the allowlisted fields (nothing else leaves). `type`
        and `messageId` are always kept: they route and de-duplicate the event."""
        keep = dict.fromkeys(("type", "messageId", *self.config.fields))
        return {k: event[k] for k in keep if k in event and event[k] is not None}

    def build_requests(self, events: list[dict]) -> tuple[list[Request], dict[int, str]]:
        """Vendor requests for these (projected) events, each carrying at most
        `batch_size` of them, and the events that cannot be sent at all (index ->
        reason: failed without an attempt)."""
        raise NotImplementedError

    def attempt_headers(self, request: Request) -> dict[str, str]:
        """Headers computed afresh for each attempt (e.g. a signature with a timestamp)."""
        return {}

    def judge(self, response: httpx.Response, request: Request) -> Verdict:
        """Default judgement of a vendor response."""
        return judge_status(response)

    # -- HTTP -----------------------------------------------------------------
    def client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or (self._own_client and self._client_loop is not loop):
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.config.timeout_s),
                headers={"User-Agent": USER_AGENT},
                follow_redirects=False,
            )
            self._client_loop = loop
        return self._client

    async def aclose(self) -> None:
        if self._own_client and self._client is not None:
            client, self._client = self._client, None
            try:
                await client.aclose()
            except RuntimeError:  # its loop is gone
                pass

    async def __aenter__(self) -> "Destination":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    def backoff(self, attempt: int) -> float:
        """Wait before attempt `attempt + 1`: exponential, capped, with jitter."""
        c = self.config
        base = min(c.max_backoff_s, c.backoff_s * (2 ** (attempt - 1)))
        return base / 2 + random.uniform(0, base / 2)

    async def send(self, events: list[dict], on_outcomes: Callable[[list[Outcome]], None] | None = None) -> list[Outcome]:
        """Send events (raw records' payloads, see `event_from_record`) and return the
        outcome of every attempt for every event. `on_outcomes`, when given, also
        receives each attempt's outcomes as they happen (so that a caller cancelled
        in the middle of the retries has already seen the earlier attempts)."""
        if not events:
            return []
        shaped = [self.project(e) for e in events]
        ids = [str(e.get("messageId") or "") for e in events]
        outcomes: list[Outcome] = []

        def emit(batch: list[Outcome]) -> None:
            outcomes.extend(batch)
            if on_outcomes is not None and batch:
                on_outcomes(batch)

        requests, refused = self.build_requests(shaped)
        emit([Outcome(ids[i], "failed", 0, None, _cap(reason), 0.0) for i, reason in sorted(refused.items())])
        await asyncio.gather(*(self._deliver(req, ids, shaped, emit) for req in requests))
        return outcomes

    async def _deliver(self, request: Request, ids: list[str], shaped: list[dict], emit: Callable[[list[Outcome]], None]) -> None:
        """One request, with retries; every attempt's outcomes go to `emit`."""
        attempt = 0
        while True:
            attempt += 1
            out: list[Outcome] = []
            async with self._semaphore():
                started = utcnow()
                t0 = time.perf_counter()
                try:
                    response = await self.client().request(
                        request.method, request.url, content=request.body,
                        headers={"Content-Type": "application/json", **request.headers, **self.attempt_headers(request)},
                    )
                    verdict = self.judge(response, request)
                    http_status: int | None = response.status_code
                except httpx.TimeoutException as exc:
                    verdict = Verdict("retry", f"timeout after {self.config.timeout_s:g}s ({type(exc).__name__})")
                    http_status = None
                except httpx.TransportError as exc:
                    verdict = Verdict("retry", f"connection error: {_exc_text(exc)}")
                    http_status = None
                ms = (time.perf_counter() - t0) * 1000.0
            last = attempt >= self.config.max_attempts
            status = verdict.status
            error = verdict.error
            wait = None
            if status == "retry":
                wait = self.backoff(attempt)
                if verdict.retry_after is not None:
                    if verdict.retry_after > self.config.max_retry_after_s:
                        status, last = "failed", True
                        error = f"{error}; Retry-After {verdict.retry_after:g}s is above max_retry_after_s {self.config.max_retry_after_s:g}"
                    wait = max(wait, verdict.retry_after)
                if last:
                    status = "failed"
                    if attempt >= self.config.max_attempts:
                        error = f"{error} (gave up after {attempt} attempts)"
            resend: list[int] = []
            for pos, idx in enumerate(request.indexes):
                st, err = verdict.per_event.get(pos, (status, error))
                if pos in verdict.resend and not last:
                    st, err = "retry", err
                    resend.append(idx)
                elif pos in verdict.resend:
                    st = "failed"
                out.append(Outcome(ids[idx], st, attempt, http_status, _cap(err), ms, started))
            if resend:
                # the vendor refused the request because of other events: send the rest again now
                sub = self._rebuild(request, resend, shaped)
                if sub is None:
                    for o in out:
                        if o.status == "retry":
                            o.status = "failed"
                    emit(out)
                    return
                emit(out)
                request = sub
                continue
            emit(out)
            if status != "retry":
                return
            await asyncio.sleep(wait or 0)

    def _rebuild(self, request: Request, indexes: list[int], shaped: list[dict]) -> Request | None:
        reqs, refused = self.build_requests([shaped[i] for i in indexes])
        if len(reqs) != 1 or refused:
            return None
        req = reqs[0]
        req.indexes = [indexes[i] for i in req.indexes]
        return req


def judge_status(response: httpx.Response) -> Verdict:
    """2xx delivered; 5xx, 429 and 408 (the server's own timeout) retried, with any
    Retry-After honoured; any other status failed."""
    code = response.status_code
    if 200 <= code < 300:
        return Verdict("delivered")
    text = _body_excerpt(response)
    error = f"HTTP {code}" + (f": {text}" if text else "")
    if code in (408, 429) or code >= 500:
        return Verdict("retry", error, retry_after=parse_retry_after(response.headers.get("Retry-After")))
    return Verdict("failed", error)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - utcnow()).total_seconds())


def event_from_record(record: dict) -> dict:
    """The event a raw record carries: its payload, with `type` and `messageId`
    filled in from the record when the payload (e.g. of /v1/track) lacks them."""
    payload = dict(record.get("payload") or {})
    if record.get("type") and not payload.get("type"):
        payload["type"] = record["type"]
    if record.get("message_id") and not payload.get("messageId"):
        payload["messageId"] = record["message_id"]
    return payload


def parse_time(value: Any) -> dt.datetime | None:
    """An ISO 8601 timestamp (as Segment clients send them) as an aware UTC datetime."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.astimezone(dt.timezone.utc)


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def display_url(url: str) -> str:
    """A URL safe to print: no user:password, query values replaced by ***."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    query = "&".join(f"{p.split('=', 1)[0]}=***" if "=" in p else p for p in parts.query.split("&") if p)
    return urlunsplit((parts.scheme, host, parts.path, query, ""))


def _body_excerpt(response: httpx.Response, limit: int = 200) -> str:
    try:
        text = response.text
    except Exception:  # undecodable body
        return ""
    return " ".join(text.split())[:limit]


def _exc_text(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text


def _cap(text: str | None) -> str | None:
    return None if text is None else text[:ERROR_LIMIT]
