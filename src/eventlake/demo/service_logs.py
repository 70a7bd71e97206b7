"""Demo AWS service logs in their published formats and delivery layouts: S3 server
access logs (date-based partitioned prefix), VPC flow logs (version 2 with the header
line), ALB access logs and CloudFront standard logs, one gzip object per hour and
source, for the last days of the demo.

Each carries a story the saved queries find: a host scanning SSH/RDP ports and being
rejected by the VPC, an unexpected role reading the finance prefix of the data bucket,
a target behind the load balancer failing with 502s for two hours, and a CloudFront path
(`/api/`) that is never cached. The last day misses an hour of ALB logs, which
`eventlake check alb ... --date <last day>` reports. A few lines are damaged, as real
deliveries sometimes are, and ingest quarantines them with a reason while the good lines
of the same objects load (DAMAGED: an S3 access log record cut off mid-line, an ALB
line whose status code is not a number, on the middle day of the service logs). The
line makers are shared with the benchmark's generator (bench/gen_service.py)."""

from __future__ import annotations

import datetime as dt
import gzip
import random
from dataclasses import dataclass
from pathlib import Path

from .world import MAIN_ACCOUNT

REGION = "us-east-1"
DATA_BUCKET = "acme-data-lake"
LOGS_BUCKET = "acme-logs"
OWNER = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
LB = "app.acme-web.50dc6c495c0c9188"
FLOW_LOG = "fl-0a1b2c3d4e5f67890"
DISTRIBUTION = "E2DEMO7XAMPLE"
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
AGENTS = [
    "aws-sdk-java/2.20.0 Linux/5.10 OpenJDK_64-Bit_Server_VM/17.0.6",
    "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#5.15 md/arch#x86_64 lang/python#3.11.7",
    "S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.488",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
]
ROLES = ["etl-loader", "analytics-reader", "ml-training", "backup-agent"]
SCANNER = "198.51.100.77"
ODD_ROLE = "contractor-sandbox"
FAILING_TARGET = "10.0.2.14:8080"
VPC_HEADER = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
CF_FIELDS = (
    "date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) "
    "cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken "
    "x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status "
    "fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len "
    "sc-range-start sc-range-end"
)
CF_HEADER = "#Version: 1.0\n#Fields: " + CF_FIELDS
# The damaged lines: (log type, hour of the middle day, how many). Ingest quarantines
# S3 access lines cut off after the request URI and ALB lines with status "5xx".
DAMAGED = (("s3-access", 6, 2), ("alb", 13, 1))


def ip(r: random.Random) -> str:
    return f"{r.choice((10, 172, 192, 203, 54))}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"


def s3_line(r: random.Random, t: dt.datetime, role: str | None = None, key: str | None = None, bucket: str = DATA_BUCKET) -> str:
    op = r.choices(("REST.GET.OBJECT", "REST.PUT.OBJECT", "REST.HEAD.OBJECT", "REST.GET.BUCKET", "REST.DELETE.OBJECT"), (60, 20, 10, 8, 2))[0]
    key = key or f"{r.choice(('raw', 'curated', 'reports'))}/{r.randrange(60)}/part-{r.randrange(10000):05d}.parquet"
    status = r.choices((200, 204, 206, 304, 403, 404, 500, 503), (80, 3, 3, 4, 4, 4, 1, 1))[0]
    err = {403: "AccessDenied", 404: "NoSuchKey", 500: "InternalError", 503: "SlowDown"}.get(status, "-")
    total = r.randrange(2, 400)
    role = role or r.choice(ROLES)
    return (
        f"{OWNER} {bucket} [{t.day:02d}/{_MONTHS[t.month - 1]}/{t.year}:{t.hour:02d}:{t.minute:02d}:{t.second:02d} +0000] "
        f"{ip(r)} arn:aws:sts::{MAIN_ACCOUNT}:assumed-role/{role}/{role}-session-{r.randrange(4)} "
        f"{r.getrandbits(64):016X} {op} {key} \"{op.split('.')[1]} /{bucket}/{key} HTTP/1.1\" {status} {err} "
        f"{r.randrange(100, 5_000_000) if status in (200, 206) else '-'} {r.randrange(100, 50_000_000)} {total} {max(1, total - r.randrange(total))} "
        f"\"-\" \"{r.choice(AGENTS[:3])}\" - {r.getrandbits(128):032x}= SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader "
        f"{bucket}.s3.{REGION}.amazonaws.com TLSv1.2 - - {REGION}"
    )


