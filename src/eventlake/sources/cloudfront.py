"""Amazon CloudFront standard access logs (web distributions), the W3C text format of
standard logging (legacy) and of standard logging (v2) to S3 with output format W3C.

Files are tab-separated, gzip-compressed, and open with `#Version: 1.0` and a
`#Fields: ...` header naming the fields of every record in that file. The header is
the file's format key (`log_format`): older files carry fewer fields (24, or 26 with
the field-level encryption fields, before the 33 of December 2019) and standard
logging v2 lets the owner pick fields and their order, so each file is parsed by the
position of each field in its own header. A file without a #Fields header is read in
the documented 33-field order (`parse_sql(None)`). Fields the header names that are not
among the 33 documented ones (v2 adds e.g. `c-country`, `cache-behavior-path-pattern`)
land, as logged, in the JSON object `extra` (name -> value, `-` as null); they never
break a parse. Without `date`/`time` fields, v2's `timestamp` (epoch seconds) or
`timestamp(ms)` gives request_time.

Columns are the documented fields in snake_case with parentheses dropped
(`cs(User-Agent)` -> `cs_user_agent`). `date` and `time` (UTC) become one column,
`request_time` (TIMESTAMPTZ), and `event_date` is its UTC date. `-` is NULL.

URL decoding. CloudFront writes field values with spaces, `%`, control and non-ASCII
bytes and `< > " # { } | \\ ^ ~ [ ] ` '` percent-encoded (RFC 1738 style; `+` is left
alone). The text fields that carry what the viewer or origin sent (cs_uri_stem,
cs_uri_query, cs_referer, cs_user_agent, cs_cookie, x_host_header, x_forwarded_for,
sc_content_type) are decoded exactly once, which undoes that log escaping and nothing
more; the other text fields are codes, ids and addresses CloudFront writes itself and
stay as logged. A user agent logged `Mozilla/5.0%20(X11)` reads `Mozilla/5.0 (X11)`;
one logged `MyApp%2520v2` reads `MyApp%20v2`: such "double encoding" is the log's
escaping of a header that itself held `%20` (iOS apps send their names
percent-encoded), so a second decode would alter the value. Cookies and referers
likewise. `cs_uri_stem` and `cs_uri_query` are logged as the viewer sent them (already
URL-encoded) and then escaped again (a space in a path, `%20`, is logged `%2520`);
after the one decode they read as requested (`/docs/my%20file.pdf`, `q=a%20b`), still
in their own URL encoding. A value whose decoding is not valid UTF-8 is kept as logged.

Bad lines are quarantined with a reason naming the field and value: a field count
other than the header's (a line may end in empty trailing fields, as the AWS example
does), a date/time that is not `YYYY-MM-DD` / `HH:MM:SS`, or a numeric field that is not
a number. `sc_status` 000 (the viewer closed the connection before CloudFront
responded) reads 0.

Layouts: legacy `<optional prefix>/<distribution ID>.YYYY-MM-DD-HH.<unique ID>.gz`; v2
deliveries under `AWSLogs/<account>/CloudFront/` with a suffix path such as
`{DistributionId}/{yyyy}/{MM}/{dd}/{HH}/`, or Hive-style
`distributionid=<id>/year=/month=/day=/hour=/`. JSON and Parquet output of standard
logging v2 is skipped: this parser reads the W3C text format only."""

from __future__ import annotations

import datetime as dt
import re

from ..lake.catalog import sql_literal
from .logtypes import COMMON_COLUMNS, FORMAT_COLUMN, FileFormat, Layout, LineLog, Rule, hive_layout, is_account, parsed_columns, table_def

