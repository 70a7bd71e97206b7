"""Benchmarks for the CloudTrail ingest and the BI insights (run by `make bench`,
never by `make test`). Each figure is a ratio against a reference measured in the
same run on the same files, so a noisy shared machine moves both sides together.

  ingest:   eventlake ingest cloudtrail  vs  DuckDB read_json + COPY TO parquet
            (events/s and MB/s, peak RSS of each process; target >= 0.8x, < 1 GiB)
  insights: each insight on the lake      vs  the same SQL over the raw .json.gz
            (the ad hoc query approach; target >= 100x faster)

Usage: python bench/run.py [--events 10000000] [--work bench/work] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import gen  # noqa: E402

END = dt.date(2026, 11, 1)
PY = sys.executable


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    import duckdb

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_bytes": mem,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "note": "shared, noisy machine: compare ratios, not absolute times",
    }


EVENTLAKE = str(Path(sys.executable).with_name("eventlake"))


def eventlake(*args: str, lake: Path | None = None) -> None:
    """Run an eventlake command (on `lake`), its output discarded; fail if it fails."""
    subprocess.run([EVENTLAKE] + (["--lake", str(lake)] if lake else []) + list(args), check=True, stdout=subprocess.DEVNULL)


def build_demo(root: Path, days: int) -> Path:
    """The demo dataset (`days` days, seed 7) loaded into a new lake under `root`, the
    way `make demo` loads it; returns the lake's folder."""
    logs, lake = root / "logs", root / "lake"
    eventlake("demo", "generate", "--out", str(logs), "--seed", "7", "--days", str(days))
    eventlake("ingest", "cloudtrail", str(logs / "cloudtrail"), lake=lake)
    eventlake("ingest", "bi-metadata", str(logs / "quicksight"), lake=lake)
    for t in ("s3-access", "vpc-flow", "alb", "cloudfront"):
        eventlake("ingest", t, str(logs / "service-logs" / t), lake=lake)
    eventlake("demo", "events", "--days", str(days), "--seed", "7", lake=lake)
    return lake


def save_result(prefix: str, result: dict) -> Path:
    """Write a benchmark's result to bench/results/<prefix>-<UTC time>.json."""
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    name = results / f"{prefix}-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}.json"
    name.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {name}")
    return name


def measure(cmd: list[str], env: dict | None = None) -> dict:
    """Run `cmd` under a fresh wrapper process that reports wall time and the peak RSS
    of `cmd` alone (ru_maxrss of its only child)."""
    wrapper = (
        "import json,resource,subprocess,sys,time\n"
        "t=time.perf_counter()\n"
        "p=subprocess.run(json.loads(sys.argv[1]),stdout=subprocess.PIPE,stderr=subprocess.PIPE,text=True)\n"
        "w=time.perf_counter()-t\n"
        "r=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(json.dumps({'wall_s':w,'peak_rss_bytes':r*1024,'rc':p.returncode,'stdout':p.stdout[-2000:],'stderr':p.stderr[-2000:]}))\n"
    )
    out = subprocess.run([PY, "-c", wrapper, json.dumps(cmd)], capture_output=True, text=True, env=env, check=True)
    res = json.loads(out.stdout)
    if res["rc"] != 0:
        raise SystemExit(f"benchmark command failed ({res['rc']}): {' '.join(cmd)}\n{res['stderr']}")
    return res


REFERENCE = """
import duckdb, sys
con = duckdb.connect(config={'threads': '2'})
con.execute("COPY (SELECT unnest(Records, recursive := true) FROM read_json(?, maximum_object_size = 67108864)) TO '" + sys.argv[2] + "' (FORMAT parquet)", [sys.argv[1]])
"""


def bench_ingest(work: Path, logs: Path, events: int, raw_bytes: int) -> dict:
    lake = work / "lake"
    shutil.rmtree(lake, ignore_errors=True)
    ref_out = work / "reference.parquet"
    glob = str(logs / "**" / "*.json.gz")
    ref = measure([PY, "-c", REFERENCE, glob, str(ref_out)])
    ours = measure([PY, "-c", "from eventlake.cli import main; main()", "--lake", str(lake), "ingest", "cloudtrail", str(logs)])
    ref_out.unlink(missing_ok=True)
    mb = raw_bytes / 1e6
    r_eps, o_eps = events / ref["wall_s"], events / ours["wall_s"]
    return {
        "events": events,
        "input_mb_gz": round(mb, 1),
        "reference": {"what": "DuckDB read_json + COPY TO parquet, 2 threads", "wall_s": round(ref["wall_s"], 2),
                      "events_per_s": round(r_eps), "mb_per_s": round(mb / ref["wall_s"], 2), "peak_rss_mib": round(ref["peak_rss_bytes"] / 2**20)},
        "eventlake": {"wall_s": round(ours["wall_s"], 2), "events_per_s": round(o_eps), "mb_per_s": round(mb / ours["wall_s"], 2),
                      "peak_rss_mib": round(ours["peak_rss_bytes"] / 2**20), "summary": ours["stdout"].strip()},
        "ratio_events_per_s": round(o_eps / r_eps, 3),
        "target": {"ratio_at_least": 0.8, "peak_rss_mib_below": 1024},
        "met": {"ratio": o_eps / r_eps >= 0.8, "memory": ours["peak_rss_bytes"] < 2**30},
    }


