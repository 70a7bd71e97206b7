"""Generators of large service-log files in the published formats (S3 server access,
VPC flow, ALB, CloudFront standard), for the service-log benchmark. The lines come from
the demo's line makers (eventlake.demo.service_logs); times spread over four days (so
several date partitions), and about 1 in 2,000 lines is malformed (cut short), as real
feeds sometimes are."""

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
    """Write about `target_bytes` of `kind` lines to `path`; returns the record count.
    A pool of distinct lines is generated, then written in shuffled repetitions (the
    parser sees realistic variety; generating a gigabyte stays quick)."""
    make, header = GENERATORS[kind]
    r = random.Random(seed)
    pool = [make(r, START + dt.timedelta(seconds=r.randrange(DAYS * 86400))) for _ in range(200_000)]
    for i in range(0, len(pool), 2000):
        pool[i] = pool[i][: len(pool[i]) // 3]
    path.parent.mkdir(parents=True, exist_ok=True)
    n = written = 0
    with open(path, "w", encoding="utf-8") as fh:
        if header:
            fh.write(header + "\n")
        while written < target_bytes:
            r.shuffle(pool)
            block = "\n".join(pool) + "\n"
            fh.write(block)
            written += len(block)
            n += len(pool)
    return n