# The 33 documented fields, in their documented order: (field name as logged, column,
# type). `date` and `time` are read together into request_time.
FIELDS: tuple[tuple[str, str, str], ...] = (
    ("date", "", ""),
    ("time", "", ""),
    ("x-edge-location", "x_edge_location", "VARCHAR"),
    ("sc-bytes", "sc_bytes", "BIGINT"),
    ("c-ip", "c_ip", "VARCHAR"),
    ("cs-method", "cs_method", "VARCHAR"),
    ("cs(Host)", "cs_host", "VARCHAR"),
    ("cs-uri-stem", "cs_uri_stem", "VARCHAR"),
    ("sc-status", "sc_status", "INTEGER"),
    ("cs(Referer)", "cs_referer", "VARCHAR"),
    ("cs(User-Agent)", "cs_user_agent", "VARCHAR"),
    ("cs-uri-query", "cs_uri_query", "VARCHAR"),
    ("cs(Cookie)", "cs_cookie", "VARCHAR"),
    ("x-edge-result-type", "x_edge_result_type", "VARCHAR"),
    ("x-edge-request-id", "x_edge_request_id", "VARCHAR"),
    ("x-host-header", "x_host_header", "VARCHAR"),
    ("cs-protocol", "cs_protocol", "VARCHAR"),
    ("cs-bytes", "cs_bytes", "BIGINT"),
    ("time-taken", "time_taken", "DOUBLE"),
    ("x-forwarded-for", "x_forwarded_for", "VARCHAR"),
    ("ssl-protocol", "ssl_protocol", "VARCHAR"),
    ("ssl-cipher", "ssl_cipher", "VARCHAR"),
    ("x-edge-response-result-type", "x_edge_response_result_type", "VARCHAR"),
    ("cs-protocol-version", "cs_protocol_version", "VARCHAR"),
    ("fle-status", "fle_status", "VARCHAR"),
    ("fle-encrypted-fields", "fle_encrypted_fields", "VARCHAR"),
    ("c-port", "c_port", "INTEGER"),
    ("time-to-first-byte", "time_to_first_byte", "DOUBLE"),
    ("x-edge-detailed-result-type", "x_edge_detailed_result_type", "VARCHAR"),
    ("sc-content-type", "sc_content_type", "VARCHAR"),
    ("sc-content-len", "sc_content_len", "BIGINT"),
    ("sc-range-start", "sc_range_start", "VARCHAR"),
    ("sc-range-end", "sc_range_end", "VARCHAR"),
)
DEFAULT_FIELDS: tuple[str, ...] = tuple(f for f, _, _ in FIELDS)
# Text fields that carry what the viewer (or the origin) sent, and so may hold escaped
# characters; the others are codes, ids, addresses and numbers CloudFront writes itself.
DECODED = frozenset({
    "cs_uri_stem", "cs_referer", "cs_user_agent", "cs_uri_query", "cs_cookie", "x_host_header", "x_forwarded_for",
    "sc_content_type",
})
JSON_KEY = "(json)"  # format key of a file whose records are JSON objects (v2 JSON output)

TABLE = table_def(
    "cloudfront_logs",
    "Amazon CloudFront standard access logs (W3C text, legacy and v2), one row per viewer request, "
    "partitioned by the request's UTC date. Text fields are URL-decoded once (undoing the log's escaping); "
    "fields a file's #Fields header adds beyond the 33 documented ones are in `extra` (JSON).",
    [("request_time", "TIMESTAMPTZ")]
    + [(col, typ) for _, col, typ in FIELDS if col]
    + [("extra", "JSON")],
    has_format=True,
)

RESULT_TYPES = ("Hit", "RefreshHit", "OriginShieldHit", "Miss", "LimitExceeded", "CapacityExceeded", "Error", "Redirect")
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE")
PROTOCOLS = ("http", "https", "ws", "wss")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


