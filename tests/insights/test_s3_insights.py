"""The S3 server access log insights on a lake ingested from tests/data/s3_access; the
expected rows are worked out by hand from the fixture lines.

The window 2024-03-01 .. 2024-03-02 (FIXTURE_PARAMS) holds 25 requests:
  amzn-s3-demo-bucket1, 03-01 (date-based layout, EventTime): 12 requests
      etl-loader role  PUT raw/2024/03/01/orders.csv (1048576 B) and customers.csv (524288 B),
                       lists the bucket (1530 B sent), GET missing.csv -> 404 NoSuchKey
      alice (IAM user) GET both raw files, a 206 range GET of curated/reports/2024-02.parquet
      bob (data-scientist role) GET raw orders.csv, GET secret%20plans.txt -> 403
      anonymous        GET raw orders.csv -> 403 (203.0.113.9)
      partner-sync     GET and HEAD curated/reports/2024-02.parquet (2097152 B)
  amzn-s3-demo-bucket1, 03-02 (gzip): 7 requests
      etl-loader PUT raw/2024/03/02/orders.csv (1100000 B) at 00:00:00; alice and bob GET it
      (bob's is the slow one: 900 ms, 601 ms turn-around); bob's DELETE -> 403; anonymous
      GET -> 403; a lifecycle expiration (requester AmazonS3, no times or bytes); partner
      GET curated/reports/2024-03.parquet (3145728 B, a line with an unknown extra field)
  amzn-s3-demo-bucket1, 03-02 (simple layout, with 4 malformed lines, quarantined): alice
      GET curated/reports/2024-03.parquet, partner's 304 for it (user agent with quotes)
  amzn-s3-demo-website, 03-02 (DeliveryTime layout): 4 anonymous website requests
      198.51.100.7 GET index.html (5120 B) and img/logo%20big.png (20480 B);
      203.0.113.9 GET admin/.env -> 404, HEAD index.html
The AWS documentation examples (2014 and 2019) lie outside the window."""

from __future__ import annotations

from pathlib import Path

from eventlake.insights import list_insights
from eventlake.lake import Lake
from eventlake.sources.lines import ingest_lines
from tests.insights.common import duckdb_engine_fixture, empty_lake, run_rows, ts

LOGS = Path(__file__).parents[1] / "data" / "s3_access"
WINDOW = {"days": "2", "as_of": "2024-03-02"}
B1 = "amzn-s3-demo-bucket1"
WEB = "amzn-s3-demo-website"
ETL = "arn:aws:sts::123456789012:assumed-role/etl-loader/i-0abc123def4567890"
ALICE = "arn:aws:iam::123456789012:user/alice"
BOB = "arn:aws:sts::123456789012:assumed-role/data-scientist/bob@example.com"
PARTNER = "arn:aws:iam::444455556666:user/partner-sync"
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36"

FIXTURE_PARAMS: dict[str, dict[str, str]] = {
    "s3_requests_by_requester": {
        "start_time": "2024-03-01T00:00",
        "end_time": "2024-03-03T00:00",
        "bucket": B1,
        "prefix": "raw/",
        "exclude": "etl-loader",
    },
    "s3_errors_by_code": dict(WINDOW),
    "s3_top_objects": dict(WINDOW),
    "s3_slow_requests": dict(WINDOW),
    "s3_anonymous_access": dict(WINDOW),
    "s3_bytes_by_requester": dict(WINDOW),
}


def build_s3_lake(path: Path | str) -> Lake:
    """A lake at `path` holding the S3 access log fixtures, loaded by the line ingest from LOGS."""
    lake = empty_lake(path)
    stats = ingest_lines(lake, "s3-access", [str(LOGS)])
    # 7 log files (_SUCCESS and a .csv skipped); 6 + 5 + 2 documentation records, 25 in
    # March 2024 and 4 malformed lines (quarantined)
    assert (stats.files_read, stats.files_skipped, stats.records_loaded, stats.records_quarantined) == (7, 2, 38, 4)
    return lake


engine = duckdb_engine_fixture(build_s3_lake, "s3_access")


def run(engine, name, **overrides):
    return run_rows(engine, name, {**FIXTURE_PARAMS[name], **overrides})


