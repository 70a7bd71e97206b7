"""A small hand-built lake whose insight answers are written out in test_insights.py.

Account A (111122223333, us-east-1) runs QuickSight; account B (444455556666) has one
stray dashboard view. Three snapshots of BI metadata: S1 (2024-03-01, older), S2
(2024-03-31, the one in effect on as_of) and S3 (2024-04-05, after as_of, must be
ignored). Every insight runs with as_of = 2024-03-31 (FIXTURE_PARAMS).

People (QuickSight user names in S2):
  admin-ann               ADMIN   IAM user; console login 03-30, views d-sales
  QuickSightAuthor/bea    AUTHOR  active: SAML login 03-20, opens and edits the sales assets
  QuickSightAuthor/cal    AUTHOR  idle: last login and edit on 01-10 (81 days before as_of)
  QuickSightAuthor/dan    AUTHOR  never seen in the logs
  QuickSightReader/eve    READER  SAML logins 03-25 (view 30 min later) and 03-28 (view 60 min later)
  QuickSightReader/fay    READER  three SAML logins, never a successful view
  QuickSightReader/gus    READER  login and view on 02-01 only
  hal                     READER  IAM user; one console login 03-18, one failed login
  ci-bot (not a BI user)  console login, S3 noise, one dashboard view

The SAML logins carry the IdP subject (an e-mail address) as userIdentity.userName, as
real CloudTrail does; the session name is only in responseElements.assumedRoleUser.arn.
"""

from __future__ import annotations

import json
from pathlib import Path

from eventlake.lake import Lake
from eventlake.lake.derived import rebuild

A = "111122223333"
B = "444455556666"
REGION = "us-east-1"
AS_OF = "2024-03-31"

FIXTURE_PARAMS: dict[str, dict] = {
    "most_viewed_dashboards": {"days": "30", "as_of": AS_OF},
    "most_updated_assets": {"days": "30", "as_of": AS_OF},
    "popular_datasets": {"days": "30", "as_of": AS_OF},
    "user_activity": {"days": "30", "as_of": AS_OF},
    "idle_authors": {"idle_days": "60", "as_of": AS_OF},
    "unused_datasets": {"days": "90", "as_of": AS_OF},
    "logins_without_views": {"minutes": "30", "days": "30", "as_of": AS_OF},
    "dashboard_viewers": {"dashboard_id": "d-sales", "days": "90", "as_of": AS_OF},
    "dashboard_views_daily": {"dashboard_id": "*", "days": "30", "as_of": AS_OF},
    "dashboard_permissions": {"dashboard_id": "*", "as_of": AS_OF},
    "user_groups": {"as_of": AS_OF},
    "user_events": {"user_name": "QuickSightAuthor/bea", "days": "30", "as_of": AS_OF},
}

S1 = "2024-03-01 06:00:00+00"
S2 = "2024-03-31 06:00:00+00"
S3 = "2024-04-05 06:00:00+00"

EVENT_COLUMNS = (
    "event_id", "event_time", "event_date", "event_version", "event_source", "event_name", "aws_region",
    "recipient_account_id", "account_id", "user_type", "user_name", "principal_arn", "session_issuer_user_name",
    "error_code", "error_message", "read_only", "event_type", "request_parameters", "response_elements",
    "service_event_details", "source_object",
)


def _event(n, time, source, name, user_type, user_name, *, account=A, role=None, error=None, error_message=None,
           read_only=True, event_type="AwsApiCall", request=None, response=None, details=None):
    if user_type == "AssumedRole":
        arn = f"arn:aws:sts::{account}:assumed-role/{role}/{user_name}"
    elif user_type == "IAMUser":
        arn = f"arn:aws:iam::{account}:user/{user_name}"
    else:
        arn = None
    return (
        f"ev-{n:02d}", time + "+00", time[:10], "1.08", source, name, REGION, account, account, user_type, user_name,
        arn, role, error, error_message, read_only, event_type,
        None if request is None else json.dumps(request),
        None if response is None else json.dumps(response),
        None if details is None else json.dumps(details),
        "fixture",
    )


def _saml_login(n, time, session, role, subject):
    return _event(
        n, time, "sts.amazonaws.com", "AssumeRoleWithSAML", "SAMLUser", subject,
        request={"roleArn": f"arn:aws:iam::{A}:role/{role}", "roleSessionName": session,
                 "principalArn": f"arn:aws:iam::{A}:saml-provider/Okta"},
        response={"assumedRoleUser": {"assumedRoleId": f"AROAEXAMPLE:{session}",
                                      "arn": f"arn:aws:sts::{A}:assumed-role/{role}/{session}"},
                  "subject": subject, "subjectType": "persistent"},
    )


