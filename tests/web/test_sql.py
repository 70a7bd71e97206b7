"""The SQL editor (authors and admins) and `POST /api/sql`: read-only queries with a row
limit and a time limit, errors shown plainly, downloads, CSRF and roles.

Expected answers come from VALUES lists and ranges written here, or from fixed facts of
the seeded demo (its 7 days of VPC flow logs hold 10,140 records)."""

from __future__ import annotations

import csv
import html
import io
import re
import time

import httpx
import pyarrow.parquet as pq
import pytest

from eventlake.collect.app import ServerThread
from eventlake.engines.duckdb import DuckDBEngine
from eventlake.web.app import ConsoleOptions, create_console
from eventlake.web.principals import add_token, add_user

from .conftest import AUTHOR, READER, login

VALUES = "SELECT * FROM (VALUES (1, 'a'), (2, 'b<script>x</script>'), (3, 'c')) t(n, s) ORDER BY n"
REFUSED = "only SELECT queries run here (the lake is read-only to queries); got a {} statement"
SLOW = "SELECT count(*) FROM range(100000000) a, range(100000000) b"


def _run(client, sql, limit=None, action="run", csrf=True):
    data = {"sql": sql, "action": action}
    if csrf:
        data["csrf_token"] = client.csrf
    if limit is not None:
        data["limit"] = str(limit)
    return client.post("/sql", data=data)