def test_every_s3_insight_has_fixture_params():
    insights = [i for i in list_insights() if i.category == "s3-access"]
    assert sorted(FIXTURE_PARAMS) == [i.name for i in insights]
    assert len(insights) >= 5
    for insight in insights:
        assert insight.description and all(p.default is not None for p in insight.params)


def test_fixture_params_give_rows(engine):
    for name in FIXTURE_PARAMS:
        assert run(engine, name)[1], name


def test_requests_by_requester_other_than_the_expected_role(engine):
    cols, rows = run(engine, "s3_requests_by_requester")
    assert cols == [
        "bucket", "requester", "role", "requests", "denied", "failed", "bytes_sent", "keys", "remote_ips",
        "first_request", "last_request",
    ]
    assert rows == [
        # raw/ other than the etl-loader role; the request without a key (a listing) is not under raw/
        (B1, BOB, "data-scientist", 4, 2, 2, 1048576 + 243 + 1100000 + 243, 3, 1, ts("2024-03-01 10:02:11"), ts("2024-03-02 09:00:02")),
        (B1, ALICE, None, 3, 0, 0, 1048576 + 524288 + 1100000, 3, 1, ts("2024-03-01 09:15:00"), ts("2024-03-02 08:30:00")),
        (B1, None, None, 2, 2, 2, 486, 2, 1, ts("2024-03-01 11:30:00"), ts("2024-03-02 10:00:00")),  # anonymous
        (B1, "AmazonS3", None, 1, 0, 0, 0, 1, 0, ts("2024-03-02 15:00:00"), ts("2024-03-02 15:00:00")),  # lifecycle
    ]


def test_requests_by_requester_everyone_and_exact_exclusion(engine):
    _, rows = run(engine, "s3_requests_by_requester", exclude="none")
    assert [(r[1], r[3], r[5], r[6], r[7]) for r in rows] == [
        (BOB, 4, 2, 2149062, 3),
        (ETL, 4, 1, 298, 4),  # two PUTs of 03-01, one of 03-02 and the 404
        (ALICE, 3, 0, 2672864, 3),
        (None, 2, 2, 486, 2),
        ("AmazonS3", 1, 0, 0, 1),
    ]
    _, rows = run(engine, "s3_requests_by_requester", exclude=ALICE)
    assert [r[1] for r in rows] == [BOB, ETL, None, "AmazonS3"]
    # a role name leaves out every session of the role; every bucket and key (the listing too)
    _, rows = run(engine, "s3_requests_by_requester", exclude="data-scientist", prefix="*", bucket="*")
    assert [(r[0], r[1], r[3]) for r in rows] == [
        (B1, ALICE, 5), (B1, ETL, 5), (B1, PARTNER, 4), (WEB, None, 4), (B1, None, 2), (B1, "AmazonS3", 1),
    ]


def test_requests_by_requester_time_range_bounds(engine):
    # start inclusive, end exclusive: 03-01 12:00 .. 03-02 00:00 holds only the 404 at 23:59:59
    _, rows = run(engine, "s3_requests_by_requester", start_time="2024-03-01T12:00", end_time="2024-03-02T00:00", exclude="none")
    assert [(r[1], r[3], r[5]) for r in rows] == [(ETL, 1, 1)]
    # one second more takes in the 03-02 00:00:00 PUT (in the next date partition)
    _, rows = run(engine, "s3_requests_by_requester", start_time="2024-03-01T12:00", end_time="2024-03-02T00:00:01Z", exclude="none")
    assert [(r[1], r[3], r[9], r[10]) for r in rows] == [(ETL, 2, ts("2024-03-01 23:59:59"), ts("2024-03-02 00:00:00"))]
    # an offset is honoured: 2024-03-02T01:00+01:00 is midnight UTC
    _, rows = run(engine, "s3_requests_by_requester", start_time="2024-03-02T01:00+01:00", end_time="2024-03-02T00:00:01Z", exclude="none")
    assert [(r[1], r[3]) for r in rows] == [(ETL, 1)]
    _, rows = run(engine, "s3_requests_by_requester", bucket=WEB, exclude="none")
    assert rows == []


