"""Amazon S3 server access logs (`s3-access`): one line per request to a bucket, as S3
delivers them to the logging destination bucket.

A record is space-separated fields in a fixed order; the time is in brackets
(`[06/Feb/2019:00:00:38 +0000]`, UTC) and Request-URI, Referer and User-Agent are in
double quotes (they may hold spaces; the quotes are not kept). `-` means "unknown or not
applicable" in any field and becomes NULL. S3 has added fields at the end of the line
over the years (Version Id, Host Id, Signature Version, ..., Access Point ARN, ACL
required, Source region), so every field after User-Agent is optional: older lines
simply end early. AWS may append more fields; whatever follows the last documented one
is kept as text in `extra` and never breaks the parse.

Values are kept as logged: `key` is URL-encoded exactly as S3 writes it (`my%20file.txt`;
compare with `url_decode(key)` to search by the real name), IP addresses stay text,
`request_uri` is the whole request line (`GET /bucket/key?x-id=GetObject HTTP/1.1`).
total_time and turn_around_time are milliseconds.

Delivery layouts (object names), both read by `layout`:
  simple prefix:  <prefix>YYYY-mm-DD-HH-MM-SS-<UniqueString>
  date-based:     <prefix><SourceAccountId>/<SourceRegion>/<SourceBucket>/YYYY/MM/DD/YYYY-MM-DD-HH-MM-SS-<UniqueString>
In the simple layout the time in the name is the delivery time (the records are from
before it). With date-based partitioning the folders give the day: the event day
(EventTime, the default: the name's time is 00-00-00 and the file holds that whole day)
or the delivery day (DeliveryTime)."""

from __future__ import annotations

import datetime as dt
import re

from ..lake.catalog import sql_literal
from .logtypes import Layout, LineLog, Rule, hive_layout, is_region, table_def

# The documented fields in log order: (column, DuckDB type, kind). kind says how a field
# is written: "text" a token, "time" the bracketed time, "int" digits or '-', "quoted" a
# double-quoted string. The first REQUIRED fields are in every line; the others are
# optional trailing fields that only newer lines have.
FIELDS: tuple[tuple[str, str, str], ...] = (
    ("bucket_owner", "VARCHAR", "text"),
    ("bucket", "VARCHAR", "text"),
    ("request_time", "TIMESTAMPTZ", "time"),
    ("remote_ip", "VARCHAR", "text"),
    ("requester", "VARCHAR", "text"),
    ("request_id", "VARCHAR", "text"),
    ("operation", "VARCHAR", "text"),
    ("key", "VARCHAR", "text"),
    ("request_uri", "VARCHAR", "quoted"),
    ("http_status", "INTEGER", "int"),
    ("error_code", "VARCHAR", "text"),
    ("bytes_sent", "BIGINT", "int"),
    ("object_size", "BIGINT", "int"),
    ("total_time", "BIGINT", "int"),
    ("turn_around_time", "BIGINT", "int"),
    ("referer", "VARCHAR", "quoted"),
    ("user_agent", "VARCHAR", "quoted"),
    ("version_id", "VARCHAR", "text"),
    ("host_id", "VARCHAR", "text"),
    ("signature_version", "VARCHAR", "text"),
    ("cipher_suite", "VARCHAR", "text"),
    ("authentication_type", "VARCHAR", "text"),
    ("host_header", "VARCHAR", "text"),
    ("tls_version", "VARCHAR", "text"),
    ("access_point_arn", "VARCHAR", "text"),
    ("acl_required", "VARCHAR", "text"),
    ("source_region", "VARCHAR", "text"),
)
REQUIRED = 17  # bucket_owner .. user_agent: the oldest format
TIME_FORMAT = "[%d/%b/%Y:%H:%M:%S %z]"
TIME_EXAMPLE = "[06/Feb/2019:00:00:38 +0000]"

TABLE = table_def(
    "s3_access_logs",
    "Amazon S3 server access logs, one row per request to a bucket: who (requester, "
    "remote_ip) did what (operation, key URL-encoded as logged, http_status, error_code), "
    "bytes and times (ms); '-' is NULL and unknown trailing fields are kept in extra. "
    "Partitioned by the request's UTC date.",
    [(name, typ) for name, typ, _ in FIELDS] + [("extra", "VARCHAR")],
)

_NAMES = [name for name, _, _ in FIELDS] + ["extra"]

