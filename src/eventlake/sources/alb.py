"""Application Load Balancer access logs (`alb`): one row per request (per connection
for WebSockets) in `alb_logs`, partitioned by the UTC date of `time`.

An entry is one line of space-separated fields in a fixed order; some are enclosed in
double quotes and may hold spaces. AWS appends new fields at the end and tells readers
to ignore trailing fields they do not know, so lines of every generation parse:

  up to "trace_id"                     the original format (required)
  "domain_name" "chosen_cert_arn"      SNI
  matched_rule_priority request_creation_time "actions_executed" "redirect_url"
  "error_reason"                       Lambda targets, authentication, WAF
  "target:port_list" "target_status_code_list"
  "classification" "classification_reason"   desync mitigation
  conn_trace_id                        traceability id (TID_...), unquoted
  "transformed_host" "transformed_uri" "request_transform_status"   rule transforms

Fields a line does not have are NULL, `-` is NULL, and whatever follows the last
documented field is kept as text in `extra`. The quoted "request" is split in three
(verb, URL, protocol; the URL may hold spaces). client:port and target:port are split
at the last colon: IPv6 addresses appear without brackets (`2001:db8::1:443`); a
bracketed `[2001:db8::1]:443` is accepted too and loses its brackets. IPs stay text.
Processing times are kept as logged, -1 included. Quoted values are kept as logged
(a `\\"` inside one stays escaped).

Parsing is pure DuckDB SQL (see "the parse SQL" below): about 90k lines per CPU-second
with every column materialized, on 500-byte lines.

Delivery layout (access logs; connection and health check logs of the same load
balancer land in the same folders under other names and are skipped):
  AWSLogs/<account>/elasticloadbalancing/<region>/YYYY/MM/DD/
    <account>_elasticloadbalancing_<region>_app.<name>.<id>_<end YYYYMMDDTHHmmZ>_<ip>_<random>.log.gz
"""

from __future__ import annotations

import datetime as dt
import re

from ..lake.catalog import sql_literal
from .logtypes import Layout, LineLog, Rule, awslogs_layout, table_def

SERVICE = "elasticloadbalancing"

# (column, type) in log order; "request" becomes request_verb/url/proto, client:port
# and target:port become *_ip/*_port.
PARSED: tuple[tuple[str, str], ...] = (
    ("type", "VARCHAR"),
    ("time", "TIMESTAMPTZ"),
    ("elb", "VARCHAR"),
    ("client_ip", "VARCHAR"),
    ("client_port", "INTEGER"),
    ("target_ip", "VARCHAR"),
    ("target_port", "INTEGER"),
    ("request_processing_time", "DOUBLE"),
    ("target_processing_time", "DOUBLE"),
    ("response_processing_time", "DOUBLE"),
    ("elb_status_code", "INTEGER"),
    ("target_status_code", "INTEGER"),
    ("received_bytes", "BIGINT"),
    ("sent_bytes", "BIGINT"),
    ("request_verb", "VARCHAR"),
    ("request_url", "VARCHAR"),
    ("request_proto", "VARCHAR"),
    ("user_agent", "VARCHAR"),
    ("ssl_cipher", "VARCHAR"),
    ("ssl_protocol", "VARCHAR"),
    ("target_group_arn", "VARCHAR"),
    ("trace_id", "VARCHAR"),
    ("domain_name", "VARCHAR"),
    ("chosen_cert_arn", "VARCHAR"),
    ("matched_rule_priority", "INTEGER"),
    ("request_creation_time", "TIMESTAMPTZ"),
    ("actions_executed", "VARCHAR"),
    ("redirect_url", "VARCHAR"),
    ("error_reason", "VARCHAR"),
    ("target_port_list", "VARCHAR"),
    ("target_status_code_list", "VARCHAR"),
    ("classification", "VARCHAR"),
    ("classification_reason", "VARCHAR"),
    ("conn_trace_id", "VARCHAR"),
    ("transformed_host", "VARCHAR"),
    ("transformed_uri", "VARCHAR"),
    ("request_transform_status", "VARCHAR"),
    ("extra", "VARCHAR"),
)