def raw_connection(lake_path: Path, logs: Path):
    """DuckDB over the raw files: cloudtrail_events is a view that parses every
    .json.gz on each query (the crawler + ad hoc engine approach); the small
    metadata tables come from the lake."""
    from eventlake.engines.duckdb import connect
    from eventlake.lake import Lake
    from eventlake.sources import cloudtrail as ct

    con = connect(extensions=("ducklake", "sqlite_scanner"), threads=2)
    lake = Lake(lake_path)
    con.execute(f"ATTACH 'ducklake:sqlite:{lake.catalog_file}' AS lake (READ_ONLY)")
    for t in ("users", "assets", "asset_permissions", "dataset_usage"):
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM lake.{t}")
    files = sorted(str(p) for p in logs.rglob("*.json.gz"))
    con.execute("CREATE TABLE stage_files AS SELECT unnest(?) AS local_path, unnest(?) AS uri", [files, files])
    src = ct.whole_files_source(64 << 20).replace("read_json(?,", "read_json(" + "'" + str(logs / "**" / "*.json.gz") + "',")
    body = ct._NORMALIZE.format(source=src).replace("CREATE OR REPLACE TEMP TABLE norm AS", "CREATE VIEW ct_norm AS")
    con.execute(body)
    cols = ", ".join(c for c in ct.CLOUDTRAIL_EVENTS.column_names if c != "ingested_at")
    con.execute(f"CREATE VIEW cloudtrail_events AS SELECT {cols}, NULL::TIMESTAMPTZ AS ingested_at FROM ct_norm WHERE reason IS NULL")
    from eventlake.lake.derived import DERIVED

    for name, d in DERIVED.items():  # derived tables: the same SQL, over the raw view
        con.execute(f"CREATE VIEW {name} AS " + d.select.format(rows=d.source))
    return con


INSIGHT_PARAMS = {"dashboard_viewers": {"dashboard_id": "dash-0001"}}


def bench_insights(work: Path, logs: Path, repeat: int) -> dict:
    from eventlake.lake import Lake
    from eventlake.insights.registry import list_insights

    lake = Lake(work / "lake")
    lake_con = lake.connect(read_only=True)
    raw_con = raw_connection(work / "lake", logs)
    out = {}
    for ins in list_insights():
        params = ins.bind({k: str(v) for k, v in INSIGHT_PARAMS.get(ins.name, {}).items()}, as_of=END)
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            rows = lake_con.execute(ins.sql, params).fetchall()
            times.append(time.perf_counter() - t)
        lake_s = statistics.median(times)
        t = time.perf_counter()
        raw_rows = raw_con.execute(ins.sql, params).fetchall()
        raw_s = time.perf_counter() - t
        out[ins.name] = {
            "lake_s": round(lake_s, 4), "raw_scan_s": round(raw_s, 2), "speedup": round(raw_s / lake_s, 1),
            "rows": len(rows), "same_rows_as_raw": len(rows) == len(raw_rows), "met": raw_s / lake_s >= 100,
        }
        print(f"  {ins.name}: lake {lake_s:.3f}s, raw {raw_s:.1f}s, {raw_s / lake_s:.0f}x", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--work", type=Path, default=HERE / "work")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-insights", action="store_true")
    args = ap.parse_args()
    work: Path = args.work.resolve()
    logs = work / f"logs-{args.events}"
    marker = work / f"logs-{args.events}.complete"
    if not marker.exists():
        shutil.rmtree(logs, ignore_errors=True)
        print(f"generating {args.events:,} events into {logs} ...", flush=True)
        gen.generate_cloudtrail(logs, args.events, end=END)
        marker.write_text("ok")
    meta = work / "quicksight"
    shutil.rmtree(meta, ignore_errors=True)
    gen.generate_metadata(meta, end=END)
    raw_bytes = sum(p.stat().st_size for p in logs.rglob("*.json.gz"))
    print("ingest ...", flush=True)
    ingest = bench_ingest(work, logs, args.events, raw_bytes)
    print(json.dumps(ingest, indent=2), flush=True)
    subprocess.run([PY, "-c", "from eventlake.cli import main; main()", "--lake", str(work / "lake"), "ingest", "bi-metadata", str(meta)], check=True)
    result = {"benchmark": "cloudtrail", "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": machine(), "ingest": ingest}
    if not args.skip_insights:
        print("insights ...", flush=True)
        result["insights"] = bench_insights(work, logs, args.repeat)
    save_result(f"cloudtrail-{args.events}", result)


if __name__ == "__main__":
    main()