def test_errors_by_code(engine):
    cols, rows = run(engine, "s3_errors_by_code")
    assert cols == ["bucket", "http_status", "error_code", "requests", "requesters", "anonymous", "keys", "example_key", "first_seen", "last_seen"]
    assert rows == [
        # bob twice (secret plans, the DELETE) and two anonymous GETs
        (B1, 403, "AccessDenied", 4, 1, 2, 3, "raw/2024/03/01/orders.csv", ts("2024-03-01 10:02:12"), ts("2024-03-02 10:00:00")),
        (B1, 404, "NoSuchKey", 1, 1, 0, 1, "raw/2024/03/01/missing.csv", ts("2024-03-01 23:59:59"), ts("2024-03-01 23:59:59")),
        (WEB, 404, "NoSuchKey", 1, 0, 1, 1, "admin/.env", ts("2024-03-02 14:05:00"), ts("2024-03-02 14:05:00")),
    ]
    _, rows = run(engine, "s3_errors_by_code", min_status="404", bucket=WEB)
    assert [r[:4] for r in rows] == [(WEB, 404, "NoSuchKey", 1)]
    assert run(engine, "s3_errors_by_code", min_status="500")[1] == []
    # only 03-02: two of the 403s
    _, rows = run(engine, "s3_errors_by_code", days="1")
    assert [r[:4] for r in rows] == [(B1, 403, "AccessDenied", 2), (WEB, 404, "NoSuchKey", 1)]


def test_top_objects(engine):
    cols, rows = run(engine, "s3_top_objects")
    assert cols == ["bucket", "key", "requests", "gets", "bytes_sent", "requesters", "anonymous", "last_request"]
    assert rows == [
        # PUT, 2 GETs, the denied DELETE and anonymous GET
        (B1, "raw/2024/03/02/orders.csv", 5, 2, 2200486, 3, 1, ts("2024-03-02 10:00:00")),
        (B1, "raw/2024/03/01/orders.csv", 4, 2, 2097395, 3, 1, ts("2024-03-01 11:30:00")),
        # 3 requests each: more bytes first; a 304 and a HEAD are not GETs, a 206 is
        (B1, "curated/reports/2024-03.parquet", 3, 2, 6291456, 2, 0, ts("2024-03-02 22:10:00")),
        (B1, "curated/reports/2024-02.parquet", 3, 2, 2162688, 2, 0, ts("2024-03-01 13:45:00")),
        (B1, "raw/2024/03/01/customers.csv", 2, 1, 524288, 2, 0, ts("2024-03-01 09:15:30")),
        (WEB, "index.html", 2, 1, 5120, 0, 2, ts("2024-03-02 14:05:01")),
        (WEB, "img/logo%20big.png", 1, 1, 20480, 0, 1, ts("2024-03-02 14:01:01")),
        (WEB, "admin/.env", 1, 0, 350, 0, 1, ts("2024-03-02 14:05:00")),
        (B1, "raw/2024/03/01/missing.csv", 1, 0, 298, 1, 0, ts("2024-03-01 23:59:59")),
        (B1, "raw/2024/03/01/secret%20plans.txt", 1, 0, 243, 1, 0, ts("2024-03-01 10:02:12")),
        (B1, "raw/2024/02/01/orders.csv", 1, 0, 0, 1, 0, ts("2024-03-02 15:00:00")),  # expired by lifecycle
    ]
    _, rows = run(engine, "s3_top_objects", top="3")
    assert [r[1] for r in rows] == ["raw/2024/03/02/orders.csv", "raw/2024/03/01/orders.csv", "curated/reports/2024-03.parquet"]
    _, rows = run(engine, "s3_top_objects", prefix="curated/", bucket=B1)
    assert [r[1] for r in rows] == ["curated/reports/2024-03.parquet", "curated/reports/2024-02.parquet"]


