"""Amazon S3 server access logs: the parse SQL on the fixture files in
tests/data/s3_access (written to the published format: the AWS documentation examples of
2014, 2019 and today, the oldest 17-field lines, a lifecycle record with '-' nearly
everywhere, an unknown trailing field, quoted fields with spaces and quotes, malformed
lines, a gzip file, both delivery layouts), bad values, key layouts, skip rules, check
rules, and a property test that no input breaks the parse."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventlake.sources.logtypes import Layout, parse_lines, parsed_columns
from eventlake.sources.s3_access import LOGTYPE, TABLE

DATA = Path(__file__).parents[1] / "data" / "s3_access"
SIMPLE = DATA / "simple" / "logs"
PARTITIONED = DATA / "partitioned" / "logs" / "123456789012" / "us-east-1"
OWNER = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
HOSTID = "hJ3gK7mN0pQ2rS5tU8vW1xY4zA6bC9dE2fG5hI8jK1lM4nO7pQ0rS3tU6vW9xY2zA5bC8dE1fG4="
BOTO = "Boto3/1.34.50 md/Botocore#1.34.50 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.6 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.50"
CLI = "aws-cli/2.15.0 Python/3.11.6 Linux/6.5.0-1014-aws exe/x86_64.ubuntu.22 prompt/off command/s3.cp"
UTC = dt.timezone.utc
TRAILING = (
    "version_id", "host_id", "signature_version", "cipher_suite", "authentication_type", "host_header", "tls_version",
    "access_point_arn", "acl_required", "source_region", "extra",
)


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def read(path: Path) -> list[str]:
    """What the line ingest hands the parser: the file's non-blank lines."""
    raw = path.read_bytes()
    text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode()
    return [ln for ln in text.split("\n") if ln]


_FIXTURE_LINES = [ln for p in sorted(DATA.rglob("*")) if p.is_file() and LOGTYPE.skip_reason(str(p)) is None for ln in read(p)]


def parse(con, lines: list[str]) -> list[dict]:
    rows = parse_lines(con, LOGTYPE, lines)
    assert [r["line_no"] for r in rows] == list(range(1, len(lines) + 1))
    return rows


def parse_file(con, path: Path) -> list[dict]:
    return parse(con, read(path))


def good(**fields) -> dict:
    """An expected row: every parsed column NULL unless given, reason NULL."""
    row = {c: None for c in parsed_columns(LOGTYPE)}
    row.update(fields, reason=None)
    return row


def values(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "line_no"}


def line(status="200", time="[06/Feb/2019:00:00:38 +0000]", sent="113", size="-", total="7", tat="-", tail=" - -", **over) -> str:
    """A documentation-style line with fields replaced by keyword."""
    f = {
        "owner": OWNER, "bucket": "mybucket", "time": time, "ip": "192.0.2.3", "requester": OWNER, "rid": "3E57427F3EXAMPLE",
        "op": "REST.GET.OBJECT", "key": "photos/puppy.jpg", "uri": '"GET /mybucket/photos/puppy.jpg HTTP/1.1"', "status": status,
        "error": "-", "sent": sent, "size": size, "total": total, "tat": tat, "referer": '"-"', "ua": '"curl/7.15.1"',
    }
    f.update(over)
    return " ".join(f.values()) + tail


def test_table_columns():
    assert TABLE.name == "s3_access_logs"
    assert TABLE.partition_by == ("event_date",)
    assert TABLE.columns == (
        ("event_date", "DATE"),
        ("bucket_owner", "VARCHAR"),
        ("bucket", "VARCHAR"),
        ("request_time", "TIMESTAMPTZ"),
        ("remote_ip", "VARCHAR"),
        ("requester", "VARCHAR"),
        ("request_id", "VARCHAR"),
        ("operation", "VARCHAR"),
        ("key", "VARCHAR"),
        ("request_uri", "VARCHAR"),
        ("http_status", "INTEGER"),
        ("error_code", "VARCHAR"),
        ("bytes_sent", "BIGINT"),
        ("object_size", "BIGINT"),
        ("total_time", "BIGINT"),
        ("turn_around_time", "BIGINT"),
        ("referer", "VARCHAR"),
        ("user_agent", "VARCHAR"),
        ("version_id", "VARCHAR"),
        ("host_id", "VARCHAR"),
        ("signature_version", "VARCHAR"),
        ("cipher_suite", "VARCHAR"),
        ("authentication_type", "VARCHAR"),
        ("host_header", "VARCHAR"),
        ("tls_version", "VARCHAR"),
        ("access_point_arn", "VARCHAR"),
        ("acl_required", "VARCHAR"),
        ("source_region", "VARCHAR"),
        ("extra", "VARCHAR"),
        ("source_object", "VARCHAR"),
        ("line_no", "BIGINT"),
        ("raw_line", "VARCHAR"),
        ("ingested_at", "TIMESTAMPTZ"),
    )
    assert not LOGTYPE.has_format and LOGTYPE.comment_prefix is None and LOGTYPE.name == "s3-access"


