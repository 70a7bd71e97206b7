"""Writing query results (pyarrow Tables) as a terminal table, JSON, CSV or Parquet."""

from __future__ import annotations

import datetime as dt
import decimal
import io
import sys
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from .errors import EventlakeError

FORMATS = ("table", "json", "csv", "parquet")


def _plain(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def to_records(table: pa.Table) -> list[dict[str, Any]]:
    return table.to_pylist()


def render_json(table: pa.Table) -> bytes:
    return orjson.dumps(table.to_pylist(), default=_plain, option=orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S") + ("Z" if value.utcoffset() is not None and not value.utcoffset() else "")
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, (list, dict)):
        return orjson.dumps(value, default=_plain).decode()
    return str(value)


def render_table(table: pa.Table, console: Console, title: str | None = None, max_rows: int = 200) -> None:
    t = Table(title=title, show_lines=False, header_style="bold")
    for name in table.column_names:
        t.add_column(name, overflow="fold")
    rows = table.slice(0, max_rows).to_pylist()
    for row in rows:
        # markup=False semantics: escape rich markup in data values.
        t.add_row(*[_escape(_cell(v)) for v in row.values()])
    console.print(t)
    extra = table.num_rows - len(rows)
    console.print(f"[dim]{table.num_rows} row{'s' if table.num_rows != 1 else ''}" + (f" ({extra} not shown; use --format csv or --output)" if extra > 0 else "") + "[/dim]")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def write_result(table: pa.Table, fmt: str, output: str | None, console: Console, title: str | None = None) -> None:
    """Write `table` in `fmt` to `output` (a file) or to standard output."""
    try:
        _write_result(_portable(table), fmt, output, console, title)
    except OSError as exc:
        raise EventlakeError(f"cannot write {output or 'the result'}: {exc.strerror or exc}") from None


def _portable(table: pa.Table) -> pa.Table:
    """Interval columns (no JSON or CSV form) become text such as '1 day, 0:00:00'."""
    if not any(pa.types.is_interval(f.type) or pa.types.is_duration(f.type) for f in table.schema):
        return table
    cols = []
    for f in table.schema:
        col = table.column(f.name)
        if pa.types.is_interval(f.type) or pa.types.is_duration(f.type):
            col = pa.array([None if v is None else _interval_text(v) for v in col.to_pylist()], pa.string())
        cols.append(col)
    return pa.Table.from_arrays(cols, names=table.column_names)


def _interval_text(v) -> str:
    """DuckDB's spelling of an interval: '1 year 2 months 3 days 04:05:06'."""
    if isinstance(v, dt.timedelta):
        months, days, nanos = 0, v.days, (v.seconds * 1_000_000 + v.microseconds) * 1000
    else:  # pyarrow MonthDayNano
        months, days, nanos = v.months, v.days, v.nanoseconds
    parts = []
    years, months = divmod(months, 12)
    for n, unit in ((years, "year"), (months, "month"), (days, "day")):
        if n:
            parts.append(f"{n} {unit}{'s' if abs(n) != 1 else ''}")
    if nanos or not parts:
        sign = "-" if nanos < 0 else ""
        micros = abs(nanos) // 1000
        secs, micros = divmod(micros, 1_000_000)
        h, rem = divmod(secs, 3600)
        m, sec = divmod(rem, 60)
        parts.append(f"{sign}{h:02d}:{m:02d}:{sec:02d}" + (f".{micros:06d}" if micros else ""))
    return " ".join(parts)


def _write_result(table: pa.Table, fmt: str, output: str | None, console: Console, title: str | None = None) -> None:
    if fmt not in FORMATS:
        raise EventlakeError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "table":
        if output:
            with open(output, "w") as fh:
                render_table(table, Console(file=fh, width=200), title)
        else:
            render_table(table, console, title)
        return
    if fmt == "parquet" and not output:
        raise EventlakeError("--format parquet needs --output FILE")
    data = encode_result(table, fmt)
    if output:
        Path(output).write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()


DOWNLOAD_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
}


def encode_result(table: pa.Table, fmt: str) -> bytes:
    """`table` as a file's bytes in `fmt` (json, csv or parquet): what `--output` writes
    and the console's downloads send."""
    table = _portable(table)
    if fmt == "parquet":
        buf = io.BytesIO()
        pq.write_table(table, buf)
        return buf.getvalue()
    if fmt == "json":
        return render_json(table) + b"\n"
    if fmt == "csv":
        buf = io.BytesIO()
        pacsv.write_csv(_csv_ready(table), buf)
        return buf.getvalue()
    raise EventlakeError(f"unknown download format {fmt!r}; choose one of {', '.join(DOWNLOAD_TYPES)}")


def _csv_ready(table: pa.Table) -> pa.Table:
    """CSV cannot hold nested values: lists and structs become JSON text."""
    cols = []
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_nested(col.type):
            col = pa.array([None if v is None else orjson.dumps(v, default=_plain).decode() for v in col.to_pylist()], pa.string())
        cols.append(col)
    return pa.Table.from_arrays(cols, names=table.column_names)
