"""Amazon VPC flow logs delivered to S3 as plain text (`vpcflowlogs`), one record per
line, fields separated by single spaces, `-` where a field does not apply.

A flow log's fields are chosen when it is created: the default format is the 14
version-2 fields; a custom format names any of the documented fields in any order.
Files delivered to S3 open with a header line naming the fields (`version account-id
... log-status`), so the format key of a file is its header's field names joined by
single spaces; a file without a header (e.g. exported from CloudWatch Logs) is read
as the default format. The parse SQL is generated for the key's field order: it
splits each line once and indexes the list. Every documented field has a column
(snake_case of its name; `start`/`end` become `start_time`/`end_time`); fields the
header names that are not documented here go to `extra`, a JSON object of
name -> value, and never break a parse.

Records whose `log-status` is NODATA or SKIPDATA are kept: their flow fields are
NULL. event_date is the UTC date of `start` (else `end`); for a format with neither
field, the date in the object's file name or folders. Parquet-format flow logs are
skipped (they are not text lines).

Delivery layouts (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-path.html):
  AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/[HH/]<file>
  AWSLogs/aws-account-id=<account>/aws-service=vpcflowlogs/aws-region=<region>/
      year=YYYY/month=MM/day=DD/[hour=HH/]<file>
  <file> = <account>_vpcflowlogs_<region>_<flow-log-id>_<YYYYMMDDTHHmmZ>_<hash>.log.gz
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

from ..lake.catalog import sql_literal
from .logtypes import FileFormat, Layout, LineLog, Rule, awslogs_layout, parsed_columns, table_def

SERVICE = "vpcflowlogs"

# Every documented field in the order of the AWS "Available fields" table, with its
# column and type. Versions: 2 (the default format, first 14), 3 (vpc-id ..
# pkt-dstaddr), 4 (region .. sublocation-id), 5 (pkt-src-aws-service .. traffic-path),
# 7 (ecs-*), 8 (reject-reason), later (resource-id, encryption-status).
FIELDS: tuple[tuple[str, str, str], ...] = (
    ("version", "version", "INTEGER"),
    ("account-id", "account_id", "VARCHAR"),
    ("interface-id", "interface_id", "VARCHAR"),
    ("srcaddr", "srcaddr", "VARCHAR"),
    ("dstaddr", "dstaddr", "VARCHAR"),
    ("srcport", "srcport", "INTEGER"),
    ("dstport", "dstport", "INTEGER"),
    ("protocol", "protocol", "INTEGER"),
    ("packets", "packets", "BIGINT"),
    ("bytes", "bytes", "BIGINT"),
    ("start", "start_time", "TIMESTAMPTZ"),
    ("end", "end_time", "TIMESTAMPTZ"),
    ("action", "action", "VARCHAR"),
    ("log-status", "log_status", "VARCHAR"),
    ("vpc-id", "vpc_id", "VARCHAR"),
    ("subnet-id", "subnet_id", "VARCHAR"),
    ("instance-id", "instance_id", "VARCHAR"),
    ("tcp-flags", "tcp_flags", "INTEGER"),
    ("type", "type", "VARCHAR"),
    ("pkt-srcaddr", "pkt_srcaddr", "VARCHAR"),
    ("pkt-dstaddr", "pkt_dstaddr", "VARCHAR"),
    ("region", "region", "VARCHAR"),
    ("az-id", "az_id", "VARCHAR"),
    ("sublocation-type", "sublocation_type", "VARCHAR"),
    ("sublocation-id", "sublocation_id", "VARCHAR"),
    ("pkt-src-aws-service", "pkt_src_aws_service", "VARCHAR"),
    ("pkt-dst-aws-service", "pkt_dst_aws_service", "VARCHAR"),
    ("flow-direction", "flow_direction", "VARCHAR"),
    ("traffic-path", "traffic_path", "INTEGER"),
    ("ecs-cluster-arn", "ecs_cluster_arn", "VARCHAR"),
    ("ecs-cluster-name", "ecs_cluster_name", "VARCHAR"),
    ("ecs-container-instance-arn", "ecs_container_instance_arn", "VARCHAR"),
    ("ecs-container-instance-id", "ecs_container_instance_id", "VARCHAR"),
    ("ecs-container-id", "ecs_container_id", "VARCHAR"),
    ("ecs-second-container-id", "ecs_second_container_id", "VARCHAR"),
    ("ecs-service-name", "ecs_service_name", "VARCHAR"),
    ("ecs-task-definition-arn", "ecs_task_definition_arn", "VARCHAR"),
    ("ecs-task-arn", "ecs_task_arn", "VARCHAR"),
    ("ecs-task-id", "ecs_task_id", "VARCHAR"),
    ("reject-reason", "reject_reason", "VARCHAR"),
    ("resource-id", "resource_id", "VARCHAR"),
    ("encryption-status", "encryption_status", "VARCHAR"),
)
FIELD_COLUMNS = {name: (column, type_) for name, column, type_ in FIELDS}
DEFAULT_FIELDS: tuple[str, ...] = tuple(name for name, _, _ in FIELDS[:14])
DEFAULT_FORMAT = " ".join(DEFAULT_FIELDS)

TABLE = table_def(
    "vpc_flow_logs",
    "Amazon VPC flow log records (plain text, default or custom format), one row per record, "
    "partitioned by the UTC date of the flow's start; NODATA/SKIPDATA records kept with NULL flow "
    "fields; header fields not documented by AWS in `extra` (JSON).",
    [(column, type_) for _, column, type_ in FIELDS] + [("extra", "JSON")],
    has_format=True,
)

# Unix seconds accepted for start/end: 1970-01-01 .. 2099-12-31 (a flow log from
# another century is a corrupt line, not a partition to create).
MAX_EPOCH = 4102444800
_HEADER_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_FILE = re.compile(
    r"^(?P<account>[0-9]{12})_vpcflowlogs_(?P<region>[a-z0-9-]+)_(?P<flow_log>fl-[0-9A-Za-z]+)_"
    r"(?P<date>[0-9]{8})T(?P<hour>[0-9]{2})(?P<minute>[0-9]{2})Z_[0-9A-Za-z]+\.log(\.gz)?$"
)
_HIVE_SERVICE = re.compile(r"^aws-service=(.*)$")


def _shown(expr: str) -> str:
    """SQL for a field value as shown in a reason: quoted, cut at 64 characters."""
    return f"'''' || CASE WHEN length({expr}) > 64 THEN left({expr}, 61) || '...' ELSE {expr} END || ''''"


def _fields_of(fmt: str | None) -> list[str]:
    return fmt.split() if fmt and fmt.strip() else list(DEFAULT_FIELDS)


@lru_cache(maxsize=256)
def build_parse_sql(fmt: str | None) -> str:
    """The parse SELECT over `lines` for files whose header is `fmt` (None: default)."""
    fields = _fields_of(fmt)
    n = len(fields)
    first: dict[str, int] = {}  # documented field -> 1-based position of its first use
    extras: list[tuple[str, int]] = []  # (JSON key, position) of every other field
    for i, name in enumerate(fields, start=1):
        if name in FIELD_COLUMNS and name not in first:
            first[name] = i
        elif name in FIELD_COLUMNS or any(k == name for k, _ in extras):
            extras.append((f"{name}#{i}", i))  # a repeated name: keyed by its position too
        else:
            extras.append((name, i))

    # Inner select: per field of the format, its text as written (`r_<col>`) and its value
    # (NULL for '-'; start/end as unix seconds `s_<col>`), plus the field count.
    inner = ["source_object", "line_no", "line", "len(f) AS n_fields"]
    checks: list[str] = []  # WHEN ... THEN ... clauses of `reason`, in field order
    for name, column, type_ in FIELDS:
        if name not in first:
            continue
        raw, col = f"r_{column}", f'"{column}"'
        inner.append(f"f[{first[name]}] AS {raw}")
        label = sql_literal(name + " ")
        if type_ in ("INTEGER", "BIGINT"):
            inner.append(f"TRY_CAST(nullif(f[{first[name]}], '-') AS {type_}) AS {col}")
            checks.append(
                f"WHEN {raw} <> '-' AND ({col} IS NULL OR CAST({col} AS VARCHAR) <> {raw}) THEN {label} || {_shown(raw)} || "
                f"CASE WHEN regexp_full_match({raw}, '-?[1-9][0-9]*') THEN ' is out of range' "
                f"WHEN regexp_full_match({raw}, '[-+]?[0-9]+') THEN ' is not a plain integer (sign or leading zeros)' "
                "ELSE ' is not an integer' END"
            )
        elif type_ == "TIMESTAMPTZ":
            secs = f"s_{column}"
            inner.append(f"TRY_CAST(nullif(f[{first[name]}], '-') AS BIGINT) AS {secs}")
            checks.append(
                f"WHEN {raw} <> '-' AND ({secs} IS NULL OR CAST({secs} AS VARCHAR) <> {raw}) THEN {label} || {_shown(raw)} || "
                "' is not a unix time in seconds'"
            )
            checks.append(
                f"WHEN {secs} < 0 OR {secs} >= {MAX_EPOCH} THEN {label} || {_shown(raw)} || ' is out of range (1970 to 2099)'"
            )
        else:
            inner.append(f"nullif(f[{first[name]}], '-') AS {col}")
    if extras:
        pairs = ", ".join(f"{sql_literal(k)}, nullif(f[{i}], '-')" for k, i in extras)
        inner.append(f"json_object({pairs}) AS extra")
    else:
        inner.append("CAST(NULL AS JSON) AS extra")

    # Outer select: typed columns (timestamps from the checked seconds), event_date, reason.
    def ts(column: str) -> str:
        s = f"s_{column}"
        return f"CASE WHEN {s} >= 0 AND {s} < {MAX_EPOCH} THEN to_timestamp({s}) END"

    def day(column: str) -> str:
        s = f"s_{column}"
        return f"CASE WHEN {s} >= 0 AND {s} < {MAX_EPOCH} THEN CAST(DATE '1970-01-01' + CAST({s} // 86400 AS INTEGER) AS DATE) END"

    dates = [day(c) for f_, c in (("start", "start_time"), ("end", "end_time")) if f_ in first]
    if dates:
        event_date = dates[0] if len(dates) == 1 else f"coalesce({dates[0]}, {dates[1]})"
        no_date = (
            "WHEN event_date IS NULL THEN "
            + sql_literal(" and ".join(f_ for f_ in ("start", "end") if f_ in first) + " missing (-): the record has no date")
        )
    else:  # a format without start/end: the date of the object's name
        event_date = _object_date_sql("CAST(source_object AS VARCHAR)")
        no_date = "WHEN event_date IS NULL THEN 'the format has no start or end field and the object name holds no date'"

    outer = ["source_object", "line_no", "line"]
    for name, column, type_ in FIELDS:
        if name not in first:
            outer.append(f'CAST(NULL AS {type_}) AS "{column}"')
        elif type_ == "TIMESTAMPTZ":
            outer.append(f'{ts(column)} AS "{column}"')
        else:
            outer.append(f'"{column}"')
    outer.append("extra")
    reason = (
        f"CASE WHEN n_fields <> {n} THEN 'line has ' || n_fields || ' fields, the format has {n}' "
        + " ".join(checks)
        + f" {no_date} END AS reason"
    )
    return (
        "SELECT " + ", ".join(outer) + ", event_date, " + reason + "\nFROM (\n"
        "  SELECT *, " + event_date + " AS event_date FROM (\n"
        "    SELECT " + ", ".join(inner) + "\n"
        "    FROM (SELECT source_object, line_no, line, string_split(line, ' ') AS f FROM lines)\n"
        "  )\n)"
    )


def _object_date_sql(expr: str) -> str:
    """SQL for the date an object's key holds: the file name's YYYYMMDDTHHmmZ, else
    year=/month=/day= or YYYY/MM/DD folders; NULL when none is a valid date."""
    return (
        f"coalesce("
        f"TRY_CAST(strptime(nullif(regexp_extract({expr}, '_([0-9]{{8}})T[0-9]{{4}}Z_', 1), ''), '%Y%m%d') AS DATE), "
        f"TRY_CAST(nullif(regexp_replace(regexp_extract({expr}, 'year=([0-9]{{4}})/month=([0-9]{{2}})/day=([0-9]{{2}})/', 0), "
        f"'year=([0-9]{{4}})/month=([0-9]{{2}})/day=([0-9]{{2}})/', '\\1-\\2-\\3'), '') AS DATE), "
        f"TRY_CAST(nullif(replace(regexp_extract({expr}, '/([0-9]{{4}}/[0-9]{{2}}/[0-9]{{2}})/', 1), '/', '-'), '') AS DATE))"
    )


def is_header(line: str) -> bool:
    """Whether a file's first line names its fields (every token a lowercase field name,
    at least one of them a documented field) rather than being a record."""
    tokens = line.split()
    return bool(tokens) and all(_HEADER_NAME.match(t) for t in tokens) and any(t in FIELD_COLUMNS for t in tokens)


class VpcFlowLog(LineLog):
    """VPC flow logs: the `vpc_flow_logs` table, the vpcflowlogs delivery layouts,
    header-declared formats and a parse generated per field order."""

    name = "vpc-flow"
    table = TABLE
    description = "Amazon VPC flow logs (plain text) delivered to S3, default or custom format, with or without header."
    has_format = True
    rules = (
        Rule("srcport_range", "srcport is a port number, 0 to 65535", "srcport NOT BETWEEN 0 AND 65535"),
        Rule("dstport_range", "dstport is a port number, 0 to 65535", "dstport NOT BETWEEN 0 AND 65535"),
        Rule("protocol_range", "protocol is an IANA protocol number, 0 to 255", "protocol NOT BETWEEN 0 AND 255"),
        Rule("action_value", "action is ACCEPT or REJECT (or - for NODATA/SKIPDATA)", "action NOT IN ('ACCEPT', 'REJECT')"),
        Rule("log_status_value", "log_status is OK, NODATA or SKIPDATA", "log_status NOT IN ('OK', 'NODATA', 'SKIPDATA')"),
        Rule("time_order", "start_time is not after end_time", "start_time > end_time"),
        Rule("packets_non_negative", "packets is not negative", "packets < 0"),
        Rule("bytes_non_negative", "bytes is not negative", "bytes < 0"),
        Rule("bytes_without_packets", "a flow with bytes has packets", "bytes > 0 AND packets = 0"),
        Rule("tcp_flags_range", "tcp_flags is an OR of TCP header flag bits, 0 to 255", "tcp_flags NOT BETWEEN 0 AND 255"),
        Rule("version_value", "version is a flow log version, 2 or more", "version < 2"),
        Rule("account_id_value", "account_id is 12 digits or 'unknown'",
             "account_id <> 'unknown' AND NOT regexp_full_match(account_id, '[0-9]{12}')"),
        Rule("type_value", "type is IPv4, IPv6 or EFA", "type NOT IN ('IPv4', 'IPv6', 'EFA')"),
        Rule("flow_direction_value", "flow_direction is ingress or egress", "flow_direction NOT IN ('ingress', 'egress')"),
        Rule("traffic_path_range", "traffic_path is one of the documented egress paths, 1 to 8", "traffic_path NOT BETWEEN 1 AND 8"),
        Rule("nodata_without_flow", "NODATA and SKIPDATA records carry no addresses, ports, packets or bytes",
             "log_status IN ('NODATA', 'SKIPDATA') AND (srcaddr IS NOT NULL OR dstaddr IS NOT NULL OR srcport IS NOT NULL "
             "OR dstport IS NOT NULL OR packets IS NOT NULL OR bytes IS NOT NULL)"),
        Rule("address_value", "srcaddr and dstaddr are IPv4 or IPv6 addresses",
             "NOT regexp_full_match(srcaddr, '[0-9]{1,3}(\\.[0-9]{1,3}){3}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*') "
             "OR NOT regexp_full_match(dstaddr, '[0-9]{1,3}(\\.[0-9]{1,3}){3}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*')"),
    )

    def skip_reason(self, key: str) -> str | None:
        name = key.rstrip("/").rsplit("/", 1)[-1].lower()
        if name.endswith(".parquet") or name.endswith(".parquet.gz"):
            return "Parquet-format flow log: only plain-text flow logs are read (create the flow log with file format plain-text)"
        if name.endswith((".json", ".json.gz")):
            return "JSON file, not a plain-text flow log"
        service = _service_folder(key)
        if service is not None and service != SERVICE:
            return f"in the AWSLogs folder of service {service!r}, not {SERVICE}"
        return None

    def layout(self, key: str) -> Layout:
        base = awslogs_layout(key, SERVICE)
        m = _FILE.match(key.rsplit("/", 1)[-1])
        if not m:
            return base
        try:
            file_date = dt.datetime.strptime(m["date"], "%Y%m%d").date()
        except ValueError:
            file_date = None
        hour = int(m["hour"]) if int(m["hour"]) < 24 else None
        return Layout(
            account=base.account or m["account"],
            region=base.region or m["region"],
            resource=m["flow_log"],
            date=base.date or file_date,
            hour=base.hour if base.hour is not None else hour,
        )

    def detect_format(self, head: list[str]) -> FileFormat:
        first = next((line for line in head if line.strip()), None)
        if first is not None and is_header(first):
            return FileFormat(key=" ".join(first.split()), header_lines=head.index(first) + 1)
        return FileFormat(key=DEFAULT_FORMAT, header_lines=0)

    def columns_for(self, fmt: str | None) -> list[str]:
        present = {FIELD_COLUMNS[n][0] for n in _fields_of(fmt) if n in FIELD_COLUMNS} | {"event_date", "extra"}
        return [c for c in parsed_columns(self) if c in present]

    def parse_sql(self, fmt: str | None) -> str:
        return build_parse_sql(fmt if fmt and fmt.strip() else DEFAULT_FORMAT)


def _service_folder(key: str) -> str | None:
    """The service folder under the last AWSLogs/ of a key (plain `<account>/<service>`
    or Hive `aws-service=<service>`), None when the key has none."""
    parts = key.split("/")[:-1]
    if "AWSLogs" not in parts:
        return None
    i = len(parts) - 1 - parts[::-1].index("AWSLogs")
    rest = parts[i + 1 :]
    for p in rest[:3]:
        m = _HIVE_SERVICE.match(p)
        if m:
            return m.group(1)
    if len(rest) >= 2 and re.fullmatch(r"[0-9]{12}", rest[0]):
        return rest[1]
    return None


LOGTYPE = VpcFlowLog()