# -- the fixture files ---------------------------------------------------------------


def test_aws_documentation_example_of_today(con):
    """The current documentation's records: 27 fields, up to Access Point ARN, ACL
    required and Source region."""
    rows = parse_file(con, SIMPLE / "2019-02-06-00-10-00-8D2E4C6A0B1F3E59")
    assert [values(r) for r in rows] == [
        good(
            event_date=dt.date(2019, 2, 6), bucket_owner=OWNER, bucket="amzn-s3-demo-bucket1", request_time=utc("2019-02-06 00:00:38"),
            remote_ip="192.0.2.3", requester=OWNER, request_id="3E57427F3EXAMPLE", operation="REST.GET.VERSIONING",
            request_uri="GET /amzn-s3-demo-bucket1?versioning HTTP/1.1", http_status=200, bytes_sent=113, total_time=7,
            user_agent="S3Console/0.4", host_id="s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234=",
            signature_version="SigV4", cipher_suite="ECDHE-RSA-AES128-GCM-SHA256", authentication_type="AuthHeader",
            host_header="amzn-s3-demo-bucket1.s3.us-west-1.amazonaws.com", tls_version="TLSV1.2",
            access_point_arn="arn:aws:s3:us-west-1:123456789012:accesspoint/example-AP", acl_required="Yes", source_region="us-east-1",
        ),
        good(
            event_date=dt.date(2019, 2, 6), bucket_owner=OWNER, bucket="amzn-s3-demo-bucket1", request_time=utc("2019-02-06 00:00:38"),
            remote_ip="192.0.2.3", requester=OWNER, request_id="891CE47D2EXAMPLE", operation="REST.GET.LOGGING_STATUS",
            request_uri="GET /amzn-s3-demo-bucket1?logging HTTP/1.1", http_status=200, bytes_sent=242, total_time=11,
            user_agent="S3Console/0.4", host_id="9vKBE6vMhrNiWHZmb2L0mXOcqPGzQOI5XLnCtZNPxev+Hf+7tpT6sxDwDty4LHBUOZJG96N1234=",
            signature_version="SigV4", cipher_suite="ECDHE-RSA-AES128-GCM-SHA256", authentication_type="AuthHeader",
            host_header="amzn-s3-demo-bucket1.s3.us-west-1.amazonaws.com", tls_version="TLSV1.2", source_region="us-east-1",
        ),
    ]


