"""Experiment behind the next step for the S3 ingest target (never run by `make test`):
the same batches of S3 access-log lines, parsed by the S3 parse SQL, written to the
lake's `s3_access_logs` two ways, in the same run:

  insert:  what `eventlake ingest` does per batch: one transaction, one
           INSERT INTO <DuckLake table> SELECT <parse> (DuckLake writes the
           partitioned Parquet inside the transaction, so batches go one by one)
  copy:    N worker threads, each on its own plain DuckDB connection, parse a batch
           and COPY it to Hive-partitioned Parquet under the table's data path; the
           lake connection registers each batch's files with ducklake_add_data_files
           in one short transaction (DuckLake records their partition values from
           the paths), so the parse and the writes of several batches overlap

Only the parse and the write are timed: the lines are read into memory first. Both
ways must end with the same rows (count and sums per event date are compared) and
one-day queries must prune to that day's files.

Usage: python bench/s3_write_paths.py [--mb 256] [--workers 2] [--batch-lines 28000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import queue
import re
import resource
import shutil
import sys
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import gen_service  # noqa: E402
from run import machine, save_result  # noqa: E402


def load_batches(path: Path, batch_lines: int):
    import numpy as np
    import pyarrow as pa

    lines = path.read_bytes().split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    out = []
    for i in range(0, len(lines), batch_lines):
        chunk = lines[i : i + batch_lines]
        out.append(pa.table({
            "source_object": pa.array([path.name] * len(chunk)),
            "line_no": pa.array(np.arange(i + 1, i + 1 + len(chunk)), pa.int64()),
            "line": pa.array([c.decode("utf-8", "replace") for c in chunk]),
        }))
    return out, len(lines)


def run_way(way: str, batches, work: Path, workers: int) -> dict:
    import duckdb

    from eventlake.lake import Lake
    from eventlake.sources import log_type
    from eventlake.sources.logtypes import parsed_columns

    lt = log_type("s3-access")
    name = lt.table.name
    cols = parsed_columns(lt)
    parse = lt.parse_sql(None)
    root = work / f"lake-{way}"
    shutil.rmtree(root, ignore_errors=True)
    lake = Lake(root)
    con = lake.connect(create=True)
    lake.ensure_tables(con, [name])
    types = dict(con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_catalog = 'lake' AND table_name = ?", [name]
    ).fetchall())
    parsed = f"(WITH lines AS (SELECT * FROM batch_lines) SELECT * FROM ({parse})) p WHERE p.reason IS NULL AND p.event_date IS NOT NULL"
    t0, r0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    if way == "insert":
        col_list = ", ".join(f'"{c}"' for c in cols)
        select = ", ".join(f'p."{c}"' for c in cols)
        for b in batches:
            con.register("batch_lines", b)
            con.execute("BEGIN")
            con.execute(f'INSERT INTO lake.main."{name}" ({col_list}, source_object, line_no, raw_line, ingested_at) '
                        f"SELECT {select}, p.source_object, p.line_no, p.line, now() FROM {parsed}")
            con.execute("COMMIT")
            con.unregister("batch_lines")
    else:
        out_dir = root / "data" / "main" / name
        out_dir.mkdir(parents=True, exist_ok=True)
        select = ", ".join(f'CAST(p."{c}" AS {types[c]}) AS "{c}"' for c in cols)
        todo: queue.Queue = queue.Queue()
        done: queue.Queue = queue.Queue()

        def worker() -> None:
            w = duckdb.connect(config={"threads": "1"})
            while (b := todo.get()) is not None:
                w.register("batch_lines", b)
                target = out_dir / f"batch-{uuid.uuid4()}"
                w.execute(f"COPY (SELECT {select}, p.source_object, p.line_no, p.line AS raw_line, now() AS ingested_at FROM {parsed}) "
                          f"TO '{target}' (FORMAT parquet, PARTITION_BY (event_date), WRITE_PARTITION_COLUMNS true)")
                w.unregister("batch_lines")
                done.put(target)
            w.close()

        threads = [threading.Thread(target=worker) for _ in range(workers)]
        for t in threads:
            t.start()
        for b in batches:
            todo.put(b)
        for _ in threads:
            todo.put(None)
        for _ in batches:
            target = done.get()
            con.execute("BEGIN")
            for f in sorted(target.rglob("*.parquet")):
                con.execute("CALL ducklake_add_data_files('lake', ?, ?, allow_missing => true)", [name, str(f)])
            con.execute("COMMIT")
        for t in threads:
            t.join()
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    per_day = con.execute(f'SELECT event_date, count(*), sum(bytes_sent), sum(length(raw_line)) FROM lake.main."{name}" GROUP BY 1 ORDER BY 1').fetchall()
    day = per_day[0][0]
    plan = "\n".join(r[1] for r in con.execute(f"EXPLAIN ANALYZE SELECT count(*) FROM lake.main.\"{name}\" WHERE event_date = DATE '{day}'").fetchall())
    files = len(con.execute("SELECT * FROM ducklake_list_files('lake', ?)", [name]).fetchall())
    con.close()
    shutil.rmtree(root, ignore_errors=True)
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), 2),
        "rows": sum(r[1] for r in per_day),
        "per_day": [(str(d), n, int(b or 0), int(s or 0)) for d, n, b, s in per_day],
        "data_files": files,
        "one_day_files_read": int(m.group(1)) if (m := re.search(r"Total Files Read:\s*(\d+)", plan)) else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=int, default=256)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch-lines", type=int, default=28_000)
    ap.add_argument("--work", type=Path, default=HERE / "work")
    args = ap.parse_args()
    work: Path = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    data = work / f"s3-access-{args.mb}mb.log"
    marker = work / f"s3-access-{args.mb}mb.complete"
    if not marker.exists():
        print(f"generating {args.mb} MB of s3-access ...", flush=True)
        marker.write_text(str(gen_service.generate("s3-access", data, args.mb << 20)))
    batches, n_lines = load_batches(data, args.batch_lines)
    result = {"benchmark": "s3-write-paths", "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "machine": machine(), "lines": n_lines, "batches": len(batches), "workers": args.workers, "ways": {}}
    for way in ("insert", "copy", "insert", "copy"):  # alternated: the machine is shared
        res = run_way(way, batches, work, args.workers)
        res["lines_per_s"] = round(n_lines / res["wall_s"])
        print(way, {k: v for k, v in res.items() if k != "per_day"}, flush=True)
        result["ways"].setdefault(way, []).append(res)
    ins, cp = result["ways"]["insert"], result["ways"]["copy"]
    result["same_rows"] = all(r["per_day"] == ins[0]["per_day"] for r in ins + cp)
    result["speedup_wall"] = round(min(r["wall_s"] for r in ins) / min(r["wall_s"] for r in cp), 2)
    result["cpu_ratio"] = round(min(r["cpu_s"] for r in cp) / min(r["cpu_s"] for r in ins), 2)
    print({k: result[k] for k in ("same_rows", "speedup_wall", "cpu_ratio")}, flush=True)
    save_result("s3-write-paths", result)


if __name__ == "__main__":
    main()
