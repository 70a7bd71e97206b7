"""`eventlake extract ...`."""

from __future__ import annotations

import typer

app = typer.Typer(help="extract", no_args_is_help=True)
