"""The ALB access log type (sources/alb.py): parsing, layouts, skips and rules, on the
fixtures in tests/data/alb, written to the published format:

  examples.log    the documentation's example entries (HTTP, HTTPS, HTTP/2, WebSockets,
                  secured WebSockets, Lambda succeeded and failed), as printed there
                  (target lists unquoted)
  versions.log    one entry per generation of the format: ending after trace_id (2016),
                  chosen_cert_arn, redirect_url, error_reason, target_status_code_list,
                  classification_reason, conn_trace_id (2024), the transform fields
                  (2025), and one with unknown trailing fields
  edge.log        IPv6 clients (bare and bracketed), -1 times, escaped quotes, a
                  "- - -" request, a two-target list, a URL with a space
  malformed.log   lines that must be quarantined, one reason each
  bucket/AWSLogs/123456789012/...   the delivery layout: three gzip access logs of two
                  load balancers on two days (one truncated line), a connection log
                  and the ELBAccessLogTestFile
"""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventlake.sources import log_type
from eventlake.sources.alb import LOGTYPE, PARSE_SQL, TABLE
from eventlake.sources.logtypes import Layout, parse_lines, parsed_columns

DATA = Path(__file__).resolve().parents[1] / "data" / "alb"
ACCOUNT = "123456789012"
DAY1 = DATA / f"bucket/AWSLogs/{ACCOUNT}/elasticloadbalancing/us-east-2/2025/10/20"
DAY2 = DATA / f"bucket/AWSLogs/{ACCOUNT}/elasticloadbalancing/us-east-2/2025/10/21"
SHOP_1005 = DAY1 / f"{ACCOUNT}_elasticloadbalancing_us-east-2_app.shop-alb.50dc6c495c0c9188_20251020T1005Z_10.0.1.15_2kd8s9fa.log.gz"
SHOP_1110 = DAY1 / f"{ACCOUNT}_elasticloadbalancing_us-east-2_app.shop-alb.50dc6c495c0c9188_20251020T1110Z_10.0.2.31_h3j4k5l6.log.gz"
API_0905 = DAY2 / f"{ACCOUNT}_elasticloadbalancing_us-east-2_app.api-alb.7e1a2b3c4d5e6f70_20251021T0905Z_10.0.1.22_q1w2e3r4.log.gz"
CONN_LOG = DAY1 / f"conn_log.{ACCOUNT}_elasticloadbalancing_us-east-2_app.shop-alb.50dc6c495c0c9188_20251020T1005Z_10.0.1.15_z9y8x7w6.log.gz"

ELB = "app/my-loadbalancer/50dc6c495c0c9188"
TG = "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067"
CERT = "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012"
TLS12 = {"ssl_cipher": "ECDHE-RSA-AES128-GCM-SHA256", "ssl_protocol": "TLSv1.2"}
TLS13 = {"ssl_cipher": "TLS_AES_128_GCM_SHA256", "ssl_protocol": "TLSv1.3"}

COLUMNS = [
    "event_date", "type", "time", "elb", "client_ip", "client_port", "target_ip", "target_port",
    "request_processing_time", "target_processing_time", "response_processing_time", "elb_status_code",
    "target_status_code", "received_bytes", "sent_bytes", "request_verb", "request_url", "request_proto", "user_agent",
    "ssl_cipher", "ssl_protocol", "target_group_arn", "trace_id", "domain_name", "chosen_cert_arn",
    "matched_rule_priority", "request_creation_time", "actions_executed", "redirect_url", "error_reason",
    "target_port_list", "target_status_code_list", "classification", "classification_reason", "conn_trace_id",
    "transformed_host", "transformed_uri", "request_transform_status", "extra",
]


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def row(line_no: int, **values) -> dict:
    """An expected parsed row: every parsed column NULL but those given, reason NULL;
    event_date follows from time."""
    out = {"line_no": line_no, **{c: None for c in parsed_columns(LOGTYPE)}, "reason": None}
    unknown = set(values) - set(out)
    assert not unknown, unknown
    out.update(values)
    if out["time"] is not None and "event_date" not in values:
        out["event_date"] = out["time"].date()
    return out


def lines_of(path: Path) -> list[str]:
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return raw.decode().splitlines()


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


def parse(con, lines, **kw) -> list[dict]:
    return parse_lines(con, LOGTYPE, lines, **kw)