# -- parsing ---------------------------------------------------------------------------
#
# The parse splits each line on its double quotes: a well-formed line has three quoted
# fields, so `string_split(line, '"')` gives seven parts
#   q[1] 'owner bucket [time +0000] ip requester request_id operation key '
#   q[2] request_uri
#   q[3] ' status error_code bytes_sent object_size total_time turn_around_time '
#   q[4] referer    q[5] ' '    q[6] user_agent
#   q[7] the trailing fields: ' version_id host_id ...', or '' in the oldest format
# (more parts when a trailing field is quoted: the tail is then the rest of the line),
# and q[1], q[3] and the tail split on spaces give the other fields. Splitting is many
# times faster than matching a pattern with capture groups. A line without exactly this
# shape (runs of spaces, a quote inside a quoted field, a field missing) goes to
# TOLERANT_PATTERN (if it has the six quotes that pattern needs), and one that does not
# match that either gets its reason from `_diagnosis`: both only run for such lines.

_INTEGER = "-?[0-9]+"
# q[3] (see above) with http_status, bytes_sent, object_size, total_time and
# turn_around_time all digits or '-': one match instead of one per field.
_INTEGERS_PART = r" -?[0-9]* \S+ -?[0-9]* -?[0-9]* -?[0-9]* -?[0-9]* "
# Tokens of a line, for the diagnosis of lines neither the split nor the pattern takes.
_TOKEN_PATTERN = r'"[^"]*"|\[[^\]]*\]|\S+'


def _tolerant_pattern() -> str:
    """An RE2 pattern with one group per field (FIELDS order, then `extra`) that allows
    runs of spaces, leading/trailing blanks and quotes inside a quoted field (greedy: a
    quoted field ends at the last quote that lets the rest of the line match)."""
    kinds = {"text": r"(\S+)", "int": r"(\S+)", "time": r"(\[[^\]]*\])", "quoted": r'"(.*)"'}
    head = " +".join(kinds[kind] for _, _, kind in FIELDS[:REQUIRED])
    # Optional trailing fields nest: one can only be there if the one before it is.
    tail = r"(?: +(.*?))?"
    for _ in FIELDS[REQUIRED:]:
        tail = r"(?: +(\S*)" + tail + r")?"
    return r"^\s*" + head + tail + r"\s*$"


TOLERANT_PATTERN = _tolerant_pattern()


def _shown(expr: str) -> str:
    """SQL for a value quoted in a reason, cut to 80 characters."""
    return "'''' || CASE WHEN length({0}) > 80 THEN left({0}, 77) || '...' ELSE {0} END || ''''".format(expr)


def _null(expr: str) -> str:
    """SQL for a field with '-' (and an empty or absent trailing field) as NULL."""
    return f"CASE WHEN {expr} IN ('-', '') THEN NULL ELSE {expr} END"


def _split_fields() -> dict[str, str]:
    """Each field's SQL over the split parts: q (on quotes), a (q[1] on spaces), b (q[3]
    on spaces) and c (the tail on spaces; c[1] is the empty text before its first space)."""
    exprs: dict[str, str] = {}
    pos = 1
    for name, _, kind in FIELDS[:8]:
        if kind == "time":  # '[06/Feb/2019:00:00:38' and '+0000]'
            exprs[name] = f"a[{pos}] || ' ' || a[{pos + 1}]"
            pos += 2
        else:
            exprs[name] = f"a[{pos}]"
            pos += 1
    exprs["request_uri"] = "q[2]"
    for i, (name, _, _) in enumerate(FIELDS[9:15], start=2):
        exprs[name] = f"b[{i}]"
    exprs["referer"] = "q[4]"
    exprs["user_agent"] = "q[6]"
    for i, (name, _, _) in enumerate(FIELDS[REQUIRED:], start=2):
        exprs[name] = f"c[{i}]"
    first_extra = len(FIELDS) - REQUIRED + 2
    exprs["extra"] = f"CASE WHEN len(c) >= {first_extra} THEN array_to_string(c[{first_extra}:], ' ') END"
    return exprs


# The split parts have the shape of a well-formed line (see above).
_SPLIT_OK = " AND ".join(
    ["len(q) >= 7", "q[5] = ' '", "len(a) = 10", "a[10] = ''", "len(b) = 8", "b[1] = ''", "b[8] = ''"]
    + [f"a[{i}] <> ''" for i in range(1, 10)]
    + [f"b[{i}] <> ''" for i in range(2, 8)]
    + ["starts_with(a[3], '[')", "ends_with(a[4], ']')", "(tail = '' OR starts_with(tail, ' '))"]
)


