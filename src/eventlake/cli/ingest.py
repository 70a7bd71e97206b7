"""`eventlake ingest ...`."""

from __future__ import annotations

import typer

app = typer.Typer(help="ingest", no_args_is_help=True)