def test_slow_requests(engine):
    cols, rows = run(engine, "s3_slow_requests")
    assert cols == [
        "bucket", "operation", "requests", "p50_total_ms", "p95_total_ms", "p99_total_ms", "max_total_ms",
        "p50_turn_around_ms", "p95_turn_around_ms", "s3_share",
    ]
    assert rows == [
        # 14 GETs, total times 4 5 6 7 9 35 140 250 260 300 400 480 500 900 (sum 3296),
        # turn-around 4 5 5 7 9 12 18 20 22 25 30 40 45 601 (sum 843)
        (B1, "REST.GET.OBJECT", 14, 195.0, 640.0, 848.0, 900, 19.0, 239.6, 0.2558),
        (B1, "REST.PUT.OBJECT", 3, 120.0, 129.0, 129.8, 130, 15.0, 15.9, 0.1303),  # 80 120 130 / 12 15 16
        (B1, "REST.GET.BUCKET", 1, 45.0, 45.0, 45.0, 45, 40.0, 40.0, 0.8889),
        (WEB, "WEBSITE.GET.OBJECT", 3, 12.0, 14.7, 14.9, 15, 4.0, 5.8, 0.3939),  # 6 12 15 / 3 4 6
        (B1, "REST.DELETE.OBJECT", 1, 10.0, 10.0, 10.0, 10, 10.0, 10.0, 1.0),
        (B1, "REST.HEAD.OBJECT", 1, 8.0, 8.0, 8.0, 8, 8.0, 8.0, 1.0),
        (WEB, "WEBSITE.HEAD.OBJECT", 1, 3.0, 3.0, 3.0, 3, 3.0, 3.0, 1.0),
        # the lifecycle expiration has no times: left out
    ]
    _, rows = run(engine, "s3_slow_requests", min_requests="3", bucket=B1)
    assert [r[1:3] for r in rows] == [("REST.GET.OBJECT", 14), ("REST.PUT.OBJECT", 3)]


def test_anonymous_access(engine):
    cols, rows = run(engine, "s3_anonymous_access")
    assert cols == [
        "bucket", "remote_ip", "requests", "succeeded", "denied", "bytes_sent", "keys", "example_key", "user_agent",
        "first_request", "last_request",
    ]
    assert rows == [
        (B1, "203.0.113.9", 2, 0, 2, 486, 2, "raw/2024/03/01/orders.csv", "curl/8.4.0", ts("2024-03-01 11:30:00"), ts("2024-03-02 10:00:00")),
        (WEB, "198.51.100.7", 2, 2, 0, 25600, 2, "img/logo%20big.png", CHROME, ts("2024-03-02 14:01:00"), ts("2024-03-02 14:01:01")),
        (WEB, "203.0.113.9", 2, 1, 0, 350, 2, "admin/.env", "python-requests/2.31.0", ts("2024-03-02 14:05:00"), ts("2024-03-02 14:05:01")),
    ]
    _, rows = run(engine, "s3_anonymous_access", succeeded_only="true")
    assert [r[:8] for r in rows] == [
        (WEB, "198.51.100.7", 2, 2, 0, 25600, 2, "img/logo%20big.png"),
        (WEB, "203.0.113.9", 1, 1, 0, 0, 1, "index.html"),  # the HEAD
    ]


def test_bytes_by_requester(engine):
    cols, rows = run(engine, "s3_bytes_by_requester")
    assert cols == ["bucket", "requester", "requests", "bytes_downloaded", "bytes_uploaded", "objects_read", "objects_written"]
    assert rows == [
        # 2 raw GETs, the 206 range GET, the 03-02 raw GET and curated 2024-03
        (B1, ALICE, 5, 1048576 + 524288 + 65536 + 1100000 + 3145728, 0, 5, 0),
        (B1, PARTNER, 4, 2097152 + 3145728, 0, 2, 0),  # the HEAD and the 304 read nothing
        (B1, BOB, 4, 1048576 + 243 + 1100000 + 243, 0, 2, 0),
        (WEB, None, 4, 5120 + 20480 + 350, 0, 2, 0),
        (B1, ETL, 5, 1530 + 298, 1048576 + 524288 + 1100000, 0, 3),  # listing and 404 sent bytes; 3 PUTs
        (B1, None, 2, 486, 0, 0, 0),
        (B1, "AmazonS3", 1, 0, 0, 0, 0),
    ]
    _, rows = run(engine, "s3_bytes_by_requester", bucket=WEB, days="1")
    assert rows == [(WEB, None, 4, 25950, 0, 2, 0)]