# -- the table -------------------------------------------------------------------------


def test_table_columns_and_registration():
    assert TABLE.name == "alb_logs"
    assert parsed_columns(LOGTYPE) == COLUMNS
    assert TABLE.partition_by == ("event_date",)
    types = dict(TABLE.columns)
    assert types["time"] == types["request_creation_time"] == "TIMESTAMPTZ"
    assert types["client_port"] == types["target_port"] == types["elb_status_code"] == "INTEGER"
    assert types["target_status_code"] == types["matched_rule_priority"] == "INTEGER"
    assert types["received_bytes"] == types["sent_bytes"] == "BIGINT"
    assert types["request_processing_time"] == "DOUBLE"
    assert types["client_ip"] == types["extra"] == "VARCHAR"
    assert log_type("alb") is LOGTYPE and log_type("alb_logs") is LOGTYPE


# -- the documentation's examples -------------------------------------------------------

HTTP_0702 = dict(
    time=utc("2018-07-02T22:23:00.186641Z"), elb=ELB, request_creation_time=utc("2018-07-02T22:22:48.364000Z"),
    target_group_arn=TG,
)


def test_documentation_examples(con):
    got = parse(con, lines_of(DATA / "examples.log"))
    assert got == [
        row(1, type="http", **HTTP_0702, client_ip="192.168.131.39", client_port=2817, target_ip="10.0.0.1",
            target_port=80, request_processing_time=0.0, target_processing_time=0.001, response_processing_time=0.0,
            elb_status_code=200, target_status_code=200, received_bytes=34, sent_bytes=366, request_verb="GET",
            request_url="http://www.example.com:80/", request_proto="HTTP/1.1", user_agent="curl/7.46.0",
            trace_id="Root=1-58337262-36d228ad5d99923122bbe354", matched_rule_priority=0, actions_executed="forward",
            target_port_list="10.0.0.1:80", target_status_code_list="200"),
        row(2, type="https", **HTTP_0702, client_ip="192.168.131.39", client_port=2817, target_ip="10.0.0.1",
            target_port=80, request_processing_time=0.086, target_processing_time=0.048, response_processing_time=0.037,
            elb_status_code=200, target_status_code=200, received_bytes=0, sent_bytes=57, request_verb="GET",
            request_url="https://www.example.com:443/", request_proto="HTTP/1.1", user_agent="curl/7.46.0", **TLS12,
            trace_id="Root=1-58337281-1d84f3d73c47ec4e58577259", domain_name="www.example.com", chosen_cert_arn=CERT,
            matched_rule_priority=1, actions_executed="authenticate,forward", target_port_list="10.0.0.1:80",
            target_status_code_list="200"),
        row(3, type="h2", **HTTP_0702, client_ip="10.0.1.252", client_port=48160, target_ip="10.0.0.66",
            target_port=9000, request_processing_time=0.0, target_processing_time=0.002, response_processing_time=0.0,
            elb_status_code=200, target_status_code=200, received_bytes=5, sent_bytes=257, request_verb="GET",
            request_url="https://10.0.2.105:773/", request_proto="HTTP/2.0", user_agent="curl/7.46.0", **TLS12,
            trace_id="Root=1-58337327-72bd00b0343d75b906739c42", matched_rule_priority=1, actions_executed="redirect",
            redirect_url="https://example.com:80/", target_port_list="10.0.0.66:9000", target_status_code_list="200"),
        row(4, type="ws", **HTTP_0702, client_ip="10.0.0.140", client_port=40914, target_ip="10.0.1.192",
            target_port=8010, request_processing_time=0.001, target_processing_time=0.003, response_processing_time=0.0,
            elb_status_code=101, target_status_code=101, received_bytes=218, sent_bytes=587, request_verb="GET",
            request_url="http://10.0.0.30:80/", request_proto="HTTP/1.1",
            trace_id="Root=1-58337364-23a8c76965a2ef7629b185e3", matched_rule_priority=1, actions_executed="forward",
            target_port_list="10.0.1.192:8010", target_status_code_list="101"),
        row(5, type="wss", **{**HTTP_0702, "target_group_arn": TG.replace("us-east-2", "us-west-2")},
            client_ip="10.0.0.140", client_port=44244, target_ip="10.0.0.171", target_port=8010,
            request_processing_time=0.0, target_processing_time=0.001, response_processing_time=0.0,
            elb_status_code=101, target_status_code=101, received_bytes=218, sent_bytes=786, request_verb="GET",
            request_url="https://10.0.0.30:443/", request_proto="HTTP/1.1", **TLS12,
            trace_id="Root=1-58337364-23a8c76965a2ef7629b185e3", matched_rule_priority=1, actions_executed="forward",
            target_port_list="10.0.0.171:8010", target_status_code_list="101"),
        # Lambda targets: no target:port
        row(6, type="http", time=utc("2018-11-30T22:23:00.186641Z"), elb=ELB, client_ip="192.168.131.39",
            client_port=2817, request_processing_time=0.0, target_processing_time=0.001, response_processing_time=0.0,
            elb_status_code=200, target_status_code=200, received_bytes=34, sent_bytes=366, request_verb="GET",
            request_url="http://www.example.com:80/", request_proto="HTTP/1.1", user_agent="curl/7.46.0",
            target_group_arn=TG, trace_id="Root=1-58337364-23a8c76965a2ef7629b185e3", matched_rule_priority=0,
            request_creation_time=utc("2018-11-30T22:22:48.364000Z"), actions_executed="forward"),
        row(7, type="http", time=utc("2018-11-30T22:23:00.186641Z"), elb=ELB, client_ip="192.168.131.39",
            client_port=2817, request_processing_time=0.0, target_processing_time=0.001, response_processing_time=0.0,
            elb_status_code=502, received_bytes=34, sent_bytes=366, request_verb="GET",
            request_url="http://www.example.com:80/", request_proto="HTTP/1.1", user_agent="curl/7.46.0",
            target_group_arn=TG, trace_id="Root=1-58337364-23a8c76965a2ef7629b185e3", matched_rule_priority=0,
            request_creation_time=utc("2018-11-30T22:22:48.364000Z"), actions_executed="forward",
            error_reason="LambdaInvalidResponse"),
    ]


