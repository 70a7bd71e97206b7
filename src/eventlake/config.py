"""Configuration: command-line options, then environment, then eventlake.toml, then defaults.

eventlake.toml (looked up in the current directory, or the file named by
EVENTLAKE_CONFIG):

    [lake]
    path = "./eventlake-data"          # EVENTLAKE_LAKE
    catalog = "sqlite"                 # or "postgres:dbname=lake host=..."  (EVENTLAKE_CATALOG)

    [spark]
    master = "local[2]"                # EVENTLAKE_SPARK_MASTER

    [ingest]
    batch_mb = 512                     # uncompressed MB read per commit
    memory_mb = 384                    # DuckDB memory limit while ingesting
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

DEFAULT_LAKE = "./eventlake-data"

OPTIONS: dict[str, str] = {
    "lake.path": "Directory that holds the lake (catalog and data files). Env: EVENTLAKE_LAKE.",
    "lake.catalog": "Catalog database: 'sqlite' (a file in the lake) or 'postgres:<libpq conninfo>'. Env: EVENTLAKE_CATALOG.",
    "spark.master": "Spark master URL for --engine spark (default local[2]). Env: EVENTLAKE_SPARK_MASTER.",
    "ingest.batch_mb": "Uncompressed megabytes of input read per commit (default 512).",
    "ingest.memory_mb": "DuckDB memory limit in MB while ingesting (default 384); the process peak stays within about twice this.",
    # [destinations.NAME] tables (validated by eventlake.destinations.parse_destinations)
    "destinations.NAME.type": "Destination type: webhook, ga4, amplitude or segment.",
    "destinations.NAME.url": "Endpoint URL (webhook: required; ga4/amplitude: the collect endpoint; segment: the API base).",
    "destinations.NAME.secret_env": "Name of the environment variable holding the secret (never the secret itself).",
    "destinations.NAME.measurement_id": "GA4 only: the data stream's measurement id (G-XXXX).",
    "destinations.NAME.min_id_length": "Amplitude only: options.min_id_length sent with every request.",
    "destinations.NAME.sources": "Collector sources whose events are forwarded (default: all).",
    "destinations.NAME.events": "Event names forwarded (default: all).",
    "destinations.NAME.fields": "Payload fields forwarded (default: type, event, name, messageId, userId, anonymousId, timestamp, properties).",
    "destinations.NAME.batch_size": "Events per request (default: the type's, at most its vendor limit).",
    "destinations.NAME.max_attempts": "Attempts per event before it is recorded as failed (default 5).",
    "destinations.NAME.backoff_s": "Wait before the first retry in seconds, doubling each time, with jitter (default 0.5).",
    "destinations.NAME.max_backoff_s": "Longest wait between retries in seconds (default 30).",
    "destinations.NAME.max_retry_after_s": "Longest Retry-After honoured in seconds; a longer one fails the attempt (default 300).",
    "destinations.NAME.timeout_s": "HTTP timeout per request in seconds (default 10).",
    "destinations.NAME.queue_size": "Events waiting per destination; beyond it events are recorded as dropped (default 10000).",
    "destinations.NAME.concurrency": "Requests in flight per destination (default 1).",
}


@dataclass
class Settings:
    lake_path: Path
    catalog: str = "sqlite"
    spark_master: str = "local[2]"
    batch_mb: int = 512
    memory_mb: int = 384
    source: dict[str, str] = field(default_factory=dict)
    destinations: dict[str, Any] = field(default_factory=dict)  # raw [destinations.NAME] tables


def _load_toml(explicit: str | None) -> tuple[dict[str, Any], Path | None]:
    path = Path(explicit) if explicit else Path("eventlake.toml")
    if not path.exists():
        if explicit:
            raise ConfigError(f"config file {path} does not exist")
        return {}, None
    try:
        return tomllib.loads(path.read_text()), path
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def load_settings(lake: str | None = None, catalog: str | None = None) -> Settings:
    """Resolve settings: explicit arguments > environment > eventlake.toml > defaults."""
    data, cfg_path = _load_toml(os.environ.get("EVENTLAKE_CONFIG"))
    lake_cfg = data.get("lake", {})
    spark_cfg = data.get("spark", {})
    ingest_cfg = data.get("ingest", {})
    base = cfg_path.parent if cfg_path else Path.cwd()

    def pick(arg: str | None, env: str, cfg: Any, default: Any) -> tuple[Any, str]:
        if arg:
            return arg, "option"
        if os.environ.get(env):
            return os.environ[env], env
        if cfg is not None:
            return cfg, str(cfg_path)
        return default, "default"

    lake_value, lake_src = pick(lake, "EVENTLAKE_LAKE", lake_cfg.get("path"), DEFAULT_LAKE)
    lake_path = Path(lake_value)
    if lake_src == str(cfg_path) and not lake_path.is_absolute():
        lake_path = base / lake_path
    cat, cat_src = pick(catalog, "EVENTLAKE_CATALOG", lake_cfg.get("catalog"), "sqlite")
    if not (cat == "sqlite" or str(cat).startswith("postgres:")):
        raise ConfigError(f"catalog {cat!r} (from {cat_src}) must be 'sqlite' or 'postgres:<conninfo>'")
    master, _ = pick(None, "EVENTLAKE_SPARK_MASTER", spark_cfg.get("master"), "local[2]")
    batch_mb = ingest_cfg.get("batch_mb", 512)
    if not isinstance(batch_mb, int) or batch_mb <= 0:
        raise ConfigError(f"ingest.batch_mb in {cfg_path} must be a positive integer, got {batch_mb!r}")
    memory_mb = ingest_cfg.get("memory_mb", 384)
    if not isinstance(memory_mb, int) or memory_mb < 64:
        raise ConfigError(f"ingest.memory_mb in {cfg_path} must be an integer of at least 64, got {memory_mb!r}")
    return Settings(
        lake_path=lake_path.resolve(),
        catalog=str(cat),
        spark_master=str(master),
        batch_mb=batch_mb,
        memory_mb=memory_mb,
        source={"lake": lake_src, "catalog": cat_src},
        destinations=data.get("destinations", {}),
    )
