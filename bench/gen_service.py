"""Generators of large service-log files in the published formats (S3 server access,
VPC flow, ALB, CloudFront standard), for the service-log benchmark. Lines vary in
times (spread over a few days, so several date partitions), addresses, keys, status
codes and sizes; about 1 in 2,000 lines is malformed, as real feeds sometimes are."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Callable

START = dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc)
DAYS = 4
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _ip(r: random.Random) -> str:
    return f"{r.choice((10, 172, 192, 203, 54))}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"


def _time(r: random.Random) -> dt.datetime:
    return START + dt.timedelta(seconds=r.randrange(DAYS * 86400), microseconds=r.randrange(1_000_000))


OWNER = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
OPS = ["REST.GET.OBJECT", "REST.PUT.OBJECT", "REST.HEAD.OBJECT", "REST.GET.BUCKET", "REST.DELETE.OBJECT", "REST.GET.VERSIONING"]
AGENTS = [
    "aws-sdk-java/2.20.0 Linux/5.10 OpenJDK_64-Bit_Server_VM/17.0.6",
    "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#5.15 md/arch#x86_64 lang/python#3.11.7",
    "S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.488",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0 Safari/537.36",
]


def s3_line(r: random.Random) -> str:
    t = _time(r)
    bucket = f"bucket-{r.randrange(8)}"
    op = r.choice(OPS)
    key = f"data/{r.randrange(500)}/part-{r.randrange(10000):05d}.parquet"
    status = r.choices((200, 204, 206, 304, 403, 404, 500, 503), (80, 3, 3, 4, 4, 4, 1, 1))[0]
    err = {403: "AccessDenied", 404: "NoSuchKey", 500: "InternalError", 503: "SlowDown"}.get(status, "-")
    total = r.randrange(1, 400)
    return (
        f"{OWNER} {bucket} [{t.day:02d}/{_MONTHS[t.month - 1]}/{t.year}:{t.hour:02d}:{t.minute:02d}:{t.second:02d} +0000] "
        f"{_ip(r)} arn:aws:sts::123456789012:assumed-role/role-{r.randrange(20)}/session-{r.randrange(100)} "
        f"{r.getrandbits(64):016X} {op} {key} \"GET /{bucket}/{key} HTTP/1.1\" {status} {err} "
        f"{r.randrange(100, 5_000_000) if status == 200 else '-'} {r.randrange(100, 50_000_000)} {total} {max(1, total - r.randrange(total))} "
        f"\"-\" \"{r.choice(AGENTS)}\" - {r.getrandbits(128):032x}= SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader "
        f"{bucket}.s3.us-east-1.amazonaws.com TLSv1.2 - - us-east-1"
    )


VPC_HEADER = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"


def vpc_line(r: random.Random) -> str:
    start = int(_time(r).timestamp())
    if r.random() < 0.01:
        return f"2 123456789012 eni-{r.randrange(200):017x} - - - - - - - {start} {start + 60} - NODATA"
    return (
        f"2 123456789012 eni-{r.randrange(200):017x} {_ip(r)} {_ip(r)} {r.randrange(1024, 65536)} "
        f"{r.choice((22, 80, 443, 3306, 5432, 3389, 8080, r.randrange(1, 65536)))} {r.choice((6, 6, 6, 17, 1))} "
        f"{r.randrange(1, 5000)} {r.randrange(40, 5_000_000)} {start} {start + r.randrange(1, 60)} "
        f"{r.choices(('ACCEPT', 'REJECT'), (85, 15))[0]} OK"
    )


def alb_line(r: random.Random) -> str:
    t = _time(r)
    created = t - dt.timedelta(milliseconds=r.randrange(1, 2000))
    status = r.choices((200, 301, 302, 400, 403, 404, 500, 502, 503, 504), (80, 2, 2, 2, 2, 4, 2, 2, 2, 2))[0]
    tgt = f"10.0.{r.randrange(4)}.{r.randrange(1, 30)}:{r.choice((80, 8080))}"
    path = r.choice(("/", "/api/orders", "/api/users", "/static/app.js", "/login", "/health"))
    return (
        f"https {t:%Y-%m-%dT%H:%M:%S.%f}Z app/my-loadbalancer/50dc6c495c0c9188 {_ip(r)}:{r.randrange(1024, 65536)} {tgt} "
        f"0.000 {r.random():.3f} 0.000 {status} {status} {r.randrange(100, 2000)} {r.randrange(100, 200000)} "
        f"\"GET https://www.example.com:443{path}?id={r.randrange(1000)} HTTP/1.1\" \"{r.choice(AGENTS)}\" "
        f"ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg-{r.randrange(4)}/73e2d6bc24d8a067 "
        f"\"Root=1-{r.getrandbits(32):08x}-{r.getrandbits(96):024x}\" \"www.example.com\" "
        f"\"arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012\" 0 {created:%Y-%m-%dT%H:%M:%S.%f}Z "
        f"\"forward\" \"-\" \"-\" \"{tgt}\" \"{status}\" \"-\" \"-\" TID_{r.getrandbits(64):016x}"
    )


CF_FIELDS = (
    "date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) "
    "cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken "
    "x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status "
    "fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len "
    "sc-range-start sc-range-end"
)
CF_HEADER = "#Version: 1.0\n#Fields: " + CF_FIELDS


def cloudfront_line(r: random.Random) -> str:
    t = _time(r)
    result = r.choices(("Hit", "Miss", "RefreshHit", "Error"), (70, 20, 5, 5))[0]
    status = 200 if result != "Error" else r.choice((403, 404, 502))
    taken = r.random() / 5
    ua = r.choice(AGENTS).replace(" ", "%20")
    return "\t".join((
        f"{t:%Y-%m-%d}", f"{t:%H:%M:%S}", r.choice(("LAX1", "IAD89-C1", "FRA56-P3", "NRT57-C2")), str(r.randrange(200, 900000)), _ip(r), "GET",
        "d111111abcdef8.cloudfront.net", r.choice(("/index.html", "/app.js", "/img/logo.png", "/api/data", "/video/intro.mp4")), str(status),
        r.choice(("-", "https://www.example.com/", "https://search.example.org/?q=x")), ua, r.choice(("-", f"v={r.randrange(9)}")), "-", result,
        f"{r.getrandbits(256):064x}"[:56] + "==", "www.example.com", "https", str(r.randrange(20, 900)), f"{taken:.3f}", "-", "TLSv1.3",
        "TLS_AES_128_GCM_SHA256", result, "HTTP/2.0", "-", "-", str(r.randrange(1024, 65536)), f"{taken / 2:.3f}", result,
        "text/html", str(r.randrange(200, 900000)), "-", "-",
    ))


GENERATORS: dict[str, tuple[Callable[[random.Random], str], str | None]] = {
    "s3-access": (s3_line, None),
    "vpc-flow": (vpc_line, VPC_HEADER),
    "alb": (alb_line, None),
    "cloudfront": (cloudfront_line, CF_HEADER),
}


def generate(kind: str, path: Path, target_bytes: int, seed: int = 7) -> int:
    """Write about `target_bytes` of `kind` lines to `path`; returns the record count.
    A pool of distinct lines is generated, then written in shuffled repetitions (the
    parser sees realistic variety; generating a gigabyte stays quick)."""
    make, header = GENERATORS[kind]
    r = random.Random(seed)
    pool = [make(r) for _ in range(200_000)]
    for i in range(0, len(pool), 2000):  # malformed lines, 1 in 2,000
        pool[i] = pool[i][: len(pool[i]) // 3]
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    written = 0
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
