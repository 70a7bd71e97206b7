"""The CloudFront insights on a lake ingested from tests/data/cloudfront/logs; the
expected rows are worked out by hand from the fixture lines.

The window 2024-03-01 .. 2024-03-02 (FIXTURE_PARAMS) holds 21 requests:
  03-01 10h  E2EXAMPLE1 (www.example.com): 11 requests
  03-01 11h  E2EXAMPLE1: 3 good requests (3 malformed lines are quarantined)
  03-02 09h  E2EXAMPLE1 (gzip): 3 requests
  03-02 14h  E3V2DIST0001 (d3333333abcdef.cloudfront.net, v2 with its own fields): 3 requests
  03-02 23h  E2EXAMPLE1, file without #Fields header: 1 request
The AWS documentation example (2019) and the 24/26-field files (2017, 2018) lie outside it."""

from __future__ import annotations

from pathlib import Path

from eventlake.insights import list_insights
from eventlake.lake import Lake
from eventlake.sources.lines import ingest_lines
from tests.insights.common import duckdb_engine_fixture, empty_lake, run_rows, ts

LOGS = Path(__file__).parents[1] / "data" / "cloudfront" / "logs"
WINDOW = {"days": "2", "as_of": "2024-03-02"}

FIXTURE_PARAMS: dict[str, dict[str, str]] = {
    "cloudfront_cache_hit_ratio_by_path": dict(WINDOW),
    "cloudfront_top_paths": dict(WINDOW),
    "cloudfront_errors_by_status": dict(WINDOW),
    "cloudfront_edge_locations": dict(WINDOW),
    "cloudfront_top_referers": dict(WINDOW),
    "cloudfront_bandwidth_over_time": dict(WINDOW),
}


def build_cloudfront_lake(path: Path | str) -> Lake:
    """A lake at `path` holding the CloudFront log fixtures, loaded by the line ingest from LOGS."""
    lake = empty_lake(path)
    stats = ingest_lines(lake, "cloudfront", [str(LOGS)])
    # 8 log files (the v2 JSON file is skipped), 33 records, the 3 malformed ones quarantined
    assert (stats.files_read, stats.files_skipped, stats.records_loaded, stats.records_quarantined) == (8, 1, 30, 3)
    return lake


engine = duckdb_engine_fixture(build_cloudfront_lake, "cloudfront")


def run(engine, name, **overrides):
    return run_rows(engine, name, {**FIXTURE_PARAMS[name], **overrides})


def test_every_cloudfront_insight_has_fixture_params():
    names = [i.name for i in list_insights() if i.category == "cloudfront"]
    assert sorted(FIXTURE_PARAMS) == names
    assert len(names) >= 5
    for insight in list_insights():
        if insight.category == "cloudfront":
            assert insight.description and all(p.default is not None for p in insight.params)


def test_cache_hit_ratio_by_path(engine):
    cols, rows = run(engine, "cloudfront_cache_hit_ratio_by_path")
    assert cols == ["path", "requests", "hits", "misses", "errors", "hit_ratio"]
    assert rows == [
        # 8 hits (2 of them RefreshHit), 1 miss, 1 redirect (in requests only)
        ("/index.html", 10, 8, 1, 0, 0.8889),
        ("/api/search", 2, 0, 1, 1, 0.0),  # a miss and a CapacityExceeded
        ("/docs/guide%20v2.pdf", 2, 1, 1, 0, 0.5),  # the v2 distribution
        ("/img/logo%20big.png", 2, 2, 0, 0, 1.0),
        ("/video/big.mp4", 2, 1, 0, 1, 1.0),  # a ranged hit and an aborted request (000)
        ("/", 1, 0, 0, 1, None),
        ("/api/orders", 1, 0, 0, 1, None),
        ("/missing.html", 1, 0, 0, 1, None),
    ]


def test_cache_hit_ratio_by_path_filters(engine):
    _, rows = run(engine, "cloudfront_cache_hit_ratio_by_path", domain="d3333333abcdef.cloudfront.net")
    assert rows == [("/docs/guide%20v2.pdf", 2, 1, 1, 0, 0.5), ("/", 1, 0, 0, 1, None)]
    _, rows = run(engine, "cloudfront_cache_hit_ratio_by_path", min_requests="2", top="2")
    assert rows == [("/index.html", 10, 8, 1, 0, 0.8889), ("/api/search", 2, 0, 1, 1, 0.0)]
    _, rows = run(engine, "cloudfront_cache_hit_ratio_by_path", days="1")  # 03-02 only
    assert rows == [
        ("/docs/guide%20v2.pdf", 2, 1, 1, 0, 0.5),
        ("/index.html", 2, 2, 0, 0, 1.0),
        ("/", 1, 0, 0, 1, None),
        ("/api/search", 1, 0, 0, 1, None),
        ("/img/logo%20big.png", 1, 1, 0, 0, 1.0),
    ]


