"""The collector's raw log: group commit, acknowledgement only after fsync,
backpressure, rotation, crash recovery and the directory lock."""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import orjson
import pytest

from eventlake.collect.rawlog import Backpressure, RawLog, RawLogError, sealed_segments
from eventlake.errors import EventlakeError


def rec(i: int) -> bytes:
    return orjson.dumps({"message_id": f"m{i:05d}", "type": "track", "payload": {"event": "e", "n": i}})


def lines_of(paths: list[Path]) -> list[bytes]:
    out: list[bytes] = []
    for p in paths:
        data = p.read_bytes()
        assert data == b"" or data.endswith(b"\n"), p
        out.extend(data.splitlines())
    return out


def test_append_writes_lines_and_close_seals(tmp_path):
    d = tmp_path / "raw"

    async def main():
        rl = RawLog(d)
        await rl.start()
        await rl.append([rec(1), rec(2)])
        await rl.append([rec(3)])
        assert rl.active_segment is not None and rl.active_segment.suffix == ".open"
        assert rl.active_segment.read_bytes() == rec(1) + b"\n" + rec(2) + b"\n" + rec(3) + b"\n"
        assert rl.sealed() == []
        await rl.close()
        return rl

    rl = asyncio.run(main())
    segs = rl.sealed()
    assert len(segs) == 1 and segs[0].suffix == ".log"
    assert segs[0].name.startswith("seg-") and len(segs[0].stem.split("-")[1]) == 15  # yyyymmddTHHMMSS
    assert lines_of(segs) == [rec(1), rec(2), rec(3)]
    assert list(d.glob("*.open")) == []
    assert sealed_segments(d) == segs


def test_group_commit_acknowledges_only_after_fsync(tmp_path, monkeypatch):
    """(writer thread) Many concurrent appends: each caller is acknowledged only once
    its line has been fsynced, and they share fsyncs (group commit)."""
    d = tmp_path / "raw"
    synced: list[bytes] = []  # content of the segment at each fsync of a regular file
    calls = {"file": 0, "dir": 0}
    real_fsync = os.fsync

    def counting_fsync(fd):
        real_fsync(fd)
        if stat.S_ISREG(os.fstat(fd).st_mode):
            calls["file"] += 1
            synced.append(Path(os.readlink(f"/proc/self/fd/{fd}")).read_bytes())
        else:
            calls["dir"] += 1

    monkeypatch.setattr(os, "fsync", counting_fsync)
    n = 300

    async def one(i: int):
        await rl.append([rec(i)])
        # acknowledged: the line was in the file when it was fsynced
        assert any(rec(i) + b"\n" in s for s in synced), i

    async def main():
        await rl.start()
        await asyncio.gather(*(one(i) for i in range(n)))
        # a second wave while the first is still being written
        first = asyncio.gather(*(one(i) for i in range(n, n + 100)))
        await asyncio.sleep(0)
        second = asyncio.gather(*(one(i) for i in range(n + 100, n + 200)))
        await asyncio.gather(first, second)
        await rl.close()

    rl = RawLog(d, sync_process=False)
    asyncio.run(main())
    assert rl.sync_mode == "writer thread"
    assert sorted(lines_of(rl.sealed())) == sorted(rec(i) for i in range(n + 200))
    writes = calls["file"] - 1  # one more fsync when the segment is sealed
    assert 1 <= writes <= 10, calls  # 500 appends, a handful of group commits
    assert calls["dir"] >= 2  # segment created, segment sealed


