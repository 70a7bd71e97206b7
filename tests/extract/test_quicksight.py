"""`extract quicksight` against a real boto3 QuickSight client whose every call is
answered by botocore's Stubber (no network, no AWS): the files written, then the same
folder ingested by the bi-metadata source."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner

from eventlake.errors import EventlakeError
from eventlake.extract import quicksight as qs
from eventlake.extract.quicksight import ExtractError, extract_quicksight
from eventlake.sources.bi_metadata import ingest

ACCOUNT = "444455556666"
REGION = "eu-west-1"
P = f"arn:aws:quicksight:{REGION}:{ACCOUNT}"
UTC = dt.timezone.utc
T_CREATED = dt.datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
T_UPDATED = dt.datetime(2024, 5, 20, 17, 45, 12, 500000, tzinfo=UTC)
META = {"Status": 200, "RequestId": "6a3d9c1e-0000-4000-8000-000000000001"}
VIEW = ["quicksight:DescribeDashboard", "quicksight:ListDashboardVersions", "quicksight:QueryDashboard"]

ANN = {"Arn": f"{P}:user/default/ann", "UserName": "ann", "Email": "ann@example.com", "Role": "ADMIN",
       "IdentityType": "QUICKSIGHT", "Active": True, "PrincipalId": "user/d-93670c1e2f/ann-1"}
BOB = {"Arn": f"{P}:user/default/bob", "UserName": "bob", "Email": "bob@example.com", "Role": "AUTHOR",
       "IdentityType": "IAM", "Active": True, "PrincipalId": "federated/iam/AIDAEXAMPLEBOB"}
DAVE = {"Arn": f"{P}:user/default/QuickSightReader/dave", "UserName": "QuickSightReader/dave",
        "Email": "dave@example.com", "Role": "READER", "IdentityType": "IAM", "Active": True,
        "PrincipalId": "federated/iam/AROAEXAMPLEREADER:dave"}


def add_account(stub: Stubber, *, deny_users: bool = False) -> None:
    """Queue the responses of one account, in the order the extractor calls."""
    acct = {"AwsAccountId": ACCOUNT}
    ns = dict(acct, Namespace="default")
    if deny_users:
        stub.add_client_error("list_users", "AccessDeniedException", "User: arn:aws:iam::444455556666:user/ci is not "
                              "authorized to perform: quicksight:ListUsers", 403, expected_params=ns)
        return
    stub.add_response("list_users", dict(META, UserList=[ANN, BOB], NextToken="page-2"), ns)
    stub.add_response("list_users", dict(META, UserList=[DAVE]), dict(ns, NextToken="page-2"))
    stub.add_response("list_groups", dict(META, GroupList=[
        {"Arn": f"{P}:group/default/authors", "GroupName": "authors", "Description": "Paid authors",
         "PrincipalId": "group/d-93670c1e2f/authors-1"}]), ns)
    stub.add_response("list_group_memberships", dict(META, GroupMemberList=[
        {"Arn": BOB["Arn"], "MemberName": "bob"}, {"Arn": ANN["Arn"], "MemberName": "ann"}]), dict(ns, GroupName="authors"))
    # dashboards
    stub.add_response("list_dashboards", dict(META, DashboardSummaryList=[
        {"Arn": f"{P}:dashboard/exec", "DashboardId": "exec", "Name": "Executive", "CreatedTime": T_CREATED,
         "LastUpdatedTime": T_UPDATED, "PublishedVersionNumber": 2, "LastPublishedTime": T_UPDATED}]), acct)
    stub.add_response("describe_dashboard", dict(META, Dashboard={
        "DashboardId": "exec", "Arn": f"{P}:dashboard/exec", "Name": "Executive",
        "Version": {"VersionNumber": 2, "Status": "CREATION_SUCCESSFUL", "Arn": f"{P}:dashboard/exec/version/2",
                    "SourceEntityArn": f"{P}:analysis/orders", "CreatedTime": T_UPDATED,
                    "DataSetArns": [f"{P}:dataset/ds-orders", f"{P}:dataset/ds-upload"]},
        "CreatedTime": T_CREATED, "LastPublishedTime": T_UPDATED, "LastUpdatedTime": T_UPDATED}), dict(acct, DashboardId="exec"))
    stub.add_response("describe_dashboard_permissions", dict(META, DashboardId="exec", DashboardArn=f"{P}:dashboard/exec",
        Permissions=[{"Principal": ANN["Arn"], "Actions": VIEW + ["quicksight:UpdateDashboard"]},
                     {"Principal": DAVE["Arn"], "Actions": VIEW}]), dict(acct, DashboardId="exec"))
    # analyses
    stub.add_response("list_analyses", dict(META, AnalysisSummaryList=[
        {"Arn": f"{P}:analysis/orders", "AnalysisId": "orders", "Name": "Orders", "Status": "CREATION_SUCCESSFUL",
         "CreatedTime": T_CREATED, "LastUpdatedTime": T_UPDATED}]), acct)
    stub.add_response("describe_analysis", dict(META, Analysis={
        "AnalysisId": "orders", "Arn": f"{P}:analysis/orders", "Name": "Orders", "Status": "CREATION_SUCCESSFUL",
        "DataSetArns": [f"{P}:dataset/ds-orders"], "CreatedTime": T_CREATED, "LastUpdatedTime": T_UPDATED}),
        dict(acct, AnalysisId="orders"))
    stub.add_response("describe_analysis_permissions", dict(META, AnalysisId="orders", AnalysisArn=f"{P}:analysis/orders",
        Permissions=[{"Principal": BOB["Arn"], "Actions": ["quicksight:DescribeAnalysis", "quicksight:UpdateAnalysis"]}]),
        dict(acct, AnalysisId="orders"))
    # datasets: the file upload cannot be described through the API
    stub.add_response("list_data_sets", dict(META, DataSetSummaries=[
        {"Arn": f"{P}:dataset/ds-orders", "DataSetId": "ds-orders", "Name": "Orders", "CreatedTime": T_CREATED,
         "LastUpdatedTime": T_UPDATED, "ImportMode": "SPICE"},
        {"Arn": f"{P}:dataset/ds-upload", "DataSetId": "ds-upload", "Name": "budget.xlsx", "CreatedTime": T_CREATED,
         "LastUpdatedTime": T_CREATED, "ImportMode": "SPICE"}]), acct)
    stub.add_response("describe_data_set", dict(META, DataSet={
        "Arn": f"{P}:dataset/ds-orders", "DataSetId": "ds-orders", "Name": "Orders", "CreatedTime": T_CREATED,
        "LastUpdatedTime": T_UPDATED, "ImportMode": "SPICE", "ConsumedSpiceCapacityInBytes": 1048576}),
        dict(acct, DataSetId="ds-orders"))
    stub.add_client_error("describe_data_set", "InvalidParameterValueException",
                          "The data set type is not supported through API yet", 400, expected_params=dict(acct, DataSetId="ds-upload"))
    for ds in ("ds-orders", "ds-upload"):
        stub.add_response("describe_data_set_permissions", dict(META, DataSetId=ds, DataSetArn=f"{P}:dataset/{ds}",
            Permissions=[{"Principal": f"{P}:group/default/authors", "Actions": ["quicksight:DescribeDataSet", "quicksight:PassDataSet"]}]),
            dict(acct, DataSetId=ds))
    # data sources
    stub.add_response("list_data_sources", dict(META, DataSources=[
        {"Arn": f"{P}:datasource/src-redshift", "DataSourceId": "src-redshift", "Name": "Warehouse", "Type": "REDSHIFT",
         "Status": "CREATION_SUCCESSFUL", "CreatedTime": T_CREATED, "LastUpdatedTime": T_CREATED}]), acct)
    stub.add_response("describe_data_source_permissions", dict(META, DataSourceId="src-redshift",
        DataSourceArn=f"{P}:datasource/src-redshift",
        Permissions=[{"Principal": ANN["Arn"], "Actions": ["quicksight:DescribeDataSource", "quicksight:PassDataSource"]}]),
        dict(acct, DataSourceId="src-redshift"))


@pytest.fixture
def client():
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    return session.client("quicksight")


def read(folder: Path, name: str):
    return json.loads((folder / name).read_text())


CREATED = "2024-05-01T09:30:00Z"
UPDATED = "2024-05-20T17:45:12.500000Z"
FILES = [
    "DescribeAnalysis.json", "DescribeAnalysisPermissions.json", "DescribeDashboard.json",
    "DescribeDashboardPermissions.json", "DescribeDataSet.json", "DescribeDataSetPermissions.json",
    "DescribeDataSourcePermissions.json", "ListAnalyses.json", "ListDashboards.json", "ListDataSets.json",
    "ListDataSources.json", "ListGroupMemberships.json", "ListGroups.json", "ListUsers.json", "errors.json",
    "manifest.json",
]


@pytest.mark.parametrize("paginators", [True, False], ids=["paginators", "next-token-loop"])
def test_extract_writes_the_snapshot_files(client, tmp_path, paginators):
    if not paginators:
        client.can_paginate = lambda op: False
    with Stubber(client) as stub:
        add_account(stub)
        folder = extract_quicksight(ACCOUNT, REGION, tmp_path / "out", client=client)
        stub.assert_no_pending_responses()

    assert folder.parent == tmp_path / "out" / ACCOUNT / REGION
    assert re.fullmatch(r"\d{8}T\d{6}Z", folder.name)
    assert os.listdir(folder.parent) == [folder.name]  # no temporary folder left behind
    assert sorted(os.listdir(folder)) == FILES
    manifest = read(folder, "manifest.json")
    stamp = dt.datetime.strptime(folder.name, "%Y%m%dT%H%M%SZ").strftime("%Y-%m-%dT%H:%M:%SZ")
    assert manifest == {"AccountId": ACCOUNT, "Region": REGION, "Namespace": "default", "SnapshotTime": stamp}

    assert read(folder, "ListUsers.json") == {"UserList": [ANN, BOB, DAVE]}
    assert read(folder, "ListGroupMemberships.json") == [{"Request": {"GroupName": "authors"}, "Response": {
        "GroupMemberList": [{"Arn": BOB["Arn"], "MemberName": "bob"}, {"Arn": ANN["Arn"], "MemberName": "ann"}]}}]
    assert read(folder, "ListDashboards.json") == {"DashboardSummaryList": [
        {"Arn": f"{P}:dashboard/exec", "DashboardId": "exec", "Name": "Executive", "CreatedTime": CREATED,
         "LastUpdatedTime": UPDATED, "PublishedVersionNumber": 2, "LastPublishedTime": UPDATED}]}
    assert read(folder, "DescribeDashboard.json") == [{"Request": {"DashboardId": "exec"}, "Response": {"Dashboard": {
        "DashboardId": "exec", "Arn": f"{P}:dashboard/exec", "Name": "Executive",
        "Version": {"VersionNumber": 2, "Status": "CREATION_SUCCESSFUL", "Arn": f"{P}:dashboard/exec/version/2",
                    "SourceEntityArn": f"{P}:analysis/orders", "CreatedTime": UPDATED,
                    "DataSetArns": [f"{P}:dataset/ds-orders", f"{P}:dataset/ds-upload"]},
        "CreatedTime": CREATED, "LastPublishedTime": UPDATED, "LastUpdatedTime": UPDATED}}}]
    assert read(folder, "DescribeDataSet.json") == [{"Request": {"DataSetId": "ds-orders"}, "Response": {"DataSet": {
        "Arn": f"{P}:dataset/ds-orders", "DataSetId": "ds-orders", "Name": "Orders", "CreatedTime": CREATED,
        "LastUpdatedTime": UPDATED, "ImportMode": "SPICE", "ConsumedSpiceCapacityInBytes": 1048576}}}]
    assert read(folder, "errors.json") == [{
        "Api": "DescribeDataSet", "Request": {"DataSetId": "ds-upload"}, "ErrorCode": "InvalidParameterValueException",
        "Message": "The data set type is not supported through API yet"}]
    assert read(folder, "DescribeDataSetPermissions.json")[1] == {"Request": {"DataSetId": "ds-upload"}, "Response": {
        "DataSetId": "ds-upload", "DataSetArn": f"{P}:dataset/ds-upload", "Permissions": [
            {"Principal": f"{P}:group/default/authors", "Actions": ["quicksight:DescribeDataSet", "quicksight:PassDataSet"]}]}}
    assert qs.snapshot_counts(folder) == {
        "DescribeAnalysis": 1, "DescribeAnalysisPermissions": 1, "DescribeDashboard": 1,
        "DescribeDashboardPermissions": 1, "DescribeDataSet": 1, "DescribeDataSetPermissions": 2,
        "DescribeDataSourcePermissions": 1, "ListAnalyses": 1, "ListDashboards": 1, "ListDataSets": 2,
        "ListDataSources": 1, "ListGroupMemberships": 1, "ListGroups": 1, "ListUsers": 3, "errors": 1,
    }


def test_extracted_snapshot_ingests(client, tmp_path, lake):
    with Stubber(client) as stub:
        add_account(stub)
        folder = extract_quicksight(ACCOUNT, REGION, tmp_path / "out", client=client)

    stats = ingest(lake, [str(tmp_path / "out")])

    # 3 users, 1 group, 2 members, 1+1 dashboard, 1+1 analysis, 2+1 datasets, 1 data source, 2+1+2+1 permissions
    assert (stats.files_read, stats.records_read, stats.records_loaded, stats.records_quarantined) == (16, 20, 20, 0)
    con = lake.connect(read_only=True)
    try:
        snap = dt.datetime.strptime(folder.name, "%Y%m%dT%H%M%SZ").strftime("%Y-%m-%d %H:%M:%S+00")
        assert con.execute("SELECT DISTINCT account_id, region, CAST(snapshot_time AS VARCHAR) FROM assets").fetchall() == [
            (ACCOUNT, REGION, snap)]
        assert con.execute("SELECT user_name, role, groups FROM users ORDER BY 1").fetchall() == [
            ("QuickSightReader/dave", "READER", []), ("ann", "ADMIN", ["authors"]), ("bob", "AUTHOR", ["authors"])]
        assert con.execute("""SELECT asset_type, asset_id, name, CAST(updated_time AS VARCHAR), status, import_mode,
            spice_bytes, datasource_type FROM assets ORDER BY 1, 2""").fetchall() == [
            ("analysis", "orders", "Orders", "2024-05-20 17:45:12.5+00", "CREATION_SUCCESSFUL", None, None, None),
            ("dashboard", "exec", "Executive", "2024-05-20 17:45:12.5+00", "CREATION_SUCCESSFUL", None, None, None),
            ("dataset", "ds-orders", "Orders", "2024-05-20 17:45:12.5+00", None, "SPICE", 1048576, None),
            ("dataset", "ds-upload", "budget.xlsx", "2024-05-01 09:30:00+00", None, "SPICE", None, None),
            ("datasource", "src-redshift", "Warehouse", "2024-05-01 09:30:00+00", "CREATION_SUCCESSFUL", None, None, "REDSHIFT"),
        ]
        assert con.execute("SELECT asset_type, asset_id, dataset_id FROM dataset_usage ORDER BY ALL").fetchall() == [
            ("analysis", "orders", "ds-orders"), ("dashboard", "exec", "ds-orders"), ("dashboard", "exec", "ds-upload")]
        assert con.execute("""SELECT asset_id, principal_type, principal_name FROM asset_permissions
            ORDER BY 1, 3""").fetchall() == [
            ("ds-orders", "group", "authors"), ("ds-upload", "group", "authors"),
            ("exec", "user", "QuickSightReader/dave"), ("exec", "user", "ann"),
            ("orders", "user", "bob"), ("src-redshift", "user", "ann")]
    finally:
        con.close()


def test_access_denied_is_a_clear_error_and_leaves_nothing(client, tmp_path):
    with Stubber(client) as stub:
        add_account(stub, deny_users=True)
        with pytest.raises(ExtractError) as err:
            extract_quicksight(ACCOUNT, REGION, tmp_path / "out", client=client)
    assert str(err.value).startswith(f"access denied calling QuickSight ListUsers (account {ACCOUNT}, region {REGION}): "
                                     "User: arn:aws:iam::444455556666:user/ci is not authorized to perform: quicksight:ListUsers.")
    assert os.listdir(tmp_path / "out" / ACCOUNT / REGION) == []


def test_bad_account_id(tmp_path):
    with pytest.raises(ExtractError, match="--account-id '12345' is not a 12-digit AWS account id"):
        extract_quicksight("12345", REGION, tmp_path)


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
                "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_no_credentials_is_a_clear_error(no_credentials, tmp_path):
    with pytest.raises(ExtractError, match=r"^no AWS credentials found for QuickSight ListUsers \(account 444455556666"):
        extract_quicksight(ACCOUNT, REGION, tmp_path / "out", endpoint_url="http://127.0.0.1:9")


def test_cli_no_credentials_prints_one_line(no_credentials, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", "from eventlake.cli import main; main()", "extract", "quicksight",
         "--account-id", ACCOUNT, "--region", REGION, "--out", str(tmp_path / "out"), "--endpoint-url", "http://127.0.0.1:9"],
        capture_output=True, text=True, timeout=120, env=dict(os.environ),
    )
    assert proc.returncode == 2
    assert "error: no AWS credentials found" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_extract_then_ingest(client, tmp_path, monkeypatch):
    from eventlake.cli import app

    calls = []

    def fake_client(region, endpoint_url=None):
        calls.append((region, endpoint_url))
        return client

    monkeypatch.setattr(qs, "make_client", fake_client)
    runner = CliRunner()
    with Stubber(client) as stub:
        add_account(stub)
        result = runner.invoke(app, ["extract", "quicksight", "--account-id", ACCOUNT, "--region", REGION,
                                     "--out", str(tmp_path / "out"), "--endpoint-url", "http://127.0.0.1:9"])
    assert result.exit_code == 0, result.output
    assert calls == [(REGION, "http://127.0.0.1:9")]
    lines = [" ".join(line.split()) for line in result.output.splitlines()]
    assert lines[0].startswith(f"wrote {tmp_path / 'out' / ACCOUNT / REGION}/")
    assert "ListUsers 3" in lines and "DescribeDataSet 1" in lines and "errors 1" in lines
    assert f"load it with: eventlake ingest bi-metadata {tmp_path / 'out'}" in lines

    result = runner.invoke(app, ["--lake", str(tmp_path / "lake"), "ingest", "bi-metadata", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "records 20 read, 20 loaded, 0 duplicate, 0 quarantined" in " ".join(result.output.split())


def test_cli_error_is_an_eventlake_error(no_credentials, tmp_path):
    from eventlake.cli import app

    result = CliRunner().invoke(app, ["extract", "quicksight", "--account-id", "nope", "--region", REGION, "--out", str(tmp_path)])
    assert isinstance(result.exception, EventlakeError)
    assert "is not a 12-digit AWS account id" in str(result.exception)
