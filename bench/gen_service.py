"""Generators of large service-log files in the published formats (S3 server access,
VPC flow, ALB, CloudFront standard), for the service-log benchmark. The lines come from
the demo's line makers (eventlake.demo.service_logs); times run in order over four days
(several date partitions, as a real log file would), and 1 in 2,000 lines is malformed
(cut short), as real feeds sometimes are."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Callable

from eventlake.demo import service_logs as sl

START = dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc)
DAYS = 4

GENERATORS: dict[str, tuple[Callable[[random.Random, dt.datetime], str], str | None]] = {
    "s3-access": (sl.s3_line, None),
    "vpc-flow": (sl.vpc_line, sl.VPC_HEADER),
    "alb": (sl.alb_line, None),
    "cloudfront": (sl.cloudfront_line, sl.CF_HEADER),
}


def generate(kind: str, path: Path, target_bytes: int, seed: int = 7) -> int:
    """Write about `target_bytes` of `kind` lines to `path`, in time order over the
    days (as AWS writes them); returns the record count."""
    make, header = GENERATORS[kind]
    r = random.Random(seed)
    n_pool = 200_000
    reps = max(1, target_bytes // (n_pool * 400))  # about how often the pool is written
    span = DAYS * 86400 / reps  # each repetition covers the next stretch of the days, in time order
    path.parent.mkdir(parents=True, exist_ok=True)
    n = written = rep = 0
    with open(path, "w", encoding="utf-8") as fh:
        if header:
            fh.write(header + "\n")
        while written < target_bytes:
            # log files are written in time order: each block of the file a later stretch
            base = START + dt.timedelta(seconds=(rep % reps) * span)
            times = sorted(r.uniform(0, span) for _ in range(n_pool))
            pool = [make(r, base + dt.timedelta(seconds=t)) for t in times]
            for i in range(0, len(pool), 2000):
                pool[i] = pool[i][: len(pool[i]) // 3]
            rep += 1
            block = "\n".join(pool) + "\n"
            fh.write(block)
            written += len(block)
            n += len(pool)
    return n
