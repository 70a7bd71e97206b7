"""What a line-oriented AWS service log type declares so the shared line ingest
(`sources/lines.py`) can load it: its lake table, how its delivery layout names
objects, how a file announces its format, the SQL that parses lines, and the rules
`eventlake check` applies to parsed records.

Parsing happens in DuckDB, in SQL, so it runs on every core without a Python loop
per line: a type's `parse_sql` is a SELECT over the relation `lines`
(source_object VARCHAR, line_no BIGINT, line VARCHAR) that returns one row per input
row: `source_object, line_no, line` passed through unchanged (line_no is an opaque key
to the SQL: the ingest packs more than the line number into it), every parsed column of the type's table, and
`reason` — NULL for a good record, else why the line is quarantined (naming the
field and the value, e.g. "http_status '4x4' is not an integer")."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Sequence

import duckdb
import pyarrow as pa

from ..lake.schema import TableDef

# Columns every line-log table has besides the parsed ones: added by the ingest, not
# by a type's parse SQL.
COMMON_COLUMNS: tuple[tuple[str, str], ...] = (
    ("source_object", "VARCHAR"),
    ("line_no", "BIGINT"),
    ("raw_line", "VARCHAR"),
    ("ingested_at", "TIMESTAMPTZ"),
)
FORMAT_COLUMN = ("log_format", "VARCHAR")  # types whose files declare their fields


@dataclass(frozen=True)
class Layout:
    """What an object's key says about it under the AWS delivery layouts (plain
    folders or Hive-style key=value folders). Any part may be unknown (None)."""

    account: str | None = None
    region: str | None = None
    resource: str | None = None  # bucket, load balancer, distribution, flow log id
    date: dt.date | None = None
    hour: int | None = None


@dataclass(frozen=True)
class Rule:
    """A check on parsed records: `violation` is a DuckDB boolean expression over the
    parsed columns (see parsed_columns; not log_format or the ingest's own columns),
    TRUE when a record breaks the rule."""

    name: str
    description: str
    violation: str


@dataclass(frozen=True)
class FileFormat:
    """How one file is to be parsed: `key` names its field layout (None for types
    with a fixed, positional format) and `header_lines` how many leading lines are
    headers, not records."""

    key: str | None = None
    header_lines: int = 0


class LineLog:
    """A service-log type. Subclasses set the class attributes and implement
    `parse_sql`; the others have sensible defaults."""

    name: str = ""  # CLI name and `source` in ingested_objects/quarantine, e.g. "s3-access"
    table: TableDef
    description: str = ""
    comment_prefix: str | None = None  # lines starting with it are not records (e.g. '#')
    has_format: bool = False  # files declare their fields (header); table has log_format
    rules: Sequence[Rule] = ()

    def skip_reason(self, key: str) -> str | None:
        """Why an object is skipped by rule (not a log of this type), or None to read it."""
        return None

    def layout(self, key: str) -> Layout:
        """What the object's key tells under this type's delivery layouts."""
        return hive_layout(key)

    def detect_format(self, head: list[str]) -> FileFormat:
        """The format of a file whose first lines (up to 8, without line ends) are `head`."""
        return FileFormat()

    def columns_for(self, fmt: str | None) -> Sequence[str] | None:
        """The parsed columns files of format `fmt` can fill (None: all of them). The
        ingest stages only these, the rest are NULL: a wide table whose files carry a
        few of its fields does not hold dozens of empty columns in memory."""
        return None

    def parse_sql(self, fmt: str | None) -> str:  # pragma: no cover - interface
        """A SELECT over `lines` (see the module docstring) for files of format `fmt`."""
        raise NotImplementedError


def table_def(name: str, description: str, parsed: Sequence[tuple[str, str]], *, has_format: bool = False) -> TableDef:
    """The lake table of a line-log type: event_date first (the partition), the parsed
    columns, then log_format (when files declare fields) and the common columns."""
    cols = [("event_date", "DATE")] + [c for c in parsed if c[0] != "event_date"]
    if has_format:
        cols.append(FORMAT_COLUMN)
    cols.extend(COMMON_COLUMNS)
    return TableDef(name=name, description=description, partition_by=("event_date",), retention_column="event_date", columns=tuple(cols))


def parsed_columns(logtype: LineLog) -> list[str]:
    """The table columns a type's parse SQL produces (everything but the common ones)."""
    skip = {c for c, _ in COMMON_COLUMNS} | {FORMAT_COLUMN[0]}
    return [c for c in logtype.table.column_names if c not in skip]


def parse_lines(
    con: duckdb.DuckDBPyConnection, logtype: LineLog, lines: Sequence[str], fmt: str | None = None, source_object: str = "test.log"
) -> list[dict]:
    """Parse `lines` (numbered from 1) with the type's SQL and return one dict per line
    holding every parsed column plus `reason` — what tests and `check` use."""
    data = pa.table({
        "source_object": pa.array([source_object] * len(lines), pa.string()),
        "line_no": pa.array(range(1, len(lines) + 1), pa.int64()),
        "line": pa.array(list(lines), pa.string()),
    })
    con.register("lines", data)
    try:
        cols = ", ".join(f'"{c}"' for c in parsed_columns(logtype))
        rel = con.execute(f"SELECT line_no, {cols}, reason FROM ({logtype.parse_sql(fmt)}) ORDER BY line_no")
        names = [d[0] for d in rel.description]
        return [dict(zip(names, row)) for row in rel.fetchall()]
    finally:
        con.unregister("lines")


# -- layouts -----------------------------------------------------------------------

_ACCOUNT = re.compile(r"^[0-9]{12}$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$")
_HIVE = re.compile(r"^([A-Za-z0-9_-]+)=(.*)$")


def hive_layout(key: str) -> Layout:
    """Layout from Hive-style folders (`aws-account-id=`, `aws-region=`, `year=`,
    `month=`, `day=`, `hour=`, also `dt=`/`date=` as YYYY-MM-DD or YYYYMMDD)."""
    parts = dict(m.groups() for p in key.split("/")[:-1] if (m := _HIVE.match(p)))
    if not parts:
        return Layout()
    date = None
    try:
        if "year" in parts and "month" in parts and "day" in parts:
            date = dt.date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
        elif (d := parts.get("dt") or parts.get("date")) is not None:
            d = d.replace("-", "").replace("/", "")
            date = dt.date(int(d[:4]), int(d[4:6]), int(d[6:8]))
    except ValueError:
        date = None
    hour = int(parts["hour"]) if parts.get("hour", "").isdigit() and int(parts["hour"]) < 24 else None
    return Layout(
        account=parts.get("aws-account-id") or parts.get("account_id") or parts.get("account"),
        region=parts.get("aws-region") or parts.get("region"),
        date=date,
        hour=hour,
    )


def awslogs_layout(key: str, service: str) -> Layout:
    """Layout from `.../AWSLogs/<account>/<service>/<region>/YYYY/MM/DD/<file>` (the
    plain delivery of VPC flow, ALB and CloudTrail logs) or its Hive-style variant
    (`AWSLogs/aws-account-id=<a>/aws-service=<s>/aws-region=<r>/year=/month=/day=/[hour=/]`)."""
    parts = key.split("/")
    if "AWSLogs" in parts:
        i = len(parts) - 1 - parts[::-1].index("AWSLogs")
        rest = parts[i + 1 : -1]
        if len(rest) >= 6 and _ACCOUNT.match(rest[0]) and rest[1] == service:
            try:
                date = dt.date(int(rest[3]), int(rest[4]), int(rest[5]))
            except ValueError:
                date = None
            hour = int(rest[6]) if len(rest) > 6 and rest[6].isdigit() and int(rest[6]) < 24 else None
            return Layout(account=rest[0], region=rest[2], date=date, hour=hour)
    return hive_layout(key)


def is_account(text: str) -> bool:
    return bool(_ACCOUNT.match(text))


def is_region(text: str) -> bool:
    return bool(_REGION.match(text))
