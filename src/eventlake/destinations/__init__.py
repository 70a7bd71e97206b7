"""Fan-out destinations: collected events forwarded, as they arrive, to a signed
webhook, Google Analytics 4, Amplitude or any Segment-compatible API.

    collector ── RawLog.append (durable) ──► Fanout.submit(records)      (fanout.py)
        one bounded asyncio queue per destination ──► worker: batch, send, retry
        ──► Outcome per event and attempt ──► deliveries (one commit per flush)
    eventlake destinations replay DEST --from --to: raw_events not yet delivered,
        through the same Destination.send, rows marked replay = true

Destination types are declared once, in DESTINATION_TYPES below; each is configured
by a `[destinations.NAME]` table of eventlake.toml (see docs/configuration.md).
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import ConfigError
from .amplitude import AmplitudeDestination
from .base import DEFAULT_FIELDS, Destination, DestinationConfig, Outcome, event_from_record
from .ga4 import GA4Destination
from .segment import SegmentDestination
from .webhook import WebhookDestination

DESTINATION_TYPES: dict[str, type[Destination]] = {
    cls.type: cls for cls in (WebhookDestination, GA4Destination, AmplitudeDestination, SegmentDestination)
}

_COMMON_KEYS = {
    "type", "url", "secret_env", "sources", "events", "fields", "batch_size", "max_attempts",
    "backoff_s", "max_backoff_s", "max_retry_after_s", "timeout_s", "queue_size", "concurrency",
}
_SECRET_KEYS = {"secret", "api_key", "api_secret", "write_key", "token", "password", "key"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

__all__ = [
    "DEFAULT_FIELDS", "DESTINATION_TYPES", "Destination", "DestinationConfig", "Outcome",
    "build_destination", "event_from_record", "load_destinations", "parse_destination", "parse_destinations",
]


def parse_destination(name: str, table: Any) -> DestinationConfig:
    """Validate one `[destinations.NAME]` table into a DestinationConfig."""
    where = f"[destinations.{name}]"
    if not _NAME.match(name):
        raise ConfigError(f"{where}: a destination name is letters, digits, '_', '-' or '.' (at most 64)")
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    dtype = table.get("type")
    if dtype not in DESTINATION_TYPES:
        raise ConfigError(f"{where}: type must be one of {', '.join(DESTINATION_TYPES)}, got {dtype!r}")
    cls = DESTINATION_TYPES[dtype]
    secrets = sorted(k for k in table if k.lower() in _SECRET_KEYS)
    if secrets:
        raise ConfigError(
            f"{where}: {', '.join(secrets)} looks like a secret; secrets are never written in eventlake.toml: "
            f"put it in an environment variable and name that variable with secret_env = \"...\""
        )
    unknown = sorted(set(table) - _COMMON_KEYS - set(cls.allowed_options))
    if unknown:
        allowed = ", ".join(sorted(_COMMON_KEYS | set(cls.allowed_options)))
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} for type {dtype} (allowed: {allowed})")

    def str_list(key: str) -> tuple[str, ...] | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ConfigError(f"{where}: {key} must be a list of strings, got {value!r}")
        return tuple(value)

    def number(key: str, default, *, integer: bool, minimum: float):
        value = table.get(key, default)
        ok = isinstance(value, int) if integer else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok or value < minimum:
            kind = "an integer" if integer else "a number"
            raise ConfigError(f"{where}: {key} must be {kind} of at least {minimum:g}, got {value!r}")
        return value

    def string(key: str) -> str | None:
        value = table.get(key)
        if value is not None and (not isinstance(value, str) or not value):
            raise ConfigError(f"{where}: {key} must be a non-empty string, got {value!r}")
        return value

    secret_env = string("secret_env")
    if secret_env is not None and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", secret_env):
        raise ConfigError(f"{where}: secret_env must name an environment variable (letters, digits, '_'), not hold the secret")
    fields = str_list("fields")
    defaults = DestinationConfig(name=name, type=dtype)
    config = DestinationConfig(
        name=name,
        type=dtype,
        url=string("url"),
        secret_env=secret_env,
        sources=str_list("sources"),
        events=str_list("events"),
        fields=fields if fields is not None else DEFAULT_FIELDS,
        batch_size=number("batch_size", None, integer=True, minimum=1) if "batch_size" in table else None,
        max_attempts=number("max_attempts", defaults.max_attempts, integer=True, minimum=1),
        backoff_s=float(number("backoff_s", defaults.backoff_s, integer=False, minimum=0)),
        max_backoff_s=float(number("max_backoff_s", defaults.max_backoff_s, integer=False, minimum=0)),
        max_retry_after_s=float(number("max_retry_after_s", defaults.max_retry_after_s, integer=False, minimum=0)),
        timeout_s=float(number("timeout_s", defaults.timeout_s, integer=False, minimum=0.001)),
        queue_size=number("queue_size", defaults.queue_size, integer=True, minimum=1),
        concurrency=number("concurrency", None, integer=True, minimum=1) if "concurrency" in table else None,
        options={k: table[k] for k in cls.allowed_options if k in table},
    )
    if dtype == "amplitude" and "min_id_length" in config.options:
        number("min_id_length", None, integer=True, minimum=1)
    if dtype == "ga4" and "measurement_id" in config.options:
        string("measurement_id")
    cls.validate(config)
    return config


def parse_destinations(tables: dict[str, Any] | None) -> list[DestinationConfig]:
    """Every `[destinations.*]` table, validated, in the order of the file."""
    if tables is None:
        return []
    if not isinstance(tables, dict):
        raise ConfigError("[destinations] must hold one table per destination: [destinations.NAME]")
    return [parse_destination(name, table) for name, table in tables.items()]


def build_destination(config: DestinationConfig, **kwargs) -> Destination:
    return DESTINATION_TYPES[config.type](config, **kwargs)


def load_destinations(settings=None) -> list[Destination]:
    """The destinations configured in eventlake.toml (settings: a config.Settings)."""
    if settings is None:
        from ..config import load_settings

        settings = load_settings()
    return [build_destination(c) for c in parse_destinations(getattr(settings, "destinations", None))]
