"""The lake: tables, atomic commits, compaction, retention, and the lake CLI."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from typer.testing import CliRunner

from eventlake.cli import app
from eventlake.errors import LakeError
from eventlake.lake import Lake
from eventlake.lake.maintenance import compact, describe_tables, parse_age, retain


def _insert_events(con, day: str, ids: list[str]) -> None:
    """One INSERT (one commit, one file per partition) of events on `day`."""
    con.execute(
        "INSERT INTO cloudtrail_events (event_id, event_time, event_date, event_name) "
        "SELECT unnest(?), CAST(? AS TIMESTAMPTZ), CAST(? AS DATE), 'GetDashboard'",
        [ids, f"{day} 12:00:00+00", day],
    )


def test_missing_lake_is_a_clear_error(tmp_path):
    with pytest.raises(LakeError, match="no lake at .*nowhere"):
        Lake(tmp_path / "nowhere").connect()


def test_tables_created_with_partitioning(lake):
    con = lake.connect()
    _insert_events(con, "2026-01-01", ["a", "b"])
    _insert_events(con, "2026-01-02", ["c"])
    info = {t.name: t for t in describe_tables(lake, con)}
    ct = info["cloudtrail_events"]
    assert (ct.rows, ct.partitions, ct.partition_by, ct.files) == (3, 2, ["event_date"], 2)
    assert ("event_time", "TIMESTAMP WITH TIME ZONE") in ct.columns
    assert info["quarantine"].rows == 0 and info["quarantine"].partition_by == []
    # Hive-style partition folders, one per day.
    paths = sorted(f.path.split("/data/", 1)[1].rsplit("/", 1)[0] for f in lake.list_files(con, "cloudtrail_events"))
    assert paths == ["main/cloudtrail_events/event_date=2026-01-01", "main/cloudtrail_events/event_date=2026-01-02"]


def test_transaction_is_atomic_for_readers(lake):
    writer = lake.connect()
    with pytest.raises(RuntimeError):
        with lake.transaction(writer):
            _insert_events(writer, "2026-01-01", ["a", "b"])
            raise RuntimeError("crash in the middle of a commit")
    reader = lake.connect(read_only=True)
    assert reader.execute("SELECT count(*) FROM cloudtrail_events").fetchall() == [(0,)]
    with lake.transaction(writer):
        _insert_events(writer, "2026-01-01", ["a", "b"])
        # not visible to the reader until the commit
        assert reader.execute("SELECT count(*) FROM cloudtrail_events").fetchall() == [(0,)]
    assert reader.execute("SELECT count(*) FROM cloudtrail_events").fetchall() == [(2,)]


def test_read_only_connection_refuses_writes(lake):
    con = lake.connect(read_only=True)
    with pytest.raises(duckdb.Error):
        _insert_events(con, "2026-01-01", ["x"])


def test_compact_merges_small_files(lake):
    con = lake.connect()
    for i in range(5):
        _insert_events(con, "2026-01-01", [f"e{i}"])
    assert len(lake.list_files(con, "cloudtrail_events")) == 5
    r = compact(lake, con, "cloudtrail_events")
    assert (r.files_before, r.files_after) == (5, 1)
    assert r.files_deleted == 5
    assert con.execute("SELECT list(event_id ORDER BY event_id) FROM cloudtrail_events").fetchone()[0] == ["e0", "e1", "e2", "e3", "e4"]


def test_retain_deletes_old_partitions_and_files(lake):
    con = lake.connect()
    _insert_events(con, "2024-01-01", ["old1", "old2"])
    _insert_events(con, "2026-01-01", ["new"])
    r = retain(lake, con, "cloudtrail_events", "400d", today=dt.date(2026, 1, 10))
    assert (r.rows_deleted, r.cutoff) == (2, dt.date(2024, 12, 6))
    assert r.files_deleted == 1
    assert con.execute("SELECT list(event_id) FROM cloudtrail_events").fetchone()[0] == ["new"]
    assert len(lake.list_files(con, "cloudtrail_events")) == 1


def test_retain_refuses_tables_without_date(lake):
    con = lake.connect()
    with pytest.raises(LakeError, match="no date column"):
        retain(lake, con, "quarantine", "30d")
    with pytest.raises(LakeError, match="no table 'nope'"):
        retain(lake, con, "nope", "30d")


@pytest.mark.parametrize("text,days", [("400d", 400), ("8w", 56), ("13m", 390), ("2y", 730), ("10", 10)])
def test_parse_age(text, days):
    assert parse_age(text) == dt.timedelta(days=days)


def test_parse_age_rejects_garbage():
    with pytest.raises(LakeError, match="must look like"):
        parse_age("ten days")


def test_lake_cli(lake):
    con = lake.connect()
    _insert_events(con, "2026-01-01", ["a"])
    _insert_events(con, "2026-01-01", ["b"])
    con.close()
    runner = CliRunner()
    res = runner.invoke(app, ["--lake", str(lake.path), "lake", "tables"])
    assert res.exit_code == 0, res.output
    assert "cloudtrail_events" in res.output and "event_date" in res.output
    res = runner.invoke(app, ["--lake", str(lake.path), "lake", "compact"])
    assert res.exit_code == 0, res.output
    assert "compacted: 2 -> 1 files" in res.output
    res = runner.invoke(app, ["--lake", str(lake.path), "lake", "retain", "cloudtrail_events", "--older-than", "1d"])
    assert res.exit_code == 0, res.output
    assert "deleted 2 rows" in res.output


def test_sql_cli_formats(lake, tmp_path):
    con = lake.connect()
    _insert_events(con, "2026-01-01", ["a", "b"])
    con.close()
    runner = CliRunner()
    base = ["--lake", str(lake.path), "sql"]
    res = runner.invoke(app, base + ["SELECT event_id, event_date FROM cloudtrail_events ORDER BY 1", "--format", "json"])
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == '[{"event_id":"a","event_date":"2026-01-01"},{"event_id":"b","event_date":"2026-01-01"}]'
    res = runner.invoke(app, base + ["SELECT event_id FROM cloudtrail_events ORDER BY 1", "--format", "csv"])
    assert res.stdout.splitlines() == ['"event_id"', '"a"', '"b"']
    out = tmp_path / "r.parquet"
    res = runner.invoke(app, base + ["SELECT count(*) AS n FROM cloudtrail_events", "--format", "parquet", "--output", str(out)])
    assert res.exit_code == 0, res.output
    assert duckdb.sql(f"SELECT n FROM '{out}'").fetchone()[0] == 2
    res = runner.invoke(app, base + ["SELECT * FROM cloudtrail_events WHERE event_date = DATE '2026-01-01'", "--explain"])
    assert res.exit_code == 0, res.output
    assert "SCAN" in res.output.upper()


def test_a_moved_lake_opens_where_it_is(lake, tmp_path):
    con = lake.connect()
    _insert_events(con, "2026-01-01", ["a", "b"])
    con.close()
    moved = Lake(tmp_path / "moved")
    lake.path.rename(moved.path)
    con = moved.connect(read_only=True)
    assert con.execute("SELECT list(event_id ORDER BY event_id) FROM cloudtrail_events").fetchall() == [(["a", "b"],)]
    assert all(f.path.startswith(str(moved.path)) for f in moved.list_files(con, "cloudtrail_events"))