def _console_login(n, time, user, ok=True):
    return _event(
        n, time, "signin.amazonaws.com", "ConsoleLogin", "IAMUser", user, read_only=False, event_type="AwsConsoleSignIn",
        response={"ConsoleLogin": "Success" if ok else "Failure"},
        error_message=None if ok else "Failed authentication",
    )


def _view(n, time, user, user_type, dashboard, *, role=None, name=None, where="both", account=A, error=None):
    details = {}
    if where in ("both", "request"):
        details["eventRequestDetails"] = {"dashboardId": dashboard}
    if where in ("both", "response"):
        details["eventResponseDetails"] = {"dashboardDetails": {"dashboardName": name, "dashboardId": dashboard}}
    request = {"dashboardId": dashboard} if where == "parameters" else None
    return _event(n, time, "quicksight.amazonaws.com", "GetDashboard", user_type, user, account=account, role=role,
                  error=error, event_type="AwsServiceEvent", details=details or None, request=request)


def _edit(n, time, name, user, role, asset_key, asset_id, asset_name=None, error=None):
    request = {"awsAccountId": A, asset_key: asset_id}
    if asset_name:
        request["name"] = asset_name
    return _event(n, time, "quicksight.amazonaws.com", name, "AssumedRole", user, role=role, error=error,
                  read_only=False, request=request)


EVENTS = [
    # logins
    _saml_login(1, "2024-03-25 09:00:00", "eve", "QuickSightReader", "eve@example.com"),
    _saml_login(2, "2024-03-28 10:00:00", "eve", "QuickSightReader", "eve@example.com"),
    _saml_login(3, "2024-03-10 08:00:00", "fay", "QuickSightReader", "fay@example.com"),
    _saml_login(4, "2024-03-20 08:30:00", "fay", "QuickSightReader", "fay@example.com"),
    _saml_login(5, "2024-03-29 17:45:00", "fay", "QuickSightReader", "fay@example.com"),
    _saml_login(6, "2024-02-01 12:00:00", "gus", "QuickSightReader", "gus@example.com"),
    _console_login(7, "2024-03-18 15:00:00", "hal"),
    _console_login(8, "2024-03-19 15:00:00", "hal", ok=False),
    _console_login(9, "2024-03-30 07:55:00", "admin-ann"),
    _console_login(10, "2024-03-30 08:00:00", "ci-bot"),
    _saml_login(11, "2024-03-20 12:55:00", "bea", "QuickSightAuthor", "bea@example.com"),
    _saml_login(12, "2024-01-10 09:00:00", "cal", "QuickSightAuthor", "cal@example.com"),
    _saml_login(13, "2024-04-02 09:00:00", "eve", "QuickSightReader", "eve@example.com"),  # after as_of
    # dashboard views
    _view(21, "2024-03-25 09:30:00", "eve", "AssumedRole", "d-sales", role="QuickSightReader", name="Sales overview"),
    _view(22, "2024-03-28 11:00:00", "eve", "AssumedRole", "d-sales", role="QuickSightReader", name="Sales overview"),
    _view(23, "2024-03-20 14:00:00", "bea", "AssumedRole", "d-sales", role="QuickSightAuthor", name="Sales overview", where="response"),
    _view(24, "2024-03-30 08:10:00", "admin-ann", "IAMUser", "d-sales", name="Sales overview"),
    _view(25, "2024-03-15 10:00:00", "eve", "AssumedRole", "d-ops", role="QuickSightReader", where="parameters"),
    _view(26, "2024-02-01 12:10:00", "gus", "AssumedRole", "d-sales", role="QuickSightReader", name="Sales overview"),
    _view(27, "2024-04-02 09:10:00", "eve", "AssumedRole", "d-ops", role="QuickSightReader", name="Operations"),  # after as_of
    _view(28, "2024-03-10 08:05:00", "fay", "AssumedRole", "d-sales", role="QuickSightReader", error="AccessDeniedException"),
    _view(29, "2024-03-16 11:00:00", "ci-bot", "IAMUser", "d-ops", name="Operations"),
    _view(30, "2024-03-26 12:00:00", "eve", "AssumedRole", "d-sales", role="QuickSightReader", name="Sales (account B)", account=B),
    # analysis opens
    _event(31, "2024-03-20 13:00:00", "quicksight.amazonaws.com", "GetAnalysis", "AssumedRole", "bea", role="QuickSightAuthor",
           event_type="AwsServiceEvent", details={"eventRequestDetails": {"analysisId": "a-sales"},
                                                  "eventResponseDetails": {"analysisDetails": {"analysisName": "Sales analysis", "analysisId": "a-sales"}}}),
    _event(32, "2024-01-01 10:00:00", "quicksight.amazonaws.com", "GetAnalysis", "AssumedRole", "bea", role="QuickSightAuthor",
           event_type="AwsServiceEvent", details={"eventRequestDetails": {"analysisId": "a-fin"}}),
    # edits
    _edit(41, "2024-03-20 13:30:00", "UpdateAnalysis", "bea", "QuickSightAuthor", "analysisId", "a-sales", "Sales analysis"),
    _edit(42, "2024-03-21 10:00:00", "UpdateAnalysis", "bea", "QuickSightAuthor", "analysisId", "a-sales", "Sales analysis"),
    _edit(43, "2024-03-21 10:30:00", "UpdateDashboard", "bea", "QuickSightAuthor", "dashboardId", "d-sales", "Sales overview"),
    _edit(44, "2024-03-21 10:31:00", "UpdateDashboardPublishedVersion", "bea", "QuickSightAuthor", "dashboardId", "d-sales"),
    _edit(45, "2024-03-22 09:00:00", "CreateAnalysis", "bea", "QuickSightAuthor", "analysisId", "a-new", "Scratch analysis"),
    _edit(46, "2024-03-05 16:00:00", "DeleteDashboard", "bea", "QuickSightAuthor", "dashboardId", "d-tmp"),
    _edit(47, "2024-01-10 09:30:00", "UpdateAnalysis", "cal", "QuickSightAuthor", "analysisId", "a-hr", "HR analysis"),
    _edit(48, "2024-03-25 16:00:00", "UpdateDashboard", "bea", "QuickSightAuthor", "dashboardId", "d-sales", error="ConflictException"),
    # noise
    _event(51, "2024-03-30 08:01:00", "s3.amazonaws.com", "ListBuckets", "IAMUser", "ci-bot"),
]