def test_backpressure_when_queue_is_full(tmp_path):
    async def main():
        rl = RawLog(tmp_path / "raw", max_pending_bytes=10)
        results = await asyncio.gather(*(rl.append([rec(i)]) for i in range(5)), return_exceptions=True)
        # the first one is taken (an empty queue takes any request), the others find
        # more than 10 bytes waiting and are refused at once
        assert results[0] is None
        for r in results[1:]:
            assert isinstance(r, Backpressure) and isinstance(r, EventlakeError)
            assert r.retry_after == 1
            assert "queue is full" in str(r) and "retry after 1s" in str(r)
        assert rl.pending_bytes == 0
        await rl.append([rec(9)])  # the queue drained: accepted again
        await rl.close()
        return rl

    rl = asyncio.run(main())
    assert lines_of(rl.sealed()) == [rec(0), rec(9)]


def test_backpressure_when_disk_is_nearly_full(tmp_path):
    async def main():
        rl = RawLog(tmp_path / "raw", min_free_bytes=1 << 62)
        with pytest.raises(Backpressure) as info:
            await rl.append([rec(1)])
        assert info.value.retry_after == 30
        assert "nearly full" in str(info.value)
        await rl.close()
        return rl

    rl = asyncio.run(main())
    assert rl.sealed() == [] and list((tmp_path / "raw").glob("seg-*")) == []


def test_failed_fsync_is_not_acknowledged_and_cut(tmp_path, monkeypatch):
    real_fsync = os.fsync
    failures = {"left": 1}

    def flaky_fsync(fd):
        if stat.S_ISREG(os.fstat(fd).st_mode) and failures["left"]:
            failures["left"] -= 1
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", flaky_fsync)

    async def main():
        rl = RawLog(tmp_path / "raw", sync_process=False)
        with pytest.raises(RawLogError) as info:
            await rl.append([rec(1), rec(2)])
        assert "cannot write to the raw log" in str(info.value) and "not acknowledged" in str(info.value)
        await rl.append([rec(3)])  # writing goes on, in a fresh segment
        await rl.close()
        return rl

    rl = asyncio.run(main())
    # the failed batch was cut from its segment (which, empty, is gone): only acked lines remain
    assert lines_of(rl.sealed()) == [rec(3)]
    assert list((tmp_path / "raw").glob("*.open")) == []


def test_rotation_by_size_and_age(tmp_path):
    async def by_size():
        rl = RawLog(tmp_path / "size", segment_bytes=150)
        for i in range(10):
            await rl.append([rec(i)])  # ~60 bytes each
        await rl.close()
        return rl

    rl = asyncio.run(by_size())
    segs = rl.sealed()
    assert len(segs) == 4  # rotated once a segment has passed 150 bytes: 3 + 3 + 3 + 1 lines
    assert [len(p.read_bytes().splitlines()) for p in segs] == [3, 3, 3, 1]
    assert lines_of(segs) == [rec(i) for i in range(10)]  # in order
    seqs = [int(p.stem.split("-")[2]) for p in segs]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4

    async def by_age():
        rl = RawLog(tmp_path / "age", segment_seconds=0.05)
        await rl.append([rec(1)])
        await rl.append([rec(2)])  # same segment: not old enough yet
        time.sleep(0.1)
        await rl.append([rec(3)])  # the segment is older than 0.05 s: sealed first
        assert len(rl.sealed()) == 1
        await rl.close()
        return rl

    rl = asyncio.run(by_age())
    assert [p.read_bytes().splitlines() for p in rl.sealed()] == [[rec(1), rec(2)], [rec(3)]]


def test_rotate_if_idle_and_rotate(tmp_path):
    async def main():
        rl = RawLog(tmp_path / "raw", segment_seconds=3600)
        assert rl.rotate_if_idle() is None  # nothing open
        await rl.append([rec(1)])
        assert rl.rotate_if_idle() is None  # younger than segment_seconds
        sealed = rl.rotate_if_idle(max_age=0)
        assert sealed is not None and sealed.suffix == ".log" and sealed.exists()
        assert rl.active_segment is None
        await rl.append([rec(2)])
        second = rl.rotate()
        assert rl.sealed() == [sealed, second]
        assert rl.rotate() is None
        await rl.close()
        return rl

    rl = asyncio.run(main())
    assert lines_of(rl.sealed()) == [rec(1), rec(2)]