# -- every generation of the format ----------------------------------------------------

V_COMMON = dict(elb=ELB, target_group_arn=TG)


def test_older_and_newer_versions(con):
    got = parse(con, lines_of(DATA / "versions.log"))
    https = dict(type="https", client_ip="192.168.131.39", client_port=2817, target_ip="10.0.0.1", target_port=80,
                 request_processing_time=0.0, response_processing_time=0.0, elb_status_code=200, target_status_code=200,
                 received_bytes=0, sent_bytes=57, request_verb="GET", request_url="https://www.example.com:443/",
                 request_proto="HTTP/1.1", user_agent="curl/7.46.0", **TLS12, **V_COMMON)
    assert got[0] == row(1, **https, time=utc("2016-08-10T23:39:43.065466Z"), target_processing_time=0.001,
                         trace_id="Root=1-57abbc9f-0a1b2c3d4e5f60718293a4b5")
    assert got[1] == row(2, **https, time=utc("2017-10-11T08:15:02.481932Z"), target_processing_time=0.002,
                         trace_id="Root=1-59ddd2d6-11223344556677889900aabb", domain_name="www.example.com",
                         chosen_cert_arn=CERT)
    assert got[2] == row(3, **https, time=utc("2018-07-02T22:23:00.186641Z"), target_processing_time=0.001,
                         trace_id="Root=1-5b3aa5f4-aabbccddeeff001122334455", domain_name="www.example.com",
                         chosen_cert_arn="session-reused", matched_rule_priority=1,
                         request_creation_time=utc("2018-07-02T22:22:48.364000Z"), actions_executed="forward")
    assert got[3] == row(4, type="http", time=utc("2018-11-30T22:23:00.186641Z"), client_ip="192.168.131.39",
                         client_port=2817, request_processing_time=0.0, target_processing_time=0.001,
                         response_processing_time=0.0, elb_status_code=502, received_bytes=34, sent_bytes=366,
                         request_verb="GET", request_url="http://www.example.com:80/", request_proto="HTTP/1.1",
                         user_agent="curl/7.46.0", trace_id="Root=1-58337364-23a8c76965a2ef7629b185e3",
                         matched_rule_priority=0, request_creation_time=utc("2018-11-30T22:22:48.364000Z"),
                         actions_executed="forward", error_reason="LambdaUnhandled", **V_COMMON)
    # a redirect: no target, no target group, every time -1 (kept as logged)
    assert got[4] == row(5, type="http", time=utc("2020-04-09T23:50:47.074072Z"), elb=ELB, client_ip="63.143.42.245",
                         client_port=35290, request_processing_time=-1.0, target_processing_time=-1.0,
                         response_processing_time=-1.0, elb_status_code=301, received_bytes=429, sent_bytes=206,
                         request_verb="HEAD", request_url="http://www.example.com:80/packages", request_proto="HTTP/1.1",
                         user_agent="Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
                         trace_id="Root=1-5e8fb4d6-88f9ba6fa59e2a9b5ce6a282", matched_rule_priority=0,
                         request_creation_time=utc("2020-04-09T23:50:46.843000Z"), actions_executed="redirect",
                         redirect_url="https://www.example.com:443/packages")
    # desync classification; the URL holds a space
    assert got[5] == row(6, type="https", time=utc("2021-03-15T08:00:00.123456Z"), client_ip="198.51.100.7",
                         client_port=50123, target_ip="10.0.0.1", target_port=80, request_processing_time=0.001,
                         target_processing_time=0.012, response_processing_time=0.0, elb_status_code=200,
                         target_status_code=200, received_bytes=310, sent_bytes=1024, request_verb="GET",
                         request_url="https://www.example.com:443/my page", request_proto="HTTP/1.1",
                         user_agent="Mozilla/5.0 (X11; Linux x86_64; rv:86.0) Gecko/20100101 Firefox/86.0", **TLS12,
                         trace_id="Root=1-604f1410-0123456789abcdef01234567", domain_name="www.example.com",
                         chosen_cert_arn=CERT, matched_rule_priority=2,
                         request_creation_time=utc("2021-03-15T08:00:00.110000Z"), actions_executed="forward",
                         target_port_list="10.0.0.1:80", target_status_code_list="200", classification="Acceptable",
                         classification_reason="SpaceInUri", **V_COMMON)
    assert got[6] == row(7, type="h2", time=utc("2024-05-28T08:12:36.431832Z"), client_ip="10.10.10.10",
                         client_port=13624, target_ip="172.16.140.164", target_port=8000, request_processing_time=0.0,
                         target_processing_time=0.177, response_processing_time=0.0, elb_status_code=200,
                         target_status_code=200, received_bytes=961, sent_bytes=2071, request_verb="GET",
                         request_url="https://www.example.com:443/", request_proto="HTTP/2.0",
                         user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 16_7_8 like Mac OS X) AppleWebKit/605.1.15 "
                         "(KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1", **TLS13,
                         trace_id="Root=1-665591f4-15d57af7699b090b59a269b4", domain_name="www.example.com",
                         chosen_cert_arn=CERT, matched_rule_priority=10160,
                         request_creation_time=utc("2024-05-28T08:12:36.254000Z"), actions_executed="forward",
                         target_port_list="172.16.140.164:8000", target_status_code_list="200",
                         conn_trace_id="TID_37acbe0641d1c34287fee137ef3a5286", **V_COMMON)
    newest = dict(type="https", client_ip="198.51.100.7", target_ip="10.0.3.30", target_port=9000,
                  request_processing_time=0.0, elb_status_code=200, target_status_code=200, received_bytes=420,
                  sent_bytes=1880, request_verb="GET", request_proto="HTTP/1.1", user_agent="curl/8.5.0", **TLS13,
                  domain_name="www.example.com", matched_rule_priority=5, actions_executed="forward",
                  target_port_list="10.0.3.30:9000", target_status_code_list="200", **V_COMMON)
    assert got[7] == row(8, **newest, time=utc("2025-10-20T10:15:30.512345Z"), client_port=50200,
                         target_processing_time=0.045, response_processing_time=0.001,
                         request_url="https://www.example.com:443/v1/items?id=7",
                         trace_id="Root=1-68f60c62-0f1e2d3c4b5a69788796a5b4", chosen_cert_arn=CERT,
                         request_creation_time=utc("2025-10-20T10:15:30.466000Z"),
                         conn_trace_id="TID_0f1e2d3c4b5a69788796a5b4c3d2e1f0", transformed_host="internal.example.com",
                         transformed_uri="/v2/items?id=7")
    # fields nobody documented yet: kept as text in extra, the rest parses
    assert got[8] == row(9, **newest, time=utc("2025-10-20T10:15:31.000001Z"), client_port=50201,
                         target_processing_time=0.04, response_processing_time=0.0,
                         request_url="https://www.example.com:443/v1/items?id=8",
                         trace_id="Root=1-68f60c63-0f1e2d3c4b5a69788796a5b5", chosen_cert_arn="session-reused",
                         request_creation_time=utc("2025-10-20T10:15:30.960000Z"),
                         conn_trace_id="TID_0f1e2d3c4b5a69788796a5b4c3d2e1f1", extra='10.0.0.5 "a future field"')


