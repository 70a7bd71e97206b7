"""CloudFront standard access logs: format detection, the parse SQL on the fixture files
in tests/data/cloudfront/logs (written to the published W3C format: the AWS
documentation example, the 33-, 26- and 24-field headers, a v2 file with its own field
order and extra fields, a file without header, malformed lines), key layouts, skip
rules, check rules, and a property test that no input breaks the parse."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventlake.sources import cloudfront
from eventlake.sources.cloudfront import DEFAULT_FIELDS, JSON_KEY, LOGTYPE, TABLE
from eventlake.sources.logtypes import FileFormat, Layout, parse_lines, parsed_columns

DATA = Path(__file__).parents[1] / "data" / "cloudfront" / "logs"
F33 = " ".join(DEFAULT_FIELDS)
F24 = " ".join(DEFAULT_FIELDS[:24])
F26 = " ".join(DEFAULT_FIELDS[:26])
FV2 = "date time c-ip cs-method cs-uri-stem sc-status sc-bytes time-taken x-edge-location x-edge-result-type cs(User-Agent) c-country cache-behavior-path-pattern cs(Host)"
CHROME78 = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/78.0.3904.108 Safari/537.36"
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0"
UTC = dt.timezone.utc


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def read(path: Path) -> tuple[FileFormat, list[str]]:
    """What the line ingest hands the parser: the file's format and its record lines
    (blank and '#' lines dropped)."""
    raw = path.read_bytes()
    text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode()
    lines = text.split("\n")
    fmt = LOGTYPE.detect_format(lines[:8])
    return fmt, [ln for ln in lines if ln and not ln.startswith("#")]


def parse_file(con, rel: str) -> tuple[str | None, list[dict]]:
    fmt, lines = read(DATA / rel)
    return fmt.key, parse_lines(con, LOGTYPE, lines, fmt.key)


def nulls(**given) -> dict:
    """A parsed row: every parsed column NULL except `given`, plus reason."""
    row = {"line_no": given.pop("line_no"), **{c: None for c in parsed_columns(LOGTYPE)}, "reason": None}
    row.update(given)
    return row


# -- the table --------------------------------------------------------------------


def test_table_columns():
    assert TABLE.name == "cloudfront_logs"
    assert TABLE.columns == (
        ("event_date", "DATE"), ("request_time", "TIMESTAMPTZ"),
        ("x_edge_location", "VARCHAR"), ("sc_bytes", "BIGINT"), ("c_ip", "VARCHAR"), ("cs_method", "VARCHAR"),
        ("cs_host", "VARCHAR"), ("cs_uri_stem", "VARCHAR"), ("sc_status", "INTEGER"), ("cs_referer", "VARCHAR"),
        ("cs_user_agent", "VARCHAR"), ("cs_uri_query", "VARCHAR"), ("cs_cookie", "VARCHAR"), ("x_edge_result_type", "VARCHAR"),
        ("x_edge_request_id", "VARCHAR"), ("x_host_header", "VARCHAR"), ("cs_protocol", "VARCHAR"), ("cs_bytes", "BIGINT"),
        ("time_taken", "DOUBLE"), ("x_forwarded_for", "VARCHAR"), ("ssl_protocol", "VARCHAR"), ("ssl_cipher", "VARCHAR"),
        ("x_edge_response_result_type", "VARCHAR"), ("cs_protocol_version", "VARCHAR"), ("fle_status", "VARCHAR"),
        ("fle_encrypted_fields", "VARCHAR"), ("c_port", "INTEGER"), ("time_to_first_byte", "DOUBLE"),
        ("x_edge_detailed_result_type", "VARCHAR"), ("sc_content_type", "VARCHAR"), ("sc_content_len", "BIGINT"),
        ("sc_range_start", "VARCHAR"), ("sc_range_end", "VARCHAR"), ("extra", "JSON"),
        ("log_format", "VARCHAR"), ("source_object", "VARCHAR"), ("line_no", "BIGINT"), ("raw_line", "VARCHAR"),
        ("ingested_at", "TIMESTAMPTZ"),
    )
    assert LOGTYPE.name == "cloudfront" and LOGTYPE.has_format and LOGTYPE.comment_prefix == "#"
    assert TABLE.partition_by == ("event_date",)


# -- the fixture files ------------------------------------------------------------


def test_aws_documentation_example(con):
    key, rows = parse_file(con, "EMLARXS9EXAMPLE.2019-12-04-21.RT4KCN4SGK9.gz")
    assert key == F33
    assert [r["reason"] for r in rows] == [None] * 6
    assert rows[0] == {
        "line_no": 1, "event_date": dt.date(2019, 12, 4), "request_time": utc("2019-12-04 21:02:31"),
        "x_edge_location": "LAX1", "sc_bytes": 392, "c_ip": "192.0.2.100", "cs_method": "GET",
        "cs_host": "d111111abcdef8.cloudfront.net", "cs_uri_stem": "/index.html", "sc_status": 200, "cs_referer": None,
        "cs_user_agent": CHROME78, "cs_uri_query": None, "cs_cookie": None, "x_edge_result_type": "Hit",
        "x_edge_request_id": "SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==",
        "x_host_header": "d111111abcdef8.cloudfront.net", "cs_protocol": "https", "cs_bytes": 23, "time_taken": 0.001,
        "x_forwarded_for": None, "ssl_protocol": "TLSv1.2", "ssl_cipher": "ECDHE-RSA-AES128-GCM-SHA256",
        "x_edge_response_result_type": "Hit", "cs_protocol_version": "HTTP/2.0", "fle_status": None, "fle_encrypted_fields": None,
        "c_port": 11040, "time_to_first_byte": 0.001, "x_edge_detailed_result_type": "Hit", "sc_content_type": "text/html",
        "sc_content_len": 78, "sc_range_start": None, "sc_range_end": None, "extra": None, "reason": None,
    }
    # the third line ends in a tab in the documentation: an empty 34th field is no error
    assert rows[2]["x_edge_request_id"] == "f37nTMVvnKvV2ZSvEsivup_c2kZ7VXzYdjC-GUQZ5qNs-89BlWazbw==" and rows[2]["sc_range_end"] is None
    assert {k: rows[3][k] for k in ("request_time", "x_edge_location", "cs_uri_stem", "sc_status", "cs_referer", "x_edge_result_type",
                                    "x_host_header", "cs_protocol", "cs_bytes", "ssl_protocol", "x_edge_detailed_result_type", "c_port")} == {
        "request_time": utc("2019-12-13 22:36:27"), "x_edge_location": "SEA19-C1", "cs_uri_stem": "/favicon.ico", "sc_status": 502,
        "cs_referer": "http://www.example.com/", "x_edge_result_type": "Error", "x_host_header": "www.example.com", "cs_protocol": "http",
        "cs_bytes": 675, "ssl_protocol": None, "x_edge_detailed_result_type": "OriginDnsError", "c_port": 25260,
    }
    assert rows[5]["cs_user_agent"] == "curl/7.55.1" and rows[5]["event_date"] == dt.date(2019, 12, 13)


def test_full_header_file(con):
    key, rows = parse_file(con, "cdn-logs/E2EXAMPLE1.2024-03-01-10.a1b2c3d4")
    assert key == F33
    assert len(rows) == 11 and all(r["reason"] is None for r in rows)
    assert rows[3] == {
        "line_no": 4, "event_date": dt.date(2024, 3, 1), "request_time": utc("2024-03-01 10:02:00"),
        "x_edge_location": "FRA56-P1", "sc_bytes": 5000, "c_ip": "198.51.100.7", "cs_method": "GET",
        "cs_host": "d2222222abcdef.cloudfront.net",
        "cs_uri_stem": "/img/logo%20big.png",  # logged /img/logo%2520big.png: the viewer asked for logo%20big.png
        "sc_status": 200, "cs_referer": "https://www.example.com/index.html",
        "cs_user_agent": "MyApp%20Beta/2.1 CFNetwork/1408.0.4 Darwin/22.5.0",  # the app sent its name percent-encoded
        "cs_uri_query": None, "cs_cookie": None, "x_edge_result_type": "RefreshHit",
        "x_edge_request_id": "b4UmVmcmVzaF9oaXRfZm91cl9mb3VyNA==", "x_host_header": "www.example.com", "cs_protocol": "https",
        "cs_bytes": 310, "time_taken": 0.03, "x_forwarded_for": None, "ssl_protocol": "TLSv1.3", "ssl_cipher": "TLS_AES_128_GCM_SHA256",
        "x_edge_response_result_type": "RefreshHit", "cs_protocol_version": "HTTP/2.0", "fle_status": None, "fle_encrypted_fields": None,
        "c_port": 51234, "time_to_first_byte": 0.028, "x_edge_detailed_result_type": "RefreshHit", "sc_content_type": "image/png",
        "sc_content_len": 4700, "sc_range_start": None, "sc_range_end": None, "extra": None, "reason": None,
    }
    search = rows[4]
    assert (search["cs_uri_query"], search["cs_user_agent"], search["time_taken"]) == (
        "q=caf%C3%A9%20cr%C3%A8me&page=2", FIREFOX, 0.25)  # the query string as requested (still URL-encoded)
    error = rows[5]
    assert (error["cs_method"], error["sc_status"], error["x_edge_result_type"], error["x_edge_detailed_result_type"],
            error["cs_bytes"], error["sc_content_len"]) == ("POST", 502, "Error", "OriginConnectError", 1800, None)
    aborted = rows[7]  # 000: the viewer closed the connection before CloudFront responded
    assert (aborted["sc_status"], aborted["c_ip"], aborted["sc_bytes"], aborted["x_edge_response_result_type"],
            aborted["time_to_first_byte"], aborted["sc_content_type"]) == (0, "2001:db8::1", 0, "Miss", None, None)
    redirect = rows[8]
    assert (redirect["sc_status"], redirect["x_edge_result_type"], redirect["cs_protocol"], redirect["ssl_protocol"],
            redirect["ssl_cipher"], redirect["time_taken"]) == (301, "Redirect", "http", None, None, 0.0)
    proxied = rows[9]
    assert (proxied["cs_cookie"], proxied["c_ip"], proxied["x_forwarded_for"]) == ("session=abc123; theme=dark", "10.0.0.5", "203.0.113.50")
    ranged = rows[10]
    assert (ranged["sc_status"], ranged["sc_bytes"], ranged["sc_content_len"], ranged["sc_range_start"], ranged["sc_range_end"],
            ranged["sc_content_type"]) == (206, 1048900, 1048576, "0", "1048575", "video/mp4")


def test_malformed_lines_are_quarantined_with_a_reason(con):
    _, rows = parse_file(con, "cdn-logs/E2EXAMPLE1.2024-03-01-11.e5f6a7b8")
    assert [(r["line_no"], r["reason"]) for r in rows] == [
        (1, None),
        (2, None),
        (3, "line has 6 fields, the #Fields header names 33"),
        (4, "date '2024-02-30' is not a YYYY-MM-DD date"),
        (5, "sc_status '2O0' is not an integer"),
        (6, None),
    ]
    assert (rows[1]["sc_status"], rows[1]["x_edge_result_type"], rows[1]["sc_content_len"]) == (304, "RefreshHit", None)
    assert (rows[5]["cs_method"], rows[5]["cs_user_agent"]) == ("HEAD", "Slackbot 1.0 (+https://api.slack.com/robots)")  # '+' stays


def test_gzip_file(con):
    key, rows = parse_file(con, "cdn-logs/E2EXAMPLE1.2024-03-02-09.c0ffee00.gz")
    assert key == F33
    assert [(r["request_time"], r["cs_uri_stem"], r["sc_status"], r["x_edge_result_type"], r["reason"]) for r in rows] == [
        (utc("2024-03-02 09:00:00"), "/index.html", 200, "Hit", None),
        (utc("2024-03-02 09:10:00"), "/api/search", 503, "CapacityExceeded", None),
        (utc("2024-03-02 09:20:00"), "/img/logo%20big.png", 200, "Hit", None),
    ]


def test_24_field_header_of_2017(con):
    key, rows = parse_file(con, "old/E1OLDDIST01.2017-06-15-08.0a1b2c3d")
    assert key == F24
    assert rows[0] == nulls(
        line_no=1, event_date=dt.date(2017, 6, 15), request_time=utc("2017-06-15 08:15:00"), x_edge_location="IAD53",
        sc_bytes=2097460, c_ip="192.0.2.77", cs_method="GET", cs_host="d1111111oldist.cloudfront.net",
        cs_uri_stem="/downloads/app.zip", sc_status=200, cs_user_agent="Wget/1.19.1 (linux-gnu)", x_edge_result_type="Miss",
        x_edge_request_id="e1T2xkRm9ybWF0XzI0X2ZpZWxkc19vbmU=", x_host_header="downloads.example.net", cs_protocol="https",
        cs_bytes=180, time_taken=3.21, ssl_protocol="TLSv1.2", ssl_cipher="ECDHE-RSA-AES128-GCM-SHA256",
        x_edge_response_result_type="Miss", cs_protocol_version="HTTP/1.1",
    )  # fle-status .. sc-range-end did not exist yet: NULL
    assert rows[1]["reason"] is None and rows[1]["cs_protocol_version"] == "HTTP/2.0"


def test_26_field_header_with_field_level_encryption(con):
    key, rows = parse_file(con, "old/E1OLDDIST01.2018-11-20-17.4d5e6f70")
    assert key == F26
    assert rows == [nulls(
        line_no=1, event_date=dt.date(2018, 11, 20), request_time=utc("2018-11-20 17:42:13"), x_edge_location="FRA2",
        sc_bytes=182, c_ip="192.0.2.10", cs_method="POST", cs_host="d1111111oldist.cloudfront.net", cs_uri_stem="/view/my/file.html",
        sc_status=200, cs_referer="www.displaymyfiles.com", cs_user_agent="Mozilla/4.0 (compatible; MSIE 5.0b1; Mac_PowerPC)",
        cs_uri_query="zip=98101", x_edge_result_type="RefreshHit", x_edge_request_id="f1RmxlRm9ybWF0XzI2X2ZpZWxkc19vbmU=",
        x_host_header="d1111111oldist.cloudfront.net", cs_protocol="http", time_taken=0.001,
        x_edge_response_result_type="RefreshHit", cs_protocol_version="HTTP/1.1", fle_status="Processed", fle_encrypted_fields="1",
    )]


def test_own_field_order_and_extra_fields(con):
    rel = "v2/distributionid=E3V2DIST0001/year=2024/month=03/day=02/hour=14/E3V2DIST0001.2024-03-02-14.7f3a9c21.log"
    key, rows = parse_file(con, rel)
    assert key == FV2
    assert rows[0] == nulls(
        line_no=1, event_date=dt.date(2024, 3, 2), request_time=utc("2024-03-02 14:00:00"), c_ip="192.0.2.20", cs_method="GET",
        cs_uri_stem="/docs/guide%20v2.pdf", sc_status=200, sc_bytes=20480, time_taken=0.016, x_edge_location="AMS1-C1",
        x_edge_result_type="Hit", cs_user_agent=FIREFOX, cs_host="d3333333abcdef.cloudfront.net",
        extra='{"c-country":"NL","cache-behavior-path-pattern":"/docs/*"}',
    )
    # undocumented fields are kept as logged ('-' as null), never decoded or typed
    assert [json.loads(r["extra"]) for r in rows[1:]] == [
        {"c-country": "DE", "cache-behavior-path-pattern": "/docs/*"},
        {"c-country": None, "cache-behavior-path-pattern": "Default%20(*)"},
    ]
    assert [r["reason"] for r in rows] == [None, None, None]


def test_file_without_fields_header_reads_the_documented_order(con):
    key, rows = parse_file(con, "headerless/E2EXAMPLE1.2024-03-02-23.deadbeef")
    assert key is None
    assert (rows[0]["request_time"], rows[0]["event_date"], rows[0]["c_port"], rows[0]["reason"]) == (
        utc("2024-03-02 23:59:59"), dt.date(2024, 3, 2), 51234, None)
    assert LOGTYPE.parse_sql(None) == LOGTYPE.parse_sql(F33).replace("the #Fields header names", "the documented format has")


# -- detect_format ----------------------------------------------------------------


@pytest.mark.parametrize("head, key", [
    (["#Version: 1.0", f"#Fields: {F33}", "2019-12-04\t21:02:31"], F33),
    ([f"#Fields:  {F24}  "], F24),  # spacing around the names does not matter
    (["\ufeff#Version: 1.0", f"#Fields: {FV2}"], FV2),
    (["2019-12-04\t21:02:31\tLAX1"], None),  # no header: the documented 33 fields
    (["#Version: 1.0", "", "2019-12-04\t21:02:31"], None),
    ([], None),
    (['{"date":"2024-03-02","time":"14:20:00"}'], JSON_KEY),  # v2 JSON output
])
def test_detect_format(head, key):
    assert LOGTYPE.detect_format(head) == FileFormat(key=key, header_lines=0)


def test_json_records_get_a_clear_reason(con):
    rows = parse_lines(con, LOGTYPE, ['{"date":"2024-03-02"}'], JSON_KEY)
    assert rows == [nulls(line_no=1, reason="JSON record (standard logging v2 JSON output): only the W3C text format is read")]


# -- values -----------------------------------------------------------------------


def line33(**fields: str) -> str:
    """A documented 33-field line: a plain good record with `fields` replaced."""
    base = dict(zip(DEFAULT_FIELDS, (
        "2024-03-01 10:00:00 LAX50-C1 1200 192.0.2.10 GET d2222222abcdef.cloudfront.net /index.html 200 - curl/8.4.0 - - Hit "
        "rid== www.example.com https 310 0.002 - TLSv1.3 TLS_AES_128_GCM_SHA256 Hit HTTP/2.0 - - 51234 0.001 Hit text/html 1024 - -"
    ).split(" ")))
    base.update({k.replace("_", "-"): v for k, v in fields.items()})
    return "\t".join(base[f] for f in DEFAULT_FIELDS)


def one(con, **fields) -> dict:
    return parse_lines(con, LOGTYPE, [line33(**fields)], F33)[0]


@pytest.mark.parametrize("logged, parsed", [
    ("Mozilla/5.0%20(X11)", "Mozilla/5.0 (X11)"),
    ("MyApp%2520v2", "MyApp%20v2"),  # decoded once: the header itself held %20
    ("a+b", "a+b"),  # '+' is not a space in CloudFront's escaping
    ("caf%C3%A9", "café"),
    ("bad%C3", "bad%C3"),  # decoding gives no UTF-8: kept as logged
    ("100%", "100%"),
    ("%zz", "%zz"),
    ("%22quoted%22%20%7Bbraces%7D", '"quoted" {braces}'),
    ("-", None),
])
def test_user_agent_decoding(con, logged, parsed):
    row = one(con, **{"cs(User-Agent)": logged})
    assert (row["cs_user_agent"], row["reason"]) == (parsed, None)


def test_which_fields_are_decoded(con):
    row = one(con, sc_content_type="text/html;%20charset=utf-8", x_forwarded_for="203.0.113.50,%20198.51.100.1",
              x_host_header="www.example.com", x_edge_request_id="ab%20cd==", ssl_cipher="X%20Y")
    assert (row["sc_content_type"], row["x_forwarded_for"], row["x_host_header"]) == (
        "text/html; charset=utf-8", "203.0.113.50, 198.51.100.1", "www.example.com")
    # fields CloudFront writes itself are kept as logged
    assert (row["x_edge_request_id"], row["ssl_cipher"], row["reason"]) == ("ab%20cd==", "X%20Y", None)


@pytest.mark.parametrize("field, value, reason", [
    ("sc-bytes", "12.5", "sc_bytes '12.5' is not an integer"),
    ("sc-bytes", " 12", "sc_bytes ' 12' is not an integer"),
    ("sc-bytes", "1e3", "sc_bytes '1e3' is not an integer"),
    ("sc-bytes", "", "sc_bytes '' is not an integer"),
    ("sc-status", "99999999999", "sc_status '99999999999' is not an integer"),
    ("cs-bytes", "x", "cs_bytes 'x' is not an integer"),
    ("time-taken", "fast", "time_taken 'fast' is not a number"),
    ("time-taken", "nan", "time_taken 'nan' is not a number"),
    ("time-to-first-byte", "0.0.1", "time_to_first_byte '0.0.1' is not a number"),
    ("c-port", "http", "c_port 'http' is not an integer"),
    ("sc-content-len", "-1x", "sc_content_len '-1x' is not an integer"),
    ("date", "2024-3-01x", "date '2024-3-01x' is not a YYYY-MM-DD date"),
    ("date", "-", "date '-' is not a YYYY-MM-DD date"),
    ("time", "10:00", "time '10:00' is not an HH:MM:SS time"),
    ("time", "24:00:01", "time '24:00:01' is not an HH:MM:SS time"),
])
def test_bad_values(con, field, value, reason):
    row = one(con, **{field: value})
    assert row["reason"] == reason


def test_numbers_parse_as_logged(con):
    row = one(con, sc_bytes="0", time_taken="1.5e-3", time_to_first_byte=".5", sc_content_len="-")
    assert (row["sc_bytes"], row["time_taken"], row["time_to_first_byte"], row["sc_content_len"], row["reason"]) == (0, 0.0015, 0.5, None, None)
    row = one(con, sc_bytes="-5", time_taken="-0.001")  # parsed; `eventlake check` flags them (rules)
    assert (row["sc_bytes"], row["time_taken"], row["reason"]) == (-5, -0.001, None)


def test_field_count(con):
    good = line33()
    rows = parse_lines(con, LOGTYPE, [good + "\t", good + "\t\t", good + "\tx", good.rsplit("\t", 1)[0]], F33)
    assert [r["reason"] for r in rows] == [
        None, None, "line has 34 fields, the #Fields header names 33", "line has 32 fields, the #Fields header names 33",
    ]
    rows = parse_lines(con, LOGTYPE, ["a\tb"], None)
    assert rows[0]["reason"] == "line has 2 fields, the documented format has 33"


def test_request_time_is_utc_whatever_the_session_time_zone():
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Pacific/Kiritimati'")  # UTC+14
    row = parse_lines(con, LOGTYPE, [line33(date="2024-03-02", time="23:59:59")], F33)[0]
    assert row["event_date"] == dt.date(2024, 3, 2)
    assert row["request_time"].astimezone(UTC) == utc("2024-03-02 23:59:59")
    con.close()


def test_v2_epoch_timestamps(con):
    rows = parse_lines(con, LOGTYPE, ["1709251200123\tGET\t200", "17092512001x\tGET\t200"], "timestamp(ms) cs-method sc-status")
    assert (rows[0]["request_time"], rows[0]["event_date"], rows[0]["reason"]) == (
        utc("2024-03-01 00:00:00.123"), dt.date(2024, 3, 1), None)
    assert json.loads(rows[0]["extra"]) == {"timestamp(ms)": "1709251200123"}
    assert rows[1]["reason"] == "timestamp(ms) '17092512001x' is not epoch milliseconds"
    rows = parse_lines(con, LOGTYPE, ["1709337599.500\t/a", "1e300\t/a", "99999999999999\t/a"], "timestamp cs-uri-stem")
    assert (rows[0]["request_time"], rows[0]["event_date"], rows[0]["reason"]) == (utc("2024-03-01 23:59:59.5"), dt.date(2024, 3, 1), None)
    assert [r["reason"] for r in rows[1:]] == ["timestamp '1e300' is not epoch seconds", "timestamp '99999999999999' is not epoch seconds"]
    rows = parse_lines(con, LOGTYPE, ["9223372036854775807\tGET"], "timestamp(ms) cs-method")  # overflows: no error
    assert rows[0]["reason"] == "timestamp(ms) '9223372036854775807' is not epoch milliseconds"


def test_header_without_date_and_time(con):
    rows = parse_lines(con, LOGTYPE, ["GET\t/a"], "cs-method cs-uri-stem")
    assert rows[0]["reason"] == "the #Fields header has no date and time fields (nor timestamp): cs-method cs-uri-stem"


def test_header_names_are_matched_leniently(con):
    """Field names case-insensitively, cs-host for cs(Host); a repeated name counts once."""
    rows = parse_lines(con, LOGTYPE, ["2024-03-01\t10:00:00\twww.example.com\tGET\tPOST"], "DATE Time cs-host cs-method cs-method")
    assert (rows[0]["cs_host"], rows[0]["cs_method"], rows[0]["extra"], rows[0]["reason"]) == ("www.example.com", "GET", None, None)


# -- layouts and skips -------------------------------------------------------------


@pytest.mark.parametrize("key, layout", [
    ("example-prefix/EMLARXS9EXAMPLE.2019-11-14-20.RT4KCN4SGK9.gz",
     Layout(resource="EMLARXS9EXAMPLE", date=dt.date(2019, 11, 14), hour=20)),
    ("EMLARXS9EXAMPLE.2019-11-14-20.RT4KCN4SGK9.gz", Layout(resource="EMLARXS9EXAMPLE", date=dt.date(2019, 11, 14), hour=20)),
    ("a/b/E2EXAMPLE1.2024-03-01-10.a1b2c3d4", Layout(resource="E2EXAMPLE1", date=dt.date(2024, 3, 1), hour=10)),
    ("logs/AWSLogs/111122223333/CloudFront/E3V2DIST0001/2024/03/02/14/part-0001.log.gz",
     Layout(account="111122223333", resource="E3V2DIST0001", date=dt.date(2024, 3, 2), hour=14)),
    ("logs/E3V2DIST0001/2024/03/02/part-0001.log.gz", Layout(resource="E3V2DIST0001", date=dt.date(2024, 3, 2))),
    ("cf/distributionid=E3V2DIST0001/year=2024/month=03/day=02/hour=14/part-0001.log.gz",
     Layout(resource="E3V2DIST0001", date=dt.date(2024, 3, 2), hour=14)),
    ("AWSLogs/aws-account-id=111122223333/CloudFront/DistributionId=E3V2DIST0001/year=2024/month=03/day=02/hour=07/x.gz",
     Layout(account="111122223333", resource="E3V2DIST0001", date=dt.date(2024, 3, 2), hour=7)),
    ("EMLARXS9EXAMPLE.2019-02-30-20.RT4KCN4SGK9.gz", Layout(resource="EMLARXS9EXAMPLE")),  # no such day
    ("logs/random-file.txt", Layout()),
])
def test_layout(key, layout):
    assert LOGTYPE.layout(key) == layout


@pytest.mark.parametrize("key, reason", [
    ("a/EMLARXS9EXAMPLE.2019-11-14-20.RT4KCN4SGK9.gz", None),
    ("a/E3V2DIST0001/2024/03/02/14/part-0001.log", None),
    ("a/part-0001.parquet", "Parquet output of CloudFront standard logging (v2): only the W3C text format is read"),
    ("a/part-0001.json.gz", "JSON output of CloudFront standard logging (v2): only the W3C text format is read"),
    ("a/part-0001.JSON", "JSON output of CloudFront standard logging (v2): only the W3C text format is read"),
    ("a/folder/", "a folder, not a log file"),
])
def test_skip_reason(key, reason):
    assert LOGTYPE.skip_reason(key) == reason


# -- check rules -------------------------------------------------------------------


def test_rules(con):
    lines = [
        line33(),  # 1: good
        line33(sc_status="000"),  # 2: aborted: fine
        line33(sc_status="700"),  # 3
        line33(x_edge_result_type="Bogus"),  # 4
        line33(cs_method="FETCH"),  # 5
        line33(time_taken="-0.5"),  # 6
        line33(sc_bytes="-1"),  # 7
        line33(cs_protocol="gopher"),  # 8
        line33(x_edge_response_result_type="Nope"),  # 9
        line33(x_edge_result_type="OriginShieldHit", cs_method="OPTIONS", sc_status="100"),  # 10: fine
    ]
    rows = parse_lines(con, LOGTYPE, lines, F33)
    assert all(r["reason"] is None for r in rows)
    import pyarrow as pa

    con.register("parsed", pa.Table.from_pylist(rows))
    try:
        fired = {
            rule.name: [n for (n,) in con.execute(f"SELECT line_no FROM parsed WHERE {rule.violation} ORDER BY line_no").fetchall()]
            for rule in LOGTYPE.rules
        }
    finally:
        con.unregister("parsed")
    assert fired == {
        "sc_status_valid": [3],
        "x_edge_result_type_known": [4],
        "x_edge_response_result_type_known": [9],
        "cs_method_known": [5],
        "cs_protocol_known": [8],
        "time_taken_non_negative": [6],
        "bytes_non_negative": [7],
    }
    assert all(rule.description for rule in LOGTYPE.rules)


# -- no input breaks the parse -------------------------------------------------------

_FIXTURE_LINES = [ln for f in sorted(DATA.rglob("*")) if f.is_file() and not f.name.endswith(".json") for ln in read(f)[1]]
_FORMATS = [None, F33, F24, F26, FV2, "timestamp cs-uri-stem", "timestamp(ms) sc-status", "cs-method", ""]
_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)


@st.composite
def mutated(draw) -> str:
    fields = draw(st.sampled_from(_FIXTURE_LINES)).split("\t")
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(fields) - 1))
        op = draw(st.sampled_from(["replace", "delete", "insert", "percent", "truncate"]))
        if op == "replace":
            fields[i] = draw(_TEXT)
        elif op == "delete" and len(fields) > 1:
            del fields[i]
        elif op == "insert":
            fields.insert(i, draw(_TEXT))
        elif op == "percent":
            fields[i] = fields[i] + draw(st.sampled_from(["%", "%2", "%C3", "%25", "%00", "%FF%FE", "\t", "%E2%82"]))
        elif op == "truncate":
            fields[i] = fields[i][: draw(st.integers(0, max(len(fields[i]) - 1, 0)))]
    return "\t".join(fields)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.one_of(mutated(), _TEXT), min_size=1, max_size=12), fmt=st.sampled_from(_FORMATS))
def test_no_line_breaks_the_parse(lines, fmt):
    lines = [ln.replace("\n", " ").replace("\r", " ") for ln in lines]  # the ingest cuts lines at line ends
    con = _PROPERTY_CON
    rows = parse_lines(con, LOGTYPE, lines, fmt)
    assert [r["line_no"] for r in rows] == list(range(1, len(lines) + 1))
    for r in rows:
        assert r["event_date"] is not None if r["reason"] is None else isinstance(r["reason"], str) and r["reason"]


_PROPERTY_CON = duckdb.connect()


def test_every_fixture_line_parses(con):
    """Every record line of every fixture file parses, except the three malformed ones."""
    bad = []
    for f in sorted(DATA.rglob("*")):
        if f.is_file() and LOGTYPE.skip_reason(str(f.relative_to(DATA))) is None:
            fmt, lines = read(f)
            bad += [(f.name, r["line_no"]) for r in parse_lines(con, LOGTYPE, lines, fmt.key) if r["reason"]]
    assert bad == [("E2EXAMPLE1.2024-03-01-11.e5f6a7b8", 3), ("E2EXAMPLE1.2024-03-01-11.e5f6a7b8", 4), ("E2EXAMPLE1.2024-03-01-11.e5f6a7b8", 5)]


def test_module_functions_are_the_logtype_methods():
    assert LOGTYPE.parse_sql(F24) == cloudfront.parse_sql(F24)
    assert LOGTYPE.layout("x/E2EXAMPLE1.2024-03-01-10.a") == cloudfront.layout("x/E2EXAMPLE1.2024-03-01-10.a")


def test_header_field_names_cannot_inject_sql(con):
    """Field names come from the file: quotes and SQL in them stay data (an undocumented
    field lands in extra under its own name)."""
    evil = "x');DROP_TABLE_events;--"
    fmt = f"date time sc-status {evil} it's"
    (row,) = parse_lines(con, LOGTYPE, ["2024-03-01\t10:00:00\t200\tboom\tquote"], fmt)
    assert row["reason"] is None and row["sc_status"] == 200
    assert json.loads(row["extra"]) == {evil: "boom", "it's": "quote"}