def test_loader_thread_rotates_while_the_loop_appends(tmp_path):
    """rotate_if_idle()/sealed() from another thread while appends run: every acked
    line ends up exactly once, in order within its caller, in sealed segments."""
    d = tmp_path / "raw"
    rl = RawLog(d, segment_seconds=3600)
    stop = threading.Event()
    rotations = []

    def loader_thread():
        while not stop.is_set():
            if rl.rotate_if_idle(max_age=0):
                rotations.append(1)
            rl.sealed()
            time.sleep(0.001)

    t = threading.Thread(target=loader_thread)
    t.start()

    async def main():
        for wave in range(20):
            await asyncio.gather(*(rl.append([rec(wave * 50 + i)]) for i in range(50)))
        await rl.close()

    try:
        asyncio.run(main())
    finally:
        stop.set()
        t.join()
    got = lines_of(rl.sealed())
    assert sorted(got) == [rec(i) for i in range(1000)]
    assert len(rotations) >= 2
    assert list(d.glob("*.open")) == []


def test_recovery_seals_open_segments_and_cuts_partial_line(tmp_path):
    d = tmp_path / "raw"
    d.mkdir()
    (d / "seg-20261126T090000-000007.open").write_bytes(rec(1) + b"\n" + rec(2) + b"\n" + rec(3)[:20])
    (d / "seg-20261126T090001-000008.open").write_bytes(rec(4)[:30])  # nothing complete
    (d / "seg-20261126T085959-000006.log").write_bytes(rec(0) + b"\n")  # sealed earlier
    rl = RawLog(d)
    assert [p.name for p in rl.sealed()] == ["seg-20261126T085959-000006.log", "seg-20261126T090000-000007.log"]
    assert rl.recovered == [(d / "seg-20261126T090000-000007.log", 20)]
    assert (d / "seg-20261126T090000-000007.log").read_bytes() == rec(1) + b"\n" + rec(2) + b"\n"
    assert not list(d.glob("*.open"))

    async def main():
        await rl.append([rec(5)])
        new = rl.active_segment
        await rl.close()
        return new

    new = asyncio.run(main())
    assert int(new.stem.split("-")[2]) == 9  # numbering goes on after the recovered segments
    assert lines_of(rl.sealed()) == [rec(0), rec(1), rec(2), rec(5)]


CRASHER = textwrap.dedent(
    """
    import asyncio, sys
    import orjson
    from eventlake.collect.rawlog import RawLog

    async def main():
        rl = RawLog(sys.argv[1], segment_bytes=4096)
        i = 0
        while True:
            batch = [orjson.dumps({"message_id": f"m{i + k}", "pad": "x" * 100}) for k in range(5)]
            await rl.append(batch)
            print(i + 4, flush=True)  # acknowledged up to here
            i += 5

    asyncio.run(main())
    """
)


def test_kill_9_loses_no_acknowledged_record(tmp_path):
    d = tmp_path / "raw"
    proc = subprocess.Popen([sys.executable, "-c", CRASHER, str(d)], stdout=subprocess.PIPE, text=True)
    acked = -1
    try:
        while acked < 300:
            line = proc.stdout.readline()
            assert line, "the writer process died"
            acked = int(line)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    rl = RawLog(d)  # recovery: the dead process left its lock and an .open segment
    assert not list(d.glob("*.open"))
    ids = [orjson.loads(line)["message_id"] for line in lines_of(rl.sealed())]
    assert ids == [f"m{i}" for i in range(len(ids))]  # complete lines, in order, no gap
    assert len(ids) >= acked + 1
    assert len(rl.sealed()) > 1  # rotated by size meanwhile

    async def close():
        await rl.close()

    asyncio.run(close())