def test_aws_documentation_example_of_2019(con):
    """23 fields: up to TLS version."""
    rows = parse_file(con, SIMPLE / "2019-02-06-00-05-12-3E57427F3EXAMPLE")
    assert [r["reason"] for r in rows] == [None] * 5
    assert [(r["request_id"], r["operation"], r["http_status"], r["error_code"], r["bytes_sent"], r["total_time"]) for r in rows] == [
        ("3E57427F3EXAMPLE", "REST.GET.VERSIONING", 200, None, 113, 7),
        ("891CE47D2EXAMPLE", "REST.GET.LOGGING_STATUS", 200, None, 242, 11),
        ("A1206F460EXAMPLE", "REST.GET.BUCKETPOLICY", 404, "NoSuchBucketPolicy", 297, 38),
        ("7B4A0FABBEXAMPLE", "REST.GET.VERSIONING", 200, None, 113, 33),
        ("DD6CC733AEXAMPLE", "REST.PUT.OBJECT", 200, None, None, 41754),
    ]
    assert values(rows[4]) == good(
        event_date=dt.date(2019, 2, 6), bucket_owner=OWNER, bucket="awsexamplebucket1", request_time=utc("2019-02-06 00:01:57"),
        remote_ip="192.0.2.3", requester=OWNER, request_id="DD6CC733AEXAMPLE", operation="REST.PUT.OBJECT", key="s3-dg.pdf",
        request_uri="PUT /awsexamplebucket1/s3-dg.pdf HTTP/1.1", http_status=200, object_size=4406583, total_time=41754,
        turn_around_time=28, user_agent="S3Console/0.4",
        host_id="10S62Zv81kBW7BB6SX4XJ48o6kpcl6LPwEoizZQQxJd5qDSCTLX0TgS37kYUBKQW3+bPdrg1234=", signature_version="SigV4",
        cipher_suite="ECDHE-RSA-AES128-SHA", authentication_type="AuthHeader", host_header="awsexamplebucket1.s3.us-west-1.amazonaws.com",
        tls_version="TLSV1.1",
    )


def test_aws_documentation_example_of_2014_and_the_oldest_format(con):
    """18 fields (up to Version Id), and a 17-field line that ends with the User-Agent."""
    rows = parse_file(con, SIMPLE / "2014-02-06-00-05-00-6C3F8A2B1D0E4F57")
    assert [r["reason"] for r in rows] == [None] * 6
    assert values(rows[4]) == good(
        event_date=dt.date(2014, 2, 6), bucket_owner=OWNER, bucket="mybucket", request_time=utc("2014-02-06 00:01:57"),
        remote_ip="192.0.2.3", requester=OWNER, request_id="DD6CC733AEXAMPLE", operation="REST.PUT.OBJECT", key="s3-dg.pdf",
        request_uri="PUT /mybucket/s3-dg.pdf HTTP/1.1", http_status=200, object_size=4406583, total_time=41754, turn_around_time=28,
        user_agent="S3Console/0.4",
    )
    assert values(rows[5]) == good(
        event_date=dt.date(2014, 2, 6), bucket_owner=OWNER, bucket="mybucket", request_time=utc("2014-02-06 00:04:10"),
        remote_ip="192.0.2.3", requester=OWNER, request_id="5F1A2B3C4EXAMPLE", operation="REST.GET.OBJECT", key="s3-dg.pdf",
        request_uri="GET /mybucket/s3-dg.pdf HTTP/1.1", http_status=200, bytes_sent=4406583, object_size=4406583, total_time=1201,
        turn_around_time=40, user_agent="S3Console/0.4",
    )
    assert values(rows[2])["error_code"] == "NoSuchBucketPolicy"


def test_newest_format_with_every_field(con):
    rows = parse_file(con, PARTITIONED / "amzn-s3-demo-bucket1" / "2024" / "03" / "01" / "2024-03-01-00-00-00-E8B9D6A3B1D0C4F2")
    assert len(rows) == 12 and all(r["reason"] is None for r in rows)
    assert values(rows[5]) == good(
        event_date=dt.date(2024, 3, 1), bucket_owner=OWNER, bucket="amzn-s3-demo-bucket1", request_time=utc("2024-03-01 10:02:12"),
        remote_ip="10.0.2.33", requester="arn:aws:sts::123456789012:assumed-role/data-scientist/bob@example.com",
        request_id="A1B2C3D4E5F60006", operation="REST.GET.OBJECT", key="raw/2024/03/01/secret%20plans.txt",  # URL-encoded, as logged
        request_uri="GET /amzn-s3-demo-bucket1/raw/2024/03/01/secret%20plans.txt HTTP/1.1", http_status=403, error_code="AccessDenied",
        bytes_sent=243, total_time=9, turn_around_time=9, user_agent=BOTO, host_id=HOSTID, signature_version="SigV4",
        cipher_suite="TLS_AES_128_GCM_SHA256", authentication_type="AuthHeader",
        host_header="amzn-s3-demo-bucket1.s3.us-east-1.amazonaws.com", tls_version="TLSv1.3", source_region="us-east-1",
    )
    # a bucket listing: no key, the query string in the Request-URI
    assert (rows[10]["key"], rows[10]["request_uri"], rows[10]["bytes_sent"]) == (
        None, "GET /?list-type=2&prefix=raw%2F2024%2F03%2F01%2F&encoding-type=url HTTP/1.1", 1530,
    )
    assert (rows[6]["requester"], rows[6]["signature_version"], rows[6]["authentication_type"]) == (None, None, None)  # anonymous