RULES: tuple[Rule, ...] = (
    Rule(
        "sc_status_valid",
        "sc_status is 000 (the viewer closed the connection before CloudFront responded) or an HTTP status 100-599",
        "sc_status <> 0 AND (sc_status < 100 OR sc_status > 599)",
    ),
    Rule(
        "x_edge_result_type_known",
        f"x_edge_result_type is one of the documented result types ({', '.join(RESULT_TYPES)})",
        f"x_edge_result_type NOT IN ({_in(RESULT_TYPES)})",
    ),
    Rule(
        "x_edge_response_result_type_known",
        f"x_edge_response_result_type is one of the documented result types ({', '.join(RESULT_TYPES)})",
        f"x_edge_response_result_type NOT IN ({_in(RESULT_TYPES)})",
    ),
    Rule("cs_method_known", f"cs_method is an HTTP method ({', '.join(METHODS)})", f"cs_method NOT IN ({_in(METHODS)})"),
    Rule("cs_protocol_known", f"cs_protocol is one of {', '.join(PROTOCOLS)}", f"cs_protocol NOT IN ({_in(PROTOCOLS)})"),
    Rule("time_taken_non_negative", "time_taken and time_to_first_byte are not negative", "time_taken < 0 OR time_to_first_byte < 0"),
    Rule("bytes_non_negative", "sc_bytes, cs_bytes and sc_content_len are not negative", "sc_bytes < 0 OR cs_bytes < 0 OR sc_content_len < 0"),
)

# -- parsing ------------------------------------------------------------------------

_BY_NAME = {f.lower(): i for i, (f, _, _) in enumerate(FIELDS)}
_NOT_PARSED = {c for c, _ in COMMON_COLUMNS} | {FORMAT_COLUMN[0]}
_INT = "'-?[0-9]+'"
_NUM = "'-?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?'"
_TYPE_WORD = {"BIGINT": "an integer", "INTEGER": "an integer", "DOUBLE": "a number"}


def _canonical(name: str) -> str:
    """A header field name as the key it is looked up by: case-insensitive, and
    `cs-host` (as some tools write it) the same as `cs(Host)`."""
    low = name.lower()
    m = re.fullmatch(r"cs-(host|referer|user-agent|cookie)", low)
    return f"cs({m.group(1)})" if m else low


def _field_names(fmt: str | None) -> list[str]:
    return list(DEFAULT_FIELDS) if fmt is None else fmt.split()


def _decode(expr: str) -> str:
    """URL-decode once; a value whose decoding is not UTF-8 stays as logged."""
    return f"CASE WHEN contains({expr}, '%') THEN coalesce(try(url_decode({expr})), {expr}) ELSE {expr} END"