def test_one_process_per_directory(tmp_path):
    d = tmp_path / "raw"
    rl = RawLog(d)
    with pytest.raises(RawLogError, match=r"in use by another collector process \(pid \d+\)"):
        RawLog(d)

    async def close():
        await rl.close()

    asyncio.run(close())
    RawLog(d)  # released on close


def test_bad_input_and_appending_after_close(tmp_path):
    async def main():
        rl = RawLog(tmp_path / "raw")
        with pytest.raises(ValueError, match="no newline"):
            await rl.append([b'{"a":\n1}'])
        with pytest.raises(TypeError):
            await rl.append(["text"])  # type: ignore[list-item]
        await rl.append([])  # nothing to do
        await rl.close()
        with pytest.raises(Backpressure, match="closed"):
            await rl.append([rec(1)])
        await rl.close()  # twice is fine
        return rl

    rl = asyncio.run(main())
    assert rl.sealed() == []


def test_cancelled_caller_does_not_cancel_the_write(tmp_path):
    async def main():
        rl = RawLog(tmp_path / "raw")
        task = asyncio.ensure_future(rl.append([rec(1)]))
        await asyncio.sleep(0)  # queued
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await rl.append([rec(2)])
        await rl.close()
        return rl

    rl = asyncio.run(main())
    assert lines_of(rl.sealed()) == [rec(1), rec(2)]


# --- the fsync helper process (the default) ----------------------------------------------

PROBE = Path(__file__).with_name("syncer_probe.py")


def probe(spec: str) -> list[str]:
    """The command of a fault-injecting fsync helper (see syncer_probe.py)."""
    from eventlake.collect import fsyncer

    return [sys.executable, str(PROBE), fsyncer.__file__, spec]


def helper_alive(rl: RawLog) -> bool:
    h = rl._helper
    return h is not None and h.proc.poll() is None


def test_helper_acknowledges_only_after_its_fsync_and_groups_commits(tmp_path):
    """The default: the event loop writes each group, a helper process fsyncs it. Every
    caller is acknowledged only after the helper synced a segment holding its line;
    500 concurrent appends share a handful of fsyncs."""
    d, snaps = tmp_path / "raw", tmp_path / "snaps"
    snaps.mkdir()
    n = 300

    def synced_lines() -> set[bytes]:
        return {ln for p in snaps.iterdir() for ln in p.read_bytes().splitlines()}

    async def one(i: int):
        await rl.append([rec(i)])
        assert rec(i) in synced_lines(), i

    async def main():
        await rl.start()
        assert helper_alive(rl)
        await asyncio.gather(*(one(i) for i in range(n)))
        first = asyncio.gather(*(one(i) for i in range(n, n + 100)))
        await asyncio.sleep(0)
        second = asyncio.gather(*(one(i) for i in range(n + 100, n + 200)))
        await asyncio.gather(first, second)
        proc = rl._helper.proc
        await rl.close()
        return proc

    rl = RawLog(d, syncer_command=probe(f"record:{snaps}"))
    proc = asyncio.run(main())
    assert rl.sync_mode == "helper process"
    assert proc.returncode == 0  # the helper exits when the raw log closes
    assert sorted(lines_of(rl.sealed())) == sorted(rec(i) for i in range(n + 200))
    assert rl.committed_appends == n + 200
    assert 1 <= rl.commits <= 10, rl.commits
    assert len(list(snaps.iterdir())) == rl.commits
    assert list(d.glob("*.open")) == []


def test_helper_fsync_failure_is_not_acknowledged_and_cut(tmp_path):
    async def main():
        rl = RawLog(tmp_path / "raw", syncer_command=probe("fail:2"))
        await rl.append([rec(1)])
        with pytest.raises(RawLogError) as info:
            await rl.append([rec(2), rec(3)])
        assert "cannot write to the raw log" in str(info.value) and "Input/output error" in str(info.value)
        await rl.append([rec(4)])  # writing goes on, in a fresh segment
        await rl.close()
        return rl

    rl = asyncio.run(main())
    segs = rl.sealed()
    assert len(segs) == 2  # the failed group's segment was sealed without it
    assert lines_of(segs) == [rec(1), rec(4)]
    assert rl.helper_restarts == 0
    assert list((tmp_path / "raw").glob("*.open")) == []


