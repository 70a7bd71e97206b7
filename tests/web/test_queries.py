"""The console's query runner and usage recorder, without HTTP."""

from __future__ import annotations

import threading

import pytest

from eventlake.errors import QueryError
from eventlake.web.queries import QueryRunner, QueryTimeout
from eventlake.web.usage import UsageRecorder


@pytest.fixture
def runner(lake):
    r = QueryRunner(lake)
    yield r
    r.close()


def test_row_limit_truncates_and_says_so(runner):
    res = runner.run("SELECT i FROM range(10) t(i) ORDER BY i", limit=3)
    assert res.rows == [{"i": 0}, {"i": 1}, {"i": 2}] and res.truncated
    exact = runner.run("SELECT i FROM range(3) t(i) ORDER BY i", limit=3)
    assert exact.table.num_rows == 3 and not exact.truncated
    empty = runner.run("SELECT 1 AS one WHERE false", limit=5)
    assert empty.columns == ["one"] and empty.rows == [] and not empty.truncated


def test_parameters_are_bound(runner):
    evil = "x'; DROP TABLE quarantine; --"
    res = runner.run("SELECT $v AS v, length($v) AS n", {"v": evil})
    assert res.rows == [{"v": evil, "n": len(evil)}]


def test_time_limit_stops_a_slow_query(runner):
    with pytest.raises(QueryTimeout, match=r"ran past its time limit of 0.3 s"):
        runner.run("SELECT count(*) FROM range(100000000) a, range(100000000) b", timeout=0.3)
    # the runner still works afterwards
    assert runner.run("SELECT 42 AS x").rows == [{"x": 42}]


@pytest.mark.parametrize("sql, message", [
    ("DELETE FROM quarantine", "only SELECT queries run here"),
    ("SELECT 1; SELECT 2", "expected exactly one SQL statement, got 2"),
    ("ATTACH 'x.db' AS x", "only SELECT queries run here"),
    ("COPY quarantine TO '/tmp/out.csv'", "only SELECT queries run here"),
    ("SELECT * FROM read_csv('/etc/passwd')", "Permission Error"),
    ("SELEC 1", "syntax error"),
])
def test_the_console_cannot_write_or_leave_the_lake(runner, sql, message):
    with pytest.raises(QueryError, match=message):
        runner.run(sql)


def test_concurrent_queries_each_get_their_answer(runner):
    out = {}

    def one(i):
        out[i] = runner.run("SELECT $i * 2 AS d", {"i": i}).rows[0]["d"]

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == {i: i * 2 for i in range(8)}


def test_usage_waits_for_the_lake_and_loses_nothing(lake):
    rec = UsageRecorder(lake, flush_seconds=3600)
    rec.record("view", "ann", page="/health", asset_type="page", asset_id="console:/health", asset_name="Health")
    rec.record("run_sql", "ann", page="/sql", asset_type="sql", asset_id="sql", rows=3, duration_ms=1.5, sql="SELECT 1")
    lock_taken, release = threading.Event(), threading.Event()

    def hold():
        with lake.writer_lock():
            lock_taken.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    lock_taken.wait(5)
    flusher = threading.Thread(target=rec.flush)
    flusher.start()
    flusher.join(0.5)
    assert flusher.is_alive() and rec.pending == 2  # waits for the writer, keeps its events
    release.set()
    flusher.join(10)
    holder.join()
    assert rec.pending == 0 and rec.recorded == 2
    con = lake.connect(read_only=True)
    rows = con.execute("SELECT action, user_name, rows, detail->>'sql' FROM console_events ORDER BY action").fetchall()
    bi = con.execute("SELECT kind, asset_type, asset_id FROM bi_events ORDER BY kind").fetchall()
    con.close()
    assert rows == [("run_sql", "ann", 3, "SELECT 1"), ("view", "ann", None, None)]
    assert bi == [("edit", "analysis", "sql"), ("view", "dashboard", "console:/health")]
