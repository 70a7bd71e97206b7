"""BI metadata snapshots (QuickSight API shaped) -> users, assets, asset_permissions,
dataset_usage. The fixture under tests/data/quicksight holds two snapshots of account
111122223333 in us-east-1 (2024-03-01 and 2024-03-02 at 06:00 UTC); expected rows are
written out literally."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eventlake.sources.bi_metadata import ingest
from eventlake.sources.bi_snapshot import parse_time, principal_parts

DATA = Path(__file__).resolve().parent.parent / "data" / "quicksight"
S1 = DATA / "111122223333" / "us-east-1" / "20240301T060000Z"
S2 = DATA / "111122223333" / "us-east-1" / "20240302T060000Z"
P = "arn:aws:quicksight:us-east-1:111122223333"
T1 = "2024-03-01 06:00:00+00"
T2 = "2024-03-02 06:00:00+00"

DASH_VIEWER = ["quicksight:DescribeDashboard", "quicksight:ListDashboardVersions", "quicksight:QueryDashboard"]
DASH_OWNER = DASH_VIEWER + ["quicksight:UpdateDashboard", "quicksight:DeleteDashboard", "quicksight:UpdateDashboardPermissions"]


def query(lake, sql: str, params: list | None = None) -> list[tuple]:
    con = lake.connect(read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def counts(stats) -> dict:
    return {k: getattr(stats, k) for k in (
        "files_read", "files_skipped", "files_failed", "files_unchanged",
        "records_read", "records_loaded", "records_duplicate", "records_quarantined",
    )}


def expect(**kw) -> dict:
    base = dict.fromkeys((
        "files_read", "files_skipped", "files_failed", "files_unchanged",
        "records_read", "records_loaded", "records_duplicate", "records_quarantined",
    ), 0)
    base.update(kw)
    return base


def table_counts(lake) -> dict:
    return {
        t: query(lake, f"SELECT CAST(snapshot_time AS VARCHAR), count(*) FROM {t} GROUP BY 1 ORDER BY 1")
        for t in ("users", "assets", "asset_permissions", "dataset_usage")
    }


def copy_snapshot(src: Path, root: Path) -> Path:
    """Copy a snapshot folder into root/<account>/<region>/<stamp>/ and return it."""
    dst = root / src.parent.parent.name / src.parent.name / src.name
    shutil.copytree(src, dst)
    return dst


def edit_json(path: Path, change) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


USERS_S1 = [
    # user_name, namespace, principal_id, arn, email, role, identity_type, active, groups, file
    ("QuickSightReader/alice", "default", "federated/iam/AROAEXAMPLEREADER0001:alice",
     f"{P}:user/default/QuickSightReader/alice", "alice@example.com", "READER", "IAM", True,
     ["analysts", "readers"], "ListUsers.json"),
    ("admin_ann", "default", "user/d-9067e4a1b2/0a1b2c3d-ann", f"{P}:user/default/admin_ann", "ann@example.com",
     "ADMIN", "QUICKSIGHT", True, [], "ListUsers.json"),
    ("bob_author", "default", "federated/iam/AIDAEXAMPLEBOB000001", f"{P}:user/default/bob_author", "bob@example.com",
     "AUTHOR", "IAM", True, ["analysts"], "ListUsers.json"),
]

ASSETS_S1 = [
    # asset_type, asset_id, name, arn, created, updated, last_published, status, import_mode, spice_bytes, datasource_type, file
    ("analysis", "sales-analysis", "Sales Analysis", f"{P}:analysis/sales-analysis",
     "2023-10-30 14:00:00+00", "2024-02-20 16:35:00+00", None, "UPDATE_SUCCESSFUL", None, None, None, "ListAnalyses.json"),
    ("dashboard", "ops-health", "Ops Health", f"{P}:dashboard/ops-health",
     "2024-01-10 08:00:00+00", "2024-01-10 08:30:00+00", "2024-01-10 08:30:00+00", "CREATION_SUCCESSFUL",
     None, None, None, "ListDashboards.json"),
    ("dashboard", "sales-overview", "Sales Overview", f"{P}:dashboard/sales-overview",
     "2023-11-02 09:15:00+00", "2024-02-20 16:40:12+00", "2024-02-20 16:41:00+00", "CREATION_SUCCESSFUL",
     None, None, None, "ListDashboards.json"),
    ("dataset", "ds-ops-upload", "ops-upload.csv", f"{P}:dataset/ds-ops-upload",
     "2024-01-09 17:20:00+00", "2024-01-09 17:20:00+00", None, None, "SPICE", None, None, "ListDataSets.json"),
    ("dataset", "ds-sales-spice", "Sales (SPICE)", f"{P}:dataset/ds-sales-spice",
     "2023-10-01 00:00:00+00", "2024-02-29 23:00:00+00", None, None, "SPICE", 52428800, None, "ListDataSets.json"),
    ("dataset", "ds-web-direct", "Web traffic", f"{P}:dataset/ds-web-direct",
     "2023-10-05 12:00:00+00", "2023-12-01 08:00:00+00", None, None, "DIRECT_QUERY", 0, None, "ListDataSets.json"),
    ("datasource", "src-athena", "Athena lake", f"{P}:datasource/src-athena",
     "2023-09-28 10:00:00+00", "2023-09-28 10:00:00+00", None, "CREATION_SUCCESSFUL", None, None, "ATHENA",
     "ListDataSources.json"),
]

PERMISSIONS_S1 = [
    # asset_type, asset_id, principal_arn, principal_type, principal_name, actions, file
    ("analysis", "sales-analysis", f"{P}:user/default/bob_author", "user", "bob_author",
     ["quicksight:DescribeAnalysis", "quicksight:QueryAnalysis", "quicksight:UpdateAnalysis", "quicksight:DeleteAnalysis"],
     "DescribeAnalysisPermissions.json"),
    ("dashboard", "ops-health", f"{P}:user/default/QuickSightReader/alice", "user", "QuickSightReader/alice",
     DASH_VIEWER, "DescribeDashboardPermissions.json"),
    ("dashboard", "sales-overview", f"{P}:group/default/analysts", "group", "analysts",
     DASH_VIEWER, "DescribeDashboardPermissions.json"),
    ("dashboard", "sales-overview", f"{P}:namespace/default", "namespace", "default",
     DASH_VIEWER, "DescribeDashboardPermissions.json"),
    ("dashboard", "sales-overview", f"{P}:user/default/admin_ann", "user", "admin_ann",
     DASH_OWNER, "DescribeDashboardPermissions.json"),
    ("dataset", "ds-ops-upload", f"{P}:user/default/admin_ann", "user", "admin_ann",
     ["quicksight:DescribeDataSet", "quicksight:PassDataSet", "quicksight:UpdateDataSet", "quicksight:DeleteDataSet"],
     "DescribeDataSetPermissions.json"),
    ("dataset", "ds-sales-spice", f"{P}:user/default/bob_author", "user", "bob_author",
     ["quicksight:DescribeDataSet", "quicksight:PassDataSet", "quicksight:UpdateDataSet"], "DescribeDataSetPermissions.json"),
    ("dataset", "ds-web-direct", f"{P}:group/default/analysts", "group", "analysts",
     ["quicksight:DescribeDataSet", "quicksight:PassDataSet"], "DescribeDataSetPermissions.json"),
    ("datasource", "src-athena", f"{P}:user/default/admin_ann", "user", "admin_ann",
     ["quicksight:DescribeDataSource", "quicksight:PassDataSource", "quicksight:UpdateDataSource"],
     "DescribeDataSourcePermissions.json"),
]

USAGE_S1 = [
    ("analysis", "sales-analysis", "ds-sales-spice", f"{P}:dataset/ds-sales-spice", "DescribeAnalysis.json"),
    ("dashboard", "ops-health", "ds-ops-upload", f"{P}:dataset/ds-ops-upload", "DescribeDashboard.json"),
    ("dashboard", "sales-overview", "ds-sales-spice", f"{P}:dataset/ds-sales-spice", "DescribeDashboard.json"),
    ("dashboard", "sales-overview", "ds-web-direct", f"{P}:dataset/ds-web-direct", "DescribeDashboard.json"),
]

FILE = "regexp_extract(source_object, '[^/]+$')"


def users_rows(lake, t: str) -> list[tuple]:
    return query(lake, f"""SELECT user_name, namespace, principal_id, arn, email, role, identity_type, active, groups, {FILE}
        FROM users WHERE snapshot_time = CAST(? AS TIMESTAMPTZ) ORDER BY user_name""", [t])


def assets_rows(lake, t: str) -> list[tuple]:
    return query(lake, f"""SELECT asset_type, asset_id, name, arn, CAST(created_time AS VARCHAR), CAST(updated_time AS VARCHAR),
        CAST(last_published_time AS VARCHAR), status, import_mode, spice_bytes, datasource_type, {FILE}
        FROM assets WHERE snapshot_time = CAST(? AS TIMESTAMPTZ) ORDER BY asset_type, asset_id""", [t])


def permissions_rows(lake, t: str) -> list[tuple]:
    return query(lake, f"""SELECT asset_type, asset_id, principal_arn, principal_type, principal_name, actions, {FILE}
        FROM asset_permissions WHERE snapshot_time = CAST(? AS TIMESTAMPTZ) ORDER BY asset_type, asset_id, principal_arn""", [t])


def usage_rows(lake, t: str) -> list[tuple]:
    return query(lake, f"""SELECT asset_type, asset_id, dataset_id, dataset_arn, {FILE}
        FROM dataset_usage WHERE snapshot_time = CAST(? AS TIMESTAMPTZ) ORDER BY asset_type, asset_id, dataset_id""", [t])


# -- the happy path -----------------------------------------------------------------

def test_snapshot_rows(lake):
    stats = ingest(lake, [str(DATA)])

    # 32 files (16 per snapshot); records: 29 API entries in the first snapshot, 30 in the second.
    assert counts(stats) == expect(files_read=32, records_read=59, records_loaded=59)
    assert stats.reconciles() and stats.problems == []
    assert users_rows(lake, T1) == USERS_S1
    assert assets_rows(lake, T1) == ASSETS_S1
    assert permissions_rows(lake, T1) == PERMISSIONS_S1
    assert usage_rows(lake, T1) == USAGE_S1
    for table in ("users", "assets", "asset_permissions", "dataset_usage"):
        assert query(lake, f"""SELECT DISTINCT account_id, region, CAST(snapshot_time AS VARCHAR), snapshot_date
            FROM {table} ORDER BY 3""") == [
            ("111122223333", "us-east-1", T1, dt.date(2024, 3, 1)),
            ("111122223333", "us-east-1", T2, dt.date(2024, 3, 2)),
        ]
    assert query(lake, "SELECT count(*) FROM quarantine") == [(0,)]
    assert query(lake, "SELECT source, files_read, records_read, records_loaded FROM ingest_runs") == [
        ("bi-metadata", 32, 59, 59)
    ]


def test_snapshots_are_kept_per_time(lake):
    ingest(lake, [str(S1)])
    ingest(lake, [str(S2)])

    assert table_counts(lake) == {
        "users": [(T1, 3), (T2, 4)],
        "assets": [(T1, 7), (T2, 7)],
        "asset_permissions": [(T1, 9), (T2, 9)],
        "dataset_usage": [(T1, 4), (T2, 4)],
    }
    assert users_rows(lake, T1) == USERS_S1
    assert users_rows(lake, T2)[2:] == [
        ("bob_author", "default", "federated/iam/AIDAEXAMPLEBOB000001", f"{P}:user/default/bob_author", "bob@example.com",
         "AUTHOR", "IAM", True, ["analysts"], "ListUsers.json"),
        ("carol", "default", "user/d-9067e4a1b2/4e5f6a7b-carol", f"{P}:user/default/carol", None,
         "AUTHOR", "QUICKSIGHT", False, [], "ListUsers.json"),
    ]
    assert query(lake, """SELECT CAST(snapshot_time AS VARCHAR), asset_id, CAST(updated_time AS VARCHAR),
        CAST(last_published_time AS VARCHAR), spice_bytes FROM assets
        WHERE asset_id IN ('sales-overview', 'ds-sales-spice') ORDER BY 1, 2""") == [
        (T1, "ds-sales-spice", "2024-02-29 23:00:00+00", None, 52428800),
        (T1, "sales-overview", "2024-02-20 16:40:12+00", "2024-02-20 16:41:00+00", None),
        (T2, "ds-sales-spice", "2024-02-29 23:00:00+00", None, 62914560),
        (T2, "sales-overview", "2024-03-01 10:00:00+00", "2024-03-01 10:05:00+00", None),
    ]


def test_reingest_is_a_noop(lake):
    ingest(lake, [str(DATA)])
    before = table_counts(lake)

    again = ingest(lake, [str(DATA)])

    assert counts(again) == expect(files_unchanged=32)
    assert table_counts(lake) == before
    assert query(lake, "SELECT files_unchanged, records_read FROM ingest_runs ORDER BY started_at") == [(0, 59), (32, 0)]


def test_copy_of_a_loaded_snapshot_counts_as_duplicate(lake, tmp_path):
    ingest(lake, [str(S1)])
    before = table_counts(lake)
    copy = copy_snapshot(S1, tmp_path / "copy")

    stats = ingest(lake, [str(tmp_path / "copy")])

    assert counts(stats) == expect(files_read=16, records_read=29, records_duplicate=29)
    assert table_counts(lake) == before
    # the copy's files are remembered: a third run reads nothing
    assert counts(ingest(lake, [str(copy)])) == expect(files_unchanged=16)


def test_other_files_are_skipped_by_rule(lake, tmp_path):
    snap = copy_snapshot(S1, tmp_path / "root")
    (snap / "notes.txt").write_text("taken by hand")
    (tmp_path / "root" / "README.md").write_text("snapshots")
    hidden = tmp_path / "root" / "111122223333" / "us-east-1" / ".20240303T060000Z.abc.tmp"
    hidden.mkdir()
    shutil.copy(S1 / "manifest.json", hidden / "manifest.json")

    stats = ingest(lake, [str(tmp_path / "root")])

    assert counts(stats) == expect(files_read=16, files_skipped=3, records_read=29, records_loaded=29)
    assert stats.skip_reasons == {"hidden or unfinished folder": 1, "not a snapshot file": 1, "not in a snapshot folder": 1}


def test_a_file_location_stands_for_its_snapshot_folder(lake):
    stats = ingest(lake, [str(S1 / "manifest.json")])

    assert counts(stats) == expect(files_read=16, records_read=29, records_loaded=29)
    assert users_rows(lake, T1) == USERS_S1


# -- bad input ----------------------------------------------------------------------

def test_broken_entries_and_files_are_quarantined_and_the_rest_loads(lake, tmp_path):
    snap = copy_snapshot(S1, tmp_path / "root")
    edit_json(snap / "ListUsers.json", lambda d: d["UserList"][1].pop("UserName"))
    edit_json(snap / "ListDashboards.json", lambda d: d["DashboardSummaryList"][1].update(CreatedTime="last tuesday"))
    edit_json(snap / "DescribeDashboardPermissions.json",
              lambda d: d[0]["Response"]["Permissions"][1].pop("Principal"))
    edit_json(snap / "ListGroupMemberships.json", lambda d: d[1]["Request"].pop("GroupName"))
    (snap / "DescribeDataSet.json").write_text('[{"Request": {"DataSetId": "ds-sales-spice"}, "Resp')
    (snap / "DescribeAnalysis.json").unlink()

    stats = ingest(lake, [str(tmp_path / "root")])

    # 29 entries - 1 (DescribeAnalysis.json is gone) - 1 (DescribeDataSet.json's two entries are
    # one unparsable record); the membership entry without a group counts once, like its one member
    assert counts(stats) == expect(files_read=15, files_failed=1, records_read=27, records_loaded=22,
                                   records_quarantined=5)
    assert stats.reconciles()
    assert query(lake, """SELECT regexp_extract(source_object, '[^/]+$'), position, reason FROM quarantine
        WHERE position != 'file' ORDER BY 1, 2""") == [
        ("DescribeDashboardPermissions.json", "[0].Response.Permissions[1]", "entry has no Principal"),
        ("ListDashboards.json", "DashboardSummaryList[1]", "CreatedTime 'last tuesday' is not an ISO-8601 timestamp"),
        ("ListGroupMemberships.json", "[1]", "entry has no Request.GroupName"),
        ("ListUsers.json", "UserList[1]", "entry has no UserName"),
    ]
    [(obj, reason, raw)] = query(lake, "SELECT source_object, reason, raw FROM quarantine WHERE position = 'file'")
    assert obj == str(snap / "DescribeDataSet.json")
    assert reason.startswith("not valid JSON: ")
    assert raw == '[{"Request": {"DataSetId": "ds-sales-spice"}, "Resp'
    assert query(lake, "SELECT raw FROM quarantine WHERE position = 'UserList[1]'") == [(
        '{"Arn":"' + P + ':user/default/bob_author","Email":"bob@example.com","Role":"AUTHOR","IdentityType":"IAM",'
        '"Active":true,"PrincipalId":"federated/iam/AIDAEXAMPLEBOB000001"}',
    )]

    # the rest loaded: alice lost the 'readers' membership (its entry had no group name)
    assert query(lake, "SELECT user_name, groups FROM users ORDER BY 1") == [
        ("QuickSightReader/alice", ["analysts"]), ("admin_ann", []),
    ]
    # ops-health still has a row from DescribeDashboard; datasets keep ListDataSets' import mode
    # but have no SPICE bytes; the analysis has no usage rows without DescribeAnalysis
    assert query(lake, """SELECT asset_type, asset_id, CAST(created_time AS VARCHAR), import_mode, spice_bytes, regexp_extract(source_object, '[^/]+$')
        FROM assets ORDER BY 1, 2""") == [
        ("analysis", "sales-analysis", "2023-10-30 14:00:00+00", None, None, "ListAnalyses.json"),
        ("dashboard", "ops-health", "2024-01-10 08:00:00+00", None, None, "DescribeDashboard.json"),
        ("dashboard", "sales-overview", "2023-11-02 09:15:00+00", None, None, "ListDashboards.json"),
        ("dataset", "ds-ops-upload", "2024-01-09 17:20:00+00", "SPICE", None, "ListDataSets.json"),
        ("dataset", "ds-sales-spice", "2023-10-01 00:00:00+00", "SPICE", None, "ListDataSets.json"),
        ("dataset", "ds-web-direct", "2023-10-05 12:00:00+00", "DIRECT_QUERY", None, "ListDataSets.json"),
        ("datasource", "src-athena", "2023-09-28 10:00:00+00", None, None, "ListDataSources.json"),
    ]
    assert query(lake, "SELECT asset_type, asset_id, dataset_id FROM dataset_usage ORDER BY ALL") == [
        ("dashboard", "ops-health", "ds-ops-upload"),
        ("dashboard", "sales-overview", "ds-sales-spice"),
        ("dashboard", "sales-overview", "ds-web-direct"),
    ]
    assert query(lake, "SELECT count(*) FROM asset_permissions") == [(8,)]
    assert query(lake, """SELECT regexp_extract(uri, '[^/]+$'), status, records, loaded, duplicates, quarantined
        FROM ingested_objects WHERE uri LIKE '%.json' AND status = 'failed' OR quarantined > 0 ORDER BY 1""") == [
        ("DescribeDashboardPermissions.json", "loaded", 4, 3, 0, 1),
        ("DescribeDataSet.json", "failed", 1, 0, 0, 1),
        ("ListDashboards.json", "loaded", 2, 1, 0, 1),
        ("ListGroupMemberships.json", "loaded", 3, 2, 0, 1),
        ("ListUsers.json", "loaded", 3, 2, 0, 1),
    ]


def test_wrong_file_shape_and_non_object_entries(lake, tmp_path):
    snap = copy_snapshot(S1, tmp_path / "root")
    (snap / "ListGroups.json").write_text('[{"GroupName": "analysts"}]')
    edit_json(snap / "ListDataSources.json", lambda d: d["DataSources"].append("src-other"))

    stats = ingest(lake, [str(tmp_path / "root")])

    assert stats.reconciles()
    assert query(lake, "SELECT regexp_extract(source_object, '[^/]+$'), position, reason FROM quarantine ORDER BY 1") == [
        ("ListDataSources.json", "DataSources[1]", "entry is a JSON string, not an object"),
        ("ListGroups.json", "file", "expected a JSON object with a GroupList array, got a JSON array"),
    ]
    assert counts(stats) == expect(files_read=16, files_failed=1, records_read=29, records_loaded=27,
                                   records_quarantined=2)


def test_missing_manifest_field_is_taken_from_the_folder_path(lake, tmp_path):
    snap = copy_snapshot(S1, tmp_path / "root")
    edit_json(snap / "manifest.json", lambda d: d.pop("SnapshotTime"))

    stats = ingest(lake, [str(tmp_path / "root")])

    assert query(lake, "SELECT position, reason FROM quarantine") == [(
        "SnapshotTime",
        "SnapshotTime is missing; took 111122223333/us-east-1 at 2024-03-01T06:00:00Z from the folder path",
    )]
    assert counts(stats) == expect(files_read=16, records_read=30, records_loaded=29, records_quarantined=1)
    assert users_rows(lake, T1) == USERS_S1


def test_unidentifiable_snapshot_is_quarantined_and_not_loaded(lake, tmp_path):
    snap = tmp_path / "loose"
    shutil.copytree(S1, snap)
    edit_json(snap / "manifest.json", lambda d: d.update(AccountId="", Region=7))

    stats = ingest(lake, [str(snap)])

    assert query(lake, "SELECT position, reason FROM quarantine") == [(
        "AccountId, Region",
        "AccountId is missing; Region 7 is not valid; the folder path does not name it either "
        "(expected <account>/<region>/<YYYYMMDDTHHMMSSZ>/): snapshot not loaded",
    )]
    assert counts(stats) == expect(files_read=16, files_failed=16, records_read=1, records_quarantined=1)
    assert sum(n for rows in table_counts(lake).values() for _, n in rows) == 0
    # unchanged files are not re-read; fixing the manifest loads the snapshot
    assert counts(ingest(lake, [str(snap)])) == expect(files_unchanged=16)
    edit_json(snap / "manifest.json", lambda d: d.update(AccountId="111122223333", Region="us-east-1"))
    assert counts(ingest(lake, [str(snap)])) == expect(files_read=16, records_read=29, records_loaded=29)


# -- value rules --------------------------------------------------------------------

@pytest.mark.parametrize("arn, expected", [
    (f"{P}:user/default/admin_ann", ("user", "admin_ann")),
    (f"{P}:user/default/QuickSightReader/alice", ("user", "QuickSightReader/alice")),
    (f"{P}:user/sales/QuickSightReader/bob@example.com", ("user", "QuickSightReader/bob@example.com")),
    (f"{P}:group/default/analysts", ("group", "analysts")),
    (f"{P}:namespace/default", ("namespace", "default")),
    ("arn:aws:iam::111122223333:role/Admin", ("other", "role/Admin")),
    ("not-an-arn", ("other", "not-an-arn")),
])
def test_principal_parts(arn, expected):
    assert principal_parts(arn) == expected


@pytest.mark.parametrize("value, expected", [
    ("2024-03-01T06:00:00Z", dt.datetime(2024, 3, 1, 6, tzinfo=dt.timezone.utc)),
    ("2024-03-01T08:00:00.250+02:00", dt.datetime(2024, 3, 1, 6, 0, 0, 250000, tzinfo=dt.timezone.utc)),
    ("2024-03-01T06:00:00", dt.datetime(2024, 3, 1, 6, tzinfo=dt.timezone.utc)),
    (1709272800, dt.datetime(2024, 3, 1, 6, tzinfo=dt.timezone.utc)),
    ("yesterday", None),
    (True, None),
])
def test_parse_time(value, expected):
    assert parse_time(value) == expected


# -- S3 over HTTP (moto's server on loopback; fixtures in tests/conftest.py) -----

def test_s3_snapshots(s3, lake):
    client, bucket, endpoint = s3
    for path in sorted(DATA.rglob("*.json")):
        client.put_object(Bucket=bucket, Key="qs/" + path.relative_to(DATA).as_posix(), Body=path.read_bytes())

    first = ingest(lake, [f"s3://{bucket}/qs/"], endpoint_url=endpoint)

    assert counts(first) == expect(files_read=32, records_read=59, records_loaded=59)
    assert users_rows(lake, T1) == [row[:-1] + ("ListUsers.json",) for row in USERS_S1]
    assert query(lake, "SELECT DISTINCT source_object FROM users WHERE snapshot_time = CAST(? AS TIMESTAMPTZ)", [T1]) == [
        (f"s3://{bucket}/qs/111122223333/us-east-1/20240301T060000Z/ListUsers.json",)
    ]
    assert table_counts(lake)["assets"] == [(T1, 7), (T2, 7)]
    assert counts(ingest(lake, [f"s3://{bucket}/qs/"], endpoint_url=endpoint)) == expect(files_unchanged=32)
    # the same snapshots from a local folder are duplicates of what S3 loaded
    assert counts(ingest(lake, [str(DATA)])) == expect(files_read=32, records_read=59, records_duplicate=59)


# -- CLI ----------------------------------------------------------------------------

def test_cli_ingest_bi_metadata(tmp_path):
    from eventlake.cli import app

    runner = CliRunner()
    lake_path = tmp_path / "lake"
    result = runner.invoke(app, ["--lake", str(lake_path), "ingest", "bi-metadata", str(DATA)])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "files 32 read, 0 skipped by rule, 0 failed, 0 unchanged" in out
    assert "records 59 read, 59 loaded, 0 duplicate, 0 quarantined" in out

    broken = copy_snapshot(S1, tmp_path / "broken")
    edit_json(broken / "manifest.json", lambda d: d.update(SnapshotTime="2024-03-05T06:00:00Z"))
    edit_json(broken / "ListUsers.json", lambda d: d["UserList"][0].pop("UserName"))
    result = runner.invoke(app, ["--lake", str(lake_path), "ingest", "bi-metadata", "--strict", str(tmp_path / "broken")])
    assert result.exit_code == 1
    assert "records 29 read, 28 loaded, 0 duplicate, 1 quarantined" in " ".join(result.output.split())
    assert "ListUsers.json at UserList[0]: entry has no UserName" in result.output