def _diagnosis() -> str:
    """SQL for why a line fits neither the split nor TOLERANT_PATTERN, from its tokens
    `toks` (quoted strings, bracketed strings, runs of non-blanks): the first field out
    of shape."""
    checks = [
        f"WHEN len(toks) < {REQUIRED} THEN 'line does not match the S3 server access log format "
        f"(at least {REQUIRED} fields expected, found ' || len(toks) || ')'"
    ]
    for i, (name, _, kind) in enumerate(FIELDS[:REQUIRED], start=1):
        tok = f"toks[{i}]"
        if kind == "time":
            checks.append(
                f"WHEN NOT (starts_with({tok}, '[') AND ends_with({tok}, ']')) THEN "
                f"'{name} ' || {_shown(tok)} || ' is not a bracketed time like {TIME_EXAMPLE}'"
            )
        elif kind == "quoted":
            checks.append(
                f"WHEN NOT (length({tok}) >= 2 AND starts_with({tok}, '\"') AND ends_with({tok}, '\"')) THEN "
                f"'{name} ' || {_shown(tok)} || ' is not a double-quoted string'"
            )
    checks.append("ELSE 'line does not match the S3 server access log format (fields out of place or an unclosed quote)'")
    return "CASE " + "\n      ".join(checks) + " END"


def _parse_sql() -> str:
    """The parse SELECT over `lines`: split (else the tolerant pattern), then the typed
    values, the columns with '-' as NULL, and the reason (the first problem found)."""
    names = "[" + ", ".join(sql_literal(n) for n in _NAMES) + "]"
    split = _split_fields()
    # each field from the split, else (a line of another shape) from the tolerant match
    fields = ",\n    ".join(f"CASE WHEN split_ok THEN {split[n]} ELSE t.{n} END AS f_{n}" for n in _NAMES)
    typed: list[str] = []  # the typed values, computed once
    columns: list[str] = []
    checks: list[str] = []
    for name, typ, kind in FIELDS:
        raw = f"f_{name}"
        if kind == "time":
            typed.append(f"try_strptime({raw}, {sql_literal(TIME_FORMAT)}) AS {name}")
            columns.append(name)
            checks.append(f"WHEN {name} IS NULL THEN '{name} ' || {_shown(raw)} || ' is not a time like {TIME_EXAMPLE}'")
        elif kind == "int":
            typed.append(
                f"CASE WHEN ints_ok THEN TRY_CAST({raw} AS {typ}) "
                f"WHEN regexp_full_match({raw}, '{_INTEGER}') THEN TRY_CAST({raw} AS {typ}) END AS {name}"
            )
            columns.append(name)
            checks.append(
                f"WHEN {name} IS NULL AND {raw} <> '-' THEN '{name} ' || {_shown(raw)} || "
                f"CASE WHEN regexp_full_match({raw}, '{_INTEGER}') THEN ' is out of range for {typ}' ELSE ' is not an integer' END"
            )
        else:
            columns.append(f"{_null(raw)} AS {name}")
    columns.append("CASE WHEN trim(f_extra) IN ('-', '') THEN NULL ELSE trim(f_extra) END AS extra")
    before_tail = " + ".join(f"length(q[{i}])" for i in range(1, 7)) + " + 7"
    select = ",\n  ".join(columns)
    reasons = "\n    ".join(checks)
    return f"""
WITH quotes AS (
  SELECT source_object, line_no, line, string_split(line, '"') AS q
  FROM lines
), parts AS (
  SELECT *,
    string_split(q[1], ' ') AS a,
    string_split(q[3], ' ') AS b,
    CASE WHEN len(q) = 7 THEN q[7] WHEN len(q) > 7 THEN substr(line, {before_tail}) END AS tail
  FROM quotes
), split AS (
  SELECT *, string_split(tail, ' ') AS c, coalesce({_SPLIT_OK}, false) AS split_ok
  FROM parts
), tolerant AS (
  SELECT *,
    CASE WHEN NOT split_ok AND len(q) >= 7 THEN regexp_extract(line, {sql_literal(TOLERANT_PATTERN)}, {names}) END AS t
  FROM split
), matched AS (
  SELECT source_object, line_no, line,
    {fields},
    split_ok AND regexp_full_match(q[3], {sql_literal(_INTEGERS_PART)}) AS ints_ok
  FROM tolerant
), typed AS (
  SELECT *,
    coalesce(f_bucket_owner <> '', false) AS ok,
    {(","+chr(10)+"    ").join(typed)},
    CASE WHEN NOT coalesce(f_bucket_owner <> '', false) THEN regexp_extract_all(line, {sql_literal(_TOKEN_PATTERN)}) END AS toks
  FROM matched
)
SELECT
  source_object,
  line_no,
  line,
  DATE '1970-01-01' + CAST(floor(epoch(request_time) / 86400) AS INTEGER) AS event_date,
  {select},
  CASE
    WHEN NOT ok THEN {_diagnosis()}
    {reasons}
  END AS reason
FROM typed
"""


PARSE_SQL = _parse_sql()

# -- delivery layout -----------------------------------------------------------------