def test_edge_cases(con):
    got = parse(con, lines_of(DATA / "edge.log"))
    common = dict(elb=ELB, target_group_arn=TG, domain_name="www.example.com", chosen_cert_arn="session-reused",
                  actions_executed="forward")
    # IPv6 client as AWS writes it: no brackets, split at the last colon
    assert got[0] == row(1, type="h2", time=utc("2023-09-10T23:55:00.361692Z"),
                         client_ip="2a02:a33c:4538:1:bcf4:5264:e01c:f215", client_port=50718, target_ip="10.0.0.9",
                         target_port=80, request_processing_time=0.0, target_processing_time=0.003,
                         response_processing_time=0.0, elb_status_code=401, target_status_code=401, received_bytes=29,
                         sent_bytes=805, request_verb="GET", request_url="https://api.example.com:443/api/v1/alerts",
                         request_proto="HTTP/2.0", user_agent="okhttp/4.11.0", **TLS12,
                         trace_id="Root=1-64fe5754-33ecd7461b3736944677bb97",
                         **{**common, "domain_name": "api.example.com"}, matched_rule_priority=11,
                         request_creation_time=utc("2023-09-10T23:55:00.358000Z"), target_port_list="10.0.0.9:80",
                         target_status_code_list="401")
    # bracketed [v6]:port loses its brackets
    assert (got[1]["client_ip"], got[1]["client_port"], got[1]["target_ip"], got[1]["target_port"]) == (
        "2001:db8::1", 443, "2001:db8::2", 8080)
    assert got[1]["target_port_list"] == "[2001:db8::2]:8080" and got[1]["reason"] is None
    # target timed out: -1 times, no target status; escaped quotes in the user agent stay as logged
    assert got[2] == row(3, type="https", time=utc("2024-05-28T08:13:00Z"), client_ip="203.0.113.25",
                         client_port=40001, target_ip="10.0.0.1", target_port=80, request_processing_time=-1.0,
                         target_processing_time=-1.0, response_processing_time=-1.0, elb_status_code=504,
                         received_bytes=512, sent_bytes=0, request_verb="POST",
                         request_url="https://www.example.com:443/checkout", request_proto="HTTP/1.1",
                         user_agent='Mozilla/5.0 \\"quoted\\" (X11)', **TLS13,
                         trace_id="Root=1-665591f4-15d57af7699b090b59a269b6", **common, matched_rule_priority=3,
                         request_creation_time=utc("2024-05-28T08:11:59.990000Z"), target_port_list="10.0.0.1:80",
                         conn_trace_id="TID_37acbe0641d1c34287fee137ef3a5288")
    # a malformed request: "- - -", nothing but the classification
    assert got[3] == row(4, type="http", time=utc("2024-05-28T08:14:00Z"), elb=ELB, client_ip="192.0.2.44",
                         client_port=40002, request_processing_time=-1.0, target_processing_time=-1.0,
                         response_processing_time=-1.0, elb_status_code=400, received_bytes=0, sent_bytes=272,
                         request_creation_time=utc("2024-05-28T08:14:00Z"), classification="Severe",
                         classification_reason="BadContentLength",
                         conn_trace_id="TID_37acbe0641d1c34287fee137ef3a5289")
    # spaces and escaped quotes inside quoted fields, a list of two targets
    assert got[4]["request_url"] == 'https://www.example.com:443/a b?c=\\"d\\"'
    assert got[4]["request_verb"] == "GET" and got[4]["request_proto"] == "HTTP/1.1"
    assert got[4]["redirect_url"] == "https://www.example.com:443/a b"
    assert got[4]["target_port_list"] == "10.0.0.1:80 10.0.0.2:80"
    assert (got[4]["classification"], got[4]["classification_reason"], got[4]["conn_trace_id"]) == (
        "Acceptable", "SpaceInUri", "TID_37acbe0641d1c34287fee137ef3a5290")
    assert got[4]["reason"] is None and got[4]["extra"] is None


