"""Benchmark of the event collector (never run by `make test`), with durable ack on
(every 200 means the event was written and fsynced), against a bare ASGI app on the
same machine in the same run.

  bare:    uvicorn serving an app that answers every POST with {"success": true}
  track:   wrk -> POST /v1/track, one event per request (unique messageIds)
  batch:   wrk -> POST /v1/batch, 100 events per request
  memory:  the RSS of the collector and its helper processes (the fsync helper, the
           loader process) sampled during a long mixed run (track + batch), with the
           loader loading into the lake as it goes; flat means bounded

Load comes from wrk (Debian's package) in its own process; each target gets the same
connections and duration. Single events run in rounds (bare app, then collector, each
`--seconds`), the ratio being the median of the rounds' ratios: the machine is shared
and one pair of runs can be off by a tenth. Before each round the collector's loads
catch up with what the previous round acknowledged, so that no load of the collector
runs while the bare app is measured. Targets on 2 cores: >= 50,000 events/s batched;
single-event requests/s >= 0.5x the bare app's; memory flat over a 10-minute run.

Usage: python bench/collector.py [--seconds 20] [--rounds 3] [--memory-seconds 600] [--connections 32]
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import PY, machine, save_result  # noqa: E402

BARE = """
import sys, uvicorn
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            m = await receive()
            if m["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif m["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"}); return
    more = True
    while more:  # read the whole body, as a real app must
        m = await receive(); more = m.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"success":true}'})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=False, log_level="warning", server_header=False)
"""

TRACK_LUA = """
local counter = 0
local prefix = "%(prefix)s"
request = function()
  counter = counter + 1
  local body = '{"userId":"u' .. (counter %% 5000) .. '","event":"Signed Up","messageId":"' .. prefix .. '-t-' .. counter ..
    '","properties":{"plan":"pro","seats":' .. (counter %% 50) .. '},"context":{"library":{"name":"wrk"}}}'
  return wrk.format("POST", "/v1/track", {["Content-Type"]="application/json", ["Authorization"]="%(auth)s"}, body)
end
"""

BATCH_LUA = """
local counter = 0
local prefix = "%(prefix)s"
request = function()
  local parts = {}
  for i = 1, 100 do
    counter = counter + 1
    parts[i] = '{"type":"track","userId":"u' .. (counter %% 5000) .. '","event":"Page Scrolled","messageId":"' .. prefix .. '-b-' .. counter ..
      '","properties":{"depth":' .. (counter %% 100) .. '}}'
  end
  local body = '{"batch":[' .. table.concat(parts, ",") .. ']}'
  return wrk.format("POST", "/v1/batch", {["Content-Type"]="application/json", ["Authorization"]="%(auth)s"}, body)
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def wrk(url: str, script: str, seconds: int, connections: int, work: Path) -> dict:
    lua = work / f"wrk-{uuid.uuid4().hex[:8]}.lua"
    lua.write_text(script)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(lua), url],
        capture_output=True, text=True, check=True,
    ).stdout
    def pct(p: str) -> float | None:
        m = re.search(rf"^\s*{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return None
        v, unit = float(m.group(1)), m.group(2)
        return round(v / 1000 if unit == "us" else v * 1000 if unit == "s" else v, 3)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "requests_per_s": round(rps, 1), "p50_ms": pct("50"), "p99_ms": pct("99"),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0, "socket_errors": errors.group(1) if errors else None,
    }


