"""The demo generator: AWS delivery layout, digests, metadata snapshots, determinism."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eventlake.cli import app
from eventlake.demo import generate
from eventlake.errors import EventlakeError

END = dt.date(2024, 6, 30)
MAIN, PROD, DEV, ORG = "123456789012", "234567890123", "345678901234", "o-a1b2c3d4e5"
LOG_NAME = re.compile(r"^(\d{12})_CloudTrail_([a-z]{2}-[a-z]+-\d)_(\d{8}T\d{4}Z)_[A-Za-z0-9]{16}\.json\.gz$")
DIGEST_NAME = re.compile(r"^(\d{12})_CloudTrail-Digest_([a-z]{2}-[a-z]+-\d)_[\w-]+_\2_(\d{8}T\d{6}Z)\.json\.gz$")
INSIGHT_NAME = re.compile(r"^(\d{12})_CloudTrail-Insight_([a-z]{2}-[a-z]+-\d)_(\d{8}T\d{4}Z)_[A-Za-z0-9]{16}\.json\.gz$")
SNAPSHOT_FILES = {
    "manifest.json", "ListUsers.json", "ListGroups.json", "ListGroupMemberships.json", "ListDashboards.json",
    "DescribeDashboard.json", "ListAnalyses.json", "DescribeAnalysis.json", "ListDataSets.json", "DescribeDataSet.json",
    "ListDataSources.json", "DescribeDashboardPermissions.json", "DescribeAnalysisPermissions.json",
    "DescribeDataSetPermissions.json", "DescribeDataSourcePermissions.json",
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "logs"
    generate(out, seed=7, days=12, end_date=END)
    return out


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def read_gz(path: Path) -> dict:
    return json.loads(gzip.decompress(path.read_bytes()))


def test_cloudtrail_layout(demo):
    ct = demo / "cloudtrail"
    logs = [p for p in ct.rglob("*.json.gz") if "/CloudTrail/" in str(p)]
    plain = [p for p in logs if p.parts[-8:-6] == ("AWSLogs", MAIN)]
    org = [p for p in logs if p.parts[-9:-7] == ("AWSLogs", ORG)]
    assert plain and org and len(plain) + len(org) == len(logs)
    assert {p.parts[-7] for p in org} == {PROD, DEV}
    for p in logs:
        m = LOG_NAME.match(p.name)
        assert m, p.name
        account, region, _ = m.groups()
        year, month, day = p.parts[-4:-1]
        assert p.parts[-6] == "CloudTrail" and p.parts[-5] == region and p.parts[-7] == account
        assert dt.date(int(year), int(month), int(day)) <= END
    assert {p.parts[-5] for p in logs} == {"us-east-1", "eu-west-1", "us-west-2"}


def test_log_records_are_cloudtrail_shaped(demo):
    sources, types, empty = set(), set(), 0
    ids = set()
    for p in (demo / "cloudtrail").rglob("*.json.gz"):
        if "/CloudTrail/" not in str(p):
            continue
        records = read_gz(p)["Records"]
        empty += not records
        for r in records:
            assert r["eventVersion"] in ("1.08", "1.09")
            assert r["eventTime"].endswith("Z") and r["eventTime"][:10] <= END.isoformat()
            assert r["recipientAccountId"] == p.parts[-7] and r["awsRegion"] == p.parts[-5]
            assert r["eventCategory"] == "Management" and r["managementEvent"] is True
            assert r["eventID"] not in ids
            ids.add(r["eventID"])
            sources.add(r["eventSource"])
            types.add(r["userIdentity"]["type"])
            if r["eventName"] == "GetDashboard" and "errorCode" not in r:
                details = r["serviceEventDetails"]
                dash = details["eventResponseDetails"]["dashboardDetails"]
                assert details["eventRequestDetails"]["dashboardId"] == dash["dashboardId"] and dash["dashboardName"]
            if r["eventName"] == "AssumeRoleWithSAML":
                assert r["userIdentity"]["userName"].endswith("@example.com")
                assert r["responseElements"]["assumedRoleUser"]["arn"].startswith(f"arn:aws:sts::{MAIN}:assumed-role/QuickSight")
    assert empty == 1
    assert {"quicksight.amazonaws.com", "sts.amazonaws.com", "signin.amazonaws.com", "s3.amazonaws.com", "ec2.amazonaws.com",
            "iam.amazonaws.com", "lambda.amazonaws.com"} <= sources
    assert {"IAMUser", "AssumedRole", "SAMLUser", "AWSService", "Root"} <= types
    assert 2000 < len(ids) < 8000  # about 330 events a day


def test_digests_chain_and_hash_the_logs(demo):
    ct = demo / "cloudtrail"
    digests = sorted(p for p in ct.rglob("*.json.gz") if "/CloudTrail-Digest/" in str(p))
    assert len(digests) == 12 * 7  # a digest a day for each account and region
    assert any(p.parts[-8:-6] == ("AWSLogs", MAIN) for p in digests)
    assert any(p.parts[-9:-7] == ("AWSLogs", ORG) for p in digests)
    hashed = 0
    for p in digests:
        assert DIGEST_NAME.match(p.name), p.name
        doc = read_gz(p)
        assert doc["digestS3Object"] == str(p.relative_to(ct))
        assert doc["digestSignatureAlgorithm"] == "SHA256withRSA"
        if doc["previousDigestS3Object"]:
            prev = ct / doc["previousDigestS3Object"]
            assert hashlib.sha256(gzip.decompress(prev.read_bytes())).hexdigest() == doc["previousDigestHashValue"]
        for f in doc["logFiles"]:
            log = ct / f["s3Object"]
            assert hashlib.sha256(gzip.decompress(log.read_bytes())).hexdigest() == f["hashValue"]
            hashed += 1
    logs = [p for p in ct.rglob("*.json.gz") if "/CloudTrail/" in str(p)]
    assert hashed == len(logs)


def test_insight_file(demo):
    insights = list((demo / "cloudtrail").rglob("*CloudTrail-Insight*.json.gz"))
    assert len(insights) == 1 and INSIGHT_NAME.match(insights[0].name)
    assert "/CloudTrail-Insight/us-east-1/" in str(insights[0])
    records = read_gz(insights[0])["Records"]
    assert [r["insightDetails"]["state"] for r in records] == ["Start", "End"]


def test_quicksight_snapshots(demo):
    qs = demo / "quicksight"
    folders = sorted(p for p in qs.glob("*/*/*") if p.is_dir())
    assert [str(p.relative_to(qs)) for p in folders] == [
        f"{MAIN}/us-east-1/20240623T053000Z",
        f"{MAIN}/us-east-1/20240630T053000Z",
    ]
    for folder in folders:
        assert {p.name for p in folder.iterdir()} == SNAPSHOT_FILES
    last = folders[-1]
    load = lambda name: json.loads((last / name).read_text())  # noqa: E731
    assert load("manifest.json") == {"AccountId": MAIN, "Region": "us-east-1", "Namespace": "default",
                                     "SnapshotTime": "2024-06-30T05:30:00Z"}
    users = {u["UserName"]: u for u in load("ListUsers.json")["UserList"]}
    assert users["QuickSightReader/alice"]["Arn"] == f"arn:aws:quicksight:us-east-1:{MAIN}:user/default/QuickSightReader/alice"
    assert users["bi-admin"]["Role"] == "ADMIN" and users["iris"]["IdentityType"] == "IAM"
    assert {u["Role"] for u in users.values()} == {"ADMIN", "AUTHOR", "READER"}
    # the late joiner and the new dashboard appear only in the second snapshot
    first_users = json.loads((folders[0] / "ListUsers.json").read_text())["UserList"]
    assert "QuickSightReader/wanda" in users and "QuickSightReader/wanda" not in {u["UserName"] for u in first_users}
    dashboards = {d["Name"] for d in load("ListDashboards.json")["DashboardSummaryList"]}
    first_dashboards = {d["Name"] for d in json.loads((folders[0] / "ListDashboards.json").read_text())["DashboardSummaryList"]}
    assert dashboards - first_dashboards == {"Partner Portal Preview"} and "Old Ops Board" not in dashboards
    described = load("DescribeDashboard.json")
    assert all(e["Response"]["Dashboard"]["Version"]["DataSetArns"] for e in described)
    datasets = {e["Response"]["DataSet"]["Name"]: e["Response"]["DataSet"] for e in load("DescribeDataSet.json")}
    assert datasets["Clickstream raw (full history)"]["ConsumedSpiceCapacityInBytes"] > 40 * 1024**3
    assert datasets["Vendor feed"]["ImportMode"] == "DIRECT_QUERY"
    memberships = load("ListGroupMemberships.json")
    assert all(set(m) == {"Request", "Response"} and "GroupMemberList" in m["Response"] for m in memberships)
    perms = load("DescribeDashboardPermissions.json")[0]["Response"]
    assert perms["Permissions"][0]["Principal"].startswith(f"arn:aws:quicksight:us-east-1:{MAIN}:user/default/")


def test_same_seed_same_bytes(demo, tmp_path):
    generate(tmp_path / "again", seed=7, days=12, end_date=END)
    assert files(tmp_path / "again") == files(demo)
    generate(tmp_path / "other", seed=8, days=12, end_date=END)
    assert files(tmp_path / "other") != files(demo)


def test_refuses_to_mix_with_existing_files(demo, tmp_path):
    out = tmp_path / "x"
    generate(out, seed=1, days=2, end_date=END)
    with pytest.raises(EventlakeError, match="--force"):
        generate(out, seed=2, days=2, end_date=END)
    generate(out, seed=1, days=2, end_date=END, force=True)
    with pytest.raises(EventlakeError, match="--days"):
        generate(tmp_path / "y", days=0)


def test_cli_generate(tmp_path):
    result = CliRunner().invoke(app, ["demo", "generate", "--out", str(tmp_path / "d"), "--seed", "3", "--days", "3",
                                      "--end-date", "2024-01-31"])
    assert result.exit_code == 0, result.output
    assert "demo data 2024-01-29 .. 2024-01-31" in " ".join(result.stdout.split())
    assert (tmp_path / "d" / "cloudtrail" / "AWSLogs" / MAIN / "CloudTrail").is_dir()
    bad = CliRunner().invoke(app, ["demo", "generate", "--out", str(tmp_path / "e"), "--end-date", "31.01.2024"])
    assert bad.exit_code != 0 and "--end-date" in str(bad.exception)


@pytest.mark.slow
def test_demo_flow_every_insight_has_answers(tmp_path):
    """generate -> ingest cloudtrail -> ingest bi-metadata -> every insight non-empty with
    its defaults as of the end date, and `demo report` prints them all."""
    from eventlake.engines import get_engine
    from eventlake.insights import list_insights, run_insight
    from eventlake.lake import Lake

    logs, lake_dir = tmp_path / "logs", tmp_path / "lake"
    generate(logs, seed=7, days=14, end_date=END)
    runner = CliRunner()
    for args in (["ingest", "cloudtrail", str(logs / "cloudtrail")], ["ingest", "bi-metadata", str(logs / "quicksight")]):
        result = runner.invoke(app, ["--lake", str(lake_dir), *args])
        assert result.exit_code == 0, result.output
    engine = get_engine("duckdb", Lake(lake_dir))
    try:
        bi = [i for i in list_insights() if i.category == "bi"]
        assert len(bi) == 12
        empty = [i.name for i in bi if run_insight(engine, i.name, as_of=END).num_rows == 0]
    finally:
        engine.close()
    assert empty == []
    result = runner.invoke(app, ["--lake", str(lake_dir), "demo", "report"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())  # whatever the terminal width
    assert f"as of {END.isoformat()}" in text and "no rows from" not in text
    from eventlake.cli.demo import REPORT

    assert [name for name, _ in REPORT if f"{name} ─" not in text] == []
    assert f"Open the console: eventlake --lake {lake_dir} users add admin --role admin && eventlake --lake {lake_dir} serve console" in text


def test_service_logs_hold_a_few_damaged_lines(demo, tmp_path):
    """Ingest quarantines the demo's damaged service-log lines with a reason and loads
    the good lines of the same objects (the console's health page shows them)."""
    from eventlake.lake import Lake

    runner = CliRunner()
    lake = tmp_path / "lake"
    out = {}
    for t in ("s3-access", "alb"):
        result = runner.invoke(app, ["--lake", str(lake), "ingest", t, str(demo / "service-logs" / t)])
        assert result.exit_code == 0, result.output
        out[t] = " ".join(result.stdout.split())
    assert "records 10,096 read, 10,094 loaded, 0 duplicate, 2 quarantined" in out["s3-access"]
    assert "records 10,101 read, 10,100 loaded, 0 duplicate, 1 quarantined" in out["alb"]
    con = Lake(lake).connect(read_only=True)
    try:
        rows = con.execute("SELECT source, source_object, position, reason FROM quarantine ORDER BY source, position").fetchall()
    finally:
        con.close()
    assert [(r[0], r[3]) for r in rows] == [
        ("alb", "elb_status_code '5xx' is not an integer"),
        ("s3-access", "line does not match the S3 server access log format (at least 17 fields expected, found 10)"),
        ("s3-access", "line does not match the S3 server access log format (at least 17 fields expected, found 10)"),
    ]
    # the middle day of the week of service logs (2024-06-24 .. 06-30)
    assert all("/2024/06/27/" in r[1] for r in rows)
    strict = runner.invoke(app, ["--lake", str(tmp_path / "lake2"), "ingest", "alb", "--strict", str(demo / "service-logs" / "alb")])
    assert strict.exit_code == 1