def vpc_line(r: random.Random, t: dt.datetime, src: str | None = None, dstport: int | None = None, action: str | None = None) -> str:
    start = int(t.timestamp())
    if src is None and r.random() < 0.01:
        return f"2 {MAIN_ACCOUNT} eni-{r.randrange(40):017x} - - - - - - - {start} {start + 60} - NODATA"
    port = dstport if dstport is not None else r.choice((22, 80, 443, 443, 443, 3306, 5432, 8080, r.randrange(1, 65536)))
    act = action or r.choices(("ACCEPT", "REJECT"), (90, 10))[0]
    return (
        f"2 {MAIN_ACCOUNT} eni-{r.randrange(40):017x} {src or ip(r)} 10.0.{r.randrange(4)}.{r.randrange(1, 60)} {r.randrange(1024, 65536)} "
        f"{port} {r.choice((6, 6, 6, 17, 1))} {r.randrange(1, 5000)} {r.randrange(40, 5_000_000)} {start} {start + r.randrange(1, 60)} {act} OK"
    )


def alb_line(r: random.Random, t: dt.datetime, target: str | None = None, status: int | None = None) -> str:
    created = t - dt.timedelta(milliseconds=r.randrange(1, 2000))
    status = status or r.choices((200, 301, 302, 400, 403, 404, 500, 502, 503, 504), (85, 2, 2, 2, 2, 4, 1, 1, 1, 1))[0]
    tgt = target or f"10.0.{r.randrange(2)}.{r.randrange(10, 14)}:8080"
    path = r.choice(("/", "/api/orders", "/api/users", "/static/app.js", "/login", "/health"))
    failed = status >= 500 and target is not None
    timing = "-1 -1 -1" if failed else f"0.000 {r.random():.3f} 0.000"
    return (
        f"https {t:%Y-%m-%dT%H:%M:%S.%f}Z app/acme-web/50dc6c495c0c9188 {ip(r)}:{r.randrange(1024, 65536)} {tgt} "
        f"{timing} {status} {'-' if failed else status} {r.randrange(100, 2000)} {r.randrange(100, 200000)} "
        f"\"GET https://www.acme.example:443{path}?id={r.randrange(1000)} HTTP/1.1\" \"{r.choice(AGENTS)}\" "
        f"ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:{REGION}:{MAIN_ACCOUNT}:targetgroup/web/73e2d6bc24d8a067 "
        f"\"Root=1-{r.getrandbits(32):08x}-{r.getrandbits(96):024x}\" \"www.acme.example\" "
        f"\"arn:aws:acm:{REGION}:{MAIN_ACCOUNT}:certificate/12345678-1234-1234-1234-123456789012\" 0 {created:%Y-%m-%dT%H:%M:%S.%f}Z "
        f"\"forward\" \"-\" \"-\" \"{tgt}\" \"{'-' if failed else status}\" \"-\" \"-\" TID_{r.getrandbits(64):016x}"
    )


def cloudfront_line(r: random.Random, t: dt.datetime) -> str:
    path = r.choice(("/index.html", "/app.js", "/img/logo.png", "/api/data", "/api/cart", "/video/intro.mp4"))
    result = "Miss" if path.startswith("/api/") else r.choices(("Hit", "Miss", "RefreshHit", "Error"), (75, 15, 5, 5))[0]
    status = 200 if result != "Error" else r.choice((403, 404, 502))
    taken = r.random() / (2 if result == "Miss" else 20)
    ua = r.choice(AGENTS[3:]).replace(" ", "%20")
    return "\t".join((
        f"{t:%Y-%m-%d}", f"{t:%H:%M:%S}", r.choice(("IAD89-C1", "FRA56-P3", "NRT57-C2", "LAX1")), str(r.randrange(200, 900000)), ip(r), "GET",
        "d111111abcdef8.cloudfront.net", path, str(status),
        r.choice(("-", "https://www.acme.example/", "https://www.google.com/")), ua, r.choice(("-", f"v={r.randrange(9)}")), "-", result,
        f"{r.getrandbits(256):064x}"[:56] + "==", "www.acme.example", "https", str(r.randrange(20, 900)), f"{taken:.3f}", "-", "TLSv1.3",
        "TLS_AES_128_GCM_SHA256", result, "HTTP/2.0", "-", "-", str(r.randrange(1024, 65536)), f"{taken / 2:.3f}", result,
        "text/html", str(r.randrange(200, 900000)), "-", "-",
    ))


@dataclass
class ServiceLogStats:
    objects: int = 0
    lines: int = 0
    bytes: int = 0
    damaged: int = 0  # of the lines: the DAMAGED ones, which ingest quarantines


def truncated_s3_line(r: random.Random, t: dt.datetime) -> str:
    """An S3 access log record cut off mid-line (the rest of it never written)."""
    line = s3_line(r, t)
    return line[: line.index(" HTTP/1.1\"")]


