"""Fan-out into the lake: outcomes recorded in deliveries, bounded queues, filters,
shutdown, and replay of what was not delivered — against loopback vendors."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading

import pytest

from eventlake.destinations.fanout import Fanout, replay

from . import UTC, Reply, Vendor, deliveries, free_port, load_raw, make_dest, record, secret, vendor  # noqa: F401

pytestmark = pytest.mark.usefixtures("secret")


def run_fanout(lake, dests, batches, **kw):
    """Start a Fanout, submit each batch of records, close (drain) it."""

    async def run():
        fan = Fanout(lake, dests, flush_interval=0.1, **kw)
        await fan.start()
        for b in batches:
            fan.submit(b)
            await asyncio.sleep(0)
        await fan.close(timeout=kw.get("drain_timeout", 10))
        return fan

    return asyncio.run(run())


def test_500_twice_then_delivered_three_rows(lake, vendor):
    vendor.script = [Reply(500, b"oops"), Reply(502, b"bad gateway")]
    rec = record(1)
    fan = run_fanout(lake, [make_dest("webhook", vendor.url, name="hooks")], [[rec]])
    rows = deliveries(lake, "hooks")
    assert [(r["attempt"], r["status"], r["http_status"], r["replay"]) for r in rows] == [
        (1, "retry", 500, False), (2, "retry", 502, False), (3, "delivered", 200, False),
    ]
    assert {r["message_id"] for r in rows} == {rec["message_id"]}
    assert all(r["attempt_date"] == r["attempted_at"].astimezone(UTC).date() for r in rows)
    assert fan.stats["hooks"].delivered == 1 and fan.stats["hooks"].retries == 2


def test_fanout_to_several_destinations_with_filters(lake, vendor):
    other = Vendor().start()
    try:
        web = [record(i, source="web", event="Signed Up") for i in range(3)]
        app = [record(10 + i, source="app", event="Song Played") for i in range(2)]
        ident = record(20, type="identify", source="web")
        dests = [
            make_dest("webhook", vendor.url, name="all"),
            make_dest("webhook", other.url, name="web-signups", sources=["web"], events=["Signed Up"]),
            make_dest("ga4", vendor.url + "/mp/collect", name="ga", measurement_id="G-X"),
        ]
        run_fanout(lake, dests, [web[:2] + app[:1], [web[2], app[1], ident]])
    finally:
        other.stop()
    rows = deliveries(lake)
    by_dest: dict[str, set] = {}
    for r in rows:
        assert r["status"] == "delivered"
        by_dest.setdefault(r["destination"], set()).add(r["message_id"])
    ids = lambda recs: {r["message_id"] for r in recs}  # noqa: E731
    assert by_dest["all"] == ids(web + app + [ident])
    assert by_dest["web-signups"] == ids(web)
    assert by_dest["ga"] == ids(web + app)  # identify is not a GA4 event
    sent_to_other = [e["messageId"] for b in other.bodies() for e in b["events"]]
    assert sorted(sent_to_other) == sorted(ids(web))


def test_queue_full_recorded_as_dropped(lake, vendor):
    recs = [record(i) for i in range(6)]
    dest = make_dest("webhook", vendor.url, name="small", queue_size=2, batch_size=10)
    fan = run_fanout(lake, [dest], [recs])
    rows = deliveries(lake, "small")
    status = {r["message_id"]: (r["status"], r["error"], r["attempt"]) for r in rows}
    assert len(rows) == 6
    assert [status[r["message_id"]] for r in recs[:2]] == [("delivered", None, 1)] * 2
    assert [status[r["message_id"]] for r in recs[2:]] == [("dropped", "queue full", 0)] * 4
    assert fan.stats["small"].dropped == 4


def test_submit_from_another_thread(lake, vendor):
    recs = [record(i) for i in range(20)]

    async def run():
        fan = Fanout(lake, [make_dest("segment", vendor.url, name="seg")], flush_interval=0.1)
        await fan.start()
        threads = [threading.Thread(target=fan.submit, args=(recs[i::4],)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        await asyncio.sleep(0.05)
        await fan.close()

    asyncio.run(run())
    rows = deliveries(lake, "seg")
    assert sorted(r["message_id"] for r in rows) == sorted(r["message_id"] for r in recs)
    assert {r["status"] for r in rows} == {"delivered"}
    assert sum(len(b["batch"]) for b in vendor.bodies()) == 20


def test_outcomes_flushed_while_running(lake, vendor):
    async def run():
        fan = Fanout(lake, [make_dest("webhook", vendor.url, name="hooks")], flush_interval=0.1)
        await fan.start()
        fan.submit([record(1)])
        for _ in range(100):
            await asyncio.sleep(0.05)
            if await asyncio.to_thread(deliveries, lake, "hooks"):
                break
        seen = await asyncio.to_thread(deliveries, lake, "hooks")
        await fan.close()
        return seen

    seen = asyncio.run(run())
    assert [r["status"] for r in seen] == ["delivered"]


def test_close_records_unsent_events_as_dropped(lake, vendor):
    vendor.default = Reply(200, b"{}", delay=0.6)
    recs = [record(i) for i in range(5)]
    dest = make_dest("webhook", vendor.url, name="slow", batch_size=1, timeout_s=5)
    run_fanout(lake, [dest], [recs], drain_timeout=0.3)
    rows = deliveries(lake, "slow")
    assert sorted(r["message_id"] for r in rows) == sorted(r["message_id"] for r in recs)
    assert {r["status"] for r in rows} == {"dropped"}
    assert {r["error"] for r in rows} == {"not sent before shutdown"}


def test_submit_before_start_is_an_error(lake, vendor):
    fan = Fanout(lake, [make_dest("webhook", vendor.url)])
    with pytest.raises(RuntimeError):
        fan.submit([record(1)])


def test_start_checks_secrets(lake, vendor, monkeypatch):
    from eventlake.errors import ConfigError

    monkeypatch.delenv("EVENTLAKE_TEST_SECRET")

    async def run():
        await Fanout(lake, [make_dest("webhook", vendor.url)]).start()

    with pytest.raises(ConfigError, match="EVENTLAKE_TEST_SECRET"):
        asyncio.run(run())


# -- replay -------------------------------------------------------------------------
def test_vendor_down_then_replay_sends_exactly_the_failed(lake):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    day = dt.datetime(2026, 11, 26, tzinfo=UTC)
    early = [record(i, received_at=day + dt.timedelta(hours=1, seconds=i)) for i in range(3)]
    late = [record(10 + i, received_at=day + dt.timedelta(hours=2, seconds=i)) for i in range(3)]
    next_day = [record(20, received_at=day + dt.timedelta(days=1, hours=1))]  # outside the range
    load_raw(lake, early + late + next_day)
    dest = make_dest("webhook", url, name="hooks", max_attempts=2)

    up = Vendor(port).start()
    try:
        run_fanout(lake, [dest], [early])
    finally:
        up.stop()
    run_fanout(lake, [dest], [late])  # the vendor is down for the whole run
    rows = deliveries(lake, "hooks")
    final = {}
    for r in rows:
        final[r["message_id"]] = r["status"]
    assert final == {**{r["message_id"]: "delivered" for r in early}, **{r["message_id"]: "failed" for r in late}}
    assert all("connection error" in r["error"] for r in rows if r["status"] in ("failed", "retry"))

    back = Vendor(port).start()
    try:
        summary = replay(lake, dest, day, day + dt.timedelta(days=1))
        sent = [e["messageId"] for b in back.bodies() for e in b["events"]]
    finally:
        back.stop()
    assert sorted(sent) == sorted(r["message_id"] for r in late)
    assert (summary.read, summary.already_delivered, summary.sent, summary.delivered, summary.failed) == (6, 3, 3, 3, 0)
    assert summary.reconciles()
    replayed = [r for r in deliveries(lake, "hooks") if r["replay"]]
    assert sorted(r["message_id"] for r in replayed) == sorted(r["message_id"] for r in late)
    assert {(r["status"], r["attempt"]) for r in replayed} == {("delivered", 1)}
    # a second replay finds nothing left to send
    again = replay(lake, dest, day, day + dt.timedelta(days=1))
    assert (again.read, again.already_delivered, again.sent) == (6, 6, 0)


def test_replay_range_filters_and_duplicates(lake, vendor):
    t0 = dt.datetime(2026, 11, 26, 23, 59, 59, tzinfo=UTC)
    recs = [
        record(1, received_at=t0 - dt.timedelta(seconds=1)),  # before the range
        record(2, received_at=t0),  # first instant: in
        record(3, received_at=t0 + dt.timedelta(seconds=2)),  # next day's partition: in
        record(4, received_at=t0 + dt.timedelta(seconds=3), source="app"),  # not for this destination
        record(5, received_at=t0 + dt.timedelta(seconds=4)),  # the end: out
    ]
    dup = dict(recs[2], received_at=(t0 + dt.timedelta(seconds=3)).isoformat())  # the same event received twice
    load_raw(lake, recs + [dup])
    dest = make_dest("webhook", vendor.url, name="web-only", sources=["web"])
    summary = replay(lake, dest, t0, t0 + dt.timedelta(seconds=4))
    assert (summary.read, summary.duplicates, summary.skipped, summary.sent, summary.delivered) == (4, 1, 1, 2, 2)
    assert summary.reconciles()
    sent = sorted(e["messageId"] for b in vendor.bodies() for e in b["events"])
    assert sent == sorted([recs[1]["message_id"], recs[2]["message_id"]])
    # the event as forwarded has the collector payload's allowlisted fields
    first = vendor.bodies()[0]["events"][0]
    assert set(first) == {"type", "messageId", "event", "userId", "anonymousId", "timestamp", "properties"}


def test_replay_after_dropped(lake, vendor):
    recs = [record(i) for i in range(4)]
    load_raw(lake, recs)
    dest = make_dest("webhook", vendor.url, name="small", queue_size=1, batch_size=10)
    run_fanout(lake, [dest], [recs])
    assert sorted(r["status"] for r in deliveries(lake, "small")) == ["delivered", "dropped", "dropped", "dropped"]
    vendor.requests.clear()
    summary = replay(lake, dest, dt.datetime(2026, 11, 26, tzinfo=UTC), dt.datetime(2026, 11, 27, tzinfo=UTC))
    assert (summary.already_delivered, summary.sent, summary.delivered) == (1, 3, 3)
    assert sorted(e["messageId"] for b in vendor.bodies() for e in b["events"]) == sorted(r["message_id"] for r in recs[1:])
