"""`eventlake audit`: the audit trail (the local admin's view of `audit_events`)."""

from __future__ import annotations

import pyarrow as pa
import typer

from ..errors import EventlakeError
from ..output import write_result
from .common import FORMAT_OPTION, OUTPUT_OPTION, console, state

BRIEF = ("event_time", "actor", "via", "action", "target", "outcome", "rows", "reason")  # --format table
COLUMNS = ("event_time", "actor", "auth", "token_id", "via", "action", "target", "outcome", "reason", "rows", "tables",
           "statement", "client")


def register(app: typer.Typer) -> None:
    @app.command("audit")
    def audit_(
        actor: str = typer.Option(None, "--actor", help="Only this actor's events (a user name, or local:<account>)."),
        action: str = typer.Option(None, "--action", help="Only this action (query, export, login, grant, token_add, ...)."),
        outcome: str = typer.Option(None, "--outcome", help="Only ok, refused or error events."),
        since: str = typer.Option(None, "--since", help="Only events from this day on (YYYY-MM-DD)."),
        limit: int = typer.Option(100, "--limit", help="At most this many events, newest first (0: all)."),
        fmt: str = FORMAT_OPTION,
        output: str = OUTPUT_OPTION,
    ) -> None:
        """Show the audit trail: every query, sign-in, export and change of principals,
        grants and policies, newest first (also a table: SELECT * FROM audit_events)."""
        from ..governance.audit import OUTCOMES, AuditEvent, local_actor, read_audit, record
        from ..insights.registry import parse_date

        if outcome is not None and outcome not in OUTCOMES:
            raise EventlakeError(f"--outcome {outcome!r}: use one of {', '.join(OUTCOMES)}")
        if limit < 0:
            raise EventlakeError(f"--limit must be 0 or more, got {limit}")
        rows = read_audit(state.lake(), actor=actor, action=action, outcome=outcome,
                          since=parse_date(since, "--since") if since else None, limit=limit or None)
        table = pa.Table.from_pylist([{c: r.get(c) for c in COLUMNS} for r in rows], schema=pa.schema([
            ("event_time", pa.timestamp("us", tz="UTC")), ("actor", pa.string()), ("auth", pa.string()),
            ("token_id", pa.string()), ("via", pa.string()), ("action", pa.string()), ("target", pa.string()),
            ("outcome", pa.string()), ("reason", pa.string()), ("rows", pa.int64()), ("tables", pa.list_(pa.string())),
            ("statement", pa.string()), ("client", pa.string()),
        ]))
        if fmt == "table" and not output:
            table = table.select(list(BRIEF))
        lake = state.lake()
        record(lake, AuditEvent("audit_read", local_actor(), rows=table.num_rows,
                                detail={"actor": actor, "action": action, "outcome": outcome, "since": since}))
        write_result(table, fmt, output, console, title="audit events")