def bad_status_alb_line(r: random.Random, t: dt.datetime) -> str:
    """An ALB line whose elb_status_code is "5xx" instead of a number."""
    fields = alb_line(r, t, status=503).split(" ")
    fields[8] = "5xx"
    return " ".join(fields)


def _damaged(kind: str, hour: int) -> int:
    return sum(n for k, h, n in DAMAGED if k == kind and h == hour)


def _write(path: Path, lines: list[str], stats: ServiceLogStats, header: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = ((header + "\n") if header else "") + "\n".join(lines) + "\n"
    data = gzip.compress(body.encode(), mtime=0)
    path.write_bytes(data)
    stats.objects += 1
    stats.lines += len(lines)
    stats.bytes += len(data)


def write_service_logs(out: Path, rng: random.Random, end: dt.date, days: int = 7, per_hour: int = 60) -> ServiceLogStats:
    """Write the four log types for the `days` days ending on `end` under `out`."""
    stats = ServiceLogStats()
    start = end - dt.timedelta(days=days - 1)
    incident_day = end - dt.timedelta(days=1)
    damage_day = start + dt.timedelta(days=days // 2)
    for d in range(days):
        day = start + dt.timedelta(days=d)
        for hour in range(24):
            base = dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.timezone.utc)

            def at() -> dt.datetime:
                return base + dt.timedelta(seconds=rng.randrange(3600))

            stamp = f"{day:%Y%m%d}T{hour:02d}00Z"
            # S3 server access logs, date-based partitioned prefix
            lines = [s3_line(rng, at()) for _ in range(per_hour)]
            if day == incident_day and 9 <= hour < 12:
                lines += [s3_line(rng, at(), role=ODD_ROLE, key=f"finance/payroll/{i:03d}.csv") for i in range(rng.randrange(3, 8))]
            lines = sorted(lines, key=_s3_time)
            if day == damage_day:
                for _ in range(_damaged("s3-access", hour)):
                    lines.insert(rng.randrange(1, len(lines)), truncated_s3_line(rng, at()))
                    stats.damaged += 1
            key = f"{day:%Y-%m-%d}-{hour:02d}-{rng.randrange(60):02d}-{rng.randrange(60):02d}-{rng.getrandbits(64):016X}"
            _write(out / "s3-access" / "s3-logs" / MAIN_ACCOUNT / REGION / DATA_BUCKET / f"{day:%Y/%m/%d}" / key, lines, stats)
            # VPC flow logs, default format with its header line
            lines = [vpc_line(rng, at()) for _ in range(per_hour)]
            if day == incident_day and hour in (3, 4):
                lines += [vpc_line(rng, at(), src=SCANNER, dstport=p, action="REJECT") for p in (22, 3389, 23, 445, 5900) * 6]
            _write(
                out / "vpc-flow" / "AWSLogs" / MAIN_ACCOUNT / "vpcflowlogs" / REGION / f"{day:%Y/%m/%d}"
                / f"{MAIN_ACCOUNT}_vpcflowlogs_{REGION}_{FLOW_LOG}_{stamp}_{rng.getrandbits(32):08x}.log.gz",
                lines, stats, VPC_HEADER,
            )
            # ALB access logs; the last day misses 23:00 (check finds it)
            if not (day == end and hour == 23):
                lines = [alb_line(rng, at()) for _ in range(per_hour)]
                if day == incident_day and hour in (14, 15):
                    lines += [alb_line(rng, at(), target=FAILING_TARGET, status=502) for _ in range(40)]
                if day == damage_day:
                    for _ in range(_damaged("alb", hour)):
                        lines.insert(rng.randrange(1, len(lines)), bad_status_alb_line(rng, at()))
                        stats.damaged += 1
                _write(
                    out / "alb" / "AWSLogs" / MAIN_ACCOUNT / "elasticloadbalancing" / REGION / f"{day:%Y/%m/%d}"
                    / f"{MAIN_ACCOUNT}_elasticloadbalancing_{REGION}_{LB}_{stamp}_10.0.0.5_{rng.getrandbits(32):08x}.log.gz",
                    lines, stats,
                )
            # CloudFront standard logs, legacy naming
            lines = [cloudfront_line(rng, at()) for _ in range(per_hour)]
            _write(out / "cloudfront" / f"{DISTRIBUTION}.{day:%Y-%m-%d}-{hour:02d}.{rng.getrandbits(32):08x}.gz", lines, stats, CF_HEADER)
    return stats


def _s3_time(line: str) -> str:
    return line[line.index("[") : line.index("]")]
