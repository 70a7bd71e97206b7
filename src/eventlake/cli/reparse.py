"""`eventlake reparse TABLE`: rebuild a service-log table from its raw lines."""

from __future__ import annotations

import typer

from .common import console, state


def register(app: typer.Typer) -> None:
    @app.command("reparse")
    def reparse_(
        table: str = typer.Argument(..., help="Service-log table or type: s3_access_logs, vpc_flow_logs, alb_logs, cloudfront_logs (or s3-access, ...)."),
    ) -> None:
        """Re-parse every row of a service-log table from raw_line with the current parser, in one commit (quarantined lines that now parse are loaded)."""
        from ..sources import log_type
        from ..sources.lines import reparse

        stats = reparse(state.lake(), log_type(table))
        console.print(stats.summary(), markup=False, soft_wrap=True)
