"""Collector sources: who may send events, with which write key, and under which
privacy rules. Stored in the lake table `collector_sources`, append-only: every change
appends a row and the latest row per name wins (its `updated_at` is strictly later).

A write key is shown once, when the source is created; the lake keeps only its public
id (`key_id`) and its SHA-256 (`key_hash`). The collector finds a request's source by
hashing the key it presents.

A source may be tied to a tenant (`tenant`): the events its key sends are loaded into
that tenant's storage (see loader.py), never the lake's own tables."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import Iterator
from urllib.parse import urlsplit

import duckdb

from ..errors import EventlakeError, LakeError
from ..governance import audit
from ..lake import Lake
from ..lake.appendonly import add_missing_columns, latest_rows, present_columns, table_exists
from ..lake.catalog import ALIAS
from ..lake.schema import COLLECTOR_SOURCES, TENANTS
from .privacy import Policy

TABLE = COLLECTOR_SOURCES.name
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
HOST_RE = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?::\d{1,5})?$")
PARAM_RE = re.compile(r"^[^\s&=#]{1,128}$")


class CollectorSourceError(EventlakeError):
    """A collector source is unknown, exists already, or was given invalid settings."""


@dataclass(frozen=True)
class Source:
    name: str
    key_id: str
    key_hash: str
    sites: tuple[str, ...] = ()
    event_allowlist: tuple[str, ...] | None = None
    property_allowlist: tuple[str, ...] | None = None
    query_allowlist: tuple[str, ...] = ()
    keep_ip: bool = False
    revoked: bool = False
    updated_at: datetime | None = None
    tenant: str | None = None  # the tenant whose storage its events go to (None: the lake's own tables)

    @cached_property
    def policy(self) -> Policy:
        """The source's privacy policy, built once (a refresh of the registry makes new Sources)."""
        return Policy.build(self.event_allowlist, self.property_allowlist, self.query_allowlist, self.keep_ip)

    def site_allowed(self, host: str | None) -> bool:
        """May a browser page on `host` send with this key? Without registered sites,
        every host may; otherwise the host or one of its subdomains must be registered."""
        if not self.sites or not host:
            return True
        host = host.lower()
        bare = host.split(":", 1)[0]
        for site in self.sites:
            site_bare = site.split(":", 1)[0]
            if host == site or bare == site or bare == site_bare or bare.endswith("." + site_bare):
                return True
        return False

    def snippet(self, key: str, host: str | None = None) -> str:
        """The page-view tag for a site's pages (the key appears in every page: it can
        only send events, and `--site` limits where pages may send from)."""
        h = host or (self.sites[0] if self.sites else "COLLECTOR_HOST")
        return f'<script defer src="https://{h}/s.js" data-key="{key}"></script>'


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> tuple[str, str, str]:
    """(write key, key id, key hash): the key is 32 random bytes, URL-safe base64; the
    id is public and derived from a separate random value, never from the key."""
    key = secrets.token_urlsafe(32)
    key_id = "k_" + secrets.token_hex(16)[:8]
    return key, key_id, hash_key(key)


# --- validation ------------------------------------------------------------------