TABLE = table_def(
    "alb_logs",
    "Application Load Balancer access log entries, one row per request (per connection for "
    "WebSockets), with every documented field (missing trailing fields of older log versions NULL, "
    "'-' NULL, unknown trailing fields in extra), partitioned by the UTC date of time.",
    PARSED,
)

TYPES = ("http", "https", "h2", "grpcs", "ws", "wss")
CLASSIFICATIONS = ("Acceptable", "Ambiguous", "Severe")

# -- the parse SQL -------------------------------------------------------------------
# Speed: RE2 is fast at finding a match but slow at filling many capture groups (about
# 50k lines/s for one pattern with a group per field), so the line is cut with ONE
# one-pass pattern of four groups: the unquoted fields before the request, the quoted
# "request", the quoted "user_agent" (both may hold spaces and escaped quotes) and the
# rest. The first part splits on spaces; the rest too when every quoted field in it is
# free of spaces and backslashes (checked by a capture-free full match, which RE2 runs
# as a DFA); otherwise (rare) the rest is cut into tokens with regexp_extract_all.

LINE_PATTERN = r'^([^"]*)"((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"(.*)$'
SIMPLE_REST = r'( ("[^" \\]*"|[^" \\]*))*'
REST_TOKEN = r'"(?:[^"\\]|\\.)*"|[^ ]+'

# Fields before the quoted request, in order (12), and after the user agent (19, then
# anything else is `extra`).
HEAD = (
    "type", "time", "elb", "client:port", "target:port", "request_processing_time", "target_processing_time",
    "response_processing_time", "elb_status_code", "target_status_code", "received_bytes", "sent_bytes",
)
TAIL = (
    "ssl_cipher", "ssl_protocol", "target_group_arn", "trace_id", "domain_name", "chosen_cert_arn",
    "matched_rule_priority", "request_creation_time", "actions_executed", "redirect_url", "error_reason",
    "target_port_list", "target_status_code_list", "classification", "classification_reason", "conn_trace_id",
    "transformed_host", "transformed_uri", "request_transform_status",
)
REQUIRED_TAIL = 4  # the original format ends with "trace_id"


def _head(name: str) -> str:
    """A field before the request, as text ('-' and '' NULL)."""
    return f"nullif(nullif(a[{HEAD.index(name) + 1}], '-'), '')"


def _tail(name: str) -> str:
    """A field after the user agent, as text: enclosing quotes stripped, '-' and '' NULL."""
    v = f"b[{TAIL.index(name) + 1}]"
    return f"""nullif(nullif(CASE WHEN {v} LIKE '"%"' AND length({v}) >= 2 THEN {v}[2:-2] ELSE {v} END, '-'), '')"""


_TS_FORMATS = "['%Y-%m-%dT%H:%M:%S.%fZ', '%Y-%m-%dT%H:%M:%SZ']"
_TIMES = ("request_processing_time", "target_processing_time", "response_processing_time")
# Integer fields (column, SQL type).
_INTEGERS = (
    ("elb_status_code", "INTEGER"),
    ("target_status_code", "INTEGER"),
    ("received_bytes", "BIGINT"),
    ("sent_bytes", "BIGINT"),
    ("matched_rule_priority", "INTEGER"),
)
_TEXTS = (
    "ssl_cipher", "ssl_protocol", "target_group_arn", "trace_id", "domain_name", "chosen_cert_arn",
    "actions_executed", "redirect_url", "error_reason", "target_port_list", "target_status_code_list",
    "classification", "classification_reason", "conn_trace_id", "transformed_host", "transformed_uri",
    "request_transform_status",
)
_TS_WORDS = "is not an ISO-8601 UTC timestamp (YYYY-MM-DDTHH:MM:SS.ffffffZ)"


def _quoted(expr: str) -> str:
    """`'value'` for a message."""
    return f"chr(39) || {expr} || chr(39)"


