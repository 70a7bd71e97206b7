"""`eventlake insights ...`."""

from __future__ import annotations

import typer

app = typer.Typer(help="insights", no_args_is_help=True)
