"""`eventlake check <type> LOCATION --date D`: before a pipeline builds on a day of
service logs, tell whether the day's data has arrived and whether its records are
sound.

Arrival: the objects of the reference day (the day before, by default) name the
expected sources — every (account, region, resource, hour) combination seen, or a
coarser grouping chosen with `by` — and each one must have at least one object dated
on the checked day. Dates and hours come from the AWS delivery layouts (folders or
file names), as the ingest reads them.

Records: the day's objects are parsed with the type's parser (nothing is written to
the lake) and every rule of the type is counted over the good records; lines that do
not parse at all count against the rule `parses`."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from ..engines.duckdb import connect as duckdb_connect
from ..lake.catalog import sql_str
from .lines import LineReader, _Lines, _Obj, _Problems, _resolve
from .logtypes import Layout, LineLog, parsed_columns
from .stores import SourceObject, open_store

GROUP_PARTS = ("account", "region", "resource", "hour")
EXAMPLES = 3  # offending lines named per failed rule


@dataclass
class CheckResult:
    check: str
    status: str  # ok | fail | warn
    detail: str


@dataclass
class CheckReport:
    logtype: str
    day: dt.date
    results: list[CheckResult] = field(default_factory=list)

    def add(self, check: str, ok: bool, detail: str, warn_only: bool = False) -> None:
        self.results.append(CheckResult(check, "ok" if ok else ("warn" if warn_only else "fail"), detail))

    @property
    def failed(self) -> bool:
        return any(r.status == "fail" for r in self.results)

    def table(self) -> pa.Table:
        return pa.table({
            "check": [r.check for r in self.results],
            "status": [r.status for r in self.results],
            "detail": [r.detail for r in self.results],
        })


def _group(layout: Layout, by: tuple[str, ...]) -> tuple:
    return tuple(getattr(layout, part) for part in by)


def _label(key: tuple, by: tuple[str, ...]) -> str:
    return ", ".join(f"{p}={'?' if v is None else v}" for p, v in zip(by, key)) or "(all)"


def check(
    logtype: LineLog | str,
    locations: list[str],
    day: dt.date,
    *,
    reference_days: int = 1,
    by: tuple[str, ...] = GROUP_PARTS,
    min_objects: int = 1,
    rules: bool = True,
    endpoint_url: str | None = None,
    memory_limit: str = "512MB",
) -> CheckReport:
    logtype = _resolve(logtype)
    for part in by:
        if part not in GROUP_PARTS:
            raise ValueError(f"--by {part!r}: use any of {', '.join(GROUP_PARTS)}")
    report = CheckReport(logtype.name, day)
    ref_day = day - dt.timedelta(days=reference_days)
    todays: list[SourceObject] = []
    expected: dict[tuple, int] = defaultdict(int)
    present: dict[tuple, int] = defaultdict(int)
    undated = 0
    for loc in locations:
        for obj in open_store(loc, endpoint_url).list():
            if logtype.skip_reason(obj.key):
                continue
            layout = logtype.layout(obj.key)
            if layout.date is None:
                undated += 1
            elif layout.date == day:
                todays.append(obj)
                present[_group(layout, by)] += 1
            elif layout.date == ref_day:
                expected[_group(layout, by)] += 1

    # -- arrival
    report.add(
        "objects arrived", len(todays) >= min_objects,
        f"{len(todays):,} objects dated {day} (at least {min_objects} expected); {sum(expected.values()):,} on {ref_day}",
    )
    missing = sorted((k for k in expected if k not in present), key=lambda k: tuple("" if v is None else str(v) for v in k))
    shown = "; ".join(_label(k, by) for k in missing[:10]) + (f"; ... and {len(missing) - 10:,} more" if len(missing) > 10 else "")
    report.add(
        "every source delivered", not missing,
        f"{len(expected):,} groups ({', '.join(by) or 'all'}) seen on {ref_day}, {len(missing):,} missing on {day}" + (f": {shown}" if missing else ""),
        warn_only=not expected,
    )
    if undated:
        report.add("objects dated by their key", False, f"{undated:,} objects have no date in their key or folder; arrival cannot be checked for them", warn_only=True)

    # -- records
    if rules and todays:
        _check_records(report, logtype, todays, memory_limit)
    return report


def _check_records(report: CheckReport, logtype: LineLog, objects: list[SourceObject], memory_limit: str) -> None:
    con = duckdb_connect()
    con.execute(f"SET memory_limit = '{memory_limit}'")
    cols = ", ".join(f'"{c}"' for c in parsed_columns(logtype))
    reader = LineReader(logtype)
    problems: list[str] = []
    n_problems = 0
    created = False
    with tempfile.TemporaryDirectory(prefix="eventlake-check-") as spool:
        con.execute(f"SET temp_directory = '{sql_str(spool)}'")
        for i, obj in enumerate(objects):
            path = obj.store.fetch(obj, Path(spool))
            state = _Obj(obj, i)
            for item in reader.read(state, path):
                if isinstance(item, _Problems):
                    n_problems += len(item.items)
                    problems.extend(q.message() for q in item.items[: EXAMPLES])
                    continue
                assert isinstance(item, _Lines)
                batch = pa.table({
                    "source_object": pa.array(np.full(len(item.line), obj.uri, dtype=object), pa.string()),
                    "line_no": item.line_no,
                    "line": item.line,
                })
                con.register("lines", batch)
                select = f"SELECT source_object, line_no, {cols}, reason FROM ({logtype.parse_sql(item.fmt)})"
                con.execute(f"INSERT INTO parsed {select}" if created else f"CREATE TEMP TABLE parsed AS {select}")
                created = True
                con.unregister("lines")
            if not obj.store.is_local():
                path.unlink(missing_ok=True)
        if not created:
            report.add("parses", n_problems == 0, f"no records; {n_problems:,} unreadable: " + "; ".join(problems[:EXAMPLES]))
            return
        total, bad = con.execute("SELECT count(*), count(reason) FROM parsed").fetchall()[0]
        examples = con.execute(
            "SELECT source_object, line_no, reason FROM parsed WHERE reason IS NOT NULL ORDER BY 1, 2 LIMIT ?", [EXAMPLES]
        ).fetchall()
        detail = f"{total + n_problems:,} records, {bad + n_problems:,} do not parse"
        shown = [f"{u} at line {n}: {why}" for u, n, why in examples] + problems[: max(0, EXAMPLES - len(examples))]
        if shown:
            detail += ": " + "; ".join(shown)
        report.add("parses", bad + n_problems == 0, detail)
        for rule in logtype.rules:
            n, = con.execute(f"SELECT count(*) FROM parsed WHERE reason IS NULL AND coalesce(({rule.violation}), false)").fetchall()[0]
            detail = f"{rule.description}: {n:,} of {total - bad:,} records break it"
            if n:
                ex = con.execute(
                    f"SELECT source_object, line_no FROM parsed WHERE reason IS NULL AND coalesce(({rule.violation}), false) ORDER BY 1, 2 LIMIT ?",
                    [EXAMPLES],
                ).fetchall()
                detail += " (e.g. " + ", ".join(f"{u} line {no}" for u, no in ex) + ")"
            report.add(rule.name, n == 0, detail)
    con.close()