def thread_times(pid: int) -> dict[int, tuple[int, int]]:
    """(ns on a CPU, ns waiting for one) per thread of a process, from schedstat."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            run, wait, _ = (task / "schedstat").read_text().split()
        except (OSError, ValueError):
            continue
        out[int(task.name)] = (int(run), int(wait))
    return out


def cpu_profile(pid: int, before: dict, after: dict, seconds: float, requests_per_s: float) -> dict:
    """Where a server's time went during a wrk run: its main thread's CPU time per
    request, and the fraction of the wall time each busy thread ran and waited for a
    CPU (the machine is shared: waiting is the other load's doing)."""
    threads = []
    for tid, (run, wait) in after.items():
        r0, w0 = before.get(tid, (0, 0))
        threads.append((tid, (run - r0) / 1e9 / seconds, (wait - w0) / 1e9 / seconds))
    main = next((t for t in threads if t[0] == pid), (pid, 0.0, 0.0))
    return {
        "main_thread_cpu_us_per_request": round(main[1] * 1e6 / requests_per_s, 1) if requests_per_s else None,
        "main_thread_running": round(main[1], 3),
        "main_thread_waiting_for_cpu": round(main[2], 3),
        "other_threads_running": round(sum(t[1] for t in threads if t[0] != pid), 3),
    }


def children_cpu(pid: int) -> dict[int, tuple[str, float]]:
    """(command, CPU seconds) of each child process of a server (the collector's fsync
    helper and loader process)."""
    out = {}
    for child in psutil.Process(pid).children(recursive=True):
        try:
            t = child.cpu_times()
            args = child.cmdline()
            cmd = next((Path(a).name for a in args if "fsyncer" in a or "loadworker" in a), " ".join(args[1:3]))
        except psutil.Error:
            continue
        out[child.pid] = (cmd, t.user + t.system)
    return out


def tree_rss(proc: psutil.Process) -> int:
    """RSS of a process and its children."""
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            pass
    return total


def settle(port: int, timeout: float = 300) -> float:
    """Wait until the collector's loads caught up: two loads ended since the call (the
    first seals the active segment), none runs and no sealed segment waits. Seconds waited."""
    url = f"http://127.0.0.1:{port}/health"
    start = time.time()
    loads = httpx.get(url, timeout=10).json()["loader"]["loads"]
    while time.time() - start < timeout:
        ld = httpx.get(url, timeout=10).json()["loader"]
        if ld["loads"] >= loads + 2 and not ld["loading"] and ld["waiting"]["segments"] == 0:
            return round(time.time() - start, 1)
        time.sleep(0.5)
    raise SystemExit(f"the collector's loads did not catch up within {timeout} s")


def profiled_wrk(pid: int, *args) -> dict:
    before, kids0, t0 = thread_times(pid), children_cpu(pid), time.time()
    res = wrk(*args)
    after, kids1, elapsed = thread_times(pid), children_cpu(pid), time.time() - t0
    res["profile"] = cpu_profile(pid, before, after, elapsed, res["requests_per_s"])
    if kids1:
        res["profile"]["child_processes_running"] = {
            f"{cmd} (pid {p})": round((cpu - kids0.get(p, (cmd, 0.0))[1]) / elapsed, 3) for p, (cmd, cpu) in kids1.items()
        }
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3, help="rounds of single events (bare app, then collector)")
    ap.add_argument("--collector-option", action="append", default=[], metavar="OPT",
                    help="an extra option of `serve collector`, e.g. --collector-option=--load-max-lag=0 (repeatable)")
    ap.add_argument("--memory-seconds", type=int, default=600)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--work", type=Path, default=HERE / "work" / "collector")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    work: Path = args.work.resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    from eventlake.collect.sources import add_source
    from eventlake.lake import Lake

    lake = Lake(work / "lake")
    con = lake.connect(create=True)
    lake.ensure_tables(con)
    con.close()
    _, key = add_source(lake, "bench")
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()

    bare_port, port = free_port(), free_port()
    bare = subprocess.Popen([PY, "-c", BARE, str(bare_port)])
    collector = subprocess.Popen(
        [PY, "-c", "from eventlake.cli import main; main()", "--lake", str(lake.path), "serve", "collector",
         "--port", str(port), "--log-level", "warning", *args.collector_option],
    )
    result: dict = {"benchmark": "collector", "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
                    "settings": {"seconds": args.seconds, "rounds": args.rounds, "connections": args.connections, "collector_options": args.collector_option, "wrk_threads": 1, "durable_ack": "write + fsync per group commit",
                                 "processes": "the bare app; the collector with its fsync helper and loader processes"}}
    try:
        wait_up(f"http://127.0.0.1:{bare_port}/")
        wait_up(f"http://127.0.0.1:{port}/health")
        proc = psutil.Process(collector.pid)
        run_id = uuid.uuid4().hex[:8]
        rounds = []
        for r in range(args.rounds):
            waited = settle(port)
            print(f"round {r + 1}/{args.rounds}: bare app, single events ...", flush=True)
            b = profiled_wrk(bare.pid, f"http://127.0.0.1:{bare_port}", TRACK_LUA % {"prefix": f"{run_id}x{r}", "auth": auth}, args.seconds, args.connections, work)
            print(f"round {r + 1}/{args.rounds}: collector, single events ...", flush=True)
            t = profiled_wrk(collector.pid, f"http://127.0.0.1:{port}", TRACK_LUA % {"prefix": f"{run_id}t{r}", "auth": auth}, args.seconds, args.connections, work)
            health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).json()
            t["raw_log"] = health.get("raw_log")
            t["loads_deferred"] = health["loader"]["deferred"]
            rounds.append({"settle_seconds": waited, "bare": b, "collector": t, "ratio_to_bare": round(t["requests_per_s"] / b["requests_per_s"], 3)})
            print(json.dumps({"round": r + 1, "bare_rps": b["requests_per_s"], "collector_rps": t["requests_per_s"], "ratio": rounds[-1]["ratio_to_bare"]}), flush=True)
        settle(port)
        print("collector, batches of 100 ...", flush=True)
        bt = wrk(f"http://127.0.0.1:{port}", BATCH_LUA % {"prefix": run_id, "auth": auth}, args.seconds, args.connections, work)
        mid = sorted(rounds, key=lambda x: x["ratio_to_bare"])[len(rounds) // 2]  # the median round
        result["track_rounds"] = rounds
        result["bare_track"] = mid["bare"]
        result["collector_track"] = {**mid["collector"], "ratio_to_bare": mid["ratio_to_bare"],
                                     "round_ratios": [x["ratio_to_bare"] for x in rounds]}
        result["collector_batch"] = {**bt, "events_per_s": round(bt["requests_per_s"] * 100)}
        print(json.dumps({k: result[k] for k in ("bare_track", "collector_track", "collector_batch")}, indent=2), flush=True)

        print(f"memory over {args.memory_seconds} s of mixed load ...", flush=True)
        samples: list[tuple[float, int]] = []
        stop = threading.Event()

        def sample() -> None:
            start = time.time()
            while not stop.is_set():
                samples.append((round(time.time() - start, 1), tree_rss(proc)))
                stop.wait(5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        mixed = [
            threading.Thread(target=lambda: result.__setitem__("mixed_track", wrk(
                f"http://127.0.0.1:{port}", TRACK_LUA % {"prefix": run_id + "m", "auth": auth}, args.memory_seconds, 8, work))),
            threading.Thread(target=lambda: result.__setitem__("mixed_batch", wrk(
                f"http://127.0.0.1:{port}", BATCH_LUA % {"prefix": run_id + "m", "auth": auth}, args.memory_seconds, 4, work))),
        ]
        for th in mixed:
            th.start()
        for th in mixed:
            th.join()
        stop.set()
        sampler.join()
        first = [r for s, r in samples if 30 <= s < 30 + 60] or [r for _, r in samples[: len(samples) // 3]]
        last = [r for s, r in samples if s >= samples[-1][0] - 60] or [r for _, r in samples[-len(samples) // 3 :]]
        result["memory"] = {
            "seconds": args.memory_seconds,
            "rss_mib_first_minute_after_warmup": round(max(first) / 2**20, 1),
            "rss_mib_last_minute": round(max(last) / 2**20, 1),
            "rss_mib_peak": round(max(r for _, r in samples) / 2**20, 1),
            "growth_ratio": round(max(last) / max(first), 3),
            "samples": [(s, round(r / 2**20, 1)) for s, r in samples],
        }
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).json()
        result["collector_health"] = {k: health.get(k) for k in ("accepted", "rejected", "backpressure", "raw_log")}
        result["collector_health"].update({k: (health.get("loader") or {}).get(n) for k, n in (("loads", "loads"), ("load_errors", "errors"), ("loader_waiting", "waiting"))})
        result["targets"] = {"batch_events_per_s_at_least": 50_000, "track_ratio_to_bare_at_least": 0.5, "memory_growth_ratio_at_most": 1.2}
        result["met"] = {
            "batch": result["collector_batch"]["events_per_s"] >= 50_000,
            "track": result["collector_track"]["ratio_to_bare"] >= 0.5,
            "memory": result["memory"]["growth_ratio"] <= 1.2,
        }
        print(json.dumps({k: result[k] for k in ("memory", "met")}, indent=2)[:3000], flush=True)
    finally:
        for p in (bare, collector):
            p.terminate()
        for p in (bare, collector):
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
    save_result("collector", result)
    # the raw log of a 10-minute run at full load can reach tens of GB: only the result is kept
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
