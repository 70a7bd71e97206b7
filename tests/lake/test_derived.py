"""Derived tables: bi_events is computed from cloudtrail_events at ingest, ages out with
it, and can be rebuilt."""

from __future__ import annotations

import datetime as dt
import gzip
import json

import pytest
from typer.testing import CliRunner

from eventlake.cli import app
from eventlake.errors import LakeError
from eventlake.lake.derived import rebuild
from eventlake.lake.maintenance import retain
from eventlake.sources.cloudtrail import ingest

ACCT = "111122223333"


def _rec(i, name, source, *, day="2026-03-01", user=None, **extra):
    r = {
        "eventVersion": "1.08",
        "eventID": f"e{i}",
        "eventTime": f"{day}T10:00:0{i}Z",
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "recipientAccountId": ACCT,
        "userIdentity": user or {"type": "AssumedRole", "arn": f"arn:aws:sts::{ACCT}:assumed-role/QuickSightReader/alice"},
    }
    r.update(extra)
    return r


RECORDS = [
    _rec(1, "GetDashboard", "quicksight.amazonaws.com", serviceEventDetails={
        "eventRequestDetails": {"dashboardId": "d-1"},
        "eventResponseDetails": {"dashboardDetails": {"dashboardName": "Sales", "dashboardId": "d-1"}}}),
    _rec(2, "UpdateAnalysis", "quicksight.amazonaws.com", requestParameters={"awsAccountId": ACCT, "analysisId": "a-9", "name": "Churn"}),
    _rec(3, "AssumeRoleWithSAML", "sts.amazonaws.com",
         user={"type": "SAMLUser", "userName": "alice@example.com", "principalId": "x"},
         responseElements={"assumedRoleUser": {"arn": f"arn:aws:sts::{ACCT}:assumed-role/QuickSightReader/alice"}}),
    _rec(4, "ConsoleLogin", "signin.amazonaws.com", user={"type": "IAMUser", "userName": "bob"},
         responseElements={"ConsoleLogin": "Failure"}),
    _rec(5, "GetDashboard", "quicksight.amazonaws.com", errorCode="AccessDenied",
         serviceEventDetails={"eventRequestDetails": {"dashboardId": "d-2"}}),
    _rec(6, "GetObject", "s3.amazonaws.com"),
    _rec(7, "ConsoleLogin", "signin.amazonaws.com", day="2025-01-01", user={"type": "IAMUser", "userName": "bob"},
         responseElements={"ConsoleLogin": "Success"}),
]

EXPECTED = [
    ("e1", "2026-03-01", "GetDashboard", "view", "alice", "alice", "dashboard", "d-1", "Sales", None),
    ("e2", "2026-03-01", "UpdateAnalysis", "edit", "alice", "alice", "analysis", "a-9", None, "Churn"),
    ("e3", "2026-03-01", "AssumeRoleWithSAML", "login", "alice@example.com", "alice", None, None, None, None),
    ("e7", "2025-01-01", "ConsoleLogin", "login", "bob", "bob", None, None, None, None),
]

QUERY = """SELECT event_id, CAST(event_date AS VARCHAR), event_name, kind, user_name, user_key, asset_type, asset_id,
                  asset_name, request_name FROM bi_events ORDER BY event_id"""


@pytest.fixture
def ingested(lake, tmp_path):
    folder = tmp_path / "AWSLogs" / ACCT / "CloudTrail" / "us-east-1" / "2026" / "03" / "01"
    folder.mkdir(parents=True)
    with gzip.open(folder / f"{ACCT}_CloudTrail_us-east-1_20260301T1000Z_a.json.gz", "wt") as fh:
        json.dump({"Records": RECORDS}, fh)
    stats = ingest(lake, [str(tmp_path / "AWSLogs")])
    assert stats.records_loaded == 7
    return lake


def test_ingest_derives_bi_events(ingested):
    con = ingested.connect(read_only=True)
    assert con.execute(QUERY).fetchall() == EXPECTED


def test_reingest_does_not_duplicate_bi_events(ingested, tmp_path):
    ingest(ingested, [str(tmp_path / "AWSLogs")])
    con = ingested.connect(read_only=True)
    assert con.execute("SELECT count(*) FROM bi_events").fetchall() == [(4,)]


def test_retain_ages_out_derived_rows_too(ingested):
    con = ingested.connect()
    r = retain(ingested, con, "cloudtrail_events", "30d", today=dt.date(2026, 3, 2))
    assert r.rows_deleted == 1
    assert [row[0] for row in con.execute(QUERY).fetchall()] == ["e1", "e2", "e3"]


def test_rebuild_recomputes_from_source(ingested):
    con = ingested.connect()
    con.execute("DELETE FROM bi_events WHERE event_id IN ('e1', 'e7')")
    assert rebuild(ingested, con, "bi_events") == 4
    assert con.execute(QUERY).fetchall() == EXPECTED
    with pytest.raises(LakeError, match="'users' is not a derived table"):
        rebuild(ingested, con, "users")
    con.close()
    res = CliRunner().invoke(app, ["--lake", str(ingested.path), "lake", "rebuild", "bi_events"])
    assert res.exit_code == 0, res.output
    assert "bi_events: rebuilt, 4 rows" in res.output