def test_helper_that_dies_mid_group_is_replaced_and_the_group_synced(tmp_path):
    """The helper exits at its second segment fsync: another one starts, syncs the
    group in flight, and its callers are acknowledged; nothing is lost or doubled."""
    async def main():
        rl = RawLog(tmp_path / "raw", syncer_command=probe(f"die:2,once:{tmp_path / 'died'}"))
        await rl.append([rec(0)])
        first = rl._helper.proc
        await asyncio.gather(*(rl.append([rec(i)]) for i in range(1, 40)))
        assert first.wait(5) == 3
        assert helper_alive(rl) and rl._helper.proc is not first
        await rl.append([rec(40)])
        await rl.close()
        return rl

    rl = asyncio.run(main())
    assert rl.helper_restarts == 1 and rl.sync_mode == "helper process"
    assert sorted(lines_of(rl.sealed())) == sorted(rec(i) for i in range(41))


def test_helper_killed_while_idle_is_restarted_at_the_next_append(tmp_path):
    async def main():
        rl = RawLog(tmp_path / "raw")
        await rl.append([rec(1)])
        proc = rl._helper.proc
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
        await asyncio.sleep(0.05)  # the loop reads the closed socket
        await rl.append([rec(2)])
        assert helper_alive(rl) and rl._helper.proc is not proc
        await rl.close()
        return rl

    rl = asyncio.run(main())
    assert rl.helper_restarts == 1
    assert lines_of(rl.sealed()) == [rec(1), rec(2)]


def test_without_a_helper_the_writer_thread_fsyncs(tmp_path, caplog):
    async def main():
        rl = RawLog(tmp_path / "raw", syncer_command=[str(tmp_path / "no-such-helper")])
        await rl.append([rec(1)])
        await asyncio.gather(*(rl.append([rec(i)]) for i in range(2, 20)))
        await rl.close()
        return rl

    rl = asyncio.run(main())
    assert rl.sync_mode == "writer thread"
    assert "fsyncing in a writer thread instead" in caplog.text
    assert sorted(lines_of(rl.sealed())) == sorted(rec(i) for i in range(1, 20))


def test_event_loop_runs_while_the_helper_fsyncs(tmp_path):
    async def main():
        rl = RawLog(tmp_path / "raw", syncer_command=probe("slow:0.3"))
        await rl.start()
        task = asyncio.ensure_future(rl.append([rec(1)]))
        ticks = 0
        while not task.done():
            await asyncio.sleep(0.01)
            ticks += 1
        await task
        await rl.close()
        return ticks

    assert asyncio.run(main()) >= 10  # the loop kept running during the 0.3 s fsync


def test_helper_serves_successive_event_loops_and_seals_by_size(tmp_path):
    rl = RawLog(tmp_path / "raw", segment_bytes=300)

    async def put(i):
        await asyncio.gather(*(rl.append([rec(i * 10 + k)]) for k in range(10)))

    asyncio.run(put(0))
    asyncio.run(put(1))  # a new event loop takes over the helper's socket
    asyncio.run(put(2))
    proc = rl._helper.proc
    asyncio.run(rl.close())
    assert proc.returncode == 0
    segs = rl.sealed()
    assert len(segs) >= 3  # groups of ~850 bytes: a new segment for each but the first
    assert sorted(lines_of(segs)) == sorted(rec(i) for i in range(30))
    assert list((tmp_path / "raw").glob("*.open")) == []