# Shapes of the numbers: a processing time is -1 or a decimal, the other numbers
# non-negative integers (matched_rule_priority also -1), each may be '-'. One
# capture-free full match checks all seven numbers before the request at once; only
# lines that fail it get the per-field checks that name the culprit.
_TIME_SHAPE = r"-|-1|[0-9]+(\.[0-9]+)?"
_INT_SHAPE = r"-|[0-9]+"
_PRIORITY_SHAPE = r"-|-1|[0-9]+"
HEAD_NUMBERS = (
    r"[^ ]+( [^ ]+){4}" + f"( ({_TIME_SHAPE})){{3}}" + f"( ({_INT_SHAPE})){{4}} "
)


def _reason_checks() -> list[str]:
    """WHEN ... THEN ... branches of the reason CASE, in field order."""
    per_field = [
        f"WHEN NOT regexp_full_match(a[{HEAD.index(col) + 1}], {sql_literal(_TIME_SHAPE)}) "
        f"THEN '{col} ' || {_quoted(f'a[{HEAD.index(col) + 1}]')} || ' is not a number'"
        for col in _TIMES
    ] + [
        f"WHEN NOT regexp_full_match(a[{HEAD.index(col) + 1}], {sql_literal(_INT_SHAPE)}) "
        f"THEN '{col} ' || {_quoted(f'a[{HEAD.index(col) + 1}]')} || ' is not an integer'"
        for col, _ in _INTEGERS if col in HEAD
    ] + [
        f"WHEN {col}_raw IS NOT NULL AND {col} IS NULL THEN '{col} ' || {_quoted(col + '_raw')} || ' is out of range for {ty}'"
        for col, ty in _INTEGERS if col in HEAD
    ]
    overflow = " OR ".join(f"({col}_raw IS NOT NULL AND {col} IS NULL)" for col, _ in _INTEGERS if col in HEAD)
    per_field_case = "CASE " + " ".join(per_field) + " END"
    return [
        "WHEN s.pre = '' THEN 'line does not match the ALB access log format (no quoted \"request\" and \"user_agent\")'",
        "WHEN s.post <> '' AND NOT starts_with(s.post, ' ') THEN 'line does not match the ALB access log format "
        "(no space after the quoted \"user_agent\": a quote inside it?)'",
        f"WHEN len(a) <> {len(HEAD)} THEN 'line does not match the ALB access log format (' || len(a) || "
        f"' fields before the quoted request, expected {len(HEAD)}: {' '.join(HEAD)})'",
        f"WHEN len(b) < {REQUIRED_TAIL} THEN 'line does not match the ALB access log format (' || len(b) || "
        f"' fields after the user agent, expected at least {REQUIRED_TAIL}: {' '.join(TAIL[:REQUIRED_TAIL])})'",
        f"WHEN ts IS NULL THEN 'time ' || {_quoted('a[2]')} || ' {_TS_WORDS}'",
        f"WHEN client_port IS NULL OR client_ip IS NULL THEN 'client:port ' || {_quoted('a[4]')} || ' is not an address:port'",
        f"WHEN target_raw IS NOT NULL AND (target_port IS NULL OR target_ip IS NULL) "
        f"THEN 'target:port ' || {_quoted('a[5]')} || ' is not an address:port or -'",
        f"WHEN NOT regexp_full_match(s.pre, {sql_literal(HEAD_NUMBERS)}) OR {overflow} THEN {per_field_case}",
        f"WHEN matched_rule_priority_raw IS NOT NULL AND (matched_rule_priority IS NULL OR NOT "
        f"regexp_full_match(matched_rule_priority_raw, {sql_literal(_PRIORITY_SHAPE)})) "
        f"THEN 'matched_rule_priority ' || {_quoted('matched_rule_priority_raw')} || ' is not an integer'",
        f"WHEN request_creation_time_raw IS NOT NULL AND rct IS NULL "
        f"THEN 'request_creation_time ' || {_quoted('request_creation_time_raw')} || ' {_TS_WORDS}'",
    ]