def test_top_paths(engine):
    cols, rows = run(engine, "cloudfront_top_paths")
    assert cols == ["path", "requests", "viewers", "bytes_sent", "errors", "avg_time_taken", "max_time_taken"]
    assert rows == [
        ("/index.html", 10, 8, 9450, 0, 0.018, 0.12),  # the 301 redirect is no error
        ("/api/search", 2, 1, 1400, 1, 0.13, 0.25),
        ("/docs/guide%20v2.pdf", 2, 2, 40960, 0, 0.113, 0.21),
        ("/img/logo%20big.png", 2, 2, 10000, 0, 0.018, 0.03),
        ("/video/big.mp4", 2, 1, 1048900, 1, 1.45, 2.0),  # 000 counts as an error
        ("/", 1, 1, 520, 1, 0.001, 0.001),
        ("/api/orders", 1, 1, 450, 1, 1.5, 1.5),
        ("/missing.html", 1, 1, 300, 1, 0.004, 0.004),
    ]
    _, rows = run(engine, "cloudfront_top_paths", domain="www.example.com", top="1")
    assert rows == [("/index.html", 10, 8, 9450, 0, 0.018, 0.12)]


def test_errors_by_status(engine):
    cols, rows = run(engine, "cloudfront_errors_by_status")
    assert cols == ["sc_status", "x_edge_result_type", "x_edge_detailed_result_type", "requests", "paths", "viewers", "top_path",
                    "first_seen", "last_seen"]
    assert rows == [
        (0, "Error", "ClientCommError", 1, 1, 1, "/video/big.mp4", ts("2024-03-01 10:06:00"), ts("2024-03-01 10:06:00")),
        (403, "Error", None, 1, 1, 1, "/", ts("2024-03-02 14:10:00"), ts("2024-03-02 14:10:00")),  # v2 file: no detailed type
        (404, "Error", "Error", 1, 1, 1, "/missing.html", ts("2024-03-01 10:05:00"), ts("2024-03-01 10:05:00")),
        (502, "Error", "OriginConnectError", 1, 1, 1, "/api/orders", ts("2024-03-01 10:04:00"), ts("2024-03-01 10:04:00")),
        (503, "CapacityExceeded", "CapacityExceeded", 1, 1, 1, "/api/search", ts("2024-03-02 09:10:00"), ts("2024-03-02 09:10:00")),
    ]
    _, rows = run(engine, "cloudfront_errors_by_status", min_status="500", include_aborted="false")
    assert [r[:4] for r in rows] == [(502, "Error", "OriginConnectError", 1), (503, "CapacityExceeded", "CapacityExceeded", 1)]
    # the AWS documentation example: three 502 OriginDnsError for two paths on 2019-12-13
    _, rows = run(engine, "cloudfront_errors_by_status", as_of="2019-12-31", days="31")
    assert rows == [(502, "Error", "OriginDnsError", 3, 2, 1, "/", ts("2019-12-13 22:36:26"), ts("2019-12-13 22:37:02"))]


def test_edge_locations(engine):
    cols, rows = run(engine, "cloudfront_edge_locations")
    assert cols == ["x_edge_location", "airport", "requests", "bytes_sent", "hit_ratio", "avg_time_taken", "p95_time_taken",
                    "avg_time_to_first_byte"]
    assert rows == [
        # p95 of 11 times: between the 10th (0.9) and 11th (2.0) value
        ("LAX50-C1", "LAX", 11, 1058000, 0.8889, 0.276, 1.45, 0.013),
        ("FRA56-P1", "FRA", 6, 12100, 0.75, 0.308, 1.188, 0.305),
        ("AMS1-C1", "AMS", 3, 41480, 0.5, 0.076, 0.191, None),  # v2 file without time-to-first-byte
        ("SEA19-C2", "SEA", 1, 400, None, 0.0, 0.0, 0.0),  # only a redirect
    ]


def test_top_referers(engine):
    cols, rows = run(engine, "cloudfront_top_referers")
    assert cols == ["referer_host", "requests", "viewers", "paths", "top_path"]
    assert rows == [("www.google.com", 2, 1, 1, "/index.html"), ("news.example.org", 1, 1, 1, "/missing.html")]
    _, rows = run(engine, "cloudfront_top_referers", include_internal="true")
    assert rows == [
        ("www.example.com", 4, 3, 3, "/img/logo%20big.png"),
        ("www.google.com", 2, 1, 1, "/index.html"),
        ("news.example.org", 1, 1, 1, "/missing.html"),
    ]
    # all years: the 2018 referer was logged without a scheme; the 2019 one is internal
    _, rows = run(engine, "cloudfront_top_referers", days="3000")
    assert rows == [
        ("www.google.com", 2, 1, 1, "/index.html"),
        ("news.example.org", 1, 1, 1, "/missing.html"),
        ("www.displaymyfiles.com", 1, 1, 1, "/view/my/file.html"),
    ]


def test_bandwidth_over_time(engine):
    cols, rows = run(engine, "cloudfront_bandwidth_over_time")
    assert cols == ["period_start", "requests", "bytes_sent", "bytes_from_cache", "bytes_received", "viewers"]
    assert rows == [
        (ts("2024-03-01 00:00"), 14, 1062500, 1059300, 5830, 11),
        (ts("2024-03-02 00:00"), 7, 49480, 27880, 1240, 6),  # the v2 file logs no cs-bytes
    ]
    _, rows = run(engine, "cloudfront_bandwidth_over_time", days="1", hourly="true")
    assert rows == [
        (ts("2024-03-02 09:00"), 3, 6800, 6200, 930, 3),
        (ts("2024-03-02 14:00"), 3, 41480, 20480, 0, 2),
        (ts("2024-03-02 23:00"), 1, 1200, 1200, 310, 1),
    ]