def test_malformed_lines_get_a_reason(con):
    got = parse(con, lines_of(DATA / "malformed.log"))
    no_match = 'line does not match the ALB access log format (no quoted "request" and "user_agent")'
    assert [r["reason"] for r in got] == [
        no_match,
        no_match,
        "line does not match the ALB access log format (0 fields after the user agent, expected at least 4: "
        "ssl_cipher ssl_protocol target_group_arn trace_id)",
        "time '2024-13-28T08:12:36.431832Z' is not an ISO-8601 UTC timestamp (YYYY-MM-DDTHH:MM:SS.ffffffZ)",
        "client:port '10.10.10.10' is not an address:port",
        "target_processing_time 'fast' is not a number",
        "elb_status_code '5x2' is not an integer",
        "received_bytes '1.5' is not an integer",
        "matched_rule_priority 'first' is not an integer",
        "request_creation_time 'yesterday' is not an ISO-8601 UTC timestamp (YYYY-MM-DDTHH:MM:SS.ffffffZ)",
        'line does not match the ALB access log format (no space after the quoted "user_agent": a quote inside it?)',
        "target:port '10.0.0.1' is not an address:port or -",
        "elb_status_code '99999999999' is out of range for INTEGER",
    ]


def test_field_count_before_the_request(con):
    line = lines_of(DATA / "versions.log")[0]
    (got,) = parse(con, [line.replace(" 0.000 0.001 0.000 ", " 0.000 0.001 ")])
    assert got["reason"] == (
        "line does not match the ALB access log format (11 fields before the quoted request, expected 12: type time "
        "elb client:port target:port request_processing_time target_processing_time response_processing_time "
        "elb_status_code target_status_code received_bytes sent_bytes)"
    )