def _grid(page: str) -> list[list[str]]:
    table = re.search(r'<table class="data" id="result">.*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    return [[html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)] for tr in re.findall(r"<tr>(.*?)</tr>", table, re.S)]


def _error(page: str) -> str:
    return html.unescape(re.search(r'<p class="error" role="alert" id="error">(.*?)</p>', page, re.S).group(1))


@pytest.fixture
def author_client(console_url):
    c = login(console_url, AUTHOR)
    try:
        yield c
    finally:
        c.close()


def test_editor_lists_tables_and_columns(admin_client):
    res = admin_client.get("/sql")
    assert res.status_code == 200
    page = res.text
    assert '<textarea class="sql" name="sql" id="sql-text"' in page
    vpc = re.search(r'<details data-table="vpc_flow_logs">(.*?)</details>', page, re.S).group(1)
    for col in ("srcaddr", "dstaddr", "dstport", "protocol", "action", "event_date"):
        assert f'data-insert="{col}">{col}</button>' in vpc
    assert '<details data-table="cloudtrail_events">' in page
    assert 'name="limit" value="200" min="1" max="1000"' in page
    assert "at most 1,000 rows · stopped after 30 s" in page
    assert 'name="csrf_token" value="' + admin_client.csrf + '"' in page


def test_run_shows_escaped_rows_and_keeps_the_sql(author_client):
    res = _run(author_client, VALUES)
    assert res.status_code == 200
    assert _grid(res.text) == [["1", "a"], ["2", "b<script>x</script>"], ["3", "c"]]
    assert "<script>x</script>" not in res.text  # data is text, never markup
    assert '<td class="num">1</td>' in res.text
    assert "3 rows ·" in res.text
    kept = re.search(r'id="sql-text"[^>]*>\n(.*?)</textarea>', res.text, re.S).group(1)
    assert html.unescape(kept) == VALUES
    assert 'id="truncated"' not in res.text


def test_a_demo_fact(author_client):
    res = _run(author_client, "SELECT count(*) AS records FROM vpc_flow_logs")
    assert _grid(res.text) == [["10,140"]]


def test_roles_and_csrf(console_url, author_client):
    reader = login(console_url, READER)
    try:
        assert reader.get("/sql").status_code == 403
        assert "this needs the author role; bob is a reader" in reader.get("/sql").text
        assert _run(reader, "SELECT 1").status_code == 403
        api = reader.post("/api/sql", json={"sql": "SELECT 1"}, headers={"X-CSRF-Token": reader.csrf})
        assert api.status_code == 403
        assert api.json() == {"error": "this needs the author role; bob is a reader"}
    finally:
        reader.close()
    no_token = _run(author_client, "SELECT 1", csrf=False)
    assert no_token.status_code == 403
    assert "CSRF token is missing or stale" in no_token.text
    stale = author_client.post("/sql", data={"sql": "SELECT 1", "csrf_token": "not-the-token"})
    assert stale.status_code == 403
    assert author_client.post("/api/sql", json={"sql": "SELECT 1"}).status_code == 403
    ok = author_client.post("/api/sql", json={"sql": "SELECT 1 AS one"}, headers={"X-CSRF-Token": author_client.csrf})
    assert ok.status_code == 200 and ok.json()["rows"] == [[1]]


@pytest.mark.parametrize("sql, message, governed", [
    ("DELETE FROM vpc_flow_logs", REFUSED.format("DELETE"), None),
    ("ATTACH '/tmp/other.duckdb' AS other", REFUSED.format("ATTACH"), None),
    ("COPY vpc_flow_logs TO '/tmp/stolen.csv'", REFUSED.format("COPY"), None),
    ("INSTALL httpfs", REFUSED.format("LOAD"), None),  # DuckDB calls INSTALL a LOAD statement
    ("SELECT 1; SELECT 2", "expected exactly one SQL statement, got 2", None),
    ("SELECT * FROM read_csv('/etc/passwd')", "table function read_csv(...) is not allowed here: query the lake's tables by name",
     "table function read_csv(...) is not allowed: query the lake's tables by name"),
    ("SELECT * FROM read_text('/etc/passwd')", "table function read_text(...) is not allowed here",
     "table function read_text(...) is not allowed"),
    # files inside the lake, the catalog and the tables of secrets are out of reach too
    ("SELECT * FROM read_parquet('data/main/console_users/*.parquet')", "table function read_parquet(...) is not allowed here",
     "table function read_parquet(...) is not allowed"),
    ("SELECT * FROM sqlite_scan('catalog.sqlite', 'ducklake_data_file')", "table function sqlite_scan(...) is not allowed here",
     "table function sqlite_scan(...) is not allowed"),
    ("SELECT * FROM 'data/main/api_tokens/x.parquet'", "no lake table named 'data/main/api_tokens/x.parquet'",
     "no table named 'data/main/api_tokens/x.parquet'"),
    ("SELECT user_name, password_hash FROM console_users", "table 'console_users' holds credentials and cannot be read from here",
     "no table named 'console_users'"),
    ("SELECT * FROM vpc_flow_logs, (SELECT token_hash FROM api_tokens)", "table 'api_tokens' holds credentials",
     "no table named 'api_tokens'"),
])
def test_refused_statements_say_why(admin_client, author_client, sql, message, governed):
    """The admin's SQL is checked by the guard; an author's by their policy's rewrite."""
    for client, expected in ((admin_client, message), (author_client, governed or message)):
        res = _run(client, sql)
        assert res.status_code == 400
        assert _error(res.text).startswith(expected)
        assert html.unescape(re.search(r'id="sql-text"[^>]*>\n(.*?)</textarea>', res.text, re.S).group(1)) == sql
        api = client.post("/api/sql", json={"sql": sql}, headers={"X-CSRF-Token": client.csrf})
        assert api.status_code == 400 and api.json()["error"].startswith(expected)


def test_bad_sql_shows_the_duckdb_message(author_client):
    res = _run(author_client, "SELEC 1")
    assert res.status_code == 400
    assert _error(res.text).startswith('Parser Error: syntax error at or near "SELEC"')
    missing = _run(author_client, "SELECT nope FROM vpc_flow_logs")
    assert 'Referenced column "nope" not found' in _error(missing.text)
    assert _error(_run(author_client, "   ").text) == "write a SELECT query first"
    assert _error(_run(author_client, "SELECT 1", limit="ten").text) == \
        "the row limit must be a whole number of rows (1 to 1000), got 'ten'"


def test_row_limit_truncates_and_says_so(author_client):
    res = _run(author_client, "SELECT x FROM range(25) t(x) ORDER BY x", limit=10)
    assert _grid(res.text) == [[str(i)] for i in range(10)]
    assert "Only the first 10 rows are shown: the result has more." in res.text
    exact = _run(author_client, "SELECT x FROM range(10) t(x)", limit=10)
    assert len(_grid(exact.text)) == 10 and 'id="truncated"' not in exact.text
    capped = _run(author_client, "SELECT x FROM range(1500) t(x) ORDER BY x", limit=5000)
    assert len(_grid(capped.text)) == 1000
    assert "row limit lowered to 1,000, the most this console returns" in capped.text
    assert 'name="limit" value="1000"' in capped.text

    api = author_client.post("/api/sql", json={"sql": "SELECT x FROM range(25) t(x) ORDER BY x", "limit": 3},
                             headers={"X-CSRF-Token": author_client.csrf}).json()
    assert api["columns"] == ["x"] and api["rows"] == [[0], [1], [2]] and api["truncated"] is True
    assert set(api) >= {"columns", "rows", "truncated", "elapsed_ms"}


def test_time_limit_stops_a_slow_query(demo_lake):
    _, token = add_token(demo_lake, AUTHOR[0], note="time limit test")
    opts = ConsoleOptions(sql_time_limit=0.5, record_usage=False)
    with ServerThread(create_console(demo_lake, opts)) as srv:
        with httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as api:
            t0 = time.monotonic()
            res = api.post("/api/sql", json={"sql": SLOW})
            took = time.monotonic() - t0
            assert res.status_code == 400
            assert res.json() == {"error": "the query ran past its time limit of 0.5 s and was stopped"}
            assert took < 10
            assert api.post("/api/sql", json={"sql": "SELECT 42 AS answer"}).json()["rows"] == [[42]]
        c = login(srv.url, AUTHOR)
        try:
            page = _run(c, SLOW)
            assert page.status_code == 400
            assert _error(page.text) == "the query ran past its time limit of 0.5 s and was stopped"
            assert "stopped after 0.5 s" in page.text
        finally:
            c.close()


def test_downloads(author_client):
    as_csv = _run(author_client, VALUES, action="csv")
    assert as_csv.status_code == 200
    assert as_csv.headers["content-disposition"] == 'attachment; filename="query.csv"'
    assert list(csv.reader(io.StringIO(as_csv.text))) == [["n", "s"], ["1", "a"], ["2", "b<script>x</script>"], ["3", "c"]]
    as_parquet = _run(author_client, VALUES, action="parquet")
    assert as_parquet.headers["content-disposition"] == 'attachment; filename="query.parquet"'
    table = pq.read_table(io.BytesIO(as_parquet.content))
    assert table.column_names == ["n", "s"]
    assert table.to_pylist() == [{"n": 1, "s": "a"}, {"n": 2, "s": "b<script>x</script>"}, {"n": 3, "s": "c"}]
    as_json = _run(author_client, VALUES, action="json")
    assert as_json.json() == [{"n": 1, "s": "a"}, {"n": 2, "s": "b<script>x</script>"}, {"n": 3, "s": "c"}]
    limited = _run(author_client, "SELECT x FROM range(25) t(x) ORDER BY x", limit=7, action="csv")
    assert len(list(csv.reader(io.StringIO(limited.text)))) == 1 + 7
    assert limited.headers["x-eventlake-truncated"] == "true"
    assert _run(author_client, VALUES, action="csv", csrf=False).status_code == 403
    bad = _run(author_client, "DELETE FROM vpc_flow_logs", action="csv")
    assert bad.status_code == 400 and _error(bad.text).startswith(REFUSED.format("DELETE"))


def test_api_with_a_bearer_token(demo_lake, console_url):
    _, author_token = add_token(demo_lake, AUTHOR[0], note="sql api test")
    _, reader_token = add_token(demo_lake, READER[0], note="sql api test")
    time.sleep(0.5)  # the console re-reads principals every 0.2 s
    with httpx.Client(base_url=console_url, timeout=30) as api:
        res = api.post("/api/sql", json={"sql": VALUES, "limit": 10}, headers={"Authorization": f"Bearer {author_token}"})
        assert res.status_code == 200 and "set-cookie" not in res.headers
        body = res.json()
        assert body["columns"] == ["n", "s"]
        assert body["rows"] == [[1, "a"], [2, "b<script>x</script>"], [3, "c"]]
        assert body["truncated"] is False and isinstance(body["elapsed_ms"], (int, float))
        typed = api.post("/api/sql", json={"sql": "SELECT DATE '2024-03-01' AS d, TIMESTAMPTZ '2024-03-01 10:00:00+00' AS t, 1.5 AS x"},
                         headers={"Authorization": f"Bearer {author_token}"}).json()
        assert typed["rows"] == [["2024-03-01", "2024-03-01T10:00:00Z", 1.5]]
        bad = api.post("/api/sql", content=b"not json", headers={"Authorization": f"Bearer {author_token}"})
        assert bad.status_code == 400 and bad.json()["error"].startswith("the request body is not JSON")
        shape = api.post("/api/sql", json={"query": "SELECT 1"}, headers={"Authorization": f"Bearer {author_token}"})
        assert shape.status_code == 400 and shape.json() == {"error": 'send a JSON object {"sql": "SELECT ...", "limit": N}'}
        refused = api.post("/api/sql", json={"sql": VALUES}, headers={"Authorization": f"Bearer {reader_token}"})
        assert refused.status_code == 403
        assert api.post("/api/sql", json={"sql": VALUES}).status_code == 401


def test_runs_are_recorded(demo_lake, console_url):
    add_user(demo_lake, "sql-usage", "sql-usage-pass-1", role="author")
    time.sleep(0.5)
    c = login(console_url, ("sql-usage", "sql-usage-pass-1"))
    try:
        c.get("/sql")
        _run(c, VALUES)
        _run(c, "SELEC 1")
        _run(c, VALUES, action="csv")
    finally:
        c.close()
    deadline = time.monotonic() + 10
    sql = ("SELECT action, asset_type, status, rows, json_extract_string(detail, '$.sql') AS sql, "
           "json_extract_string(detail, '$.error') AS error, json_extract_string(detail, '$.format') AS format "
           "FROM console_events WHERE user_name = 'sql-usage' AND page = '/sql' ORDER BY event_time")
    while True:
        eng = DuckDBEngine(demo_lake)
        try:
            events = eng.query(sql).to_pylist()
        finally:
            eng.close()
        if len(events) >= 4 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert [(e["action"], e["asset_type"], e["status"], e["rows"], e["sql"], e["format"]) for e in events] == [
        ("view", "page", "ok", None, None, None),
        ("run_sql", "sql", "ok", 3, VALUES, None),
        ("run_sql", "sql", "error", None, "SELEC 1", None),
        ("download", "sql", "ok", 3, VALUES, "csv"),
    ]
    assert events[2]["error"].startswith('Parser Error: syntax error at or near "SELEC"')


def test_sql_editor_in_the_browser(page, console_url):
    page.goto(console_url + "/sql")
    assert page.title() == "SQL · eventlake"
    # the side list: a table's columns, and a click inserts the name
    column = page.locator('details[data-table="vpc_flow_logs"] button[data-insert="srcaddr"]')
    assert not column.is_visible()
    page.click('details[data-table="vpc_flow_logs"] summary')
    assert column.is_visible()
    page.fill("#sql-text", "SELECT ")
    page.locator("#sql-text").evaluate("t => t.setSelectionRange(7, 7)")
    column.click()
    assert page.input_value("#sql-text") == "SELECT srcaddr"

    page.fill("#sql-text", VALUES)
    page.locator("#sql-text").press("Control+Enter")
    page.wait_for_selector("#result")
    assert page.locator("#result tbody tr").count() == 3
    assert page.locator("#result tbody tr").nth(1).inner_text().split("\t") == ["2", "b<script>x</script>"]
    assert page.input_value("#sql-text") == VALUES

    with page.expect_download() as info:
        page.click("button[name=action][value=csv]")
    assert info.value.suggested_filename == "query.csv"
    assert open(info.value.path()).read().splitlines() == ['"n","s"', '1,"a"', '2,"b<script>x</script>"', '3,"c"']

    page.expected_errors = ["/sql"]
    page.fill("#sql-text", "SELECT no_such_column FROM vpc_flow_logs")
    page.click("#run")
    page.wait_for_selector("#error")
    assert 'Referenced column "no_such_column" not found' in page.locator("#error").inner_text()
    assert page.input_value("#sql-text") == "SELECT no_such_column FROM vpc_flow_logs"