def _addr(raw: str, part: str) -> str:
    """The address or the port of an `ip:port` text, split at the last colon (IPv6
    addresses are logged without brackets; `[v6]:port` loses its brackets). NULL
    when there is no colon."""
    colon = f"(length({raw}) + 1 - strpos(reverse({raw}), ':'))"  # position of the last colon
    if part == "port":
        return f"CASE WHEN strpos({raw}, ':') > 0 THEN TRY_CAST({raw}[{colon} + 1:] AS INTEGER) END"
    return f"CASE WHEN strpos({raw}, ':') > 1 THEN nullif(trim({raw}[1:{colon} - 1], '[]'), '') END"


def _build_parse_sql() -> str:
    req = "request_raw"
    sp1 = f"strpos({req}, ' ')"
    spn = f"(length({req}) + 1 - strpos(reverse({req}), ' '))"  # last space
    raws = ",\n    ".join(
        [f"{_head(c)} AS {c}_raw" for c in _TIMES]
        + [f"{_head(c) if c in HEAD else _tail(c)} AS {c}_raw" for c, _ in _INTEGERS]
        + [f"{_tail('request_creation_time')} AS request_creation_time_raw"]
        + [f"{_tail(c)} AS {c}" for c in _TEXTS]
    )
    typed = ",\n    ".join(
        [f"TRY_CAST({c}_raw AS DOUBLE) AS {c}" for c in _TIMES]
        + [f"TRY_CAST({c}_raw AS {ty}) AS {c}" for c, ty in _INTEGERS]
    )
    checks = "\n      ".join(_reason_checks())
    texts = ", ".join(_TEXTS)
    return f"""
WITH m AS (
  SELECT source_object, line_no, line,
    regexp_extract(line, {sql_literal(LINE_PATTERN)}, ['pre', 'request', 'ua', 'post']) AS s
  FROM lines
), k AS (
  SELECT source_object, line_no, line, s,
    string_split(rtrim(s.pre, ' '), ' ') AS a,
    CASE
      WHEN s.post = '' THEN []
      WHEN regexp_full_match(s.post, {sql_literal(SIMPLE_REST)}) THEN string_split(s.post[2:], ' ')
      ELSE regexp_extract_all(s.post, {sql_literal(REST_TOKEN)})
    END AS b
  FROM m
), r AS (
  SELECT source_object, line_no, line, s, a, b,
    try_strptime(a[2], {_TS_FORMATS}) AS ts,
    {_head('client:port')} AS client_raw,
    {_head('target:port')} AS target_raw,
    nullif(s.request, '') AS request_raw,
    {raws}
  FROM k
), t AS (
  SELECT *,
    {_addr('client_raw', 'ip')} AS client_ip,
    {_addr('client_raw', 'port')} AS client_port,
    {_addr('target_raw', 'ip')} AS target_ip,
    {_addr('target_raw', 'port')} AS target_port,
    try_strptime(request_creation_time_raw, {_TS_FORMATS}) AS rct,
    {typed}
  FROM r
)
SELECT
  source_object, line_no, line,
  CAST(ts AS DATE) AS event_date,
  nullif(a[1], '') AS "type",
  timezone('UTC', ts) AS "time",
  {_head('elb')} AS elb,
  client_ip, client_port, target_ip, target_port,
  request_processing_time, target_processing_time, response_processing_time,
  elb_status_code, target_status_code, received_bytes, sent_bytes,
  nullif(CASE WHEN {sp1} = 0 THEN {req} ELSE {req}[1:{sp1} - 1] END, '-') AS request_verb,
  nullif(CASE WHEN {sp1} = 0 THEN NULL WHEN {sp1} = {spn} THEN {req}[{sp1} + 1:] ELSE {req}[{sp1} + 1:{spn} - 1] END, '-') AS request_url,
  nullif(CASE WHEN {sp1} > 0 AND {sp1} < {spn} THEN {req}[{spn} + 1:] END, '-') AS request_proto,
  nullif(nullif(s.ua, '-'), '') AS user_agent,
  {texts},
  matched_rule_priority,
  timezone('UTC', rct) AS request_creation_time,
  nullif(array_to_string(b[{len(TAIL) + 1}:], ' '), '') AS extra,
  CASE
      {checks}
  END AS reason
FROM t
"""