def _user(snap, name, role, identity="IAM", email=None, active=True, groups=()):
    short = name.split("/")[-1]
    return (snap, snap[:10], A, REGION, "default", name, f"P-{short}", f"arn:aws:quicksight:{REGION}:{A}:user/default/{name}",
            email or f"{short}@example.com", role, identity, active, list(groups), "fixture")


_S2_USERS = [
    ("admin-ann", "ADMIN"),
    ("QuickSightAuthor/bea", "AUTHOR"),
    ("QuickSightAuthor/cal", "AUTHOR"),
    ("QuickSightAuthor/dan", "AUTHOR"),
    ("QuickSightReader/eve", "READER"),
    ("QuickSightReader/fay", "READER"),
    ("QuickSightReader/gus", "READER"),
    ("hal", "READER"),
]
USERS = (
    [_user(S1, "admin-ann", "ADMIN"), _user(S1, "QuickSightAuthor/bea", "AUTHOR"), _user(S1, "QuickSightAuthor/cal", "READER"),
     _user(S1, "QuickSightReader/old", "READER")]
    + [_user(S2, n, r, groups=["readers"] if r == "READER" else ["authors"]) for n, r in _S2_USERS]
    + [_user(S3, n, "READER" if n.endswith("/dan") else r) for n, r in _S2_USERS]
    + [_user(S3, "QuickSightReader/zed", "READER")]
)


def _asset(snap, type_, id_, name, *, created="2023-06-01 00:00:00+00", updated="2024-02-01 00:00:00+00", mode=None, spice=None,
           ds_type=None):
    return (snap, snap[:10], A, REGION, type_, id_, name, f"arn:aws:quicksight:{REGION}:{A}:{type_}/{id_}", created, updated,
            None, None, mode, spice, ds_type, "fixture")


