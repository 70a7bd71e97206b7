"""File names DuckDB would read as glob patterns, and files holding two JSON documents:
every event loads once, none is lost as a false duplicate."""

from __future__ import annotations

import gzip
import json

from eventlake.sources.cloudtrail import ingest


def _rec(i: int) -> dict:
    return {"eventID": f"e{i}", "eventTime": f"2026-03-01T10:00:{i:02d}Z", "eventName": "GetObject",
            "eventSource": "s3.amazonaws.com", "userIdentity": {"type": "IAMUser", "userName": "bob"}}


def _write(path, ids):
    with gzip.open(path, "wt") as fh:
        json.dump({"Records": [_rec(i) for i in ids]}, fh)


def _events(lake):
    con = lake.connect(read_only=True)
    return con.execute("SELECT event_id, source_object FROM cloudtrail_events ORDER BY event_id").fetchall()


def test_glob_characters_in_names_read_only_that_file(lake, tmp_path):
    d = tmp_path / "logs"
    d.mkdir()
    _write(d / "log*.json.gz", [1, 2])
    _write(d / "logX.json.gz", [3, 4])
    _write(d / "log[1].json.gz", [5])
    stats = ingest(lake, [str(d)])
    assert (stats.records_read, stats.records_loaded, stats.records_duplicate) == (5, 5, 0)
    assert [(e, s.rsplit("/", 1)[1]) for e, s in _events(lake)] == [
        ("e1", "log*.json.gz"), ("e2", "log*.json.gz"), ("e3", "logX.json.gz"), ("e4", "logX.json.gz"), ("e5", "log[1].json.gz"),
    ]


def test_two_documents_in_one_file_keep_every_event_once(lake, tmp_path):
    d = tmp_path / "logs"
    d.mkdir()
    (d / "two.json").write_text(json.dumps({"Records": [_rec(1), _rec(2)]}) + "\n" + json.dumps({"Records": [_rec(1), _rec(3)]}) + "\n")
    stats = ingest(lake, [str(d)])
    assert (stats.records_read, stats.records_loaded, stats.records_duplicate, stats.records_quarantined) == (4, 3, 1, 0)
    assert [e for e, _ in _events(lake)] == ["e1", "e2", "e3"]


def test_streamed_file_in_read_only_folder_needs_no_write_access(lake, tmp_path):
    d = tmp_path / "ro"
    d.mkdir()
    data = gzip.compress(json.dumps({"Records": [_rec(1), _rec(2), _rec(3)]}).encode())
    (d / "cut.json.gz").write_bytes(data[: len(data) // 2])  # truncated: goes down the streaming path
    d.chmod(0o555)
    try:
        stats = ingest(lake, [str(d)])
    finally:
        d.chmod(0o755)
    assert stats.files_failed == 1 and stats.records_quarantined == 1
    assert not any(p.name.endswith(".ndjson") for p in d.iterdir())


def test_good_records_before_a_truncated_gzip_end_load(lake, tmp_path):
    d = tmp_path / "logs"
    d.mkdir()
    body = json.dumps({"Records": [_rec(i) for i in range(1, 41)]}).encode()
    data = gzip.compress(body)
    (d / "cut.json.gz").write_bytes(data[: int(len(data) * 0.6)])
    stats = ingest(lake, [str(d)])
    assert stats.files_failed == 1 and stats.records_quarantined == 1
    assert stats.records_loaded >= 1  # complete records before the cut are kept
    assert stats.reconciles()
    con = lake.connect(read_only=True)
    reason = con.execute("SELECT reason FROM quarantine").fetchall()[0][0]
    assert reason.startswith("corrupt or truncated gzip")


def test_reading_an_object_again_does_not_repeat_its_quarantine_entries(lake, tmp_path):
    import os

    d = tmp_path / "logs"
    d.mkdir()
    f = d / "bad.json.gz"
    with gzip.open(f, "wt") as fh:
        json.dump({"Records": [_rec(1), {"eventID": "no-time"}]}, fh)
    first = ingest(lake, [str(d)])
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # a new version: read again
    second = ingest(lake, [str(d)])
    assert (first.records_quarantined, second.records_quarantined, second.records_duplicate) == (1, 1, 1)
    con = lake.connect(read_only=True)
    assert con.execute("SELECT source_object LIKE '%bad.json.gz', position, reason FROM quarantine").fetchall() == [
        (True, "record 1", "record has no eventTime")
    ]