def parse_sql(fmt: str | None) -> str:
    """The SELECT over `lines` parsing records of format `fmt` (a #Fields header's
    names joined by spaces; None: the documented 33 fields)."""
    cols = [c for c in TABLE.column_names if c not in _NOT_PARSED]
    if fmt == JSON_KEY:
        nulls = ", ".join(f'CAST(NULL AS {dict(TABLE.columns)[c]}) AS "{c}"' for c in cols)
        return (
            f"SELECT source_object, line_no, line, {nulls}, "
            "'JSON record (standard logging v2 JSON output): only the W3C text format is read' AS reason FROM lines"
        )
    names = _field_names(fmt)
    n = len(names)
    pos: dict[str, int] = {}  # canonical documented name -> 1-based position
    extras: list[tuple[str, int]] = []
    seen: set[str] = set()
    for i, name in enumerate(names, 1):
        key = _canonical(name)
        if key in seen:
            continue  # a repeated name: its first position counts
        seen.add(key)
        if key in _BY_NAME:
            pos[key] = i
        else:
            extras.append((name, i))

    def raw(key: str) -> str:
        return f"f[{pos[key]}]" if key in pos else "CAST(NULL AS VARCHAR)"

    what = "the documented format has" if fmt is None else "the #Fields header names"
    checks = [
        f"WHEN nf < {n} OR (nf > {n} AND array_to_string(f[{n + 1}:], '') <> '') "
        f"THEN 'line has ' || nf || ' fields, {what} {n}'"
    ]

    # request_time: date + time, else v2's epoch timestamps
    if "date" in pos and "time" in pos:
        d, t = raw("date"), raw("time")
        ts = f"try_strptime({d} || ' ' || {t}, '%Y-%m-%d %H:%M:%S')"
        checks.append(
            f"WHEN _ts IS NULL AND try_strptime({d}, '%Y-%m-%d') IS NULL "
            f"THEN 'date ' || coalesce('''' || {d} || '''', 'NULL') || ' is not a YYYY-MM-DD date'"
        )
        checks.append(f"WHEN _ts IS NULL THEN 'time ' || coalesce('''' || {t} || '''', 'NULL') || ' is not an HH:MM:SS time'")
    elif (i := next((p for nm, p in extras if nm.lower() == "timestamp(ms)"), None)) is not None:
        ts = f"CASE WHEN regexp_full_match(f[{i}], {_INT}) THEN try(make_timestamp(TRY_CAST(f[{i}] AS BIGINT) * 1000)) END"
        checks.append(f"WHEN _ts IS NULL THEN 'timestamp(ms) ' || coalesce('''' || f[{i}] || '''', 'NULL') || ' is not epoch milliseconds'")
    elif (i := next((p for nm, p in extras if nm.lower() == "timestamp"), None)) is not None:
        ts = (
            f"CASE WHEN regexp_full_match(f[{i}], {_NUM}) "
            f"THEN try(make_timestamp(CAST(round(TRY_CAST(f[{i}] AS DOUBLE) * 1000000) AS BIGINT))) END"
        )
        checks.append(f"WHEN _ts IS NULL THEN 'timestamp ' || coalesce('''' || f[{i}] || '''', 'NULL') || ' is not epoch seconds'")
    else:
        ts = "CAST(NULL AS TIMESTAMP)"
        checks.append(f"WHEN true THEN 'the #Fields header has no date and time fields (nor timestamp): {sql_literal(' '.join(names))[1:-1]}'")

    typed: list[str] = []
    for field, col, typ in FIELDS:
        if not col:
            continue
        if field.lower() not in pos:
            typed.append(f'CAST(NULL AS {typ}) AS "{col}"')
            continue
        r = raw(field.lower())
        if typ == "VARCHAR":
            v = f"nullif({r}, '-')"
            typed.append(f'{_decode(v) if col in DECODED else v} AS "{col}"')
            continue
        # TRY_CAST alone is lenient ('0.5' -> 1, ' 7' -> 7): the pattern keeps it strict
        pattern = _NUM if typ == "DOUBLE" else _INT
        typed.append(f"TRY_CAST(nullif({r}, '-') AS {typ}) AS \"{col}\"")
        typed.append(f'{r} AS "_raw_{col}"')
        checks.append(
            f"WHEN \"_raw_{col}\" <> '-' AND (\"{col}\" IS NULL OR NOT regexp_full_match(\"_raw_{col}\", {pattern})) "
            f"THEN '{col} ''' || \"_raw_{col}\" || ''' is not {_TYPE_WORD[typ]}'"
        )

    if extras:
        pairs = ", ".join(f"{sql_literal(nm)}, nullif(f[{i}], '-')" for nm, i in extras)
        extra = f"json_object({pairs})"
    else:
        extra = "CAST(NULL AS JSON)"

    out = []
    for c in cols:
        if c == "event_date":
            out.append('CAST(_ts AS DATE) AS "event_date"')
        elif c == "request_time":
            out.append("timezone('UTC', _ts) AS \"request_time\"")
        else:
            out.append(f'"{c}"')
    return (
        "SELECT source_object, line_no, line, " + ", ".join(out) + ",\n  CASE " + "\n    ".join(checks) + " END AS reason\n"
        "FROM (\n  SELECT source_object, line_no, line, f, len(f) AS nf,\n    " + ts + " AS _ts,\n    "
        + ",\n    ".join(typed) + ",\n    " + extra + ' AS "extra"\n'
        "  FROM (SELECT source_object, line_no, line, string_split(line, chr(9)) AS f FROM lines)\n)"
    )


# -- layout -------------------------------------------------------------------------

_LEGACY_NAME = re.compile(r"^(?P<dist>[A-Za-z0-9]+)\.(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})-(?P<h>\d{2})\.[^/]+$")
_DIST = re.compile(r"^E[A-Z0-9]{5,19}$")


