"""`eventlake policies ...`: column policies (PII classification and masks) and the
automatic classification suggestion."""

from __future__ import annotations

from typing import Optional

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from ..errors import EventlakeError
from .common import console, state

app = typer.Typer(help="Manage column policies: classify PII columns and mask them for everyone outside the allowed groups.",
                  no_args_is_help=True)


@app.command("mask")
def mask(
    column: str = typer.Argument(..., help="TABLE.COLUMN, e.g. users.email."),
    mask: str = typer.Option(..., "--mask", help="redact, hash (salted, stable), last4, null, year (dates) or a SQL expression over the column."),
    except_group: Optional[list[str]] = typer.Option(None, "--except-group", help="A group that sees the real value (repeatable; replaces the previous list)."),
    classification: Optional[str] = typer.Option(None, "--as", help="Also classify the column: email, ip, name, phone, card, address, free_text, id, other."),
) -> None:
    """Mask a column for every principal outside the --except-group groups."""
    from ..governance.store import parse_mask, set_mask, split_column

    table, col = split_column(column)
    kind, sql = parse_mask(mask)
    p = set_mask(state.lake(), table, col, kind, mask_sql=sql, except_groups=except_group or [], classification=classification)
    seen = f"; unmasked for {', '.join(sorted(p.except_groups))}" if p.except_groups else "; unmasked for nobody"
    console.print(f"{escape(p.key)} masked with {escape(p.describe_mask())}{escape(seen)}", soft_wrap=True)


@app.command("classify")
def classify(
    column: str = typer.Argument(..., help="TABLE.COLUMN, e.g. users.email."),
    classification: str = typer.Option(..., "--as", help="email, ip, name, phone, card, address, free_text, id or other."),
) -> None:
    """Classify a column as PII of a kind (its mask, if any, is kept)."""
    from ..governance.store import set_classification, split_column

    table, col = split_column(column)
    p = set_classification(state.lake(), table, col, classification)
    console.print(f"{escape(p.key)} classified {escape(p.classification or '')}" + (f" (mask {escape(p.describe_mask())})" if p.mask else ""),
                  soft_wrap=True)


@app.command("unmask")
def unmask(column: str = typer.Argument(..., help="TABLE.COLUMN whose mask to remove.")) -> None:
    """Remove a column's mask; its classification stays."""
    from ..governance.store import split_column, unmask as do_unmask

    table, col = split_column(column)
    p = do_unmask(state.lake(), table, col)
    console.print(f"{escape(p.key)} unmasked" + (f" (still classified {escape(p.classification)})" if p.classification else ""), soft_wrap=True)


def _policy_row(p) -> dict:
    return {"table": p.table, "column": p.column, "classification": p.classification, "mask": p.mask, "mask_sql": p.mask_sql,
            "except_groups": sorted(p.except_groups), "updated_by": p.updated_by,
            "updated_at": p.updated_at.isoformat() if p.updated_at else None}


@app.command("list")
def list_policies(
    table: Optional[str] = typer.Option(None, "--table", help="Only this table's policies."),
    format: str = typer.Option("table", "--format", "-f", help="Output format: table or json."),
) -> None:
    """List column policies: classification, mask and the groups that see real values."""
    from ..governance.store import load_policies

    if format not in ("table", "json"):
        raise EventlakeError(f"--format {format!r}: use table or json")
    policies = [p for p in load_policies(state.lake()) if table is None or p.table == table]
    if format == "json":
        print(orjson.dumps([_policy_row(p) for p in policies], option=orjson.OPT_INDENT_2).decode())
        return
    if not policies:
        console.print("no column policies (add one with `eventlake policies mask TABLE.COLUMN --mask hash`)", soft_wrap=True)
        return
    t = Table(header_style="bold")
    for c in ("column", "classification", "mask", "unmasked for", "by", "updated_at"):
        t.add_column(c)
    for p in policies:
        t.add_row(escape(p.key), escape(p.classification or ""), escape(p.describe_mask()), escape(", ".join(sorted(p.except_groups))),
                  p.updated_by, p.updated_at.isoformat() if p.updated_at else "")
    console.print(t)


@app.command("suggest")
def suggest(
    table: str = typer.Argument(..., help="The table whose columns to classify."),
    sample: int = typer.Option(1000, "--sample", help="Values sampled per column."),
    apply: bool = typer.Option(False, "--apply", help="Write the confident suggestions (>= 0.7) as policies with their default mask."),
    except_group: Optional[list[str]] = typer.Option(None, "--except-group", help="With --apply: a group that sees the real values (repeatable)."),
    format: str = typer.Option("table", "--format", "-f", help="Output format: table or json."),
) -> None:
    """Suggest PII classifications from column names and sampled values."""
    from ..governance import classify as cl

    if format not in ("table", "json"):
        raise EventlakeError(f"--format {format!r}: use table or json")
    lake = state.lake()
    found = cl.suggest(lake, table, sample)
    if format == "json" and not apply:
        print(orjson.dumps([s.as_dict() for s in found], option=orjson.OPT_INDENT_2).decode())
        return
    if not found:
        console.print(f"no PII suggested for {escape(table)}", soft_wrap=True)
    elif format == "table":
        t = Table(header_style="bold")
        for c in ("column", "classification", "confidence", "mask", "reason"):
            t.add_column(c)
        for s in found:
            t.add_row(escape(s.column), s.classification, f"{s.confidence:.2f}", s.suggested_mask or "", escape(s.reason))
        console.print(t)
    if apply:
        done = cl.apply(lake, table, found, except_group or [])
        if format == "json":
            print(orjson.dumps([{**a.suggestion.as_dict(), "action": a.action} for a in done], option=orjson.OPT_INDENT_2).decode())
            return
        for a in done:
            console.print(escape(a.line(table)), soft_wrap=True)
        n = sum(1 for a in done if a.action == "applied")
        console.print(f"{n} polic{'y' if n == 1 else 'ies'} written")