def check_name(name: str) -> str:
    if not NAME_RE.match(name or ""):
        raise CollectorSourceError(
            f"source name {name!r} is invalid: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


def normalize_site(site: str) -> str:
    """A site host from 'example.com', 'https://www.example.com/' or 'localhost:8000'."""
    s = (site or "").strip()
    if "://" in s:
        s = urlsplit(s).netloc
    s = s.rstrip("/").lower()
    if not HOST_RE.match(s):
        raise CollectorSourceError(f"--site {site!r} is not a host name such as example.com or app.example.com:8443")
    return s


def _names(values, option: str, rx: re.Pattern | None = None) -> tuple[str, ...]:
    out: list[str] = []
    for v in values:
        v = (v or "").strip()
        if not v or (rx is not None and not rx.match(v)) or len(v) > 256:
            raise CollectorSourceError(f"{option} {v!r} is not a valid name")
        if v not in out:
            out.append(v)
    return tuple(out)


# --- storage ----------------------------------------------------------------------

_COLS = [c for c, _ in COLLECTOR_SOURCES.columns]


def _row_to_source(row) -> Source:
    d = dict(zip(_COLS, row))
    return Source(
        tenant=d["tenant"],
        name=d["name"],
        key_id=d["key_id"],
        key_hash=d["key_hash"],
        sites=tuple(d["sites"] or ()),
        event_allowlist=None if d["event_allowlist"] is None else tuple(d["event_allowlist"]),
        property_allowlist=None if d["property_allowlist"] is None else tuple(d["property_allowlist"]),
        query_allowlist=tuple(d["query_allowlist"] or ()),
        keep_ip=bool(d["keep_ip"]),
        revoked=bool(d["revoked"]),
        updated_at=d["updated_at"],
    )


def read_sources(con: duckdb.DuckDBPyConnection) -> list[Source]:
    """The current state of every source (revoked ones included), by name."""
    if not table_exists(con, TABLE):
        return []
    rows = latest_rows(con, TABLE, _COLS, ("name",), present=present_columns(con, COLLECTOR_SOURCES))
    return [_row_to_source(r) for r in rows]


def load_sources(lake: Lake) -> list[Source]:
    """Every source's current state; no lake yet: none."""
    if not lake.exists():
        return []
    con = lake.connect(read_only=True)
    try:
        return read_sources(con)
    finally:
        con.close()


def get_source(lake: Lake, name: str) -> Source:
    for s in load_sources(lake):
        if s.name == name:
            return s
    raise CollectorSourceError(f"no collector source named {name!r} (see `eventlake sources list`)")


def _append(con: duckdb.DuckDBPyConnection, source: Source, previous: Source | None) -> Source:
    now = datetime.now(timezone.utc)
    if previous is not None and previous.updated_at is not None and now <= previous.updated_at:
        now = previous.updated_at + timedelta(microseconds=1)
    source = replace(source, updated_at=now)
    con.execute(
        f'INSERT INTO "{TABLE}" ({", ".join(chr(34) + c + chr(34) for c in _COLS)}) VALUES ({", ".join("?" for _ in _COLS)})',
        [
            source.name,
            source.key_id,
            source.key_hash,
            list(source.sites),
            None if source.event_allowlist is None else list(source.event_allowlist),
            None if source.property_allowlist is None else list(source.property_allowlist),
            list(source.query_allowlist),
            source.keep_ip,
            source.revoked,
            source.updated_at,
            source.tenant,
        ],
    )
    action = "source_revoke" if source.revoked else ("source_add" if previous is None or previous.revoked else "source_set")
    audit.change(con, action, source.name, key_id=source.key_id, tenant=source.tenant, sites=list(source.sites) or None,
                 keep_ip=source.keep_ip or None)
    return source


def _current(con, name: str) -> Source | None:
    for s in read_sources(con):
        if s.name == name:
            return s
    return None


@contextmanager
def _writing(lake: Lake) -> Iterator[duckdb.DuckDBPyConnection]:
    """lake.writing for this table, with an older lake's copy given the columns
    declared since (e.g. `tenant`)."""
    with lake.writing([TABLE]) as con:
        add_missing_columns(lake, con, COLLECTOR_SOURCES)
        yield con


def _check_tenant(con: duckdb.DuckDBPyConnection, tenant: str | None) -> None:
    """A source is tied only to a tenant in service."""
    if tenant is None:
        return
    from ..governance.tenants import TenantError, read_tenants

    if not any(t.name == tenant for t in read_tenants(con)):
        raise TenantError(f"no tenant named {tenant!r} (see `eventlake tenants list`)")


def add_source(
    lake: Lake,
    name: str,
    *,
    sites=(),
    event_allowlist=None,
    property_allowlist=None,
    query_allowlist=(),
    keep_ip: bool = False,
    tenant: str | None = None,
) -> tuple[Source, str]:
    """Create a source with a new write key (its events loaded for `tenant`, if given).
    Returns (source, key): the key is not stored anywhere and cannot be shown again. A
    revoked source's name may be reused."""
    check_name(name)
    src = Source(
        name=name,
        key_id="",
        key_hash="",
        sites=tuple(normalize_site(s) for s in sites or ()),
        event_allowlist=None if event_allowlist is None else _names(event_allowlist, "--allow-event"),
        property_allowlist=None if property_allowlist is None else _names(property_allowlist, "--allow-property"),
        query_allowlist=_names(query_allowlist or (), "--allow-query", PARAM_RE),
        keep_ip=bool(keep_ip),
        tenant=tenant,
    )
    key, key_id, key_hash = new_key()
    src = replace(src, key_id=key_id, key_hash=key_hash)
    with _writing(lake) as con:
        _check_tenant(con, tenant)
        prev = _current(con, name)
        if prev is not None and not prev.revoked:
            raise CollectorSourceError(
                f"collector source {name!r} exists already (key {prev.key_id}); change it with `eventlake sources set {name} ...`, "
                f"or `eventlake sources revoke {name}` first to replace it with a new key"
            )
        with lake.transaction(con):
            src = _append(con, src, prev)
    return src, key


_UNSET = object()


def update_source(
    lake: Lake,
    name: str,
    *,
    sites=_UNSET,
    event_allowlist=_UNSET,
    property_allowlist=_UNSET,
    query_allowlist=_UNSET,
    keep_ip=_UNSET,
    tenant=_UNSET,
) -> Source:
    """Change a source's sites, allowlists, IP option or tenant (arguments left out are
    kept; None as an allowlist means "every name", as the tenant "the lake's own"). The
    write key stays the same. A new tenant applies to events received from then on."""
    changes = {}
    if sites is not _UNSET:
        changes["sites"] = tuple(normalize_site(s) for s in sites or ())
    if event_allowlist is not _UNSET:
        changes["event_allowlist"] = None if event_allowlist is None else _names(event_allowlist, "--allow-event")
    if property_allowlist is not _UNSET:
        changes["property_allowlist"] = None if property_allowlist is None else _names(property_allowlist, "--allow-property")
    if query_allowlist is not _UNSET:
        changes["query_allowlist"] = _names(query_allowlist or (), "--allow-query", PARAM_RE)
    if keep_ip is not _UNSET:
        changes["keep_ip"] = bool(keep_ip)
    if tenant is not _UNSET:
        changes["tenant"] = tenant
    if not changes:
        raise CollectorSourceError("nothing to change: give at least one option (see `eventlake sources set --help`)")
    with _writing(lake) as con:
        _check_tenant(con, changes.get("tenant"))
        prev = _current(con, name)
        if prev is None:
            raise CollectorSourceError(f"no collector source named {name!r} (see `eventlake sources list`)")
        if prev.revoked:
            raise CollectorSourceError(f"collector source {name!r} is revoked; add it again for a new key")
        with lake.transaction(con):
            return _append(con, replace(prev, **changes), prev)


def revoke_source(lake: Lake, name: str) -> Source:
    """Revoke a source's write key: the collector answers 401 to it from its next
    refresh of the source list on (a few seconds)."""
    if not lake.exists():
        raise CollectorSourceError(f"no collector source named {name!r}: there is no lake at {lake.path}")
    with _writing(lake) as con:
        prev = _current(con, name)
        if prev is None:
            raise CollectorSourceError(f"no collector source named {name!r} (see `eventlake sources list`)")
        if prev.revoked:
            raise CollectorSourceError(f"collector source {name!r} is revoked already")
        with lake.transaction(con):
            return _append(con, replace(prev, revoked=True), prev)


# --- the collector's view ----------------------------------------------------------


def sources_in_service(con: duckdb.DuckDBPyConnection) -> list[Source]:
    """The sources whose write keys work: not revoked, and tied to no tenant or to one
    in service (a removed tenant's keys stop working with it)."""
    from ..governance.tenants import read_tenants

    tenants = {t.name for t in read_tenants(con)}
    return [s for s in read_sources(con) if not s.revoked and (s.tenant is None or s.tenant in tenants)]


MATCHED_KEYS_KEPT = 4096
# what the collector's view of the sources is read from (sources_in_service)
WATCHED_TABLES = (COLLECTOR_SOURCES.name, TENANTS.name)
# snapshot changes that name a table id: only these, on other tables, leave the list as it is
_DATA_CHANGES = frozenset({"tables_inserted_into", "tables_deleted_from", "tables_compacted"})


def _touched(con: duckdb.DuckDBPyConnection, since: int, tables: tuple[str, ...]) -> bool:
    """Did any snapshot after `since` change one of `tables` (main schema), or anything
    else than the data of other tables (a table created, dropped or altered, a schema)?"""
    ids = {str(r[0]) for r in con.execute(
        "SELECT table_id FROM ducklake_table_info(?) WHERE list_contains(?, table_name)", [ALIAS, list(tables)],
    ).fetchall()}
    for (changes,) in con.execute("SELECT changes FROM ducklake_snapshots(?) WHERE snapshot_id > ?", [ALIAS, since]).fetchall():
        for kind, names in (changes or {}).items():
            if kind not in _DATA_CHANGES or ids.intersection(names or ()):
                return True
    return False


class SourceRegistry:
    """The active sources by key hash, as the collector sees them: loaded from the lake
    and refreshed at most every `refresh_seconds` (so new, changed and revoked sources
    take effect without a restart). A failed refresh keeps the last good list."""

    def __init__(self, lake: Lake | None = None, *, refresh_seconds: float = 5.0, sources: list[Source] | None = None):
        self.lake = lake
        self.refresh_seconds = refresh_seconds
        self._by_hash: dict[str, Source] = {}
        self._by_key: dict[str, Source] = {}
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()
        self.last_error: str | None = None
        self.reloads = 0  # full reads of the sources (a refresh that found no change reads none)
        # kept open between refreshes: attaching the lake costs far more than the check
        self._con: duckdb.DuckDBPyConnection | None = None
        self._snapshot: int | None = None  # the lake snapshot the list was read at (or after)
        if sources is not None:
            self._set(sources)
            self._loaded_at = float("inf") if lake is None else time.monotonic()

    def _set(self, sources: list[Source]) -> None:
        self._by_hash = {s.key_hash: s for s in sources if not s.revoked and s.key_hash}
        self._by_key = {}  # keys that matched since, to spare a sha256 per request

    def refresh(self) -> bool:
        """Bring the list up to the lake's latest snapshot now (blocking). Returns whether
        it succeeded. The sources are read again only when a snapshot since the last read
        changed the sources or tenants tables (or the schema): the collector's own loads
        commit snapshots all the time, and reading the sources costs a catalog scan."""
        if self.lake is None:
            return True
        with self._lock:
            try:
                if self._con is None:
                    if not self.lake.exists():
                        self._set([])
                        self.last_error = None
                        return True
                    self._con = self.lake.connect(read_only=True)
                con = self._con
                snapshot = self.lake.current_snapshot(con)
                if self._snapshot is None or (snapshot != self._snapshot and _touched(con, self._snapshot, WATCHED_TABLES)):
                    self._set(sources_in_service(con))
                    self.reloads += 1
                self._snapshot = snapshot
                self.last_error = None
                return True
            except (duckdb.Error, LakeError, OSError) as exc:
                self.last_error = str(exc)
                self._close_locked()
                return False
            finally:
                self._loaded_at = time.monotonic()

    def close(self) -> None:
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        con, self._con, self._snapshot = self._con, None, None
        if con is not None:
            try:
                con.close()
            except duckdb.Error:
                pass

    def stale(self, max_age: float | None = None) -> bool:
        age = self.refresh_seconds if max_age is None else max_age
        return time.monotonic() - self._loaded_at >= age

    def lookup(self, key: str) -> Source | None:
        if not key:
            return None
        by_key = self._by_key
        src = by_key.get(key)
        if src is None:
            src = self._by_hash.get(hash_key(key))
            if src is not None and len(by_key) < MATCHED_KEYS_KEPT:  # unknown keys are never kept
                by_key[key] = src
        return src

    def __len__(self) -> int:
        return len(self._by_hash)
