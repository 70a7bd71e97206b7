"""The ALB insights (insights/alb_*.sql) on a lake built by ingesting the delivery tree in
tests/data/alb/bucket (see tests/sources/test_alb.py). The answers below are worked out
by hand from those records (times UTC):

  2025-10-20 10:00-10:05, app/shop-alb (target group shop-web: 10.0.1.10:8080, 10.0.2.20:8080)
    198.51.100.7   GET /products?page=1 (0.120s), GET /products/42 (0.340s), again page=1
                   (0.090s), then a 460 (closed before the answer, -1 times)
    2001:db8::7    h2 GET /products?page=2 (0.080s, TLS 1.2)
    203.0.113.25   POST /checkout: 502 from 10.0.2.20 (1.250s), then a 504 (-1 times)
    192.0.2.44     http redirect 301 to https (no target, -1 times)
  2025-10-20 11:05-11:10, app/shop-alb
    198.51.100.7   GET /products/42 (0.200s), GET /products?page=3 (0.150s; one unknown trailing field)
    203.0.113.25   POST /checkout: 503 from 10.0.2.20 (2.000s)
    192.0.2.44     400, classification Severe / BadContentLength (TLS 1.2, no target)
    2001:db8::7    wss /live (0.001s, TLS 1.2)
  2025-10-21 09:00-09:05, app/api-alb (api-fn: Lambda; api-svc: 10.0.3.30:9000)
    198.51.100.7   GET /v1/items via Lambda (0.030s), GET /v1/items?id=7 (0.400s, rewritten),
                   a truncated line (quarantined), grpcs POST /items.v1.Items/Get (0.025s)
    203.0.113.25   POST /v1/items: 502 LambdaInvalidResponse (0.010s)
    192.0.2.44     GET /admin blocked by WAF: 403 (TLS 1.2, -1 times)
"""

from __future__ import annotations

from pathlib import Path

from eventlake.engines.translate import to_spark
from eventlake.insights import list_insights
from eventlake.lake import Lake
from eventlake.sources.lines import ingest_lines
from tests.insights.common import duckdb_engine_fixture, empty_lake, run_rows, ts

DATA = Path(__file__).resolve().parents[1] / "data" / "alb" / "bucket"
AS_OF = "2025-10-21"
SHOP = "app/shop-alb/50dc6c495c0c9188"
API = "app/api-alb/7e1a2b3c4d5e6f70"
TG = "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/"
WEB, FN = TG + "shop-web/73e2d6bc24d8a067", TG + "api-fn/0a1b2c3d4e5f6a7b"

# Params under which each ALB insight has rows on the fixture lake (also used to compare
# DuckDB and Spark results).
FIXTURE_PARAMS: dict[str, dict[str, str]] = {
    "alb_requests_over_time": {"days": "7", "as_of": AS_OF},
    "alb_5xx_by_target": {"days": "7", "as_of": AS_OF},
    "alb_slowest_urls": {"days": "7", "as_of": AS_OF, "min_requests": "1", "top": "20"},
    "alb_top_clients": {"days": "7", "as_of": AS_OF, "top": "20"},
    "alb_errors_by_reason": {"days": "7", "as_of": AS_OF},
    "alb_tls_versions": {"days": "7", "as_of": AS_OF},
}


def build_alb_lake(path: Path) -> Lake:
    """A lake holding the ALB fixture tree, loaded by the line ingest."""
    lake = empty_lake(path)
    stats = ingest_lines(lake, "alb", [str(DATA)])
    # 18 records, 1 truncated line; the connection log and the test file are skipped
    assert (stats.records_loaded, stats.records_quarantined, stats.files_read, stats.files_skipped) == (18, 1, 3, 2)
    return lake


engine = duckdb_engine_fixture(build_alb_lake, "alb-insights")


def run(engine, name, **overrides):
    return run_rows(engine, name, {**FIXTURE_PARAMS[name], **overrides})


def test_every_alb_insight_has_fixture_params_and_translates():
    alb = [i for i in list_insights() if i.category == "alb"]
    assert sorted(FIXTURE_PARAMS) == [i.name for i in alb]
    for i in alb:
        assert i.name.startswith("alb_") and i.description
        assert all(not p.required for p in i.params), i.name
        assert "alb_logs" in i.sql and "event_date" in i.sql
        to_spark(i.sql)  # raises when there is no Spark translation


def test_requests_over_time(engine):
    cols, rows = run(engine, "alb_requests_over_time")
    assert cols == ["hour", "elb", "requests", "status_4xx", "status_5xx", "received_bytes", "sent_bytes",
                    "avg_target_time", "max_target_time"]
    assert rows == [
        (ts("2025-10-20 10:00"), SHOP, 8, 1, 2, 4224, 10182, 0.376, 1.25),
        (ts("2025-10-20 11:00"), SHOP, 5, 1, 1, 6092, 22674, 0.588, 2.0),
        (ts("2025-10-21 09:00"), API, 5, 1, 1, 2260, 3020, 0.116, 0.4),
    ]
    # the window ends on as_of and is `days` long; elb narrows it to one load balancer
    assert run(engine, "alb_requests_over_time", days="1")[1] == [rows[2]]
    assert run(engine, "alb_requests_over_time", as_of="2025-10-20")[1] == rows[:2]
    assert run(engine, "alb_requests_over_time", elb=API)[1] == [rows[2]]
    assert run(engine, "alb_requests_over_time", as_of="2025-10-19")[1] == []


