"""The collector's loader: sealed raw-log segments into raw_events and events, with
the normalization (timestamps, page fields, visits, UTM), de-duplication on
messageId, quarantine of damaged lines, idempotence and crash safety."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
import threading
import time
from pathlib import Path

import duckdb
import orjson

from eventlake.collect.loader import Loader
from eventlake.collect.rawlog import RawLog

UTC = dt.timezone.utc
REQUEST = {"endpoint": "/v1/batch", "bytes": 512, "user_agent": "Mozilla/5.0", "country": "DE",
           "device_type": "desktop", "browser": "Firefox", "os": "Linux", "ip": None, "site_host": None}


def ts(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(UTC)


def record(message_id: str, type: str = "track", received_at: str = "2026-11-26T09:00:10Z", request=REQUEST,
           source: str = "web", **payload) -> dict:
    p = {"type": type, "messageId": message_id, **payload}
    return {"received_at": received_at, "source": source, "key_id": "k_3f9a", "type": type,
            "message_id": message_id, "payload": p, "request": request}


def write_segment(d: Path, name: str, lines: list) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    path = d / name
    with open(path, "wb") as fh:
        for line in lines:
            fh.write((line if isinstance(line, bytes) else orjson.dumps(line)) + b"\n")
    return path


def rows(lake, sql: str, params=None) -> list[dict]:
    con = lake.connect(read_only=True)
    try:
        cur = con.execute(sql, params or [])
        names = [c[0] for c in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        con.close()


def events(lake) -> dict[str, dict]:
    return {r["message_id"]: r for r in rows(lake, "SELECT * FROM events ORDER BY message_id")}


def count(lake, table: str) -> int:
    return rows(lake, f"SELECT count(*) AS n FROM {table}")[0]["n"]


SEG1 = "seg-20261126T090000-000001.log"
SEG2 = "seg-20261126T090010-000002.log"


def test_raw_events_hold_every_record_as_received(lake, tmp_path, monkeypatch):
    from eventlake.collect import loader as loader_module

    careful = []
    real_wrap = loader_module._wrap_lines
    monkeypatch.setattr(loader_module, "_wrap_lines", lambda *a: careful.append(a) or real_wrap(*a))
    d = tmp_path / "raw"
    r = record("m1", event="Signed Up", anonymousId="a1", properties={"plan": "pro", "seats": 3},
               received_at="2026-11-26T23:59:59.123456Z")
    write_segment(d, SEG1, [r])
    stats = Loader(lake, d).load_pending()
    assert (stats.files_read, stats.records_read, stats.records_loaded, stats.records_duplicate,
            stats.records_quarantined) == (1, 1, 1, 0, 0)
    assert stats.reconciles() and stats.source == "collector"
    assert careful == []  # a good segment is read by DuckDB alone
    raw = rows(lake, "SELECT * FROM raw_events")
    assert len(raw) == 1
    got = raw[0]
    assert json.loads(got.pop("payload")) == r["payload"]
    assert json.loads(got.pop("request")) == REQUEST
    assert got == {
        "received_date": dt.date(2026, 11, 26),
        "received_at": ts("2026-11-26T23:59:59.123456Z"),
        "source": "web",
        "key_id": "k_3f9a",
        "message_id": "m1",
        "type": "track",
        "segment": SEG1,
    }
    assert not (d / SEG1).exists()  # raw_events holds it now
    assert rows(lake, "SELECT source, uri, size, version, status, records, loaded, duplicates, quarantined FROM ingested_objects") == [
        {"source": "collector", "uri": SEG1, "size": len(orjson.dumps(r)) + 1, "version": str(len(orjson.dumps(r)) + 1),
         "status": "loaded", "records": 1, "loaded": 1, "duplicates": 0, "quarantined": 0}
    ]
    run = rows(lake, "SELECT source, files_read, records_read, records_loaded FROM ingest_runs")
    assert run == [{"source": "collector", "files_read": 1, "records_read": 1, "records_loaded": 1}]


def test_event_timestamps(lake, tmp_path):
    d = tmp_path / "raw"
    write_segment(d, SEG1, [
        # client clock 60 s slow... sentAt says so: corrected by the skew
        record("skew", timestamp="2026-11-26T08:59:00Z", sentAt="2026-11-26T09:00:00Z",
               received_at="2026-11-26T09:00:10.123456Z"),
        # correction crosses midnight: event day before the receipt day
        record("midnight", timestamp="2026-11-26T23:59:00Z", sentAt="2026-11-26T23:59:50Z",
               received_at="2026-11-27T00:00:05Z"),
        # offsets other than Z are converted to UTC
        record("offset", timestamp="2026-11-26T10:30:00+02:00", sentAt="2026-11-26T10:30:00+02:00",
               received_at="2026-11-26T08:30:01Z"),
        record("ts-only", timestamp="2026-11-25T12:00:00Z"),
        record("original", originalTimestamp="2026-11-24T07:00:00.5Z"),
        record("none"),
        record("garbage", timestamp="yesterday", sentAt="now"),
    ])
    Loader(lake, d).load_pending()
    got = {m: (e["timestamp"], e["event_date"], e["received_at"]) for m, e in events(lake).items()}
    assert got == {
        "skew": (ts("2026-11-26T08:59:10.123456Z"), dt.date(2026, 11, 26), ts("2026-11-26T09:00:10.123456Z")),
        "midnight": (ts("2026-11-26T23:59:15Z"), dt.date(2026, 11, 26), ts("2026-11-27T00:00:05Z")),
        "offset": (ts("2026-11-26T08:30:01Z"), dt.date(2026, 11, 26), ts("2026-11-26T08:30:01Z")),
        "ts-only": (ts("2026-11-25T12:00:00Z"), dt.date(2026, 11, 25), ts("2026-11-26T09:00:10Z")),
        "original": (ts("2026-11-24T07:00:00.5Z"), dt.date(2026, 11, 24), ts("2026-11-26T09:00:10Z")),
        "none": (ts("2026-11-26T09:00:10Z"), dt.date(2026, 11, 26), ts("2026-11-26T09:00:10Z")),
        "garbage": (ts("2026-11-26T09:00:10Z"), dt.date(2026, 11, 26), ts("2026-11-26T09:00:10Z")),
    }
    raw_dates = {r["message_id"]: r["received_date"] for r in rows(lake, "SELECT message_id, received_date FROM raw_events")}
    assert raw_dates["midnight"] == dt.date(2026, 11, 27)


PAGE_COLS = ("type", "event", "name", "host", "path", "url", "title", "referrer", "referrer_host", "visit_start",
             "utm_source", "utm_medium", "utm_campaign")


def test_page_fields_visits_and_utm(lake, tmp_path):
    d = tmp_path / "raw"
    write_segment(d, SEG1, [
        # from a search engine, UTM in the URL (decoded)
        record("external", type="page", name="Pricing", properties={
            "url": "https://Example.com/pricing?utm_source=google&utm_medium=cpc&utm_campaign=black%20friday+sale#plans",
            "path": "/pricing", "title": "Pricing", "referrer": "https://www.google.com/search?q=x"}),
        # next page on the same site: not a new visit; path derived from the URL
        record("same-site", type="page", properties={
            "url": "https://example.com/docs/start?x=1", "referrer": "https://example.com:443/pricing"}),
        # typed in / bookmark: no referrer (analytics.js sends ""): a new visit
        record("direct", type="page", properties={"url": "https://example.com/", "referrer": ""}),
        # page fields from context.page; campaign from context wins over the URL
        record("context-page", type="page", properties={"name": "Docs"}, context={
            "page": {"url": "https://example.com/docs?utm_source=url-src", "title": "Docs", "referrer": "https://news.ycombinator.com/"},
            "campaign": {"source": "newsletter", "medium": "email", "name": "launch"}}),
        # a track event carries the page it happened on, but never starts a visit
        record("track", event="Clicked", context={"page": {"url": "https://example.com/a/b?utm_source=x", "referrer": "https://other.org/"}}),
        # a screen has a name, no web fields
        record("screen", type="screen", name="Home"),
        # bare host URL: path "/"
        record("bare", type="page", properties={"url": "https://shop.example.com", "referrer": "https://example.com/"}),
    ])
    stats = Loader(lake, d).load_pending()
    assert stats.records_loaded == 7
    got = {m: {c: e[c] for c in PAGE_COLS} for m, e in events(lake).items()}
    assert got == {
        "external": dict(type="page", event=None, name="Pricing", host="example.com", path="/pricing",
                         url="https://Example.com/pricing?utm_source=google&utm_medium=cpc&utm_campaign=black%20friday+sale#plans",
                         title="Pricing", referrer="https://www.google.com/search?q=x", referrer_host="www.google.com",
                         visit_start=True, utm_source="google", utm_medium="cpc", utm_campaign="black friday sale"),
        "same-site": dict(type="page", event=None, name=None, host="example.com", path="/docs/start",
                          url="https://example.com/docs/start?x=1", title=None, referrer="https://example.com:443/pricing",
                          referrer_host="example.com", visit_start=False, utm_source=None, utm_medium=None, utm_campaign=None),
        "direct": dict(type="page", event=None, name=None, host="example.com", path="/", url="https://example.com/",
                       title=None, referrer=None, referrer_host=None, visit_start=True,
                       utm_source=None, utm_medium=None, utm_campaign=None),
        "context-page": dict(type="page", event=None, name="Docs", host="example.com", path="/docs",
                             url="https://example.com/docs?utm_source=url-src", title="Docs",
                             referrer="https://news.ycombinator.com/", referrer_host="news.ycombinator.com", visit_start=True,
                             utm_source="newsletter", utm_medium="email", utm_campaign="launch"),
        "track": dict(type="track", event="Clicked", name=None, host="example.com", path="/a/b",
                      url="https://example.com/a/b?utm_source=x", title=None, referrer="https://other.org/",
                      referrer_host="other.org", visit_start=False, utm_source="x", utm_medium=None, utm_campaign=None),
        "screen": dict(type="screen", event=None, name="Home", host=None, path=None, url=None, title=None, referrer=None,
                       referrer_host=None, visit_start=False, utm_source=None, utm_medium=None, utm_campaign=None),
        "bare": dict(type="page", event=None, name=None, host="shop.example.com", path="/", url="https://shop.example.com",
                     title=None, referrer="https://example.com/", referrer_host="example.com", visit_start=True,
                     utm_source=None, utm_medium=None, utm_campaign=None),
    }


def test_identities_traits_context_and_request(lake, tmp_path):
    d = tmp_path / "raw"
    ctx = {"library": {"name": "analytics-python", "version": "2.3"}, "traits": {"plan": "free"}}
    write_segment(d, SEG1, [
        record("identify", type="identify", userId="u1", anonymousId="a1", traits={"email": "x@example.com"}, context=ctx),
        record("ctx-traits", type="identify", userId=42, context=ctx),  # a number id comes as text
        record("group", type="group", userId="u1", groupId="g7", traits={"name": "Acme"}),
        record("alias", type="alias", userId="u1", previousId="a1", request=None),
        record("track", event="Order Completed", userId="u1", properties={"total": 9.5, "items": [1, 2]},
               context={"library": {"name": "analytics.js"}}, source="shop",
               request={**REQUEST, "country": "FR", "device_type": "mobile", "browser": "Safari", "os": "iOS"}),
    ])
    Loader(lake, d).load_pending()
    ev = events(lake)
    cols = ("type", "event", "user_id", "anonymous_id", "group_id", "previous_id", "source", "library",
            "country", "device_type", "browser", "os")
    assert {m: tuple(e[c] for c in cols) for m, e in ev.items()} == {
        "identify": ("identify", None, "u1", "a1", None, None, "web", "analytics-python", "DE", "desktop", "Firefox", "Linux"),
        "ctx-traits": ("identify", None, "42", None, None, None, "web", "analytics-python", "DE", "desktop", "Firefox", "Linux"),
        "group": ("group", None, "u1", None, "g7", None, "web", None, "DE", "desktop", "Firefox", "Linux"),
        "alias": ("alias", None, "u1", None, None, "a1", "web", None, None, None, None, None),
        "track": ("track", "Order Completed", "u1", None, None, None, "shop", "analytics.js", "FR", "mobile", "Safari", "iOS"),
    }
    assert json.loads(ev["identify"]["traits"]) == {"email": "x@example.com"}
    assert json.loads(ev["ctx-traits"]["traits"]) == {"plan": "free"}  # from context.traits
    assert json.loads(ev["group"]["traits"]) == {"name": "Acme"}
    assert ev["alias"]["traits"] is None and ev["alias"]["properties"] is None and ev["alias"]["context"] is None
    assert json.loads(ev["track"]["properties"]) == {"total": 9.5, "items": [1, 2]}
    assert json.loads(ev["identify"]["context"]) == ctx
    assert all(e["visit_start"] is False for e in ev.values())


def test_duplicates_are_loaded_once(lake, tmp_path):
    d = tmp_path / "raw"
    write_segment(d, SEG1, [
        record("m1", event="first", received_at="2026-11-26T09:00:00Z"),
        record("m2", event="e2"),
        record("m1", event="retry", received_at="2026-11-26T09:00:01Z"),  # a client retry
    ])
    write_segment(d, SEG2, [record("m2", event="again"), record("m3", event="e3")])
    stats = Loader(lake, d).load_pending()
    assert (stats.files_read, stats.records_read, stats.records_loaded, stats.records_duplicate) == (2, 5, 3, 2)
    assert stats.reconciles()
    assert {m: e["event"] for m, e in events(lake).items()} == {"m1": "first", "m2": "e2", "m3": "e3"}
    assert count(lake, "raw_events") == 5  # every record as received, duplicates too
    marks = rows(lake, "SELECT uri, records, loaded, duplicates, quarantined FROM ingested_objects ORDER BY uri")
    assert marks == [
        {"uri": SEG1, "records": 3, "loaded": 2, "duplicates": 1, "quarantined": 0},
        {"uri": SEG2, "records": 2, "loaded": 1, "duplicates": 1, "quarantined": 0},
    ]
    # a retry arriving later, after midnight, with the event date of the day before
    write_segment(d, "seg-20261127T000010-000003.log", [
        record("m3", event="late", received_at="2026-11-27T00:00:10Z", timestamp="2026-11-26T23:59:59Z"),
        record("m4", event="e4", received_at="2026-11-27T00:00:10Z"),
    ])
    stats = Loader(lake, d).load_pending()
    assert (stats.records_read, stats.records_loaded, stats.records_duplicate) == (2, 1, 1)
    assert sorted(events(lake)) == ["m1", "m2", "m3", "m4"] and events(lake)["m3"]["event"] == "e3"


def test_reload_is_idempotent_and_survives_a_crash_before_the_delete(lake, tmp_path):
    d = tmp_path / "raw"
    seg = write_segment(d, SEG1, [record("m1"), record("m2")])
    kept = tmp_path / "copy"
    shutil.copy(seg, kept)
    Loader(lake, d).load_pending()
    assert not seg.exists()
    again = Loader(lake, d).load_pending()  # nothing left
    assert (again.files_read, again.files_unchanged, again.records_read) == (0, 0, 0)
    # the process died after the commit, before removing the file: it is still there
    shutil.copy(kept, seg)
    stats = Loader(lake, d).load_pending()
    assert (stats.files_read, stats.files_unchanged, stats.records_read, stats.records_loaded) == (0, 1, 0, 0)
    assert not seg.exists()
    assert count(lake, "events") == 2 and count(lake, "raw_events") == 2 and count(lake, "ingested_objects") == 1


def test_corrupt_lines_are_quarantined_and_the_rest_loads(lake, tmp_path):
    d = tmp_path / "raw"
    bad_type = record("m6")
    bad_type["type"] = "bogus"
    no_id = record("x")
    del no_id["message_id"]
    write_segment(d, SEG1, [
        record("m1"),                                   # line 1
        b'{"received_at": "2026-11-26T09:00:10Z", "so',  # line 2: cut short
        record("m2"),                                   # line 3
        b"[1, 2]",                                      # line 4: not an object
        no_id,                                          # line 5
        {**record("m5"), "received_at": "soon"},        # line 6
        bad_type,                                       # line 7
        {**record("m8"), "payload": "text"},            # line 8
        b"",                                            # line 9: blank, not a record
        b"\xff\xfe not utf-8",                          # line 10
        record("m3"),                                   # line 11
    ])
    write_segment(d, SEG2, [record("m4")])
    stats = Loader(lake, d).load_pending()
    assert (stats.files_read, stats.files_failed, stats.records_read, stats.records_loaded,
            stats.records_quarantined, stats.records_duplicate) == (2, 0, 11, 4, 7, 0)
    assert stats.reconciles()
    assert sorted(events(lake)) == ["m1", "m2", "m3", "m4"]
    assert count(lake, "raw_events") == 4
    q = rows(lake, "SELECT source, source_object, position, reason, raw FROM quarantine ORDER BY CAST(split_part(position, ' ', 2) AS INT)")
    assert [(r["source"], r["source_object"], r["position"]) for r in q] == [
        ("collector", SEG1, f"line {n}") for n in (2, 4, 5, 6, 7, 8, 10)
    ]
    reasons = [r["reason"] for r in q]
    assert reasons[0].startswith("not valid JSON")
    assert reasons[1:6] == [
        "record is a JSON array, not an object",
        "record has no message_id",
        "received_at soon is not an ISO-8601 timestamp",
        "type bogus is not one of track, page, screen, identify, group, alias",
        "payload is a JSON string, not an object",
    ]
    assert reasons[6].startswith("not valid JSON")
    assert q[0]["raw"] == '{"received_at": "2026-11-26T09:00:10Z", "so'
    assert q[1]["raw"] == "[1, 2]"
    assert json.loads(q[2]["raw"])["payload"]["messageId"] == "x"  # what quarantine keeps of the record
    assert q[6]["raw"] == "\ufffd\ufffd not utf-8"
    mark = rows(lake, f"SELECT records, loaded, duplicates, quarantined FROM ingested_objects WHERE uri = '{SEG1}'")
    assert mark == [{"records": 10, "loaded": 3, "duplicates": 0, "quarantined": 7}]
    assert any("line 2: not valid JSON" in p for p in stats.problems)


def test_a_segment_that_fails_is_kept_and_does_not_block_the_others(lake, tmp_path, monkeypatch):
    d = tmp_path / "raw"
    write_segment(d, SEG1, [record("m1")])
    write_segment(d, SEG2, [record("m2")])
    real_commit = Loader._commit

    def failing_commit(self, con, lake, name, *rest):
        if name == SEG1:
            raise duckdb.IOException("disk on fire")
        return real_commit(self, con, lake, name, *rest)

    monkeypatch.setattr(Loader, "_commit", failing_commit)
    stats = Loader(lake, d).load_pending()
    assert (stats.files_read, stats.files_failed, stats.records_loaded) == (2, 1, 1)
    assert any(SEG1 in p and "disk on fire" in p for p in stats.problems)
    assert (d / SEG1).exists() and not (d / SEG2).exists()
    monkeypatch.setattr(Loader, "_commit", real_commit)
    stats = Loader(lake, d).load_pending()
    assert (stats.files_read, stats.files_failed, stats.records_loaded) == (1, 0, 1)
    assert sorted(events(lake)) == ["m1", "m2"]


def test_the_collectors_loader_keeps_its_connection_between_loads(lake, tmp_path, monkeypatch):
    """keep_connection (the collector's loader): one connection serves load after load,
    seeing what other connections commit meanwhile; a failed load drops it, the next
    opens a new one; close() closes it."""
    from eventlake.collect.sources import add_source

    d = tmp_path / "raw"
    loader = Loader(lake, d, keep_connection=True)
    write_segment(d, SEG1, [record("m1"), record("m2")])
    assert loader.load_pending().records_loaded == 2 and loader.connects == 1
    add_source(lake, "app")  # another connection commits in between
    write_segment(d, SEG2, [record("m2", event="again"), record("m3")])
    stats = loader.load_pending()
    assert (stats.records_loaded, stats.records_duplicate, loader.connects) == (1, 1, 1)
    real_commit = Loader._commit
    monkeypatch.setattr(Loader, "_commit", lambda *a: (_ for _ in ()).throw(duckdb.IOException("disk on fire")))
    write_segment(d, "seg-20261126T090020-000003.log", [record("m4")])
    assert loader.load_pending().files_failed == 1 and loader._con is None
    monkeypatch.setattr(Loader, "_commit", real_commit)
    assert loader.load_pending().records_loaded == 1 and loader.connects == 2
    assert sorted(events(lake)) == ["m1", "m2", "m3", "m4"]
    loader.close()
    assert loader._con is None
    # without keep_connection (the CLI, the demo): a connection per load, none left open
    write_segment(d, "seg-20261126T090030-000004.log", [record("m5")])
    once = Loader(lake, d)
    assert once.load_pending().records_loaded == 1 and once._con is None and once.connects == 1


def test_through_the_raw_log_with_recovery(lake, tmp_path):
    d = tmp_path / "raw"
    # a previous collector died: an open segment whose last line is partial
    d.mkdir()
    (d / "seg-20261126T085900-000001.open").write_bytes(
        orjson.dumps(record("old1")) + b"\n" + orjson.dumps(record("old2")) + b"\n" + orjson.dumps(record("lost"))[:40]
    )
    rl = RawLog(d, segment_seconds=3600)

    async def collect():
        await rl.append([orjson.dumps(record("new1", type="page", properties={"url": "https://example.com/"}))])
        await rl.append([orjson.dumps(record("new2")), orjson.dumps(record("old1"))])

    asyncio.run(collect())
    loader = Loader(lake, d, rawlog=rl)
    first = loader.load_pending()  # only the recovered segment: the active one is young
    assert (first.files_read, first.records_loaded) == (1, 2)
    assert rl.active_segment is not None and rl.active_segment.exists()
    rl.segment_seconds = 0  # now it is "old": the loader seals it before loading
    second = loader.load_pending()
    assert (second.files_read, second.records_read, second.records_loaded, second.records_duplicate) == (1, 3, 2, 1)
    assert sorted(events(lake)) == ["new1", "new2", "old1", "old2"]
    assert events(lake)["new1"]["visit_start"] is True
    segs = [r["segment"] for r in rows(lake, "SELECT DISTINCT segment FROM raw_events ORDER BY 1")]
    assert segs[0] == "seg-20261126T085900-000001.log" and segs[1].endswith("-000002.log")
    assert list(d.glob("seg-*")) == []
    asyncio.run(rl.close())


def test_load_waits_for_the_lakes_writer_lock(lake, tmp_path):
    d = tmp_path / "raw"
    write_segment(d, SEG1, [record("m1")])
    result = {}
    with lake.writer_lock():  # another ingest is running
        t = threading.Thread(target=lambda: result.update(stats=Loader(lake, d).load_pending()))
        t.start()
        time.sleep(1.0)
        assert t.is_alive() and (d / SEG1).exists()
    t.join(timeout=60)
    assert result["stats"].records_loaded == 1
    assert sorted(events(lake)) == ["m1"]


def test_nothing_to_load_touches_nothing(lake, tmp_path):
    stats = Loader(lake, tmp_path / "missing").load_pending()
    assert (stats.files_read, stats.records_read) == (0, 0)
    assert count(lake, "ingest_runs") == 0