def test_gzip_file_lifecycle_record_and_unknown_trailing_field(con):
    rows = parse_file(con, PARTITIONED / "amzn-s3-demo-bucket1" / "2024" / "03" / "02" / "2024-03-02-00-00-00-F1A2B3C4D5E6F708.gz")
    assert len(rows) == 7 and all(r["reason"] is None for r in rows)
    assert rows[0]["request_time"] == utc("2024-03-02 00:00:00") and rows[0]["event_date"] == dt.date(2024, 3, 2)
    # S3's own lifecycle action: '-' everywhere it can be
    assert values(rows[5]) == good(
        event_date=dt.date(2024, 3, 2), bucket_owner=OWNER, bucket="amzn-s3-demo-bucket1", request_time=utc("2024-03-02 15:00:00"),
        requester="AmazonS3", request_id="B1C2D3E4F5A60006", operation="S3.EXPIRE.OBJECT", key="raw/2024/02/01/orders.csv",
    )
    assert {k: rows[6][k] for k in TRAILING} == {
        "version_id": None, "host_id": HOSTID, "signature_version": "SigV4", "cipher_suite": "TLS_AES_128_GCM_SHA256",
        "authentication_type": "AuthHeader", "host_header": "amzn-s3-demo-bucket1.s3.us-east-1.amazonaws.com",
        "tls_version": "TLSv1.3", "access_point_arn": None, "acl_required": None, "source_region": "us-east-1", "extra": "x-new-field",
    }


def test_website_requests(con):
    rows = parse_file(con, PARTITIONED / "amzn-s3-demo-website" / "2024" / "03" / "02" / "2024-03-02-14-20-05-0A1B2C3D4E5F6789")
    assert [(r["operation"], r["key"], r["http_status"], r["referer"], r["requester"], r["tls_version"]) for r in rows] == [
        ("WEBSITE.GET.OBJECT", "index.html", 200, "https://www.example.com/", None, None),
        ("WEBSITE.GET.OBJECT", "img/logo%20big.png", 200, "https://www.example.com/index.html", None, None),
        ("WEBSITE.GET.OBJECT", "admin/.env", 404, None, None, None),
        ("WEBSITE.HEAD.OBJECT", "index.html", 200, None, None, None),
    ]
    assert rows[0]["user_agent"] == "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36"


def test_malformed_lines_are_quarantined_with_a_reason(con):
    rows = parse_file(con, SIMPLE / "2024-03-02-23-59-59-9F8E7D6C5B4A3921")
    assert [r["reason"] for r in rows] == [
        None,
        None,
        "line does not match the S3 server access log format (at least 17 fields expected, found 9)",  # truncated
        "line does not match the S3 server access log format (at least 17 fields expected, found 2)",  # garbage
        "request_time '[32/Mar/2024:25:00:00 +0000]' is not a time like [06/Feb/2019:00:00:38 +0000]",
        "http_status '4x4' is not an integer",
    ]
    assert rows[0]["request_uri"] == "GET /amzn-s3-demo-bucket1/curated/reports/2024-03.parquet?x-user=alice%20smith HTTP/1.1"
    assert rows[0]["user_agent"] == CLI
    # a quote inside a quoted field: the tolerant pattern reads the line
    assert (rows[1]["user_agent"], rows[1]["http_status"], rows[1]["object_size"], rows[1]["host_id"], rows[1]["source_region"]) == (
        'partner-sync/1.0 (build "blue")', 304, 3145728, HOSTID, "us-east-1",
    )