def test_trailing_space_and_short_request(con):
    base = lines_of(DATA / "versions.log")[0]
    got = parse(con, [base + " ", base.replace('"GET https://www.example.com:443/ HTTP/1.1"', '"GET /"')])
    assert got[0]["reason"] is None and got[0]["domain_name"] is None and got[0]["extra"] is None
    assert (got[1]["request_verb"], got[1]["request_url"], got[1]["request_proto"]) == ("GET", "/", None)


def test_session_time_zone_does_not_matter(con):
    con.execute("SET TimeZone = 'America/New_York'")
    (got,) = parse(con, [lines_of(DATA / "versions.log")[4]])  # 23:50 UTC: already the next day in no zone east
    assert got["time"] == utc("2020-04-09T23:50:47.074072Z")
    assert got["event_date"] == dt.date(2020, 4, 9)
    assert got["request_creation_time"] == utc("2020-04-09T23:50:46.843000Z")


def test_delivered_gzip_files(con):
    shop = parse(con, lines_of(SHOP_1005), source_object=str(SHOP_1005))
    assert len(shop) == 8 and all(r["reason"] is None for r in shop)
    assert [r["elb_status_code"] for r in shop] == [200, 200, 200, 502, 504, 301, 200, 460]
    assert shop[2]["client_ip"] == "2001:db8::7" and shop[2]["client_port"] == 61000
    assert {r["elb"] for r in shop} == {"app/shop-alb/50dc6c495c0c9188"}
    later = parse(con, lines_of(SHOP_1110))
    assert later[4]["extra"] == "10.0.1.15" and later[3]["type"] == "wss"
    api = parse(con, lines_of(API_0905))
    assert [r["reason"] for r in api] == [None, None, None, api[3]["reason"], None, None]
    assert api[3]["reason"].startswith("line does not match the ALB access log format")
    assert (api[2]["transformed_host"], api[2]["transformed_uri"]) == ("items.internal.example.com", "/v2/items?id=7")
    assert api[1]["error_reason"] == "LambdaInvalidResponse" and api[1]["target_ip"] is None
    assert api[5]["type"] == "grpcs"


# -- layout and skips ------------------------------------------------------------------