_S2_ASSETS = [
    ("dashboard", "d-sales", "Sales overview", {}),
    ("dashboard", "d-ops", "Operations", {}),
    ("dashboard", "d-old", "Old report", {}),
    ("analysis", "a-sales", "Sales analysis", {}),
    ("analysis", "a-hr", "HR analysis", {}),
    ("analysis", "a-fin", "Finance analysis", {}),
    ("dataset", "ds-orders", "Orders", {"mode": "SPICE", "spice": 5_000_000_000}),
    ("dataset", "ds-web", "Web sessions", {"mode": "SPICE", "spice": 20_000_000_000}),
    ("dataset", "ds-hr", "HR roster", {"mode": "SPICE", "spice": 1_000_000}),
    ("dataset", "ds-legacy", "Legacy orders", {"mode": "SPICE", "spice": 7_000_000_000, "created": "2022-01-15 00:00:00+00",
                                               "updated": "2023-03-01 00:00:00+00"}),
    ("dataset", "ds-fin", "Finance", {"mode": "SPICE", "spice": 3_000_000_000, "created": "2023-05-01 00:00:00+00",
                                      "updated": "2023-12-01 00:00:00+00"}),
    ("dataset", "ds-direct", "Live inventory", {"mode": "DIRECT_QUERY", "spice": 0, "created": "2023-09-01 00:00:00+00",
                                                "updated": "2023-09-02 00:00:00+00"}),
    ("datasource", "src-athena", "Athena", {"ds_type": "ATHENA"}),
]
ASSETS = (
    [_asset(S1, "dashboard", "d-sales", "Sales (old name)"), _asset(S1, "dashboard", "d-tmp", "Temp board"),
     _asset(S1, "dataset", "ds-orders", "Orders", mode="SPICE", spice=4_000_000_000),
     _asset(S1, "dataset", "ds-gone", "Removed before as_of", mode="SPICE", spice=99_000_000_000)]
    + [_asset(S2, t, i, n, **kw) for t, i, n, kw in _S2_ASSETS]
    + [_asset(S3, t, i, "Sales overview v2" if i == "d-sales" else n, **kw) for t, i, n, kw in _S2_ASSETS]
    + [_asset(S3, "dataset", "ds-new", "Created after as_of", mode="SPICE", spice=50_000_000_000)]
)

_S2_USAGE = [
    ("dashboard", "d-sales", "ds-orders"),
    ("dashboard", "d-ops", "ds-orders"),
    ("dashboard", "d-ops", "ds-web"),
    ("dashboard", "d-old", "ds-legacy"),
    ("analysis", "a-sales", "ds-orders"),
    ("analysis", "a-hr", "ds-hr"),
    ("analysis", "a-fin", "ds-fin"),
]
DATASET_USAGE = (
    [(S1, "dashboard", "d-sales", "ds-orders"), (S1, "dashboard", "d-tmp", "ds-gone"), (S1, "dashboard", "d-old", "ds-orders")]
    + [(S2, *u) for u in _S2_USAGE]
    + [(S3, *u) for u in _S2_USAGE]
    + [(S3, "dashboard", "d-old", "ds-new")]
)

PERMISSIONS = [
    (S2, "dashboard", "d-sales", f"arn:aws:quicksight:{REGION}:{A}:group/default/readers", "group", "readers",
     ["quicksight:DescribeDashboard", "quicksight:ListDashboardVersions", "quicksight:QueryDashboard"]),
    (S2, "dashboard", "d-sales", f"arn:aws:quicksight:{REGION}:{A}:user/default/QuickSightAuthor/bea", "user",
     "QuickSightAuthor/bea", ["quicksight:DescribeDashboard", "quicksight:UpdateDashboard", "quicksight:DeleteDashboard"]),
    (S2, "dataset", "ds-orders", f"arn:aws:quicksight:{REGION}:{A}:user/default/QuickSightAuthor/bea", "user",
     "QuickSightAuthor/bea", ["quicksight:DescribeDataSet", "quicksight:UpdateDataSet", "quicksight:PassDataSet"]),
]


def _insert(con, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    cols = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    con.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)


def build_fixture_lake(path: Path | str) -> Lake:
    """Create a lake at `path` holding the fixture rows; returns the Lake."""
    lake = Lake(path)
    con = lake.connect(create=True)
    try:
        lake.ensure_tables(con)
        snap = ("snapshot_time", "snapshot_date", "account_id", "region")
        with lake.transaction(con):
            _insert(con, "cloudtrail_events", EVENT_COLUMNS, EVENTS)
            _insert(con, "users", snap + ("namespace", "user_name", "principal_id", "arn", "email", "role", "identity_type",
                                          "active", "groups", "source_object"), USERS)
            _insert(con, "assets", snap + ("asset_type", "asset_id", "name", "arn", "created_time", "updated_time",
                                           "last_published_time", "status", "import_mode", "spice_bytes", "datasource_type",
                                           "source_object"), ASSETS)
            _insert(con, "dataset_usage", snap + ("asset_type", "asset_id", "dataset_id", "dataset_arn", "source_object"),
                    [(s, s[:10], A, REGION, t, i, d, f"arn:aws:quicksight:{REGION}:{A}:dataset/{d}", "fixture")
                     for s, t, i, d in DATASET_USAGE])
            _insert(con, "asset_permissions", snap + ("asset_type", "asset_id", "principal_arn", "principal_type",
                                                      "principal_name", "actions", "source_object"),
                    [(s, s[:10], A, REGION, t, i, arn, pt, pn, acts, "fixture") for s, t, i, arn, pt, pn, acts in PERMISSIONS])
        # events were inserted by hand, not ingested: derive bi_events as ingest would
        rebuild(lake, con, "bi_events")
    finally:
        con.close()
    return lake