def test_every_fixture_file_parses(con):
    counts = {}
    for path in sorted(DATA.rglob("*")):
        if path.is_file() and LOGTYPE.skip_reason(str(path.relative_to(DATA))) is None:
            rows = parse_file(con, path)
            assert all(r["reason"] is not None or r["event_date"] is not None for r in rows)
            counts[path.name] = (len(rows), sum(r["reason"] is None for r in rows))
    assert counts == {
        "2024-03-01-00-00-00-E8B9D6A3B1D0C4F2": (12, 12),
        "2024-03-02-00-00-00-F1A2B3C4D5E6F708.gz": (7, 7),
        "2024-03-02-14-20-05-0A1B2C3D4E5F6789": (4, 4),
        "2014-02-06-00-05-00-6C3F8A2B1D0E4F57": (6, 6),
        "2019-02-06-00-05-12-3E57427F3EXAMPLE": (5, 5),
        "2019-02-06-00-10-00-8D2E4C6A0B1F3E59": (2, 2),
        "2024-03-02-23-59-59-9F8E7D6C5B4A3921": (6, 2),
    }


# -- single fields -------------------------------------------------------------------


def one(con, text: str) -> dict:
    return values(parse(con, [text])[0])


@pytest.mark.parametrize("text, reason", [
    (line(status="4x4"), "http_status '4x4' is not an integer"),
    (line(status="2.0e2"), "http_status '2.0e2' is not an integer"),
    (line(sent="12.5"), "bytes_sent '12.5' is not an integer"),
    (line(size="0x10"), "object_size '0x10' is not an integer"),
    (line(total="1_000"), "total_time '1_000' is not an integer"),
    (line(tat="+5"), "turn_around_time '+5' is not an integer"),
    (line(status="99999999999"), "http_status '99999999999' is out of range for INTEGER"),
    (line(sent="9" * 30), "bytes_sent '" + "9" * 30 + "' is out of range for BIGINT"),
    (line(sent="9" * 100), "bytes_sent '" + "9" * 77 + "...' is out of range for BIGINT"),  # long values are cut
    (line(time="[06/Feb/2019:00:00:38]"), "request_time '[06/Feb/2019:00:00:38]' is not a time like [06/Feb/2019:00:00:38 +0000]"),
    (line(time="[2019-02-06T00:00:38Z]"), "request_time '[2019-02-06T00:00:38Z]' is not a time like [06/Feb/2019:00:00:38 +0000]"),
    (line(time="[06/Foo/2019:00:00:38 +0000]"), "request_time '[06/Foo/2019:00:00:38 +0000]' is not a time like [06/Feb/2019:00:00:38 +0000]"),
    (line(time="-"), "request_time '-' is not a bracketed time like [06/Feb/2019:00:00:38 +0000]"),
    (line(time="[-]"), "request_time '[-]' is not a time like [06/Feb/2019:00:00:38 +0000]"),
    (line(uri="GET /mybucket/photos/puppy.jpg HTTP/1.1"), "request_uri 'GET' is not a double-quoted string"),
    (line(ua="curl/7.15.1"), "user_agent 'curl/7.15.1' is not a double-quoted string"),
    (line(ua='"curl/7.15.1'), "user_agent '\"curl/7.15.1' is not a double-quoted string"),  # unclosed
    (line().replace('HTTP/1.1" 200', 'HTTP/1.1"200'), "line does not match the S3 server access log format (fields out of place or an unclosed quote)"),
    (line(tail="")[: line(tail="").index(" 200 ")], "line does not match the S3 server access log format (at least 17 fields expected, found 9)"),
    ("", "line does not match the S3 server access log format (at least 17 fields expected, found 0)"),
    ("   ", "line does not match the S3 server access log format (at least 17 fields expected, found 0)"),
    ("#Version: 1.0", "line does not match the S3 server access log format (at least 17 fields expected, found 2)"),
])
def test_bad_values(con, text, reason):
    row = one(con, text)
    assert row["reason"] == reason


def test_numbers_parse_as_logged(con):
    row = one(con, line(status="200", sent="-", size="0", total="-5", tat="-0"))
    assert (row["reason"], row["http_status"], row["bytes_sent"], row["object_size"], row["total_time"], row["turn_around_time"]) == (
        None, 200, None, 0, -5, 0,  # negative times parse; `eventlake check` flags them (rules)
    )
    row = one(con, line(status="-", sent="9223372036854775807", size="007"))
    assert (row["reason"], row["http_status"], row["bytes_sent"], row["object_size"]) == (None, None, 9223372036854775807, 7)


