"""Fast, seeded generator of a large CloudTrail dataset in the delivery layout (plus one
QuickSight metadata snapshot) for the benchmarks. Not the demo generator: this one
trades variety for speed so that 10 million events take minutes, not hours."""

from __future__ import annotations

import datetime as dt
import gzip
import random
import uuid
from multiprocessing import Pool
from pathlib import Path

import orjson

ACCOUNTS = ["111111111111", "222222222222", "333333333333"]
REGIONS = ["us-east-1", "eu-west-1"]
N_USERS = 300
N_DASHBOARDS = 120
N_DATASETS = 80
EVENTS_PER_FILE = 5000


def _users():
    out = []
    for i in range(N_USERS):
        role = "AUTHOR" if i % 5 == 0 else ("ADMIN" if i % 50 == 1 else "READER")
        out.append((f"QuickSightReader/user{i:04d}" if role == "READER" else f"user{i:04d}", role))
    return out


def _record(rng: random.Random, t: dt.datetime, account: str, region: str, users) -> dict:
    name, role = users[rng.randrange(len(users))]
    session = name.rsplit("/", 1)[-1]
    ident = {
        "type": "AssumedRole",
        "principalId": f"AROA{rng.randrange(10**12):012d}:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/QuickSightReader/{session}",
        "accountId": account,
        "accessKeyId": f"ASIA{rng.randrange(10**12):012d}",
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "principalId": "AROA000000000001", "arn": f"arn:aws:iam::{account}:role/QuickSightReader", "accountId": account, "userName": "QuickSightReader"},
            "attributes": {"creationDate": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "mfaAuthenticated": "false"},
        },
    }
    base = {
        "eventVersion": "1.08",
        "userIdentity": ident,
        "eventTime": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "awsRegion": region,
        "sourceIPAddress": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
        "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
        "eventID": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "readOnly": True,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
        "requestID": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
    }
    k = rng.random()
    if k < 0.12:
        d = rng.randrange(N_DASHBOARDS // 2) if rng.random() < 0.8 else rng.randrange(N_DASHBOARDS)
        base.update(eventSource="quicksight.amazonaws.com", eventName="GetDashboard", requestParameters=None, responseElements=None,
                    serviceEventDetails={"eventRequestDetails": {"dashboardId": f"dash-{d:04d}"},
                                         "eventResponseDetails": {"dashboardDetails": {"dashboardName": f"Dashboard {d}", "dashboardId": f"dash-{d:04d}", "analysisIdList": [f"ana-{d:04d}"]}}})
    elif k < 0.14:
        d = rng.randrange(N_DASHBOARDS)
        op = rng.choice(["UpdateDashboard", "UpdateAnalysis", "CreateAnalysis", "UpdateDashboardPublishedVersion"])
        key = "dashboardId" if "Dashboard" in op else "analysisId"
        pre = "dash" if key == "dashboardId" else "ana"
        base.update(eventSource="quicksight.amazonaws.com", eventName=op, readOnly=False,
                    requestParameters={"awsAccountId": account, key: f"{pre}-{d:04d}", "name": f"Asset {d}"}, responseElements={"status": 200})
    elif k < 0.16:
        base.update(eventSource="sts.amazonaws.com", eventName="AssumeRoleWithSAML", readOnly=True,
                    userIdentity={"type": "SAMLUser", "principalId": f"saml:{session}", "userName": session, "identityProvider": "corp-idp"},
                    requestParameters={"roleArn": f"arn:aws:iam::{account}:role/QuickSightReader", "principalArn": f"arn:aws:iam::{account}:saml-provider/corp-idp", "durationSeconds": 3600},
                    responseElements={"assumedRoleUser": {"assumedRoleId": f"AROA:{session}", "arn": f"arn:aws:sts::{account}:assumed-role/QuickSightReader/{session}"}, "subject": session})
    else:
        src, op = rng.choice([("s3.amazonaws.com", "GetObject"), ("ec2.amazonaws.com", "DescribeInstances"), ("lambda.amazonaws.com", "Invoke"),
                              ("iam.amazonaws.com", "ListRoles"), ("kms.amazonaws.com", "Decrypt"), ("sts.amazonaws.com", "AssumeRole")])
        base.update(eventSource=src, eventName=op, requestParameters={"bucketName": f"bucket-{rng.randrange(20)}", "key": f"data/{rng.randrange(10**6)}.parquet"} if src.startswith("s3") else {"maxResults": 100},
                    responseElements=None, resources=[{"accountId": account, "type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::bucket-{rng.randrange(20)}/x"}] if src.startswith("s3") else None)
        if rng.random() < 0.02:
            base.update(errorCode="AccessDenied", errorMessage="User is not authorized to perform this operation")
    return base


def _write_file(args) -> int:
    out, seed, idx, n, end = args
    rng = random.Random(seed * 1_000_003 + idx)
    users = _users()
    account = ACCOUNTS[idx % len(ACCOUNTS)]
    region = REGIONS[(idx // len(ACCOUNTS)) % len(REGIONS)]
    day = end - dt.timedelta(days=(idx * 7919) % 120)
    start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc) + dt.timedelta(minutes=(idx * 37) % 1400)
    recs = [_record(rng, start + dt.timedelta(seconds=rng.randrange(300)), account, region, users) for _ in range(n)]
    folder = Path(out) / "AWSLogs" / account / "CloudTrail" / region / f"{day:%Y/%m/%d}"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{account}_CloudTrail_{region}_{start:%Y%m%dT%H%MZ}_{idx:016X}.json.gz"
    with gzip.open(folder / name, "wb", compresslevel=1) as fh:
        fh.write(orjson.dumps({"Records": recs}))
    return n


def generate_cloudtrail(out: Path, events: int, seed: int = 1, end: dt.date = dt.date(2026, 11, 1), procs: int = 2) -> int:
    files = (events + EVENTS_PER_FILE - 1) // EVENTS_PER_FILE
    jobs = [(str(out), seed, i, min(EVENTS_PER_FILE, events - i * EVENTS_PER_FILE), end) for i in range(files)]
    with Pool(procs) as pool:
        return sum(pool.imap_unordered(_write_file, jobs, chunksize=4))


def generate_metadata(out: Path, end: dt.date = dt.date(2026, 11, 1)) -> Path:
    """One QuickSight snapshot for the first account, shaped like the API responses."""
    account, region = ACCOUNTS[0], REGIONS[0]
    stamp = dt.datetime(end.year, end.month, end.day, 6, tzinfo=dt.timezone.utc)
    folder = out / account / region / stamp.strftime("%Y%m%dT%H%M%SZ")
    folder.mkdir(parents=True, exist_ok=True)
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    arn = f"arn:aws:quicksight:{region}:{account}"
    users = _users()

    def dump(name, obj):
        (folder / name).write_bytes(orjson.dumps(obj))

    dump("manifest.json", {"AccountId": account, "Region": region, "Namespace": "default", "SnapshotTime": iso})
    dump("ListUsers.json", {"UserList": [{"Arn": f"{arn}:user/default/{u}", "UserName": u, "Email": f"{u.rsplit('/', 1)[-1]}@example.com", "Role": r,
                                          "IdentityType": "IAM", "Active": True, "PrincipalId": f"federated/iam/{i}"} for i, (u, r) in enumerate(users)]})
    dump("ListGroups.json", {"GroupList": [{"Arn": f"{arn}:group/default/analysts", "GroupName": "analysts", "PrincipalId": "g1"}]})
    dump("ListGroupMemberships.json", [{"Request": {"GroupName": "analysts"}, "Response": {"GroupMemberList": [{"Arn": f"{arn}:user/default/{u}", "MemberName": u} for u, r in users if r != "READER"]}}])
    dump("ListDashboards.json", {"DashboardSummaryList": [{"Arn": f"{arn}:dashboard/dash-{d:04d}", "DashboardId": f"dash-{d:04d}", "Name": f"Dashboard {d}", "CreatedTime": iso, "LastUpdatedTime": iso, "PublishedVersionNumber": 1, "LastPublishedTime": iso} for d in range(N_DASHBOARDS)]})
    dump("DescribeDashboard.json", [{"Request": {"DashboardId": f"dash-{d:04d}"}, "Response": {"Dashboard": {"DashboardId": f"dash-{d:04d}", "Arn": f"{arn}:dashboard/dash-{d:04d}", "Name": f"Dashboard {d}",
                                     "Version": {"VersionNumber": 1, "Status": "CREATION_SUCCESSFUL", "DataSetArns": [f"{arn}:dataset/ds-{d % (N_DATASETS // 2):04d}"]}, "CreatedTime": iso, "LastUpdatedTime": iso}}} for d in range(N_DASHBOARDS)])
    dump("ListDataSets.json", {"DataSetSummaries": [{"Arn": f"{arn}:dataset/ds-{i:04d}", "DataSetId": f"ds-{i:04d}", "Name": f"Dataset {i}", "CreatedTime": iso, "LastUpdatedTime": iso, "ImportMode": "SPICE"} for i in range(N_DATASETS)]})
    dump("DescribeDataSet.json", [{"Request": {"DataSetId": f"ds-{i:04d}"}, "Response": {"DataSet": {"Arn": f"{arn}:dataset/ds-{i:04d}", "DataSetId": f"ds-{i:04d}", "Name": f"Dataset {i}", "CreatedTime": iso, "LastUpdatedTime": iso, "ImportMode": "SPICE", "ConsumedSpiceCapacityInBytes": (i + 1) * 10_000_000}}} for i in range(N_DATASETS)])
    return folder


if __name__ == "__main__":
    import sys

    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    print(generate_cloudtrail(Path(sys.argv[1]), n))
