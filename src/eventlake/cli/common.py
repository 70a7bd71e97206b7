"""State and helpers shared by the command modules."""

from __future__ import annotations

from dataclasses import dataclass

import typer
from rich.console import Console

from ..config import Settings, load_settings
from ..errors import EventlakeError
from ..lake import Lake

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


@dataclass
class _State:
    lake_option: str | None = None
    catalog_option: str | None = None

    def settings(self) -> Settings:
        return load_settings(self.lake_option, self.catalog_option)

    def lake(self, **overrides) -> Lake:
        s = self.settings()
        return Lake(s.lake_path, s.catalog, **overrides)


state = _State()


def parse_params(pairs: list[str] | None) -> dict[str, str]:
    """Parse repeated `--param key=value` options."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise EventlakeError(f"--param {pair!r} must look like key=value")
        k, v = pair.split("=", 1)
        out[k.strip()] = v
    return out


FORMAT_OPTION = typer.Option("table", "--format", "-f", help="Output format: table, json, csv or parquet.")
OUTPUT_OPTION = typer.Option(None, "--output", "-o", help="Write the result to this file instead of standard output.")
ENGINE_OPTION = typer.Option("duckdb", "--engine", "-e", help="Engine: duckdb (default, in-process) or spark.")
SPARK_MASTER_OPTION = typer.Option(None, "--spark-master", help="Spark master URL (default local[2], or EVENTLAKE_SPARK_MASTER).")
TOKEN_OPTION = typer.Option(
    None, "--token", envvar="EVENTLAKE_TOKEN", show_envvar=False,
    help="Run as the API token's user (EVENTLAKE_TOKEN): their tenants' rows only, PII masked unless their groups may see it. Without one: the local admin.",
)
