"""The log explorer (saved queries by category, a typed parameter form, a paged result
with the SQL that ran and downloads) and the insights JSON API.

Expected values are facts of the seeded demo (seed 7, 30 days ending today): its VPC
flow logs cover the last 7 days and hold 295 (source, destination, port) SSH/RDP rows
over the last 3 days and 78 on the last day, whatever the end date (checked against
demos ending on other days)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time

import httpx
import pyarrow.parquet as pq

from eventlake.engines.duckdb import DuckDBEngine
from eventlake.web.principals import add_token, add_user

from .conftest import READER, login

SSH = "/explorer/vpc_ssh_rdp_attempts"
SSH_COLUMNS = ["srcaddr", "dstaddr", "dstport", "service", "attempts", "accepted", "rejected", "first_attempt", "last_attempt"]


def _wait_for(lake, sql, n, timeout=10.0):
    """The rows of `sql` on the lake once there are `n` (usage is written every 0.2 s)."""
    deadline = time.monotonic() + timeout
    while True:
        eng = DuckDBEngine(lake)
        try:
            rows = eng.query(sql).to_pylist()
        finally:
            eng.close()
        if len(rows) >= n or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def _result_rows(html: str) -> int:
    table = re.search(r'<table class="data" id="result">(.*?)</table>', html, re.S)
    return 0 if table is None else table.group(1).count("<tr>") - 1  # minus the header row


def _meta(html: str) -> str:
    return " ".join(re.search(r'id="result-meta">(.*?)</p>', html, re.S).group(1).split())


def test_list_groups_saved_queries_by_category(admin_client):
    res = admin_client.get("/explorer")
    assert res.status_code == 200
    html = res.text
    for category, heading in (("vpc-flow", "VPC flow logs"), ("cloudtrail", "CloudTrail"), ("bi", "BI usage"),
                              ("s3-access", "S3 access logs"), ("alb", "Load balancer (ALB) logs")):
        assert f'id="category-{category}"' in html
        assert f"<h2>{heading} " in html
    assert f'<a href="{SSH}">vpc_ssh_rdp_attempts</a>' in html
    assert "SSH (TCP 22) and RDP (TCP 3389) connection attempts over the last N days" in html
    # the VPC section lists its saved queries, and not another source's
    vpc = re.search(r'id="category-vpc-flow".*?</section>', html, re.S).group(0)
    assert "vpc_top_talkers_by_bytes" in vpc and "alb_top_clients" not in vpc


def test_list_filter(admin_client):
    html = admin_client.get("/explorer", params={"q": "ssh"}).text
    assert re.findall(r'<a href="/explorer/([a-z0-9_]+)">', html) == ["vpc_ssh_rdp_attempts"]
    none = admin_client.get("/explorer", params={"q": "no-such-thing-at-all"}).text
    assert "No saved query matches “no-such-thing-at-all”." in none


def test_form_has_typed_prefilled_fields(admin_client):
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    html = admin_client.get("/explorer/cloudfront_errors_by_status").text
    assert '<input type="number" name="days" value="7" min="0" step="1">' in html
    assert '<input type="number" name="min_status" value="400" min="0" step="1">' in html
    assert f'<input type="date" name="as_of" value="{today}">' in html
    assert 'name="domain" value="*"' in html
    include = re.search(r'<select name="include_aborted">(.*?)</select>', html, re.S).group(1)
    assert '<option value="true" selected>true</option>' in include
    assert '<p class="description">CloudFront error responses' in html
    assert 'id="result"' not in html  # nothing ran yet
    ts = admin_client.get("/explorer/cloudtrail_calls_by_principal").text
    assert 'type="text" name="start_time" value="now-24h"' in ts
    assert 'type="text" name="end_time" value="now"' in ts
    required = admin_client.get("/explorer/product_funnel").text
    assert re.search(r'name="steps" value="" placeholder="text" required>', required)
    assert 'steps <abbr class="required" title="required">*</abbr>' in required


def test_run_pages_through_the_result(admin_client):
    first = admin_client.get(SSH, params={"run": "1", "days": "3"})
    assert first.status_code == 200
    assert _meta(first.text).startswith("rows 1–100 of 295 ·")
    assert _result_rows(first.text) == 100
    assert "<th scope=\"col\">srcaddr</th>" in first.text
    assert 'rel="next" href="?days=3&amp;run=1&amp;page=2"' in first.text
    assert 'rel="prev"' not in first.text
    # the SQL that ran, with its bound values beside it
    sql = re.search(r'<pre class="sql" id="sql">(.*?)</pre>', first.text, re.S).group(1)
    assert sql.startswith("SELECT * FROM (\nWITH attempts AS (")
    assert sql.endswith(") LIMIT $__limit OFFSET $__offset")
    bound = re.search(r'<table class="data bound" id="bound">(.*?)</table>', first.text, re.S).group(1)
    assert "<tr><td><code>$days</code></td><td>int</td><td>3</td></tr>" in bound
    assert "<tr><td><code>$min_attempts</code></td><td>int</td><td>1</td></tr>" in bound
    assert "<tr><td><code>$__offset</code></td><td>int</td><td>0</td></tr>" in bound
    assert "<td><code>$as_of</code></td><td>date</td><td>" + dt.datetime.now(dt.timezone.utc).date().isoformat() in bound
    # downloads keep the parameters
    assert f'href="{SSH}/download?days=3&amp;format=csv"' in first.text

    last = admin_client.get(SSH, params={"run": "1", "days": "3", "page": "3"})
    assert _meta(last.text).startswith("rows 201–295 of 295 ·")
    assert _result_rows(last.text) == 95
    assert 'rel="next"' not in last.text and 'rel="prev" href="?days=3&amp;run=1&amp;page=2"' in last.text
    assert "<tr><td><code>$__offset</code></td><td>int</td><td>200</td></tr>" in last.text

    one_page = admin_client.get(SSH, params={"run": "1", "days": "1"})
    assert _meta(one_page.text).startswith("rows 1–78 of 78 ·")
    assert 'class="pager"' not in one_page.text


def test_bad_parameters_show_the_message(admin_client):
    bad = admin_client.get(SSH, params={"run": "1", "days": "x"})
    assert bad.status_code == 400
    assert ("parameter &#39;days&#39; of insight &#39;vpc_ssh_rdp_attempts&#39; must be a non-negative integer, "
            "got &#39;x&#39;") in bad.text
    assert '<input type="number" name="days" value="x"' in bad.text  # the form keeps what was typed
    unknown = admin_client.get(SSH, params={"run": "1", "nope": "1"})
    assert unknown.status_code == 400
    assert "insight &#39;vpc_ssh_rdp_attempts&#39; has no parameter &#39;nope&#39;" in unknown.text
    missing = admin_client.get("/explorer/product_funnel", params={"run": "1", "steps": ""})
    assert missing.status_code == 400
    assert "insight &#39;product_funnel&#39; needs parameter &#39;steps&#39;" in missing.text
    ts = admin_client.get("/explorer/cloudtrail_calls_by_principal", params={"run": "1", "start_time": "yesterday"})
    assert ts.status_code == 400 and "must be a UTC timestamp" in ts.text
    assert admin_client.get("/explorer/no_such_query").status_code == 404
    assert admin_client.get(SSH + "/download", params={"format": "xlsx"}).status_code == 400


def test_downloads_hold_the_whole_result(admin_client):
    res = admin_client.get(SSH + "/download", params={"format": "csv", "days": "3"})
    assert res.status_code == 200
    assert res.headers["content-disposition"] == 'attachment; filename="vpc_ssh_rdp_attempts.csv"'
    assert res.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(res.text)))
    assert rows[0] == SSH_COLUMNS
    assert len(rows) == 1 + 295
    assert {r[3] for r in rows[1:]} <= {"ssh", "rdp"}

    pq_res = admin_client.get(SSH + "/download", params={"format": "parquet", "days": "3"})
    assert pq_res.headers["content-disposition"] == 'attachment; filename="vpc_ssh_rdp_attempts.parquet"'
    table = pq.read_table(io.BytesIO(pq_res.content))
    assert table.column_names == SSH_COLUMNS
    assert table.num_rows == 295
    assert table.column("srcaddr").to_pylist() == [r[0] for r in rows[1:]]
    assert table.column("attempts").to_pylist() == [int(r[4]) for r in rows[1:]]

    js = admin_client.get(SSH + "/download", params={"format": "json", "days": "1"})
    assert js.headers["content-disposition"] == 'attachment; filename="vpc_ssh_rdp_attempts.json"'
    assert len(js.json()) == 78 and set(js.json()[0]) == set(SSH_COLUMNS)


def test_a_reader_uses_the_explorer(console_url):
    c = login(console_url, READER)
    try:
        assert c.get("/explorer").status_code == 200
        assert _meta(c.get(SSH, params={"run": "1", "days": "1"}).text).startswith("rows 1–78 of 78")
    finally:
        c.close()


def test_api_with_a_bearer_token(demo_lake, console_url):
    _, token = add_token(demo_lake, READER[0], note="explorer api test")
    time.sleep(0.5)  # the console re-reads principals every 0.2 s
    with httpx.Client(base_url=console_url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as api:
        listed = api.get("/api/insights")
        assert listed.status_code == 200 and "set-cookie" not in listed.headers
        ssh = next(i for i in listed.json()["insights"] if i["name"] == "vpc_ssh_rdp_attempts")
        assert ssh["category"] == "vpc-flow"
        assert ssh["description"].startswith("SSH (TCP 22) and RDP (TCP 3389) connection attempts")
        assert ssh["params"][0] == {"name": "days", "type": "int", "default": "7", "required": False,
                                    "description": "Length of the window in days, ending on as_of"}
        assert [p["name"] for p in ssh["params"]] == ["days", "as_of", "min_attempts"]

        run = api.get("/api/insights/vpc_ssh_rdp_attempts", params={"days": "1"})
        assert run.status_code == 200
        body = run.json()
        assert body["columns"] == SSH_COLUMNS
        assert body["row_count"] == 78 and len(body["rows"]) == 78 and body["truncated"] is False
        assert body["params"]["days"] == 1 and body["params"]["min_attempts"] == 1
        assert isinstance(body["elapsed_ms"], (int, float))

        limited = api.get("/api/insights/vpc_ssh_rdp_attempts", params={"days": "1", "limit": "5"}).json()
        assert len(limited["rows"]) == 5 and limited["truncated"] is True
        assert limited["rows"] == body["rows"][:5]

        as_csv = api.get("/api/insights/vpc_ssh_rdp_attempts", params={"days": "1", "format": "csv"})
        assert as_csv.headers["content-disposition"] == 'attachment; filename="vpc_ssh_rdp_attempts.csv"'
        assert len(list(csv.reader(io.StringIO(as_csv.text)))) == 1 + 78
        as_parquet = api.get("/api/insights/vpc_ssh_rdp_attempts", params={"days": "1", "format": "parquet"})
        assert pq.read_table(io.BytesIO(as_parquet.content)).num_rows == 78

        bad = api.get("/api/insights/vpc_ssh_rdp_attempts", params={"days": "-"})
        assert bad.status_code == 400
        assert bad.json() == {"error": "parameter 'days' of insight 'vpc_ssh_rdp_attempts' must be a non-negative integer, got '-'"}
        assert api.get("/api/insights/no_such_query").status_code == 404
    with httpx.Client(base_url=console_url, timeout=30) as anon:
        assert anon.get("/api/insights").status_code == 401
        assert anon.get("/api/insights", headers={"Authorization": "Bearer elk_nope_nope"}).status_code == 401


def test_runs_and_downloads_are_recorded(demo_lake, console_url):
    add_user(demo_lake, "explorer-usage", "explorer-pass-1", role="reader")
    time.sleep(0.5)
    c = login(console_url, ("explorer-usage", "explorer-pass-1"))
    try:
        c.get("/explorer")
        c.get(SSH)
        c.get(SSH, params={"run": "1", "days": "1"})
        c.get(SSH, params={"run": "1", "days": "bad"})
        c.get(SSH + "/download", params={"format": "parquet", "days": "3"})
    finally:
        c.close()
    events = _wait_for(
        demo_lake,
        "SELECT action, asset_type, asset_id, status, rows, json_extract_string(detail, '$.params.days') AS days, "
        "json_extract_string(detail, '$.format') AS format FROM console_events "
        "WHERE user_name = 'explorer-usage' AND page LIKE '/explorer%' ORDER BY event_time",
        5,
    )
    assert events == [
        {"action": "view", "asset_type": "page", "asset_id": "console:/explorer", "status": "ok", "rows": None, "days": None, "format": None},
        {"action": "view", "asset_type": "insight", "asset_id": "vpc_ssh_rdp_attempts", "status": "ok", "rows": None, "days": None, "format": None},
        {"action": "run_insight", "asset_type": "insight", "asset_id": "vpc_ssh_rdp_attempts", "status": "ok", "rows": 78, "days": "1", "format": None},
        {"action": "run_insight", "asset_type": "insight", "asset_id": "vpc_ssh_rdp_attempts", "status": "error", "rows": None, "days": "bad", "format": None},
        {"action": "download", "asset_type": "insight", "asset_id": "vpc_ssh_rdp_attempts", "status": "ok", "rows": 295, "days": "3", "format": "parquet"},
    ]


def test_explorer_in_the_browser(page, console_url, tmp_path):
    page.goto(console_url + "/explorer")
    assert page.title() == "Log explorer · eventlake"
    page.fill("#explorer-filter", "ssh rdp")
    assert page.locator(".insight-item:visible").count() == 1
    assert page.locator("#explorer-count").inner_text() == f"1 of {page.locator('.insight-item').count()} saved queries"
    page.click("text=vpc_ssh_rdp_attempts")
    page.wait_for_url("**/explorer/vpc_ssh_rdp_attempts")
    page.fill("input[name=days]", "3")
    page.click("#run")
    page.wait_for_selector("#result")
    assert page.locator("#result-meta").inner_text().startswith("rows 1–100 of 295")
    assert page.locator("#result tbody tr").count() == 100
    assert "days=3" in page.url and "run=1" in page.url
    assert "LIMIT $__limit OFFSET $__offset" in page.locator("#sql").inner_text()
    assert page.locator("#bound tr", has_text="$days").inner_text().split() == ["$days", "int", "3"]
    assert page.input_value("input[name=days]") == "3"

    page.click("a[rel=next]")
    page.wait_for_url("**page=2*")
    assert page.locator("#result-meta").inner_text().startswith("rows 101–200 of 295")
    assert page.locator("#result tbody tr").count() == 100

    with page.expect_download() as info:
        page.click(".downloads a:text('CSV')")
    download = info.value
    assert download.suggested_filename == "vpc_ssh_rdp_attempts.csv"
    path = tmp_path / "ssh.csv"
    download.save_as(path)
    rows = list(csv.reader(path.open()))
    assert rows[0] == SSH_COLUMNS and len(rows) == 1 + 295


def test_bad_parameter_in_the_browser(page, console_url):
    page.expected_errors = ["/explorer/vpc_ssh_rdp_attempts"]
    page.goto(console_url + SSH + "?run=1&days=3&min_attempts=-1")
    assert "must be a non-negative integer, got '-1'" in page.locator("#error").inner_text()