PARSE_SQL = _build_parse_sql()

# -- object names ----------------------------------------------------------------------

_NAME = re.compile(
    r"^(?P<kind>conn_log\.|health_check_log_)?(?P<account>[0-9]{12})_elasticloadbalancing_(?P<region>[a-z0-9-]+)_"
    r"(?P<lb>.+)_(?P<end>[0-9]{8}T[0-9]{4}Z)_(?P<ip>[^_]+)_(?P<rand>[^_.]+)\.log(?:\.gz)?$"
)
TEST_FILE = "ELBAccessLogTestFile"


class AlbLog(LineLog):
    name = "alb"
    table = TABLE
    description = "Application Load Balancer access logs (elasticloadbalancing delivery layout, .log.gz)"
    rules = (
        Rule("elb_status_code_range", "elb_status_code is an HTTP status code (100-599)",
             "elb_status_code IS NOT NULL AND elb_status_code NOT BETWEEN 100 AND 599"),
        Rule("target_status_code_range", "target_status_code is an HTTP status code (100-599) or NULL",
             "target_status_code IS NOT NULL AND target_status_code NOT BETWEEN 100 AND 599"),
        Rule("type_known", f"type is one of the documented request types ({', '.join(TYPES)})",
             f"type IS NULL OR type NOT IN ({', '.join(sql_literal(t) for t in TYPES)})"),
        Rule("processing_times", "request/target/response processing times are -1 (not dispatched) or >= 0",
             " OR ".join(f"({c} IS NOT NULL AND {c} <> -1 AND {c} < 0)" for c in _TIMES)),
        Rule("bytes_non_negative", "received_bytes and sent_bytes are not negative",
             "(received_bytes IS NOT NULL AND received_bytes < 0) OR (sent_bytes IS NOT NULL AND sent_bytes < 0)"),
        Rule("request_before_response", "request_creation_time is not after time (the response)",
             "request_creation_time IS NOT NULL AND request_creation_time > time"),
        Rule("classification_known", f"classification is one of {', '.join(CLASSIFICATIONS)} or NULL",
             f"classification IS NOT NULL AND classification NOT IN ({', '.join(sql_literal(c) for c in CLASSIFICATIONS)})"),
    )

    def skip_reason(self, key: str) -> str | None:
        base = key.rstrip("/").rsplit("/", 1)[-1]
        if base == TEST_FILE:
            return f"{TEST_FILE}: the test object ELB writes when access logging is enabled, not a log"
        if "conn_log" in base:
            return "an ALB connection log (conn_log), not an access log"
        if base.startswith("health_check_log"):
            return "an ALB health check log (health_check_log), not an access log"
        m = _NAME.match(base)
        if m and not m["lb"].startswith("app."):
            kind = "a Network Load Balancer" if m["lb"].startswith("net.") else "a Classic Load Balancer"
            return f"{kind} access log (load balancer {m['lb']}), not an Application Load Balancer log"
        return None

    def layout(self, key: str) -> Layout:
        """Account, region and date from the folders (the delivery date), the load
        balancer id (`app.<name>.<id>`) and the hour from the file name's end time (the
        5-minute interval ends then; a 0000Z file holds the previous hour's last minutes)."""
        base = awslogs_layout(key, SERVICE)
        m = _NAME.match(key.rsplit("/", 1)[-1])
        if not m:
            return base
        try:
            end = dt.datetime.strptime(m["end"], "%Y%m%dT%H%MZ")
        except ValueError:
            end = None
        return Layout(
            account=base.account or m["account"],
            region=base.region or m["region"],
            resource=m["lb"],
            date=base.date or (end.date() if end else None),
            hour=end.hour if end else base.hour,
        )

    def parse_sql(self, fmt: str | None) -> str:
        return PARSE_SQL


LOGTYPE = AlbLog()
