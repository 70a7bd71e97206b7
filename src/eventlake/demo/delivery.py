"""Writing demo records the way CloudTrail delivers them to S3: gzip JSON log files under
`AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/` (organization trails under
`AWSLogs/<org-id>/<account>/...`), hourly-style digest files under `CloudTrail-Digest/`
that chain to each other and hash every log file, an Insights file under
`CloudTrail-Insight/`, and a log file whose `Records` is empty."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from .events import Recorder, iso
from .world import ACCOUNT_REGIONS, DEV_ACCOUNT, MAIN_ACCOUNT, ORG_ACCOUNTS, ORG_ID, new_uuid

_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


@dataclass
class DeliveryStats:
    log_files: int = 0
    digest_files: int = 0
    insight_files: int = 0
    empty_files: int = 0
    events: int = 0
    bytes: int = 0
    paths: dict[str, list[str]] = field(default_factory=dict)  # kind -> relative paths (first few)

    def note(self, kind: str, rel: str) -> None:
        self.paths.setdefault(kind, [])
        if len(self.paths[kind]) < 3:
            self.paths[kind].append(rel)


def account_prefix(account: str) -> str:
    return f"AWSLogs/{ORG_ID}/{account}" if account in ORG_ACCOUNTS else f"AWSLogs/{account}"


def bucket_of(account: str) -> str:
    return "acme-org-trail" if account in ORG_ACCOUNTS else f"acme-cloudtrail-{account}"


def trail_of(account: str) -> str:
    return "org-trail" if account in ORG_ACCOUNTS else "management-events"


class Writer:
    """Writes gzip files deterministically (no timestamps or names in the gzip header)."""

    def __init__(self, root: Path, rng: random.Random, stats: DeliveryStats):
        self.root, self.rng, self.stats = root, rng, stats

    def write(self, rel: str, doc: Any) -> bytes:
        data = orjson.dumps(doc)
        blob = gzip.compress(data, compresslevel=6, mtime=0)
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob)
        self.stats.bytes += len(blob)
        return data

    def token(self, n: int = 16) -> str:
        return "".join(self.rng.choice(_CHARS) for _ in range(n))


def write_cloudtrail(root: Path, rec: Recorder, rng: random.Random, end: dt.date, days: int) -> DeliveryStats:
    """Write every recorded event, the digests and the special files under `root`."""
    stats = DeliveryStats()
    w = Writer(root, rng, stats)
    logs: dict[tuple[str, str, dt.date], list[dict]] = {}
    for key in sorted(rec.records):
        account, region, day = key
        records = sorted(rec.records[key], key=lambda r: r["eventTime"])
        halves = ([r for r in records if r["eventTime"][11:13] < "12"], [r for r in records if r["eventTime"][11:13] >= "12"])
        for part in halves:
            if part:
                logs.setdefault(key, []).append(_log_file(w, account, region, day, part))
    empty_day = end - dt.timedelta(days=days // 2)
    logs.setdefault((DEV_ACCOUNT, "us-west-2", empty_day), []).append(_log_file(w, DEV_ACCOUNT, "us-west-2", empty_day, []))
    _insight_file(w, end - dt.timedelta(days=min(20, days - 1)))
    for account, regions in ACCOUNT_REGIONS.items():
        for region in regions:
            previous: tuple[str, bytes] | None = None
            for i in range(days):
                day = end - dt.timedelta(days=days - 1 - i)
                previous = _digest(w, account, region, day, logs.get((account, region, day), []), previous)
    return stats


def _log_file(w: Writer, account: str, region: str, day: dt.date, records: list[dict]) -> dict:
    newest = dt.datetime.strptime(records[-1]["eventTime"], "%Y-%m-%dT%H:%M:%SZ") if records else dt.datetime.combine(day, dt.time(12))
    delivered = min(newest + dt.timedelta(seconds=w.rng.randint(120, 720)), dt.datetime.combine(day, dt.time(23, 59)))
    name = f"{account}_CloudTrail_{region}_{delivered:%Y%m%dT%H%MZ}_{w.token()}.json.gz"
    rel = f"{account_prefix(account)}/CloudTrail/{region}/{day:%Y/%m/%d}/{name}"
    data = w.write(rel, {"Records": records})
    if records:
        w.stats.log_files += 1
        w.stats.events += len(records)
        w.stats.note("log", rel)
    else:
        w.stats.empty_files += 1
        w.stats.note("empty", rel)
    return {
        "s3Bucket": bucket_of(account),
        "s3Object": rel,
        "hashValue": hashlib.sha256(data).hexdigest(),
        "hashAlgorithm": "SHA-256",
        "newestEventTime": records[-1]["eventTime"] if records else iso(newest),
        "oldestEventTime": records[0]["eventTime"] if records else iso(newest),
    }


def _digest(w: Writer, account: str, region: str, day: dt.date, files: list[dict],
            previous: tuple[str, bytes] | None) -> tuple[str, bytes]:
    start = dt.datetime.combine(day, dt.time(0))
    end = dt.datetime.combine(day, dt.time(23, 50)) + dt.timedelta(seconds=w.rng.randrange(540))
    name = f"{account}_CloudTrail-Digest_{region}_{trail_of(account)}_{region}_{end:%Y%m%dT%H%M%SZ}.json.gz"
    rel = f"{account_prefix(account)}/CloudTrail-Digest/{region}/{day:%Y/%m/%d}/{name}"
    doc = {
        "awsAccountId": account,
        "digestStartTime": iso(start),
        "digestEndTime": iso(end),
        "digestS3Bucket": bucket_of(account),
        "digestS3Object": rel,
        "digestPublicKeyFingerprint": f"{w.rng.getrandbits(128):032x}",
        "digestSignatureAlgorithm": "SHA256withRSA",
        "newestEventTime": max((f["newestEventTime"] for f in files), default=None),
        "oldestEventTime": min((f["oldestEventTime"] for f in files), default=None),
        "previousDigestS3Bucket": bucket_of(account) if previous else None,
        "previousDigestS3Object": previous[0] if previous else None,
        "previousDigestHashValue": hashlib.sha256(previous[1]).hexdigest() if previous else None,
        "previousDigestHashAlgorithm": "SHA-256" if previous else None,
        "previousDigestSignature": f"{w.rng.getrandbits(2048):0512x}" if previous else None,
        "logFiles": files,
    }
    data = w.write(rel, doc)
    w.stats.digest_files += 1
    w.stats.note("digest", rel)
    return rel, data


def _insight_file(w: Writer, day: dt.date) -> None:
    """A CloudTrail Insights event pair (start and end of an unusual API call rate)."""
    region = "us-east-1"
    at = dt.datetime.combine(day, dt.time(14, 0))
    shared = new_uuid(w.rng)
    records = []
    for state, t in (("Start", at), ("End", at + dt.timedelta(minutes=20))):
        details: dict[str, Any] = {
            "state": state, "eventSource": "ec2.amazonaws.com", "eventName": "DescribeInstances",
            "insightType": "ApiCallRateInsight",
            "insightContext": {"statistics": {"baseline": {"average": 0.62}, "insight": {"average": 14.5}}},
        }
        if state == "End":
            details["insightContext"]["statistics"]["insightDuration"] = 20
        records.append({
            "eventVersion": "1.08", "eventTime": iso(t), "awsRegion": region, "eventID": new_uuid(w.rng),
            "eventType": "AwsCloudTrailInsight", "recipientAccountId": MAIN_ACCOUNT, "sharedEventID": shared,
            "insightDetails": details, "eventCategory": "Insight",
        })
    name = f"{MAIN_ACCOUNT}_CloudTrail-Insight_{region}_{at:%Y%m%dT%H%MZ}_{w.token()}.json.gz"
    rel = f"{account_prefix(MAIN_ACCOUNT)}/CloudTrail-Insight/{region}/{day:%Y/%m/%d}/{name}"
    w.write(rel, {"Records": records})
    w.stats.insight_files += 1
    w.stats.note("insight", rel)
