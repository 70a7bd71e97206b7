"""The health page: tables, last ingest per source, quarantine counts and records."""

from __future__ import annotations

from .conftest import READER, login


def test_health_lists_tables_and_last_ingest(admin_client):
    res = admin_client.get("/health")
    assert res.status_code == 200
    html = res.text
    for table in ("cloudtrail_events", "s3_access_logs", "vpc_flow_logs", "alb_logs", "cloudfront_logs", "console_events"):
        assert f"<td>{table}</td>" in html
    for source in ("cloudtrail", "bi-metadata", "s3-access", "vpc-flow", "alb", "cloudfront"):
        assert f"<td>{source}</td>" in html


def test_health_in_the_browser(page, console_url):
    page.goto(console_url + "/health")
    assert page.title() == "Health · eventlake"
    assert page.get_by_role("cell", name="cloudtrail_events", exact=True).count() == 1
    assert page.locator("header nav a.active").inner_text() == "Health"