@pytest.mark.parametrize("time, utc_time", [
    ("[06/Feb/2019:23:30:00 +0000]", "2019-02-06 23:30:00"),
    ("[06/Feb/2019:23:30:00 -0500]", "2019-02-07 04:30:00"),  # S3 writes +0000; an offset is honoured all the same
    ("[07/Feb/2019:01:30:00 +0200]", "2019-02-06 23:30:00"),
    ("[29/Feb/2024:12:00:00 +0000]", "2024-02-29 12:00:00"),
    ("[6/feb/2019:23:30:00 +0000]", "2019-02-06 23:30:00"),
])
def test_request_time_and_event_date_are_utc_whatever_the_session_time_zone(time, utc_time):
    c = duckdb.connect()
    try:
        for zone in ("UTC", "America/Los_Angeles", "Asia/Tokyo"):
            c.execute(f"SET TimeZone = '{zone}'")
            row = one(c, line(time=time))
            expected = utc(utc_time)
            assert (row["reason"], row["request_time"], row["event_date"]) == (None, expected, expected.date()), zone
    finally:
        c.close()


def test_quoted_fields_keep_their_spaces_and_drop_their_quotes(con):
    row = one(con, line(
        uri='"GET /mybucket/a%20b.txt?x-note=one two HTTP/1.1"', referer='"https://example.com/a page"', ua='"Mozilla/5.0 (X11; Linux x86_64)"',
    ))
    assert (row["reason"], row["request_uri"], row["referer"], row["user_agent"], row["version_id"]) == (
        None, "GET /mybucket/a%20b.txt?x-note=one two HTTP/1.1", "https://example.com/a page", "Mozilla/5.0 (X11; Linux x86_64)", None,
    )
    # empty quoted fields are NULL like '-'
    row = one(con, line(uri='""', referer='""', ua='""'))
    assert (row["reason"], row["request_uri"], row["referer"], row["user_agent"]) == (None, None, None, None)


def test_trailing_fields_are_optional_and_unknown_ones_are_kept(con):
    base = line(tail="")
    full = " v1 HID SigV4 CIPHER QueryString host.example TLSv1.2 arn:ap Yes eu-west-1"
    words = full.split()
    for n in range(len(words) + 1):
        row = one(con, base + "".join(" " + w for w in words[:n]))
        assert row["reason"] is None
        assert [row[c] for c in TRAILING[:-1]] == words[:n] + [None] * (len(words) - n)
        assert row["extra"] is None
    row = one(con, base + full + ' future-1 "quoted future field" 42')
    assert (row["reason"], row["source_region"], row["extra"]) == (None, "eu-west-1", 'future-1 "quoted future field" 42')
    assert one(con, base + full + " -")["extra"] is None


def test_blank_runs_and_trailing_blanks_are_tolerated(con):
    row = one(con, "  " + line(tail=" v1  HID ").replace(" mybucket ", "   mybucket ") + "  ")
    assert (row["reason"], row["bucket"], row["user_agent"], row["version_id"], row["host_id"]) == (None, "mybucket", "curl/7.15.1", "v1", "HID")
    row = one(con, line(tail=" "))
    assert (row["reason"], row["version_id"], row["extra"]) == (None, None, None)


def test_non_ascii_and_long_fields(con):
    row = one(con, line(key="f%C3%BCr/caf\u00e9", ua='"Agent \u00fc\u4e2d\U0001f600"', tail=" - " + "H" * 100_000))
    assert (row["reason"], row["key"], row["user_agent"], len(row["host_id"])) == (None, "f%C3%BCr/caf\u00e9", "Agent \u00fc\u4e2d\U0001f600", 100_000)


# -- layouts and skipping ------------------------------------------------------------


