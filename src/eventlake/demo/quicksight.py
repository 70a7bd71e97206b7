"""Demo QuickSight metadata snapshots: one JSON file per API call, shaped like the boto3
responses with pagination merged, in `<out>/<account>/<region>/<YYYYMMDDTHHMMSSZ>/` (the
layout `eventlake extract quicksight` writes and `eventlake ingest bi-metadata` reads)."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

from .events import Recorder, iso
from .world import GROUPS, MAIN_ACCOUNT, QS_REGION, Analysis, Dashboard, DataSet, Person, World, new_uuid

NAMESPACE = "default"
DASHBOARD_OWNER = ["quicksight:DescribeDashboard", "quicksight:ListDashboardVersions", "quicksight:UpdateDashboardPermissions",
                   "quicksight:QueryDashboard", "quicksight:UpdateDashboard", "quicksight:DeleteDashboard",
                   "quicksight:DescribeDashboardPermissions", "quicksight:UpdateDashboardPublishedVersion"]
DASHBOARD_VIEWER = ["quicksight:DescribeDashboard", "quicksight:ListDashboardVersions", "quicksight:QueryDashboard"]
ANALYSIS_OWNER = ["quicksight:RestoreAnalysis", "quicksight:UpdateAnalysisPermissions", "quicksight:DeleteAnalysis",
                  "quicksight:DescribeAnalysisPermissions", "quicksight:QueryAnalysis", "quicksight:DescribeAnalysis",
                  "quicksight:UpdateAnalysis"]
DATASET_OWNER = ["quicksight:UpdateDataSetPermissions", "quicksight:DescribeDataSet", "quicksight:DescribeDataSetPermissions",
                 "quicksight:PassDataSet", "quicksight:DescribeIngestion", "quicksight:ListIngestions", "quicksight:UpdateDataSet",
                 "quicksight:DeleteDataSet", "quicksight:CreateIngestion", "quicksight:CancelIngestion"]
DATASET_VIEWER = ["quicksight:DescribeDataSet", "quicksight:DescribeDataSetPermissions", "quicksight:PassDataSet",
                  "quicksight:DescribeIngestion", "quicksight:ListIngestions"]
DATASOURCE_OWNER = ["quicksight:DescribeDataSource", "quicksight:DescribeDataSourcePermissions", "quicksight:PassDataSource",
                    "quicksight:UpdateDataSource", "quicksight:DeleteDataSource", "quicksight:UpdateDataSourcePermissions"]


class Snapshot:
    """The account's QuickSight state at one moment."""

    def __init__(self, world: World, rec: Recorder, rng: random.Random, end: dt.date, at: dt.datetime):
        self.world, self.rec, self.rng, self.end, self.at = world, rec, rng, end, at
        self.prefix = f"arn:aws:quicksight:{QS_REGION}:{MAIN_ACCOUNT}"

    def when(self, days_before_end: int, salt: str) -> dt.datetime:
        """A stable time on the given day (the same in every snapshot)."""
        seconds = random.Random(f"{salt}:{days_before_end}").randrange(8 * 3600)
        return dt.datetime.combine(self.end - dt.timedelta(days=days_before_end), dt.time(8)) + dt.timedelta(seconds=seconds)

    def created(self, asset: Analysis | Dashboard | DataSet) -> dt.datetime:
        """When the asset was created: its Create* event if the logs have one, else a stable time."""
        created = self.rec.created.get(asset.id)
        return created or self.when(asset.created_days_before_end, asset.id)

    def exists(self, asset: Analysis | Dashboard) -> bool:
        return asset.lifecycle != "deleted" and self.created(asset) <= self.at

    def updated(self, asset_id: str, created: dt.datetime) -> dt.datetime:
        return max([t for t in self.rec.updates.get(asset_id, []) if t <= self.at] + [created])

    def user_arn(self, name: str) -> str:
        return f"{self.prefix}:user/{NAMESPACE}/{name}"

    def group_arn(self, name: str) -> str:
        return f"{self.prefix}:group/{NAMESPACE}/{name}"

    # -- the files -----------------------------------------------------------------
    def files(self) -> dict[str, Any]:
        people = [p for p in self.world.people if p.joined_days_before_end is None
                  or self.when(p.joined_days_before_end, p.name) <= self.at]
        analyses = [a for a in self.world.analyses if self.exists(a)]
        dashboards = [d for d in self.world.dashboards if self.exists(d)]
        datasets = self.world.datasets
        sources = self.world.datasources
        groups = sorted({g for p in people for g in p.groups})
        return {
            "manifest.json": {"AccountId": MAIN_ACCOUNT, "Region": QS_REGION, "Namespace": NAMESPACE, "SnapshotTime": iso(self.at)},
            "ListUsers.json": {"UserList": [self.user(p) for p in people]},
            "ListGroups.json": {"GroupList": [
                {"Arn": self.group_arn(g), "GroupName": g, "Description": dict(GROUPS).get(g, ""),
                 "PrincipalId": f"group/d-90671a2b3c/{g}"} for g in groups]},
            "ListGroupMemberships.json": [
                {"Request": {"GroupName": g, "AwsAccountId": MAIN_ACCOUNT, "Namespace": NAMESPACE},
                 "Response": {"GroupMemberList": [{"Arn": self.user_arn(p.qs_user_name), "MemberName": p.qs_user_name}
                                                  for p in people if g in p.groups]}} for g in groups],
            "ListDashboards.json": {"DashboardSummaryList": [self.dashboard_summary(d) for d in dashboards]},
            "DescribeDashboard.json": [{"Request": {"DashboardId": d.id},
                                        "Response": {"Dashboard": self.dashboard(d), "Status": 200, "RequestId": new_uuid(self.rng)}}
                                       for d in dashboards],
            "ListAnalyses.json": {"AnalysisSummaryList": [
                {k: v for k, v in self.analysis(a).items() if k != "DataSetArns"} for a in analyses]},
            "DescribeAnalysis.json": [{"Request": {"AnalysisId": a.id},
                                       "Response": {"Analysis": self.analysis(a), "Status": 200, "RequestId": new_uuid(self.rng)}}
                                      for a in analyses],
            "ListDataSets.json": {"DataSetSummaries": [
                {k: v for k, v in self.dataset(d).items() if k != "ConsumedSpiceCapacityInBytes"} for d in datasets]},
            "DescribeDataSet.json": [{"Request": {"DataSetId": d.id},
                                      "Response": {"DataSet": self.dataset(d), "Status": 200, "RequestId": new_uuid(self.rng)}}
                                     for d in datasets],
            "ListDataSources.json": {"DataSources": [
                {"Arn": f"{self.prefix}:datasource/{s.id}", "DataSourceId": s.id, "Name": s.name, "Type": s.type,
                 "Status": "CREATION_SUCCESSFUL", "CreatedTime": iso(self.when(500, s.id)),
                 "LastUpdatedTime": iso(self.when(420, s.id))} for s in sources]},
            "DescribeDashboardPermissions.json": [self.permissions("Dashboard", d.id, self.dashboard_grants(d)) for d in dashboards],
            "DescribeAnalysisPermissions.json": [
                self.permissions("Analysis", a.id, [(self.owner_arn(a.owner), ANALYSIS_OWNER)]) for a in analyses],
            "DescribeDataSetPermissions.json": [self.permissions("DataSet", d.id, self.dataset_grants(d)) for d in datasets],
            "DescribeDataSourcePermissions.json": [
                self.permissions("DataSource", s.id, [(self.user_arn("bi-admin"), DATASOURCE_OWNER),
                                                      (self.group_arn("BI-Authors"), ["quicksight:DescribeDataSource",
                                                                                      "quicksight:PassDataSource"])])
                for s in sources],
        }

    def user(self, p: Person) -> dict:
        principal = {"iam": f"federated/iam/{p.principal_id}", "federated": f"federated/iam/{p.principal_id}:{p.name}",
                     "quicksight": f"user/d-90671a2b3c/{p.principal_id}"}[p.identity]
        return {"Arn": self.user_arn(p.qs_user_name), "UserName": p.qs_user_name, "Email": p.email, "Role": p.role,
                "IdentityType": "QUICKSIGHT" if p.identity == "quicksight" else "IAM",
                "Active": p.behaviour != "never" or p.identity != "quicksight", "PrincipalId": principal}

    def owner_arn(self, owner: str) -> str:
        return self.user_arn(self.world.person(owner).qs_user_name)

    def dashboard_summary(self, d: Dashboard) -> dict:
        created = self.created(d)
        published = [t for t in self.rec.publishes.get(d.id, []) if t <= self.at]
        return {"Arn": f"{self.prefix}:dashboard/{d.id}", "DashboardId": d.id, "Name": d.name, "CreatedTime": iso(created),
                "LastUpdatedTime": iso(self.updated(d.id, created)), "PublishedVersionNumber": len(published) + 1,
                "LastPublishedTime": iso(max(published + [created]))}

    def dashboard(self, d: Dashboard) -> dict:
        s = self.dashboard_summary(d)
        version = s["PublishedVersionNumber"]
        return {
            "DashboardId": d.id, "Arn": s["Arn"], "Name": d.name,
            "Version": {"CreatedTime": s["LastPublishedTime"], "Errors": [], "VersionNumber": version, "Status": "CREATION_SUCCESSFUL",
                        "Arn": f"{s['Arn']}/version/{version}", "SourceEntityArn": f"{self.prefix}:analysis/{d.analysis.id}",
                        "DataSetArns": [f"{self.prefix}:dataset/{ds.id}" for ds in d.datasets], "Description": ""},
            "CreatedTime": s["CreatedTime"], "LastPublishedTime": s["LastPublishedTime"], "LastUpdatedTime": s["LastUpdatedTime"],
        }

    def analysis(self, a: Analysis) -> dict:
        created = self.created(a)
        return {"AnalysisId": a.id, "Arn": f"{self.prefix}:analysis/{a.id}", "Name": a.name, "Status": "UPDATE_SUCCESSFUL",
                "DataSetArns": [f"{self.prefix}:dataset/{ds.id}" for ds in a.datasets],
                "CreatedTime": iso(created), "LastUpdatedTime": iso(self.updated(a.id, created))}

    def dataset(self, d: DataSet) -> dict:
        created = self.created(d)
        growth = 1.0 - 0.02 * (self.end - self.at.date()).days / 7  # SPICE grows a little every week
        return {"Arn": f"{self.prefix}:dataset/{d.id}", "DataSetId": d.id, "Name": d.name, "CreatedTime": iso(created),
                "LastUpdatedTime": iso(self.when(max(d.created_days_before_end - 30, 40), d.id)), "ImportMode": d.import_mode,
                "ConsumedSpiceCapacityInBytes": int(d.spice_bytes * growth)}

    def dashboard_grants(self, d: Dashboard) -> list[tuple[str, list[str]]]:
        grants = [(self.owner_arn(d.owner), DASHBOARD_OWNER), (self.group_arn("BI-Readers"), DASHBOARD_VIEWER)]
        if d.weight >= 20:
            grants.append((self.group_arn("Executives"), DASHBOARD_VIEWER))
        if "Sales" in d.name:
            grants.append((self.group_arn("Sales"), DASHBOARD_VIEWER))
        return grants

    def dataset_grants(self, d: DataSet) -> list[tuple[str, list[str]]]:
        owner = next((a.owner for a in self.world.analyses if d in a.datasets), "bi-admin")
        return [(self.owner_arn(owner), DATASET_OWNER), (self.group_arn("BI-Authors"), DATASET_VIEWER)]

    def permissions(self, kind: str, asset_id: str, grants: list[tuple[str, list[str]]]) -> dict:
        return {"Request": {f"{kind}Id": asset_id},
                "Response": {f"{kind}Id": asset_id, f"{kind}Arn": f"{self.prefix}:{kind.lower()}/{asset_id}",
                             "Permissions": [{"Principal": p, "Actions": list(a)} for p, a in grants],
                             "Status": 200, "RequestId": new_uuid(self.rng)}}


def write_quicksight(root: Path, world: World, rec: Recorder, rng: random.Random, end: dt.date) -> list[Path]:
    """Two snapshots of the main account: 7 days before the end date and on it."""
    folders = []
    for days_before in (7, 0):
        at = dt.datetime.combine(end - dt.timedelta(days=days_before), dt.time(5, 30))
        folder = root / MAIN_ACCOUNT / QS_REGION / at.strftime("%Y%m%dT%H%M%SZ")
        folder.mkdir(parents=True, exist_ok=True)
        for name, doc in Snapshot(world, rec, rng, end, at).files().items():
            (folder / name).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        folders.append(folder)
    return folders
