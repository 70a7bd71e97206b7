"""The shared line ingest (sources/lines.py), on a minimal log type declared here:
`<ISO timestamp> <integer>` per line, '#' comments, files may start with a
`fields: ...` header. What is tested is the machinery every service-log type relies
on: line splitting and numbering, blank/comment/header lines, CRLF, invalid UTF-8,
over-long lines, damaged gzip, incremental and replacing re-reads, recovery after a
crash between commits, --since/--until, S3, reparse, and reconciling counts."""

from __future__ import annotations

import datetime as dt
import gzip
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from eventlake.lake import Lake
from eventlake.lake.schema import TABLES
from eventlake.sources import lines as lines_mod
from eventlake.sources.lines import LineIngest, ingest_lines, reparse
from tests.sources.toy import Toy


@pytest.fixture
def toy(monkeypatch, make_lake):
    monkeypatch.setitem(TABLES, "toy_logs", Toy.table)
    return Toy()


@pytest.fixture
def toy_lake(toy, make_lake) -> Lake:
    return make_lake()


def rows(lake: Lake, sql: str) -> list[tuple]:
    con = lake.connect(read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def table_rows(lake: Lake) -> list[tuple]:
    return rows(lake, "SELECT regexp_extract(source_object, '[^/]+$'), line_no, value, CAST(event_date AS VARCHAR), raw_line FROM lake.toy_logs ORDER BY 1, 2")


def quarantine_rows(lake: Lake) -> list[tuple]:
    return rows(lake, "SELECT regexp_extract(source_object, '[^/]+$'), position, reason, raw FROM lake.quarantine WHERE source = 'toy' ORDER BY 1, 2")


def data_files_on_disk(lake: Lake) -> list[str]:
    return sorted(str(p.relative_to(lake.data_path)) for p in (lake.data_path / "main" / "toy_logs").rglob("*.parquet"))


def data_files_in_lake(lake: Lake) -> list[str]:
    found = rows(lake, "SELECT data_file FROM ducklake_list_files('lake', 'toy_logs')")
    return sorted(str(Path(f).relative_to(lake.data_path)) for (f,) in found)


def objects(lake: Lake) -> list[tuple]:
    return rows(
        lake,
        "SELECT regexp_extract(uri, '[^/]+$'), arg_max(status, ingested_at), arg_max(records, ingested_at), arg_max(loaded, ingested_at), "
        "arg_max(quarantined, ingested_at) FROM lake.ingested_objects WHERE source = 'toy' GROUP BY uri ORDER BY 1",
    )


def test_lines_numbered_with_blank_comment_header_and_crlf(toy, toy_lake, tmp_path):
    d = tmp_path / "logs"
    d.mkdir()
    (d / "a.log").write_bytes(
        b"fields: ts value\n# a comment\n2024-01-01T10:00:00Z 1\n\n2024-01-02T00:00:00Z 2\r\nbad 3\n2024-01-02T00:00:00Z x\n2024-01-03T23:59:59Z 4"
    )
    stats = ingest_lines(toy_lake, toy, [str(d)])
    assert (stats.files_read, stats.records_read, stats.records_loaded, stats.records_quarantined) == (1, 5, 3, 2)
    assert stats.reconciles()
    assert table_rows(toy_lake) == [
        ("a.log", 3, 1, "2024-01-01", "2024-01-01T10:00:00Z 1"),
        ("a.log", 5, 2, "2024-01-02", "2024-01-02T00:00:00Z 2"),
        ("a.log", 8, 4, "2024-01-03", "2024-01-03T23:59:59Z 4"),
    ]
    assert quarantine_rows(toy_lake) == [
        ("a.log", "line 6", "ts bad is not a timestamp", "bad 3"),
        ("a.log", "line 7", "value x is not an integer", "2024-01-02T00:00:00Z x"),
    ]
    assert objects(toy_lake) == [("a.log", "loaded", 5, 3, 2)]
    assert stats.problem_lines() == [
        f"{d / 'a.log'} at line 6: ts bad is not a timestamp",
        f"{d / 'a.log'} at line 7: value x is not an integer",
    ]


def test_byte_order_mark_is_not_content(toy, toy_lake, tmp_path):
    f = tmp_path / "bom.log"
    f.write_bytes(b"\xef\xbb\xbf# comment\n2024-01-01T00:00:00Z 5\n")
    stats = ingest_lines(toy_lake, toy, [str(f)])
    assert (stats.records_read, stats.records_loaded) == (1, 1)
    assert [r[1:3] for r in table_rows(toy_lake)] == [(2, 5)]


def test_invalid_utf8_line_is_quarantined_neighbours_load(toy, toy_lake, tmp_path):
    f = tmp_path / "b.log"
    f.write_bytes(b"2024-01-01T00:00:00Z 5\n\xff\xfe 6\n2024-01-01T00:00:00Z 7\n")
    stats = ingest_lines(toy_lake, toy, [str(f)])
    assert (stats.records_read, stats.records_loaded, stats.records_quarantined) == (3, 2, 1)
    assert [r[1:3] for r in table_rows(toy_lake)] == [(1, 5), (3, 7)]
    assert quarantine_rows(toy_lake) == [("b.log", "line 2", "line is not valid UTF-8 (byte 0xff at column 1)", "\\xff\\xfe 6")]


def test_truncated_gzip_loads_lines_before_the_damage(toy, toy_lake, tmp_path):
    f = tmp_path / "c.log.gz"
    data = gzip.compress(b"".join(b"2024-01-05T00:00:00Z %d\n" % i for i in range(2000)))
    f.write_bytes(data[: len(data) // 2])
    stats = ingest_lines(toy_lake, toy, [str(f)])
    (n_loaded,) = rows(toy_lake, "SELECT count(*) FROM lake.toy_logs")[0]
    assert n_loaded > 100 and stats.records_loaded == n_loaded
    assert rows(toy_lake, "SELECT min(line_no), max(line_no), count(DISTINCT value) FROM lake.toy_logs") == [(1, n_loaded, n_loaded)]
    (q,) = quarantine_rows(toy_lake)
    assert q[1] == f"line {n_loaded + 1}"
    assert q[2].startswith("corrupt or truncated gzip: ") and q[2].endswith(f"the {n_loaded:,} lines before it were read")
    assert objects(toy_lake) == [("c.log.gz", "failed", n_loaded + 1, n_loaded, 1)]
    assert stats.files_failed == 1 and stats.reconciles()


def test_lines_across_block_boundaries_and_overlong_lines(toy, toy_lake, tmp_path, monkeypatch):
    monkeypatch.setattr(lines_mod, "BLOCK", 16)
    monkeypatch.setattr(lines_mod, "MAX_LINE", 40)
    f = tmp_path / "d.log"
    long_line = b"2024-01-01T00:00:00Z " + b"9" * 100
    f.write_bytes(b"2024-01-01T00:00:00Z 1\n" + long_line + b"\n2024-01-01T00:00:00Z 3\n2024-01-01T00:00:00Z 4\n" + b"x" * 50)
    stats = ingest_lines(toy_lake, toy, [str(f)])
    assert [r[1:3] for r in table_rows(toy_lake)] == [(1, 1), (3, 3), (4, 4)]
    q = quarantine_rows(toy_lake)
    assert [(p, why) for _, p, why, _ in q] == [("line 2", "line is longer than 40 bytes"), ("line 5", "line is longer than 40 bytes")]
    assert q[0][3].startswith("2024-01-01T00:00:00Z 99")
    assert (stats.records_read, stats.records_loaded, stats.records_quarantined) == (5, 3, 2)


def test_rerun_is_idempotent_and_changed_object_replaces_its_rows(toy, toy_lake, tmp_path):
    d = tmp_path / "logs"
    d.mkdir()
    (d / "a.log").write_text("2024-01-01T00:00:00Z 1\nbad 2\n")
    (d / "b.log").write_text("2024-01-02T00:00:00Z 3\n")
    ingest_lines(toy_lake, toy, [str(d)])
    again = ingest_lines(toy_lake, toy, [str(d)])
    assert (again.files_read, again.files_unchanged, again.records_read) == (0, 2, 0)
    (d / "a.log").write_text("2024-01-01T00:00:00Z 10\n2024-01-01T00:00:00Z 11\nworse 12\n")
    third = ingest_lines(toy_lake, toy, [str(d)])
    assert (third.files_read, third.files_unchanged, third.records_loaded, third.records_quarantined) == (1, 1, 2, 1)
    assert [r[:3] for r in table_rows(toy_lake)] == [("a.log", 1, 10), ("a.log", 2, 11), ("b.log", 1, 3)]
    assert quarantine_rows(toy_lake) == [("a.log", "line 3", "ts worse is not a timestamp", "worse 12")]


def power_cut_at_commit(monkeypatch, n: int, pause_first: float = 0.0):
    """Make LineIngest._commit raise RuntimeError('power cut') at its n-th call (the
    first call pausing `pause_first` seconds); returns the real _commit."""
    real_commit = LineIngest._commit
    calls = {"n": 0}

    def commit(self, con, pending, *rest):
        calls["n"] += 1
        if calls["n"] == 1 and pause_first:
            time.sleep(pause_first)
        if calls["n"] == n:
            raise RuntimeError("power cut")
        return real_commit(self, con, pending, *rest)

    monkeypatch.setattr(LineIngest, "_commit", commit)
    return real_commit


def test_an_object_is_complete_only_with_the_batch_holding_its_end(toy, toy_lake, tmp_path, monkeypatch):
    # the reader runs ahead of the commits: here it has read the whole file before the
    # first commit, yet that commit holds only the file's first lines, so it must mark
    # the file partial; a crash before the second commit then leaves it to be re-read
    f = tmp_path / "ahead.log"
    f.write_text("".join(f"2024-01-01T00:00:00Z {i}\n" for i in range(2000)))
    monkeypatch.setattr(lines_mod, "BLOCK", 4096)
    monkeypatch.setattr(lines_mod, "QUEUE_DEPTH", 1000)
    job = LineIngest(toy_lake, toy, [str(f)])
    job.batch_bytes = 4_000  # a dozen batches: a commit takes two or a few
    real_commit = power_cut_at_commit(monkeypatch, 2, pause_first=1.0)  # the reader reaches the end meanwhile
    with pytest.raises(RuntimeError, match="power cut"):
        job.run()
    first = rows(toy_lake, "SELECT count(*) FROM lake.toy_logs")[0][0]
    assert 0 < first < 2000
    assert objects(toy_lake)[0][1] == "partial"
    monkeypatch.setattr(LineIngest, "_commit", real_commit)
    stats = ingest_lines(toy_lake, toy, [str(f)])
    assert (stats.files_read, stats.records_loaded) == (1, 2000)
    assert objects(toy_lake) == [("ahead.log", "loaded", 2000, 2000, 0)]


def test_crash_between_commits_is_completed_by_a_rerun(toy, toy_lake, tmp_path, monkeypatch):
    f = tmp_path / "big.log"
    f.write_text("".join(f"2024-01-0{1 + i % 3}T00:00:00Z {i}\n" for i in range(3000)))
    monkeypatch.setattr(lines_mod, "BLOCK", 4096)
    job = LineIngest(toy_lake, toy, [str(f)])
    job.batch_bytes = 4_000  # several commits for the one file
    real_commit = power_cut_at_commit(monkeypatch, 3)
    with pytest.raises(RuntimeError, match="power cut"):
        job.run()
    partial = rows(toy_lake, "SELECT count(*) FROM lake.toy_logs")[0][0]
    assert 0 < partial < 3000
    assert objects(toy_lake)[0][1] == "partial"
    # the batches written but never committed left no files behind
    assert data_files_on_disk(toy_lake) == data_files_in_lake(toy_lake)
    monkeypatch.setattr(LineIngest, "_commit", real_commit)
    stats = ingest_lines(toy_lake, toy, [str(f)])
    assert stats.records_loaded == 3000
    assert rows(toy_lake, "SELECT count(*), count(DISTINCT line_no), sum(value) FROM lake.toy_logs") == [(3000, 3000, sum(range(3000)))]
    assert objects(toy_lake) == [("big.log", "loaded", 3000, 3000, 0)]


def test_since_until_skip_by_the_date_in_the_key(toy, toy_lake, tmp_path):
    for day in ("2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"):
        p = tmp_path / "logs" / f"dt={day}" / "part.log"
        p.parent.mkdir(parents=True)
        p.write_text(f"{day}T00:00:00Z 1\n")
    (tmp_path / "logs" / "undated.log").write_text("2024-02-01T00:00:00Z 2\n")
    stats = ingest_lines(toy_lake, toy, [str(tmp_path / "logs")], since=dt.date(2024, 1, 2), until=dt.date(2024, 1, 2))
    # 01-03 is within the day of grace for objects delivered after midnight
    assert stats.skip_reasons == {"before --since": 1, "after --until": 1}
    assert rows(toy_lake, "SELECT CAST(event_date AS VARCHAR) FROM lake.toy_logs ORDER BY 1") == [("2024-01-02",), ("2024-01-03",), ("2024-02-01",)]


def test_ingest_from_s3(toy, toy_lake, s3):
    client, bucket, endpoint = s3
    client.put_object(Bucket=bucket, Key="logs/2024/a.log.gz", Body=gzip.compress(b"2024-01-01T00:00:00Z 1\n2024-01-01T00:00:00Z 2\n"))
    client.put_object(Bucket=bucket, Key="logs/2024/b.log", Body=b"2024-01-02T00:00:00Z 3\nnope\n")
    stats = ingest_lines(toy_lake, toy, [f"s3://{bucket}/logs/"], endpoint_url=endpoint)
    assert (stats.files_read, stats.records_loaded, stats.records_quarantined) == (2, 3, 1)
    assert rows(toy_lake, "SELECT source_object, line_no, value FROM lake.toy_logs ORDER BY 1, 2") == [
        (f"s3://{bucket}/logs/2024/a.log.gz", 1, 1), (f"s3://{bucket}/logs/2024/a.log.gz", 2, 2), (f"s3://{bucket}/logs/2024/b.log", 1, 3),
    ]
    assert ingest_lines(toy_lake, toy, [f"s3://{bucket}/logs/"], endpoint_url=endpoint).files_unchanged == 2


def test_reparse_rebuilds_from_raw_lines_and_recovers_quarantined(toy, toy_lake, tmp_path, monkeypatch):
    f = tmp_path / "a.log"
    f.write_text("2024-01-01T00:00:00Z 1\n2024-01-01T00:00:00Z x\n2024-01-01T00:00:00Z 3\n")
    ingest_lines(toy_lake, toy, [str(f)])
    assert [r[1] for r in table_rows(toy_lake)] == [1, 3]
    monkeypatch.setattr(Toy, "strict_values", False)  # an improved parser: 'x' is a known null
    stats = reparse(toy_lake, toy)
    assert (stats.rows, stats.loaded, stats.quarantined, stats.recovered) == (2, 2, 0, 1)
    assert [r[1:3] for r in table_rows(toy_lake)] == [(1, 1), (2, None), (3, 3)]
    assert quarantine_rows(toy_lake) == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(
    st.one_of(
        st.sampled_from([b"2024-01-01T00:00:00Z 1", b"2024-03-04T05:06:07Z 42", b"# c", b"", b"\r", b"\xff", b"bad", b"2024-01-01T00:00:00Z"]),
        st.binary(max_size=40),
    ),
    max_size=30,
))
@example([b"\x1f\x8b", b"2024-01-01T00:00:00Z 1"])
def test_any_bytes_reconcile(toy, make_lake, tmp_path_factory, chunks):
    """Whatever the bytes, nothing raises and every record line is loaded or quarantined."""
    d = tmp_path_factory.mktemp("fuzz")
    content = b"\n".join(chunks)
    (d / "f.log").write_bytes(content)
    lake = make_lake(f"lake-{d.name}")
    stats = ingest_lines(lake, Toy(), [str(d)])
    expected = 0  # record lines: not blank (after a trailing CR is dropped), not a comment
    for line in content.removeprefix(b"\xef\xbb\xbf").split(b"\n"):  # a leading byte-order mark is not content
        if line.endswith(b"\r"):
            line = line[:-1]
        if line and not line.startswith(b"#"):
            expected += 1
    if content.startswith(b"\x1f\x8b"):  # the gzip magic: read as gzip, damaged at once, one entry for the damage
        expected = 1
        assert stats.records_quarantined == 1
    assert stats.records_read == expected
    assert stats.records_read == stats.records_loaded + stats.records_quarantined
    n_rows = rows(lake, "SELECT count(*) FROM lake.toy_logs")[0][0]
    n_q = rows(lake, "SELECT count(*) FROM lake.quarantine")[0][0]
    assert (n_rows, n_q) == (stats.records_loaded, stats.records_quarantined)


def test_files_are_written_in_the_lake_layout_and_prune(toy, toy_lake, tmp_path):
    # each batch's good records become Parquet files in the table's event_date=...
    # folders, registered with the lake: the lake knows every file on disk, each
    # file's partition, and a one-day query reads that day's files only
    f = tmp_path / "days.log"
    f.write_text("".join(f"2024-01-0{1 + i % 3}T00:00:00Z {i}\n" for i in range(300)) + "nope\n")
    stats = ingest_lines(toy_lake, toy, [str(f)])
    assert (stats.records_loaded, stats.records_quarantined) == (300, 1)
    on_disk = data_files_on_disk(toy_lake)
    assert on_disk == data_files_in_lake(toy_lake)
    assert sorted({p.split("/")[2] for p in on_disk}) == ["event_date=2024-01-01", "event_date=2024-01-02", "event_date=2024-01-03"]
    assert rows(toy_lake, "SELECT CAST(event_date AS VARCHAR), count(*), sum(value) FROM lake.toy_logs GROUP BY 1 ORDER BY 1") == [
        ("2024-01-01", 100, sum(range(0, 300, 3))), ("2024-01-02", 100, sum(range(1, 300, 3))), ("2024-01-03", 100, sum(range(2, 300, 3))),
    ]
    plan = "\n".join(r[1] for r in rows(toy_lake, "EXPLAIN ANALYZE SELECT count(*) FROM lake.toy_logs WHERE event_date = DATE '2024-01-02'"))
    assert "Total Files Read: 1" in plan
    assert quarantine_rows(toy_lake) == [("days.log", "line 301", "ts nope is not a timestamp", "nope")]


def test_a_table_partitioned_otherwise_is_still_loaded(toy, toy_lake, tmp_path):
    # an operator re-partitioned the table by month: the batches go in by INSERT, and
    # DuckLake writes them in its own month folders
    f = tmp_path / "a.log"
    f.write_text("2024-01-01T00:00:00Z 1\nbad 2\n2024-02-01T00:00:00Z 3\n")
    con = toy_lake.connect(create=True)
    try:
        toy_lake.ensure_tables(con, ["toy_logs"])
        con.execute("ALTER TABLE lake.toy_logs SET PARTITIONED BY (month(event_date))")
    finally:
        con.close()
    stats = ingest_lines(toy_lake, toy, [str(f)])
    assert (stats.records_loaded, stats.records_quarantined) == (2, 1)
    assert table_rows(toy_lake) == [
        ("a.log", 1, 1, "2024-01-01", "2024-01-01T00:00:00Z 1"), ("a.log", 3, 3, "2024-02-01", "2024-02-01T00:00:00Z 3"),
    ]
    assert quarantine_rows(toy_lake) == [("a.log", "line 2", "ts bad is not a timestamp", "bad 2")]
    assert not any("event_date=" in p for p in data_files_on_disk(toy_lake))