def test_5xx_by_target(engine):
    cols, rows = run(engine, "alb_5xx_by_target")
    assert cols == ["elb", "target_group_arn", "target_ip", "target_port", "requests", "elb_5xx", "target_5xx",
                    "no_answer", "elb_5xx_share", "last_5xx"]
    assert rows == [
        # 502 and 503 from the target, one 504 without an answer; 5 requests in all
        (SHOP, WEB, "10.0.2.20", 8080, 5, 3, 2, 1, 0.6, ts("2025-10-20 11:06")),
        # the Lambda function's invalid response
        (API, FN, None, None, 2, 1, 0, 1, 0.5, ts("2025-10-21 09:01")),
    ]
    assert run(engine, "alb_5xx_by_target", elb=SHOP)[1] == rows[:1]


def test_slowest_urls(engine):
    cols, rows = run(engine, "alb_slowest_urls")
    assert cols == ["rank", "elb", "request_verb", "path", "requests", "p50", "p90", "p99", "max_time"]
    assert rows == [
        (1, SHOP, "POST", "/checkout", 2, 1.625, 1.925, 1.9925, 2.0),
        (2, API, "GET", "/v1/items", 2, 0.215, 0.363, 0.3963, 0.4),
        (3, SHOP, "GET", "/products/42", 2, 0.27, 0.326, 0.3386, 0.34),
        (4, SHOP, "GET", "/products", 4, 0.105, 0.141, 0.1491, 0.15),
        (5, API, "POST", "/items.v1.Items/Get", 1, 0.025, 0.025, 0.025, 0.025),
        (6, API, "POST", "/v1/items", 1, 0.01, 0.01, 0.01, 0.01),
        (7, SHOP, "GET", "/live", 1, 0.001, 0.001, 0.001, 0.001),
    ]
    assert run(engine, "alb_slowest_urls", min_requests="3")[1] == [(1, *rows[3][1:])]
    assert run(engine, "alb_slowest_urls", top="2")[1] == rows[:2]


def test_top_clients(engine):
    cols, rows = run(engine, "alb_top_clients")
    assert cols == ["rank", "client_ip", "requests", "load_balancers", "status_4xx", "status_5xx", "received_bytes",
                    "sent_bytes", "first_seen", "last_seen"]
    assert rows == [
        (1, "198.51.100.7", 9, 2, 1, 0, 3886, 17026, ts("2025-10-20 10:00:01.1"), ts("2025-10-21 09:04:30")),
        (2, "203.0.113.25", 4, 2, 0, 4, 3500, 700, ts("2025-10-20 10:02:00.5"), ts("2025-10-21 09:01")),
        (3, "192.0.2.44", 3, 2, 2, 0, 970, 650, ts("2025-10-20 10:03"), ts("2025-10-21 09:04")),
        (4, "2001:db8::7", 2, 1, 0, 0, 4220, 17500, ts("2025-10-20 10:01:10"), ts("2025-10-20 11:08")),
    ]
    assert run(engine, "alb_top_clients", top="1")[1] == rows[:1]


def test_errors_by_reason(engine):
    cols, rows = run(engine, "alb_errors_by_reason")
    assert cols == ["elb", "error_reason", "classification", "classification_reason", "requests", "clients",
                    "statuses", "example_url", "first_seen", "last_seen"]
    assert rows == [
        (API, "LambdaInvalidResponse", None, None, 1, 1, "502", "https://api.example.com:443/v1/items",
         ts("2025-10-21 09:01"), ts("2025-10-21 09:01")),
        (SHOP, None, "Severe", "BadContentLength", 1, 1, "400", "https://shop.example.com:443/search",
         ts("2025-10-20 11:07"), ts("2025-10-20 11:07")),
    ]


def test_tls_versions(engine):
    cols, rows = run(engine, "alb_tls_versions")
    assert cols == ["ssl_protocol", "ssl_cipher", "requests", "clients", "domains", "share", "last_seen"]
    assert rows == [
        ("TLSv1.3", "TLS_AES_128_GCM_SHA256", 13, 2, 2, 0.7647, ts("2025-10-21 09:04:30")),
        ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256", 4, 2, 2, 0.2353, ts("2025-10-21 09:04")),
    ]
    assert run(engine, "alb_tls_versions", elb=API)[1] == [
        ("TLSv1.3", "TLS_AES_128_GCM_SHA256", 4, 2, 1, 0.8, ts("2025-10-21 09:04:30")),
        ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256", 1, 1, 1, 0.2, ts("2025-10-21 09:04")),
    ]