# YYYY-MM-DD-hh-mm-ss-<UniqueString>, maybe with the ending of a re-compressed copy
_STAMP = r"([0-9]{4})-([0-9]{2})-([0-9]{2})-([0-9]{2})-([0-9]{2})-([0-9]{2})-[0-9A-Za-z]+(?:\.(?:log|txt))?(?:\.gz)?"
_SIMPLE_NAME = re.compile(r"(?:^|[^0-9])" + _STAMP + r"$")
_PARTITIONED_NAME = re.compile(r"^" + _STAMP + r"$")
_ACCOUNT_SUFFIX = re.compile(r"([0-9]{12})$")

# Names and endings of objects that are never S3 access logs. S3 names its log objects
# without an extension, and a log someone re-compressed may end in .gz, .log or .txt, so
# only what is plainly data, metadata or a marker is skipped.
_NOT_LOG_NAMES = {"_SUCCESS", ".DS_Store", "Thumbs.db"}
_NOT_LOG_PREFIXES = ("_started_", "_committed_")
_NOT_LOG_ENDINGS = (
    ".json", ".json.gz", ".jsonl", ".parquet", ".orc", ".avro", ".csv", ".metadata", ".crc",
    ".manifest", ".md", ".html", ".xml", ".yaml", ".yml", ".zip", ".png", ".jpg", "_$folder$",
)


def _date(y: str, m: str, d: str) -> dt.date | None:
    try:
        return dt.date(int(y), int(m), int(d))
    except ValueError:
        return None


class S3AccessLog(LineLog):
    """Amazon S3 server access logs."""

    name = "s3-access"
    table = TABLE
    description = "Amazon S3 server access logs: one row per request to a bucket."
    rules = (
        Rule("http_status_range", "http_status is an HTTP status code, 100 to 599", "http_status NOT BETWEEN 100 AND 599"),
        Rule(
            "times_non_negative",
            "total_time and turn_around_time (milliseconds) are not negative",
            "total_time < 0 OR turn_around_time < 0",
        ),
        Rule("bytes_non_negative", "bytes_sent and object_size are not negative", "bytes_sent < 0 OR object_size < 0"),
        Rule(
            "turn_around_within_total",
            "turn_around_time (S3 processing) is not longer than total_time (the whole request)",
            "turn_around_time > total_time",
        ),
        Rule(
            "operation_format",
            "operation reads REST|WEBSITE|BATCH|S3.<ACTION>.<RESOURCE> (e.g. REST.GET.OBJECT) or SOAP.<Operation>",
            r"NOT regexp_full_match(operation, '(REST|WEBSITE|BATCH|S3)\.[A-Z_]+\.[A-Za-z0-9_]+|SOAP\.[A-Za-z]+')",
        ),
        Rule(
            "request_time_not_future",
            "request_time is not in the future (more than 5 minutes after now, allowing for clock skew)",
            "request_time > current_timestamp + INTERVAL 5 MINUTE",
        ),
    )

    def skip_reason(self, key: str) -> str | None:
        """Folder markers and objects that are plainly data, metadata or job markers."""
        if key.endswith("/"):
            return "a folder marker, not a log file"
        base = key.rsplit("/", 1)[-1]
        if base in _NOT_LOG_NAMES or base.startswith(_NOT_LOG_PREFIXES):
            return f"{base} is a marker file, not an S3 server access log"
        lower = base.lower()
        for ending in _NOT_LOG_ENDINGS:
            if lower.endswith(ending.lower()):
                return f"a {ending} file, not an S3 server access log (those have no extension)"
        return None

    def layout(self, key: str) -> Layout:
        """Account, region, bucket and day from the date-based layout; day and hour of
        delivery from the simple layout; else Hive-style folders, if any. The hour of an
        EventTime-partitioned file (name time 00-00-00: it holds the whole day) is unknown."""
        parts = key.split("/")
        name = parts[-1]
        if len(parts) >= 7 and (m := _PARTITIONED_NAME.match(name)):
            account = _ACCOUNT_SUFFIX.search(parts[-7])
            yyyy, mm, dd = parts[-4], parts[-3], parts[-2]
            date = _date(yyyy, mm, dd)
            if account and is_region(parts[-6]) and parts[-5] and (yyyy, mm, dd) == m.group(1, 2, 3) and date:
                hour = int(m.group(4))
                whole_day = m.group(4, 5, 6) == ("00", "00", "00")
                return Layout(
                    account=account.group(1),
                    region=parts[-6],
                    resource=parts[-5],
                    date=date,
                    hour=None if whole_day or hour > 23 else hour,
                )
        if (m := _SIMPLE_NAME.search(name)) and (date := _date(*m.group(1, 2, 3))):
            hour = int(m.group(4))
            return Layout(date=date, hour=hour if hour < 24 else None)
        return hive_layout(key)

    def parse_sql(self, fmt: str | None) -> str:
        """The parse SELECT over `lines` (the format is fixed: `fmt` is not used)."""
        return PARSE_SQL


LOGTYPE = S3AccessLog()
