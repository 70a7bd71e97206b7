"""`eventlake lake ...`: inspect and maintain the lake."""

from __future__ import annotations

import typer
from rich.table import Table

from ..lake.maintenance import compact as do_compact
from ..lake.maintenance import describe_tables
from ..lake.maintenance import retain as do_retain
from .common import console, state

app = typer.Typer(help="Inspect and maintain the lake: tables, compaction, retention.", no_args_is_help=True)


def human_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


@app.command("tables")
def tables(schema: bool = typer.Option(True, "--schema/--no-schema", help="Also list each table's columns and types.")) -> None:
    """List tables with row counts, files, size, partitions and schema."""
    lake = state.lake()
    con = lake.connect(read_only=True)
    infos = describe_tables(lake, con)
    t = Table(title=f"lake {lake.path}", header_style="bold")
    for c in ("table", "rows", "files", "size", "partitioned by", "partitions"):
        t.add_column(c, justify="right" if c in ("rows", "files", "size", "partitions") else "left")
    for i in infos:
        t.add_row(i.name, f"{i.rows:,}", str(i.files), human_bytes(i.bytes), ", ".join(i.partition_by) or "-", "-" if i.partitions is None else str(i.partitions))
    console.print(t)
    if schema:
        for i in infos:
            console.print(f"[bold]{i.name}[/bold]: " + ", ".join(f"{c} {ty}" for c, ty in i.columns))


@app.command("compact")
def compact(table: str = typer.Argument(None, help="Only this table (default: all tables).")) -> None:
    """Merge small data files and remove files no snapshot needs any more."""
    lake = state.lake()
    con = lake.connect()
    with lake.writer_lock():
        r = do_compact(lake, con, table)
    console.print(
        f"compacted: {r.files_before} -> {r.files_after} files, {human_bytes(r.bytes_before)} -> {human_bytes(r.bytes_after)}; {r.files_deleted} old files removed"
    )


@app.command("retain")
def retain(
    table: str = typer.Argument(..., help="Table to age out."),
    older_than: str = typer.Option(..., "--older-than", help="Age such as 400d, 8w, 13m or 2y; rows with an older date are deleted."),
) -> None:
    """Delete a table's data older than an age (by its date partition) and remove the files."""
    lake = state.lake()
    con = lake.connect()
    with lake.writer_lock():
        r = do_retain(lake, con, table, older_than)
    console.print(f"{r.table}: deleted {r.rows_deleted:,} rows dated before {r.cutoff.isoformat()}; {r.files_deleted} files removed")


@app.command("rebuild")
def rebuild(table: str = typer.Argument(..., help="Derived table to recompute, e.g. bi_events.")) -> None:
    """Recompute a derived table (bi_events) from its source table in one commit."""
    from ..lake.derived import rebuild as do_rebuild

    lake = state.lake()
    con = lake.connect()
    with lake.writer_lock():
        n = do_rebuild(lake, con, table)
    console.print(f"{table}: rebuilt, {n:,} rows")