def test_layout_of_the_documented_file_name():
    key = (
        "prefix/AWSLogs/123456789012/elasticloadbalancing/us-east-2/2016/05/01/123456789012_elasticloadbalancing_"
        "us-east-2_app.my-loadbalancer.1234567890abcdef_20140215T2340Z_172.160.001.192_20sg8hgm.log.gz"
    )
    assert LOGTYPE.layout(key) == Layout(
        account="123456789012", region="us-east-2", resource="app.my-loadbalancer.1234567890abcdef",
        date=dt.date(2016, 5, 1), hour=23,
    )
    assert LOGTYPE.skip_reason(key) is None


def test_layout_of_the_fixture_tree():
    key = str(SHOP_1110.relative_to(DATA / "bucket"))
    assert LOGTYPE.layout(key) == Layout(
        account=ACCOUNT, region="us-east-2", resource="app.shop-alb.50dc6c495c0c9188", date=dt.date(2025, 10, 20), hour=11
    )
    assert LOGTYPE.layout(str(API_0905)).resource == "app.api-alb.7e1a2b3c4d5e6f70"


def test_layout_from_the_file_name_alone_and_unknown_names():
    name = f"{ACCOUNT}_elasticloadbalancing_eu-west-1_app.web.0a1b2c3d4e5f6a7b_20250102T0000Z_10.0.0.1_abc123.log"
    assert LOGTYPE.layout(f"downloads/{name}") == Layout(
        account=ACCOUNT, region="eu-west-1", resource="app.web.0a1b2c3d4e5f6a7b", date=dt.date(2025, 1, 2), hour=0
    )
    assert LOGTYPE.layout("somewhere/alb.log") == Layout()
    assert LOGTYPE.layout(
        "AWSLogs/aws-account-id=123456789012/aws-service=elasticloadbalancing/aws-region=us-east-1/year=2025/month=10/"
        "day=20/hour=07/x.log.gz"
    ) == Layout(account="123456789012", region="us-east-1", date=dt.date(2025, 10, 20), hour=7)


@pytest.mark.parametrize(
    ("key", "why"),
    [
        (f"AWSLogs/{ACCOUNT}/ELBAccessLogTestFile", "ELBAccessLogTestFile"),
        (str(CONN_LOG), "connection log"),
        (f"AWSLogs/{ACCOUNT}/elasticloadbalancing/us-east-2/2025/11/21/health_check_log_{ACCOUNT}_elasticloadbalancing_"
         "us-east-2_app.shop-alb.50dc6c495c0c9188_20251121T1005Z_10.0.1.15_abcd1234.log.gz", "health check log"),
        (f"AWSLogs/{ACCOUNT}/elasticloadbalancing/us-east-2/2025/10/20/{ACCOUNT}_elasticloadbalancing_us-east-2_"
         "net.my-nlb.1234567890abcdef_20251020T1005Z_10.0.1.15_abcd1234.log.gz", "Network Load Balancer"),
        (f"AWSLogs/{ACCOUNT}/elasticloadbalancing/us-east-2/2025/10/20/{ACCOUNT}_elasticloadbalancing_us-east-2_"
         "my-classic-lb_20251020T1005Z_10.0.1.15_abcd1234.log", "Classic Load Balancer"),
    ],
)
def test_skip_reasons(key, why):
    reason = LOGTYPE.skip_reason(key)
    assert reason is not None and why in reason


def test_access_logs_are_not_skipped():
    for path in (SHOP_1005, SHOP_1110, API_0905, DATA / "examples.log"):
        assert LOGTYPE.skip_reason(str(path)) is None


# -- rules -----------------------------------------------------------------------------