def test_a_failed_fsync_fails_the_group_written_after_it_too(tmp_path):
    """Two groups in flight: the first one's fsync fails, so both are cut (the second
    was written after it in the same segment) and neither is acknowledged."""
    async def main():
        rl = RawLog(tmp_path / "raw", syncer_command=probe("slow:0.2,fail:2"), groups_in_flight=2)
        await rl.append([rec(0)])  # segment fsync 1
        first = asyncio.ensure_future(rl.append([rec(1)]))  # fsync 2 fails
        await asyncio.sleep(0.05)
        second = asyncio.ensure_future(rl.append([rec(2)]))  # written while the first syncs
        await asyncio.sleep(0.05)
        assert len(rl._inflight) == 2
        results = await asyncio.gather(first, second, return_exceptions=True)
        assert all(isinstance(r, RawLogError) for r in results), results
        await rl.append([rec(3)])
        await rl.close()
        return rl

    rl = asyncio.run(main())
    assert lines_of(rl.sealed()) == [rec(0), rec(3)]
    assert list((tmp_path / "raw").glob("*.open")) == []


def test_a_helper_that_cannot_run_is_not_restarted_again_and_again(tmp_path, caplog):
    """A helper command that starts but exits at once (here: a script that is not
    there) makes the raw log fall back to the writer thread at the first group."""
    async def main():
        rl = RawLog(tmp_path / "raw", syncer_command=[sys.executable, str(tmp_path / "missing.py")])
        await rl.append([rec(1)])
        await asyncio.gather(*(rl.append([rec(i)]) for i in range(2, 10)))
        await rl.close()
        return rl

    rl = asyncio.run(main())
    assert rl.sync_mode == "writer thread" and rl.helper_restarts == 0
    assert "before answering anything" in caplog.text
    assert sorted(lines_of(rl.sealed())) == sorted(rec(i) for i in range(1, 10))


def test_helper_whose_collector_died_exits_quietly(tmp_path):
    """The collector killed with fsyncs asked for but not answered: the helper still
    fsyncs, finds nobody to answer, and exits with status 0 and nothing on stderr (it
    printed a traceback into the collector's log)."""
    from eventlake.collect import fsyncer

    seg = tmp_path / "seg.open"
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    proc = subprocess.Popen(
        [sys.executable, "-I", "-S", fsyncer.__file__, str(theirs.fileno()), str(tmp_path)],
        pass_fds=[theirs.fileno()], stderr=subprocess.PIPE)
    theirs.close()
    with open(seg, "ab") as fh:
        fh.write(b"x\n")
        socket.send_fds(ours, [fsyncer.REQUEST.pack(b"N", 1, 0)], [fh.fileno()])
    for token in range(1, 50):
        ours.send(fsyncer.REQUEST.pack(b"S", 1, token))
    ours.send(fsyncer.REQUEST.pack(b"C", 1, 50) + str(seg).encode())
    ours.close()
    _out, err = proc.communicate(timeout=30)
    assert (proc.returncode, err.decode()) == (0, "")


def test_one_group_in_flight_by_default_the_next_one_gathers_meanwhile(tmp_path):
    """While the helper fsyncs a group, the appends that arrive wait and are written
    as one group when it is done: one write and one fsync for all twenty."""
    async def main():
        rl = RawLog(tmp_path / "raw", syncer_command=probe("slow:0.2"))
        first = asyncio.ensure_future(rl.append([rec(0)]))
        await asyncio.sleep(0.05)
        rest = asyncio.gather(*(rl.append([rec(i)]) for i in range(1, 21)))
        await asyncio.sleep(0.05)
        assert (len(rl._inflight), len(rl._hq)) == (1, 20)
        await first
        await rest
        await rl.close()
        return rl

    rl = asyncio.run(main())
    assert (rl.commits, rl.committed_appends) == (2, 21)
    assert lines_of(rl.sealed()) == [rec(i) for i in range(21)]
    with pytest.raises(ValueError):
        RawLog(tmp_path / "other", groups_in_flight=0)