@pytest.mark.parametrize("key, layout", [
    # simple prefix: the delivery day and hour from the name
    ("logs/2019-02-06-00-05-12-3E57427F3EXAMPLE", Layout(date=dt.date(2019, 2, 6), hour=0)),
    ("access-logs/mybucket-2024-03-02-23-59-59-9F8E7D6C5B4A3921", Layout(date=dt.date(2024, 3, 2), hour=23)),
    ("2024-03-02-14-20-05-0A1B2C3D4E5F6789", Layout(date=dt.date(2024, 3, 2), hour=14)),
    ("logs/2024-03-02-14-20-05-0A1B2C3D4E5F6789.gz", Layout(date=dt.date(2024, 3, 2), hour=14)),
    # date-based partitioning: account, region, bucket and day from the folders
    (
        "logs/123456789012/us-east-1/amzn-s3-demo-bucket1/2024/03/01/2024-03-01-00-00-00-E8B9D6A3B1D0C4F2",
        Layout(account="123456789012", region="us-east-1", resource="amzn-s3-demo-bucket1", date=dt.date(2024, 3, 1)),  # EventTime: whole day
    ),
    (
        "123456789012/eu-west-1/my.bucket/2024/03/02/2024-03-02-14-20-05-0A1B2C3D4E5F6789",
        Layout(account="123456789012", region="eu-west-1", resource="my.bucket", date=dt.date(2024, 3, 2), hour=14),  # DeliveryTime
    ),
    (
        "s3-logs-123456789012/us-gov-west-1/b/2023/12/31/2023-12-31-23-00-00-AB12",  # prefix without a trailing slash
        Layout(account="123456789012", region="us-gov-west-1", resource="b", date=dt.date(2023, 12, 31), hour=23),
    ),
    # folders that disagree with the name, or are not a layout: the name alone
    ("x/123456789012/us-east-1/b/2024/03/01/2024-03-02-10-00-00-AB12", Layout(date=dt.date(2024, 3, 2), hour=10)),
    ("x/123456789012/not-a-region/b/2024/03/02/2024-03-02-10-00-00-AB12", Layout(date=dt.date(2024, 3, 2), hour=10)),
    # impossible dates and hours
    ("logs/2024-02-30-10-00-00-AB12", Layout()),
    ("logs/2024-03-02-24-00-00-AB12", Layout(date=dt.date(2024, 3, 2))),
    ("logs/12024-03-02-10-00-00-AB12", Layout()),  # the year must not run on from other digits
    # Hive-style folders, else nothing
    ("year=2024/month=03/day=02/hour=07/access.log", Layout(date=dt.date(2024, 3, 2), hour=7)),
    ("logs/access.log", Layout()),
])
def test_layout(key, layout):
    assert LOGTYPE.layout(key) == layout


@pytest.mark.parametrize("key, reason", [
    ("logs/", "a folder marker, not a log file"),
    ("logs/_SUCCESS", "_SUCCESS is a marker file, not an S3 server access log"),
    ("logs/.DS_Store", ".DS_Store is a marker file, not an S3 server access log"),
    ("logs/_committed_123", "_committed_123 is a marker file, not an S3 server access log"),
    ("logs/manifest.json", "a .json file, not an S3 server access log (those have no extension)"),
    ("AWSLogs/1/CloudTrail/x.json.gz", "a .json.gz file, not an S3 server access log (those have no extension)"),
    ("results/part-0.PARQUET", "a .parquet file, not an S3 server access log (those have no extension)"),
    ("athena/abc.csv", "a .csv file, not an S3 server access log (those have no extension)"),
    ("athena/abc.csv.metadata", "a .metadata file, not an S3 server access log (those have no extension)"),
    ("emr/out_$folder$", "a _$folder$ file, not an S3 server access log (those have no extension)"),
    ("logs/2024-03-02-14-20-05-0A1B2C3D4E5F6789", None),
    ("logs/2024-03-02-14-20-05-0A1B2C3D4E5F6789.gz", None),
    ("logs/access.log", None),
    ("logs/access.txt.gz", None),
    ("logs/anything", None),
])
def test_skip_reason(key, reason):
    assert LOGTYPE.skip_reason(key) == reason


# -- check rules -------------------------------------------------------------------


