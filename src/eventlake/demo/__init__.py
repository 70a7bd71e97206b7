"""A realistic, seeded demo dataset: CloudTrail logs in the AWS delivery layout (plain and
organization trails, digests, an Insights file, an empty log file) with QuickSight usage
and ordinary AWS noise, QuickSight metadata snapshots of the same world, and a week of
S3 access, VPC flow, ALB and CloudFront logs (with a few damaged lines).

    generate(out, seed=7, days=120, end_date=None)

writes `out/cloudtrail/AWSLogs/...`, `out/quicksight/<account>/<region>/<stamp>/` and
`out/service-logs/{s3-access,vpc-flow,alb,cloudfront}/...`.
The same seed, days and end date always give byte-identical files. The web and product
events of the same days go through the collector instead of files: eventlake.demo.web
makes them, eventlake.demo.send sends them (`eventlake demo events`)."""

from __future__ import annotations

import datetime as dt
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import EventlakeError
from .delivery import DeliveryStats, write_cloudtrail
from .events import Noise, QuickSightActivity, Recorder
from .quicksight import write_quicksight
from .service_logs import ServiceLogStats, write_service_logs
from .world import build_world

MAX_DAYS = 3660
SERVICE_LOG_DAYS = 7  # days of service logs (the last ones of the demo)


@dataclass
class DemoSummary:
    out: Path
    cloudtrail: Path
    quicksight: Path
    start: dt.date
    end: dt.date
    delivery: DeliveryStats
    snapshots: list[Path]
    service_logs: Path
    service: ServiceLogStats

    def lines(self) -> list[str]:
        d = self.delivery
        return [
            f"demo data {self.start.isoformat()} .. {self.end.isoformat()} written to {self.out}",
            f"  cloudtrail: {d.events:,} events in {d.log_files:,} log files, {d.digest_files:,} digest files, "
            f"{d.insight_files} insight file, {d.empty_files} empty log file ({d.bytes / 1e6:.1f} MB gzip) under {self.cloudtrail}",
            f"  quicksight: {len(self.snapshots)} metadata snapshots under {self.quicksight}",
            f"  service logs: {self.service.lines:,} lines ({self.service.damaged} damaged, for ingest to quarantine) in "
            f"{self.service.objects:,} gzip objects ({self.service.bytes / 1e6:.1f} MB) under {self.service_logs}/{{s3-access,vpc-flow,alb,cloudfront}}",
        ]


def generate(out: Path | str, seed: int = 7, days: int = 120, end_date: dt.date | None = None, force: bool = False) -> DemoSummary:
    """Write the demo dataset under `out` (see the module docstring)."""
    if not 1 <= days <= MAX_DAYS:
        raise EventlakeError(f"--days must be between 1 and {MAX_DAYS}, got {days}")
    out = Path(out)
    end = end_date or dt.datetime.now(dt.timezone.utc).date()
    cloudtrail, quicksight, service_logs = out / "cloudtrail", out / "quicksight", out / "service-logs"
    for folder in (cloudtrail, quicksight, service_logs):
        if folder.exists() and any(folder.iterdir()):
            if not force:
                raise EventlakeError(f"{folder} already holds files; remove it or pass --force to replace the demo data")
            shutil.rmtree(folder)
    rng = random.Random(seed)
    world = build_world(rng, days)
    rec = Recorder(rng)
    activity, noise = QuickSightActivity(rec, world, end, days), Noise(rec)
    start = end - dt.timedelta(days=days - 1)
    for i in range(days):
        day = start + dt.timedelta(days=i)
        activity.day(day)
        noise.day(day)
    delivery = write_cloudtrail(cloudtrail, rec, rng, end, days)
    snapshots = write_quicksight(quicksight, world, rec, rng, end)
    # its own generator: the CloudTrail and QuickSight files stay as they were
    service = write_service_logs(service_logs, random.Random(seed + 1), end, days=min(days, SERVICE_LOG_DAYS))
    return DemoSummary(out, cloudtrail, quicksight, start, end, delivery, snapshots, service_logs, service)


__all__ = ["DemoSummary", "generate"]
