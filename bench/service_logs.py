"""Benchmark of the service-log ingest (never run by `make test`): for each type a
generated file of about 1 GB (bench/gen_service.py) is ingested by `eventlake ingest
<type>` in its own process; the reference, in the same run and on the same file, is
DuckDB reading the file's lines and writing them to Parquet (the cost of the I/O alone,
no parsing), also in its own process with 2 threads.

Reported per type: lines/s and MB/s of each, the ratio, peak RSS of each, and the
counts the ingest printed; then partition pruning: a one-day count against the whole
table, with the number of data files each touches. Target: >= 200,000 lines/s for
s3-access and vpc-flow on this 2-core machine, memory bounded (peak RSS < 1 GiB).

Usage: python bench/service_logs.py [--mb 1024] [--types s3-access,vpc-flow,alb,cloudfront] [--work bench/work]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import gen_service  # noqa: E402
from run import PY, machine, measure, save_result  # noqa: E402

REFERENCE = """
import duckdb, sys
con = duckdb.connect(config={'threads': '2'})
con.execute("COPY (SELECT line FROM read_csv(?, columns = {'line': 'VARCHAR'}, delim = chr(1), quote = '', escape = '', "
            "header = false, auto_detect = false, strict_mode = false)) TO '" + sys.argv[2] + "' (FORMAT parquet)", [sys.argv[1]])
"""
TARGET_LINES_PER_S = {"s3-access": 200_000, "vpc-flow": 200_000}


def bench_type(kind: str, work: Path, mb: int) -> dict:
    from eventlake.lake import Lake
    from eventlake.sources import log_type

    data = work / f"{kind}-{mb}mb.log"
    marker = work / f"{kind}-{mb}mb.complete"
    if not marker.exists():
        print(f"generating {mb} MB of {kind} ...", flush=True)
        n = gen_service.generate(kind, data, mb << 20)
        marker.write_text(str(n))
    lines = int(marker.read_text())
    size = data.stat().st_size
    lake_dir = work / f"lake-{kind}"
    shutil.rmtree(lake_dir, ignore_errors=True)
    ref_out = work / "reference.parquet"
    ref = measure([PY, "-c", REFERENCE, str(data), str(ref_out)])
    ref_out.unlink(missing_ok=True)
    ours = measure([PY, "-c", "from eventlake.cli import main; main()", "--lake", str(lake_dir), "ingest", kind, str(data)])
    summary = ours["stdout"].strip()
    m = re.search(r"records ([\d,]+) read, ([\d,]+) loaded, ([\d,]+) duplicate, ([\d,]+) quarantined", summary)
    counts = dict(zip(("read", "loaded", "duplicate", "quarantined"), (int(g.replace(",", "")) for g in m.groups()))) if m else {}
    r_lps, o_lps = lines / ref["wall_s"], lines / ours["wall_s"]
    out = {
        "file_mb": round(size / 1e6, 1),
        "lines": lines,
        "reference": {"what": "DuckDB read_csv of the lines + COPY TO parquet, 2 threads", "wall_s": round(ref["wall_s"], 2),
                      "lines_per_s": round(r_lps), "peak_rss_mib": round(ref["peak_rss_bytes"] / 2**20)},
        "eventlake": {"wall_s": round(ours["wall_s"], 2), "lines_per_s": round(o_lps), "mb_per_s": round(size / 1e6 / ours["wall_s"], 1),
                      "peak_rss_mib": round(ours["peak_rss_bytes"] / 2**20), "counts": counts, "summary": summary},
        "ratio_lines_per_s": round(o_lps / r_lps, 3),
        "reconciles": bool(counts) and counts["read"] == counts["loaded"] + counts["quarantined"] and counts["read"] == lines,
    }
    target = TARGET_LINES_PER_S.get(kind)
    out["target"] = {"lines_per_s_at_least": target, "peak_rss_mib_below": 1024}
    out["met"] = {"speed": target is None or o_lps >= target, "memory": ours["peak_rss_bytes"] < 2**30}
    out["pruning"] = bench_pruning(Lake(lake_dir), log_type(kind).table.name)
    return out


def bench_pruning(lake, table: str) -> dict:
    """A one-day count against a whole-table count: time and data files touched."""
    con = lake.connect(read_only=True)
    try:
        day = con.execute(f"SELECT min(event_date) FROM lake.{table}").fetchall()[0][0]
        timings = {}
        for label, where in (("one_day", f"WHERE event_date = DATE '{day}'"), ("all", "")):
            sql = f"SELECT count(*), sum(length(raw_line)) FROM lake.{table} {where}"
            best = None
            for _ in range(3):
                t = time.perf_counter()
                con.execute(sql).fetchall()
                best = min(best or 1e9, time.perf_counter() - t)
            plan = "\n".join(r[1] for r in con.execute("EXPLAIN ANALYZE " + sql).fetchall())
            files = re.findall(r"Total Files Read:\s*(\d+)", plan)
            timings[label] = {"seconds": round(best, 4), "files_read": int(files[0]) if files else None}
        total_files = len(lake.list_files(con, table)) if hasattr(lake, "list_files") else None
    finally:
        con.close()
    return {"day": str(day), "data_files_in_table": total_files, **timings}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=int, default=1024)
    ap.add_argument("--types", default="s3-access,vpc-flow,alb,cloudfront")
    ap.add_argument("--work", type=Path, default=HERE / "work")
    args = ap.parse_args()
    work: Path = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    result = {"benchmark": "service-logs", "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": machine(), "types": {}}
    for kind in args.types.split(","):
        print(f"{kind} ...", flush=True)
        result["types"][kind] = res = bench_type(kind, work, args.mb)
        print(json.dumps(res, indent=2), flush=True)
        shutil.rmtree(work / f"lake-{kind}", ignore_errors=True)
    save_result(f"service-logs-{args.mb}mb", result)


if __name__ == "__main__":
    main()
