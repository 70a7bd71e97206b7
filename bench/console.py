"""Benchmark of the web console's pages on the demo data (never run by `make test`).

Builds the demo lake the way `make demo` does (or uses --lake), starts
`eventlake serve console` in its own process, signs in over HTTP like a browser, and
times each page: a few warm-up requests, then --requests sequential ones; median and
p90 per page. The reference in the same run is `/healthz` on the same server (the
HTTP, TLS-free round trip and the framework, without a query), so a noisy shared
machine moves both sides together.

Target: every page answers in under 300 ms at the median on the demo data.

Usage: python bench/console.py [--requests 30] [--days 120] [--lake PATH]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import EVENTLAKE, build_demo, machine, save_result  # noqa: E402

TARGET_MS = 300.0
USER, PASSWORD = "bench-admin", "bench-password-1"

# (name, path): every page of the console, with the controls a person would use
PAGES = [
    ("admin overview", "/admin"),
    ("admin users", "/admin?tab=users"),
    ("admin users (90-day window)", "/admin?tab=users&idle=90&unit=days"),
    ("admin dashboards", "/admin?tab=dashboards"),
    ("admin datasets", "/admin?tab=datasets"),
    ("admin user detail", "/admin/users/123456789012/QuickSightAuthor%2Ffatima"),
    ("admin dashboard detail", "FIRST_DASHBOARD"),
    ("web analytics (7 days)", "/web"),
    ("web analytics (30 days, visits)", "/web?range=30d&metric=visits"),
    ("web analytics (grouped by page)", "/web?range=30d&group=path"),
    ("log explorer", "/explorer"),
    ("saved query: cloudtrail_failed_calls_by_error_code", "/explorer/cloudtrail_failed_calls_by_error_code?run=1"),
    ("saved query: alb_5xx_by_target", "/explorer/alb_5xx_by_target?run=1"),
    ("SQL editor", "/sql"),
    ("health", "/health"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def signed_in(base: str) -> httpx.Client:
    c = httpx.Client(base_url=base, follow_redirects=False, timeout=60)
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
    res = c.post("/login", data={"username": USER, "password": PASSWORD, "csrf_token": token})
    if res.status_code != 303:
        raise SystemExit(f"cannot sign in to the console: {res.status_code} {res.text[:200]}")
    return c


def timed(c: httpx.Client, path: str, n: int, warm: int = 3) -> dict:
    for _ in range(warm):
        res = c.get(path)
        if res.status_code != 200:
            raise SystemExit(f"{path}: HTTP {res.status_code}: {res.text[:300]}")
    times = []
    for _ in range(n):
        t = time.perf_counter()
        res = c.get(path)
        times.append((time.perf_counter() - t) * 1000)
        assert res.status_code == 200, (path, res.status_code)
    times.sort()
    return {"median_ms": round(statistics.median(times), 1), "p90_ms": round(times[int(0.9 * (len(times) - 1))], 1),
            "min_ms": round(times[0], 1), "bytes": len(res.content)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=30)
    ap.add_argument("--days", type=int, default=120, help="days of demo data (make demo: 120)")
    ap.add_argument("--lake", type=Path, help="use this lake instead of building the demo")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="eventlake-bench-console-") as tmp:
        t0 = time.perf_counter()
        lake = args.lake or build_demo(Path(tmp), args.days)
        build_s = time.perf_counter() - t0
        subprocess.run([EVENTLAKE, "--lake", str(lake), "users", "add", USER, "--role", "admin", "--password-stdin"],
                       input=PASSWORD + "\n", text=True, capture_output=True)
        port = free_port()
        server = subprocess.Popen([EVENTLAKE, "--lake", str(lake), "serve", "console", "--port", str(port), "--log-level", "warning"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ})
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            else:
                raise SystemExit("the console did not start: " + server.stderr.read1().decode(errors="replace"))
            c = signed_in(base)
            reference = timed(c, "/healthz", args.requests)
            pages = {}
            first = re.search(r'href="(/admin/dashboards/[^"]+)"', c.get("/admin?tab=dashboards").text)
            for name, path in PAGES:
                if path == "FIRST_DASHBOARD":
                    path = first.group(1).replace("&amp;", "&")
                r = timed(c, path, args.requests)
                r["path"] = path
                r["ratio_to_reference"] = round(r["median_ms"] / max(reference["median_ms"], 0.01), 1)
                r["met"] = r["median_ms"] < TARGET_MS
                pages[name] = r
                print(f"{name:55s} median {r['median_ms']:7.1f} ms  p90 {r['p90_ms']:7.1f} ms  {'ok' if r['met'] else 'SLOW'}")
            c.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    result = {
        "benchmark": "console pages",
        "machine": machine(),
        "demo_days": None if args.lake else args.days,
        "demo_build_s": round(build_s, 1),
        "requests_per_page": args.requests,
        "reference": {"path": "/healthz", **reference},
        "target": f"median < {TARGET_MS:g} ms per page",
        "pages": pages,
        "all_met": all(p["met"] for p in pages.values()),
    }
    save_result("console", result)


if __name__ == "__main__":
    main()