def _date(y: str, m: str, d: str) -> dt.date | None:
    try:
        return dt.date(int(y), int(m), int(d))
    except ValueError:
        return None


def _hour(h: str | None) -> int | None:
    return int(h) if h is not None and h.isdigit() and int(h) < 24 else None


def layout(key: str) -> Layout:
    """What a CloudFront log object's key tells: distribution id (resource), date and
    hour, and the account when delivered under AWSLogs/<account>/CloudFront/."""
    parts = key.split("/")
    folders, name = parts[:-1], parts[-1]
    account = resource = date = hour = None
    hive = hive_layout(key)
    lowered = {p.split("=", 1)[0].lower(): p.split("=", 1)[1] for p in folders if "=" in p}
    if "AWSLogs" in folders:
        i = folders.index("AWSLogs")
        if i + 1 < len(folders) and is_account(folders[i + 1]):
            account = folders[i + 1]
    account = account or hive.account
    if m := _LEGACY_NAME.match(name):
        resource, date = m.group("dist"), _date(m.group("y"), m.group("m"), m.group("d"))
        hour = _hour(m.group("h")) if date else None
    if lowered.get("distributionid"):
        resource = resource or lowered["distributionid"]
    if date is None and hive.date is not None:
        date, hour = hive.date, hive.hour
    if date is None or resource is None:
        # v2 plain partitioning: .../{DistributionId}/{yyyy}/{MM}/{dd}[/{HH}]/file
        for j in range(len(folders) - 3):
            y, mo, d = folders[j + 1 : j + 4]
            if re.fullmatch(r"\d{4}", y) and re.fullmatch(r"\d{2}", mo) and re.fullmatch(r"\d{2}", d) and (when := _date(y, mo, d)):
                if date is None:
                    date, hour = when, _hour(folders[j + 4]) if j + 4 < len(folders) else None
                if resource is None and _DIST.match(folders[j]):
                    resource = folders[j]
                break
    return Layout(account=account, region=None, resource=resource, date=date, hour=hour)


def skip_reason(key: str) -> str | None:
    name = key.rsplit("/", 1)[-1].lower()
    if not name:
        return "a folder, not a log file"
    if name.endswith((".parquet", ".parquet.gz", ".parquet.snappy")):
        return "Parquet output of CloudFront standard logging (v2): only the W3C text format is read"
    if name.endswith((".json", ".json.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")):
        return "JSON output of CloudFront standard logging (v2): only the W3C text format is read"
    return None


def detect_format(head: list[str]) -> FileFormat:
    """The #Fields header's names joined by spaces (header lines start with '#' and are
    dropped as comments); None, meaning the documented 33 fields, when there is none."""
    for line in head:
        text = line.lstrip("\ufeff")
        if text.startswith("#Fields:"):
            names = text[len("#Fields:") :].split()
            return FileFormat(key=" ".join(names) if names else None)
        if text.strip() and not text.startswith("#"):
            return FileFormat(key=JSON_KEY if text.lstrip().startswith("{") else None)
    return FileFormat()


class CloudFrontLog(LineLog):
    name = "cloudfront"
    table = TABLE
    description = "Amazon CloudFront standard access logs (W3C text with #Fields headers; legacy and v2 deliveries to S3)."
    comment_prefix = "#"
    has_format = True
    rules = RULES

    def skip_reason(self, key: str) -> str | None:
        return skip_reason(key)

    def layout(self, key: str) -> Layout:
        return layout(key)

    def detect_format(self, head: list[str]) -> FileFormat:
        return detect_format(head)

    def columns_for(self, fmt: str | None) -> list[str]:
        always = {"event_date", "request_time", "extra"}
        if fmt == JSON_KEY:
            return [c for c in parsed_columns(self) if c in always]
        present = {FIELDS[_BY_NAME[k]][1] for n in _field_names(fmt) if (k := _canonical(n)) in _BY_NAME} | always
        return [c for c in parsed_columns(self) if c in present]

    def parse_sql(self, fmt: str | None) -> str:
        return parse_sql(fmt)


LOGTYPE = CloudFrontLog()