def test_rules_flag_exactly_the_bad_records(con):
    con.execute(TABLE.ddl("main"))
    ok = {
        "type": "https", "time": "2025-10-20 10:00:00+00", "elb_status_code": 200, "target_status_code": 200,
        "request_processing_time": 0.0, "target_processing_time": 0.1, "response_processing_time": 0.0,
        "received_bytes": 10, "sent_bytes": 20, "request_creation_time": "2025-10-20 09:59:59+00", "classification": None,
    }
    records = {
        "ok": {},
        "lambda-failed": {"target_status_code": None, "elb_status_code": 502},
        "not-dispatched": {"request_processing_time": -1.0, "target_processing_time": -1.0, "response_processing_time": -1.0},
        "elb-600": {"elb_status_code": 600},
        "elb-99": {"elb_status_code": 99},
        "target-700": {"target_status_code": 700},
        "type-tcp": {"type": "tcp"},
        "time-minus-2": {"target_processing_time": -2.0},
        "bytes-negative": {"sent_bytes": -1},
        "created-after": {"request_creation_time": "2025-10-20 10:00:01+00"},
        "class-weird": {"classification": "Weird"},
        "class-severe": {"classification": "Severe"},
    }
    for n, (name, change) in enumerate(records.items(), 1):
        values = {**ok, **change, "line_no": n, "source_object": name}
        cols = ", ".join(f'"{c}"' for c in values)
        con.execute(f"INSERT INTO alb_logs ({cols}) VALUES ({', '.join('?' * len(values))})", list(values.values()))
    flagged = {
        rule.name: [s for (s,) in con.execute(f"SELECT source_object FROM alb_logs WHERE {rule.violation} ORDER BY line_no").fetchall()]
        for rule in LOGTYPE.rules
    }
    assert flagged == {
        "elb_status_code_range": ["elb-600", "elb-99"],
        "target_status_code_range": ["target-700"],
        "type_known": ["type-tcp"],
        "processing_times": ["time-minus-2"],
        "bytes_non_negative": ["bytes-negative"],
        "request_before_response": ["created-after"],
        "classification_known": ["class-weird"],
    }
    assert all(r.description for r in LOGTYPE.rules)


def test_every_fixture_record_passes_the_rules(con):
    lines = [line for f in ("examples.log", "versions.log", "edge.log") for line in lines_of(DATA / f)]
    lines += lines_of(SHOP_1005) + lines_of(SHOP_1110)
    con.register("lines", pa.table({
        "source_object": ["x"] * len(lines), "line_no": pa.array(range(1, len(lines) + 1), pa.int64()), "line": lines,
    }))
    con.execute(f"CREATE TABLE parsed AS SELECT * FROM ({PARSE_SQL})")
    assert con.execute("SELECT count(*) FROM parsed WHERE reason IS NOT NULL").fetchone() == (0,)
    for rule in LOGTYPE.rules:
        assert con.execute(f"SELECT count(*) FROM parsed WHERE {rule.violation}").fetchone() == (0,), rule.name


# -- never raises, one row per line ------------------------------------------------------

FIXTURE_LINES = [line for f in ("examples.log", "versions.log", "edge.log", "malformed.log") for line in lines_of(DATA / f)]
ALPHABET = st.sampled_from(list(' "\\-:.[]0123456789abcdefTZxyz/\t') + ["é", "\x00", "-1", " - ", '"-"', "TID_"])


@st.composite
def mutated(draw) -> str:
    line = draw(st.sampled_from(FIXTURE_LINES))
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["delete", "insert", "replace", "truncate", "swap", "duplicate"]))
        if not line:
            break
        i = draw(st.integers(0, len(line) - 1))
        if kind == "delete":
            line = line[:i] + line[i + 1 + draw(st.integers(0, 20)):]
        elif kind == "insert":
            line = line[:i] + draw(ALPHABET) + line[i:]
        elif kind == "replace":
            line = line[:i] + draw(ALPHABET) + line[i + 1:]
        elif kind == "truncate":
            line = line[:i]
        elif kind == "swap":
            parts = line.split(" ")
            a, b = draw(st.integers(0, len(parts) - 1)), draw(st.integers(0, len(parts) - 1))
            parts[a], parts[b] = parts[b], parts[a]
            line = " ".join(parts)
        else:
            parts = line.split(" ")
            j = draw(st.integers(0, len(parts) - 1))
            line = " ".join(parts[: j + 1] + parts[j:])
    return line


def check_rows(lines: list[str], rows: list[dict]) -> None:
    assert [r["line_no"] for r in rows] == list(range(1, len(lines) + 1))
    for r in rows:
        assert r["reason"] is None or r["reason"].strip()  # a reason is never empty
        if r["reason"] is None:
            assert r["event_date"] is not None and r["time"] is not None
            assert r["event_date"] == r["time"].astimezone(dt.timezone.utc).date()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(mutated(), min_size=1, max_size=8))
def test_mutated_lines_never_break_the_parse(con, lines):
    check_rows(lines, parse(con, lines))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.text(min_size=0, max_size=200), min_size=1, max_size=6))
def test_random_text_never_breaks_the_parse(con, lines):
    lines = [line.replace("\n", " ").replace("\r", " ") for line in lines]
    check_rows(lines, parse(con, lines))