def parsed_table(con, lines: list[str]) -> None:
    """The parse of `lines` as the temp table `parsed`, as `eventlake check` has it."""
    data = pa.table({
        "source_object": pa.array(["t"] * len(lines)),
        "line_no": pa.array(range(1, len(lines) + 1), pa.int64()),
        "line": pa.array(lines),
    })
    con.register("lines", data)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE parsed AS {LOGTYPE.parse_sql(None)}")
    finally:
        con.unregister("lines")


def test_rules(con):
    future = (dt.datetime.now(UTC) + dt.timedelta(days=2)).strftime("[%d/%b/%Y:%H:%M:%S +0000]")
    lines = [
        line(status="200", total="10", tat="5"),  # 1: fine
        line(status="99"),  # 2
        line(status="600"),  # 3
        line(total="-1"),  # 4
        line(tat="-2", total="-"),  # 5
        line(sent="-3"),  # 6
        line(size="-4"),  # 7
        line(total="10", tat="11"),  # 8
        line(op="GET"),  # 9
        line(op="REST.get.object"),  # 10
        line(time=future),  # 11
        line(status="-", sent="-", total="-", tat="-", op="S3.TRANSITION_SIA.OBJECT"),  # 12: '-' breaks no rule
        line(op="SOAP.CreateBucket"),  # 13
        line(op="BATCH.DELETE.OBJECT"),  # 14
        line(op="WEBSITE.GET.OBJECT"),  # 15
        line(op="REST.COPY.OBJECT_GET"),  # 16
    ]
    rows = parse(con, lines)
    assert all(r["reason"] is None for r in rows)
    parsed_table(con, lines)
    broken = {}
    for rule in LOGTYPE.rules:
        assert rule.description
        broken[rule.name] = [n for (n,) in con.execute(f"SELECT line_no FROM parsed WHERE coalesce(({rule.violation}), false) ORDER BY 1").fetchall()]
    assert broken == {
        "http_status_range": [2, 3],
        "times_non_negative": [4, 5],
        "bytes_non_negative": [6, 7],
        "turn_around_within_total": [8],
        "operation_format": [9, 10],
        "request_time_not_future": [11],
    }


def test_fixture_lines_break_no_rule(con):
    parsed_table(con, _FIXTURE_LINES)
    for rule in LOGTYPE.rules:
        n, = con.execute(f"SELECT count(*) FROM parsed WHERE reason IS NULL AND coalesce(({rule.violation}), false)").fetchone()
        assert n == 0, rule.name


# -- no input breaks the parse ---------------------------------------------------------

_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80)
_ODD = st.sampled_from(['"', "[", "]", " ", "  ", "-", "\t", "\u00e9", "\u4e2d", "\U0001f600", "\x00", "\r", "\\", "'", "%", "9" * 25])


@st.composite
def mutated(draw):
    """A fixture line with a few edits: truncated, characters inserted or deleted, two
    fields swapped, a field replaced by odd or very long text."""
    text = draw(st.sampled_from(_FIXTURE_LINES))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["truncate", "insert", "delete", "swap", "replace", "long"]))
        pos = draw(st.integers(0, len(text)))
        if op == "truncate":
            text = text[:pos]
        elif op == "insert":
            text = text[:pos] + draw(st.one_of(_ODD, _TEXT)) + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 20)):]
        else:
            fields = text.split(" ")
            i, j = draw(st.integers(0, len(fields) - 1)), draw(st.integers(0, len(fields) - 1))
            if op == "swap":
                fields[i], fields[j] = fields[j], fields[i]
            elif op == "replace":
                fields[i] = draw(st.one_of(_ODD, _TEXT))
            else:
                fields[i] = fields[i] * draw(st.integers(100, 2000))
            text = " ".join(fields)
    return text


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(lines=st.lists(st.one_of(mutated(), mutated(), _TEXT), min_size=1, max_size=12))
def test_no_line_breaks_the_parse(con, lines):
    rows = parse_lines(con, LOGTYPE, lines)
    assert [r["line_no"] for r in rows] == list(range(1, len(lines) + 1))
    for r in rows:
        if r["reason"] is None:
            assert r["event_date"] == r["request_time"].astimezone(UTC).date(), r
        else:
            assert r["reason"].strip() and len(r["reason"]) < 300, r
