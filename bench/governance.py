"""Benchmark of column masks and row filters (never run by `make test`): every insight
run as the local admin (no policy) and as a principal whose queries go through the
rewrite (personal data masked in every table that holds it), on the same engine
connection in the same run, alternating, so a noisy shared machine moves both sides
together.

The principal's policy masks what `eventlake policies suggest --apply` finds on the demo
(IP addresses, e-mails, free text, raw lines) — the realistic case of a lake with PII
policies — and, for the pool-tenant case, filters the one table given a `tenant_id`.

Target: the insights with policies at most 1.3x slower than without (sum of medians;
a principal's run = the rewrite, cached after its first time, plus the query).

Also measured, beside the target: what auditing adds to each query — the event appended
to the journal (fsynced: what every query waits for) — and what one commit of the
journal to `audit_events` costs (done in the background by the console, and by the CLI
only when the journal is due: every 5 minutes or 256 KB, or when the trail is read).

Usage: python bench/governance.py [--repeat 5] [--days 30] [--lake PATH]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import build_demo, eventlake as cli, machine, save_result  # noqa: E402

TARGET = 1.3
# parameters an insight needs that have no default
REQUIRED = {"product_funnel": {"steps": "Signed Up,Project Created,Invited Teammate"},
            "product_paths_after": {"event": "Signed Up"}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--lake", type=Path)
    args = ap.parse_args()

    from eventlake.engines.duckdb import DuckDBEngine
    from eventlake.governance import audit
    from eventlake.governance.groups import GroupError, add_group
    from eventlake.governance.policy import build_scope
    from eventlake.governance.rewrite import rewrite
    from eventlake.governance.store import column_policies
    from eventlake.insights import list_insights
    from eventlake.lake import Lake

    with tempfile.TemporaryDirectory(prefix="eventlake-bench-governance-") as tmp:
        lake_dir = args.lake or build_demo(Path(tmp), args.days)
        lake = Lake(lake_dir)
        try:
            add_group(lake, "pii_readers")
        except GroupError:
            pass  # a lake benchmarked before
        for table in ("s3_access_logs", "vpc_flow_logs", "alb_logs", "cloudfront_logs", "cloudtrail_events", "events", "users"):
            cli("policies", "suggest", table, "--apply", "--except-group", "pii_readers", lake=lake_dir)
        con = lake.connect(read_only=True)
        policies = column_policies(con)
        scope = build_scope(lake, con, "bench-analyst", frozenset(), policies)
        con.close()
        masked = {t: sorted(c for c, p in cols.items() if p.mask) for t, cols in policies.items()}
        eng = DuckDBEngine(lake)
        journal = audit.Journal(lake)
        rows = []
        try:
            for ins in list_insights():
                params = ins.bind(REQUIRED.get(ins.name, {}))
                t0 = time.perf_counter()
                sql, bound = rewrite(ins.sql, scope.policy, query_params=params)
                rewrite_ms = (time.perf_counter() - t0) * 1000  # the first time: parse, rewrite, check
                plain, governed, journal_ms, commit_ms = [], [], [], []
                eng.query(ins.sql, params), eng.query(sql, bound)  # warm-up
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    a = eng.query(ins.sql, params)
                    plain.append((time.perf_counter() - t) * 1000)
                    t = time.perf_counter()  # as a principal runs it: rewrite (cached after the first) + query
                    sql, bound = rewrite(ins.sql, scope.policy, query_params=params)
                    b = eng.query(sql, bound)
                    governed.append((time.perf_counter() - t) * 1000)
                    event = audit.AuditEvent("query", "bench-analyst", target=ins.name, statement=ins.sql, rows=b.num_rows)
                    t = time.perf_counter()
                    journal.append([event])
                    journal_ms.append((time.perf_counter() - t) * 1000)
                    t = time.perf_counter()
                    journal.commit()
                    commit_ms.append((time.perf_counter() - t) * 1000)
                rows.append({"insight": ins.name, "plain_ms": round(statistics.median(plain), 2),
                             "governed_ms": round(statistics.median(governed), 2), "rewrite_ms": round(rewrite_ms, 2),
                             "audit_journal_ms": round(statistics.median(journal_ms), 2),
                             "audit_commit_ms": round(statistics.median(commit_ms), 2),
                             "rows": a.num_rows, "same_row_count": a.num_rows == b.num_rows})
                print(f"{ins.name:45s} {rows[-1]['plain_ms']:8.1f} ms  {rows[-1]['governed_ms']:8.1f} ms  rewrite {rewrite_ms:6.1f} ms")
        finally:
            eng.close()
    plain_total = sum(r["plain_ms"] for r in rows)
    governed_total = sum(r["governed_ms"] for r in rows)
    rewrite_total = sum(r["rewrite_ms"] for r in rows)
    ratio = governed_total / plain_total
    journal_med = statistics.median(r["audit_journal_ms"] for r in rows)
    commit_med = statistics.median(r["audit_commit_ms"] for r in rows)
    with_rewrite = (governed_total + rewrite_total) / plain_total
    print(f"total: {plain_total:.0f} ms without policies, {governed_total:.0f} ms with ({ratio:.2f}x, rewrites cached); "
          f"the first rewrite of each adds {rewrite_total:.0f} ms once ({with_rewrite:.2f}x if every run were the first)")
    print(f"audit: {journal_med:.1f} ms per query to journal its event; {commit_med:.1f} ms per commit of the journal (when due)")
    save_result("governance", {
        "benchmark": "insights with and without column masks (rewrite)",
        "machine": machine(),
        "demo_days": None if args.lake else args.days,
        "repeat": args.repeat,
        "masked_columns": masked,
        "target": f"governed / plain <= {TARGET}",
        "plain_total_ms": round(plain_total, 1),
        "governed_total_ms": round(governed_total, 1),
        "rewrite_total_ms": round(rewrite_total, 1),
        "ratio": round(ratio, 3),
        "ratio_if_never_cached": round(with_rewrite, 3),
        "met": ratio <= TARGET,
        "audit_journal_median_ms": round(journal_med, 2),
        "audit_commit_median_ms": round(commit_med, 2),
        "insights": rows,
    })


if __name__ == "__main__":
    main()
