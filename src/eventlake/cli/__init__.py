"""The `eventlake` command. Each command group lives in its own module and is
registered once in COMMAND_GROUPS below."""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console
from rich.markup import escape

from ..errors import EventlakeError
from .common import state

app = typer.Typer(
    name="eventlake",
    help="eventlake: a self-hosted usage-analytics lakehouse. Ingest cloud logs and BI metadata, query them with DuckDB or Spark, run ready-made insights.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# (command name, module). Each module defines `app` (a group) or `register(app)`.
COMMAND_GROUPS: list[tuple[str, str]] = [
    ("sql", "eventlake.cli.sql"),
    ("lake", "eventlake.cli.lake"),
    ("ingest", "eventlake.cli.ingest"),
    ("reparse", "eventlake.cli.reparse"),
    ("check", "eventlake.cli.check"),
    ("insights", "eventlake.cli.insights"),
    ("extract", "eventlake.cli.extract"),
    ("demo", "eventlake.cli.demo"),
    ("sources", "eventlake.cli.sources"),
    ("serve", "eventlake.cli.serve"),
    ("destinations", "eventlake.cli.destinations"),
    ("users", "eventlake.cli.users"),  # and tokens
    ("groups", "eventlake.cli.groups"),
    ("policies", "eventlake.cli.policies"),
    ("tenants", "eventlake.cli.tenants"),
    ("audit", "eventlake.cli.audit"),
]


@app.callback()
def _root(
    lake: str = typer.Option(None, "--lake", help="Lake directory (default: EVENTLAKE_LAKE, eventlake.toml \\[lake] path, or ./eventlake-data)."),
    catalog: str = typer.Option(None, "--catalog", help="Catalog: 'sqlite' (default) or 'postgres:<conninfo>' (EVENTLAKE_CATALOG)."),
) -> None:
    state.lake_option = lake
    state.catalog_option = catalog


for _name, _module in COMMAND_GROUPS:
    _mod = importlib.import_module(_module)
    if hasattr(_mod, "register"):
        _mod.register(app)
    else:
        app.add_typer(_mod.app, name=_name)


def main() -> None:
    """Console entry point: user errors print one clear line, never a traceback."""
    err = Console(stderr=True)
    try:
        # without standalone mode, click returns (not raises) the code of typer.Exit
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except EventlakeError as exc:
        err.print("[bold red]error:[/bold red] " + escape(str(exc)), markup=True, highlight=False, soft_wrap=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # usage errors (typer ships its own copy of click)
        if _is_click_exception(exc):
            exc.show()
            sys.exit(exc.exit_code)
        raise


def _is_click_exception(exc: Exception) -> bool:
    classes = []
    try:
        from typer._click.exceptions import ClickException as TyperClickException

        classes.append(TyperClickException)
    except ImportError:
        pass
    try:
        from click import ClickException

        classes.append(ClickException)
    except ImportError:
        pass
    return isinstance(exc, tuple(classes))
