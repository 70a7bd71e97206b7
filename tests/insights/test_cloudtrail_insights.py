"""The CloudTrail insights (category `cloudtrail`) on a small lake ingested from real-format
CloudTrail log files (tests/data/cloudtrail_insights, delivery layout, one file per day);
the right answers are written out below, worked out by hand from the records.

Account A (111122223333) unless noted; as_of = 2024-05-31.

  root        04-20 console sign-in (outside every 30-day window); 05-10 console sign-in
              without MFA, CreateAccessKey, GetAccountSummary from 198.51.100.99; 05-22 failed
              sign-in and GetAccountSummary from 203.0.113.50, and a call AWS Support made
              as root (invokedBy support.amazonaws.com: not root use)
  erin        console sign-ins without MFA: 04-30 (too old), 05-15, 05-27 (after a failed
              attempt); and one in account B (444455556666) on 05-18
  dave        console sign-in with MFA 05-12
  frank       IAM Identity Center (assumed role) console sign-in 05-21, MFAUsed No
  deployer    role session ci-run-42: Lambda GetFunction 05-19 14:00 and 05-20 12:59:59, the
              spike 05-20 13:05-13:30 (UpdateFunctionCode x2, GetFunction, a failed
              UpdateFunctionConfiguration), AttachRolePolicy 13:40; EC2 DescribeInstances
              Client.UnauthorizedOperation 05-26
  etl         role session etl-job: Lambda ListFunctions 14:00 and GetFunction 15:59:59 in
              the spike, ListFunctions at 16:00:00 (the exclusive end); iam:GetRole
              AccessDenied five times 05-28 03:00-03:40 and once at 04:10; on 05-31 Athena
              from 10.0.3.17 and Glue via athena.amazonaws.com
  alice       IAM user from 198.51.100.7 (05-10, 05-20, 05-29 denied CreateUser, 05-30
              CreateAccessKey for svc-report, 05-31 09:00) and from 203.0.113.200 on 04-25
              (before the baseline) and 05-31 22:10-22:20 (ListUsers, ListAccessKeys x2)
  bob         IAM user first seen 05-31 from 192.0.2.10 (GetRole denied, ListRoles)
  service     quicksight.amazonaws.com calling KMS 05-31 (AWSService)

The files were generated once with the builders' record shapes of tests/sources/ctgen.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from eventlake.engines.translate import translate
from eventlake.errors import InsightError
from eventlake.insights import get_insight, list_insights, run_insight
from eventlake.lake import Lake
from eventlake.sources.cloudtrail import ingest
from tests.insights.common import duckdb_engine_fixture, empty_lake, run_rows, ts

DATA = Path(__file__).resolve().parents[1] / "data" / "cloudtrail_insights"
A, B = "111122223333", "444455556666"
AS_OF = "2024-05-31"

# Per insight, parameters under which it answers with rows on this fixture.
FIXTURE_PARAMS: dict[str, dict[str, str]] = {
    "cloudtrail_calls_by_principal": {
        "start_time": "2024-05-20T13:00:00Z", "end_time": "2024-05-20T16:00:00Z",
        "event_source": "lambda.amazonaws.com", "event_name": "*",
    },
    "cloudtrail_failed_calls_by_error_code": {"days": "7", "as_of": AS_OF},
    "cloudtrail_console_logins_without_mfa": {"days": "30", "include_federated": "true", "as_of": AS_OF},
    "cloudtrail_root_account_use": {"days": "30", "as_of": AS_OF},
    "cloudtrail_calls_from_new_ips": {"days": "1", "baseline_days": "30", "as_of": AS_OF},
    "cloudtrail_access_denied_spikes": {"min_denials": "5", "days": "7", "as_of": AS_OF},
    "cloudtrail_iam_changes": {"days": "30", "as_of": AS_OF},
}

ALICE = f"arn:aws:iam::{A}:user/alice"
BOB = f"arn:aws:iam::{A}:user/bob"
ERIN = f"arn:aws:iam::{A}:user/erin"
ROOT = f"arn:aws:iam::{A}:root"
DEPLOYER = f"arn:aws:sts::{A}:assumed-role/deployer/ci-run-42"
ETL = f"arn:aws:sts::{A}:assumed-role/etl/etl-job"
FRANK = f"arn:aws:sts::{A}:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/frank@example.com"


def build_cloudtrail_lake(path: Path | str) -> Lake:
    """A lake at `path` holding the fixture's CloudTrail events, ingested from DATA."""
    lake = empty_lake(path)
    stats = ingest(lake, [str(DATA)])
    assert stats.records_loaded == 45 and stats.records_quarantined == 0, stats
    return lake


engine = duckdb_engine_fixture(build_cloudtrail_lake, "cloudtrail_insights")


def run(engine, name, **overrides):
    return run_rows(engine, name, {**FIXTURE_PARAMS[name], **overrides})


def cloudtrail_insights():
    return [i for i in list_insights() if i.category == "cloudtrail"]


def test_every_cloudtrail_insight_has_fixture_params():
    assert sorted(FIXTURE_PARAMS) == [i.name for i in cloudtrail_insights()]


@pytest.mark.parametrize("name", sorted(FIXTURE_PARAMS))
def test_insight_is_documented_and_translates_to_spark(name):
    insight = get_insight(name)
    assert insight.category == "cloudtrail" and insight.description
    assert all(p.description for p in insight.params)
    assert set(translate(insight.sql).parameters) == {p.name for p in insight.params}


@pytest.mark.parametrize("name", sorted(FIXTURE_PARAMS))
def test_runs_with_default_parameters(engine, name):
    required = {p.name: FIXTURE_PARAMS[name][p.name] for p in get_insight(name).params if p.required}
    run_insight(engine, name, required)  # as_of today, end_time now: no error, whatever the rows


# -- cloudtrail_calls_by_principal --------------------------------------------------

CALLS_COLUMNS = ["account_id", "user_type", "principal_arn", "user_name", "invoked_by", "calls", "apis", "services",
                 "failures", "source_ips", "first_call", "last_call"]


def test_calls_by_principal_lambda_spike(engine):
    cols, rows = run(engine, "cloudtrail_calls_by_principal")
    assert cols == CALLS_COLUMNS
    assert rows == [
        # 12:59:59 is before the range; UpdateFunctionConfiguration failed
        (A, "AssumedRole", DEPLOYER, "ci-run-42", None, 4, 3, 1, 1, 1, ts("2024-05-20 13:05"), ts("2024-05-20 13:30")),
        # 16:00:00 is the exclusive end
        (A, "AssumedRole", ETL, "etl-job", None, 2, 2, 1, 0, 1, ts("2024-05-20 14:00"), ts("2024-05-20 15:59:59")),
    ]


def test_calls_by_principal_every_service(engine):
    _, rows = run(engine, "cloudtrail_calls_by_principal", event_source="*")
    assert [(r[2], r[5], r[6], r[7]) for r in rows] == [
        (DEPLOYER, 5, 4, 2),  # + iam AttachRolePolicy
        (ETL, 2, 2, 1),
        (ALICE, 1, 1, 1),  # quicksight DescribeDashboard
    ]


def test_calls_by_principal_one_api_and_offsets(engine):
    _, rows = run(engine, "cloudtrail_calls_by_principal", event_name="UpdateFunctionCode20150331v2",
                  start_time="2024-05-20T15:05:00+02:00", end_time="2024-05-20T13:10:00Z")  # 13:05 inclusive, 13:10 not
    assert rows == [(A, "AssumedRole", DEPLOYER, "ci-run-42", None, 1, 1, 1, 0, 1, ts("2024-05-20 13:05"), ts("2024-05-20 13:05"))]


def test_calls_by_principal_across_midnight(engine):
    _, rows = run(engine, "cloudtrail_calls_by_principal", start_time="2024-05-19T12:00", end_time="2024-05-20T13:00")
    assert rows == [(A, "AssumedRole", DEPLOYER, "ci-run-42", None, 2, 1, 1, 0, 1, ts("2024-05-19 14:00"), ts("2024-05-20 12:59:59"))]


def test_calls_by_principal_aws_service_and_root(engine):
    _, rows = run(engine, "cloudtrail_calls_by_principal", event_source="*", start_time="2024-05-31", end_time="2024-05-31T04:00")
    assert [r[:9] for r in rows] == [
        (A, "AssumedRole", ETL, "etl-job", None, 2, 2, 2, 0),
        (A, "AWSService", None, None, "quicksight.amazonaws.com", 1, 1, 1, 0),
    ]
    _, rows = run(engine, "cloudtrail_calls_by_principal", event_source="signin.amazonaws.com",
                  start_time="2024-05-22", end_time="2024-05-23")
    assert rows == [(A, "Root", ROOT, None, None, 1, 1, 1, 1, 1, ts("2024-05-22 16:58"), ts("2024-05-22 16:58"))]


def test_calls_by_principal_defaults_to_the_last_24_hours(engine):
    ins = get_insight("cloudtrail_calls_by_principal")
    assert (ins.param("start_time").default, ins.param("end_time").default) == ("now-24h", "now")
    assert run_insight(engine, "cloudtrail_calls_by_principal", {}).num_rows == 0  # the fixture is from 2024


# -- cloudtrail_failed_calls_by_error_code ------------------------------------------


def test_failed_calls_by_error_code(engine):
    cols, rows = run(engine, "cloudtrail_failed_calls_by_error_code")
    assert cols == ["error_code", "event_source", "event_name", "failures", "principals", "top_principal",
                    "top_principal_failures", "sample_error_message", "first_failure", "last_failure"]
    denied = "User: {} is not authorized to perform: {} on resource: {} because no identity-based policy allows the {} action"
    assert rows == [
        # etl-job 6 times, bob once; the failed console sign-ins have no errorCode
        ("AccessDenied", "iam.amazonaws.com", "GetRole", 7, 2, ETL, 6,
         denied.format(ETL, "iam:GetRole", "role admin", "iam:GetRole"), ts("2024-05-28 03:00"), ts("2024-05-31 11:00")),
        ("AccessDenied", "iam.amazonaws.com", "CreateUser", 1, 1, ALICE, 1,
         denied.format(ALICE, "iam:CreateUser", f"arn:aws:iam::{A}:user/mallory", "iam:CreateUser"),
         ts("2024-05-29 10:00"), ts("2024-05-29 10:00")),
        ("Client.UnauthorizedOperation", "ec2.amazonaws.com", "DescribeInstances", 1, 1, DEPLOYER, 1,
         "You are not authorized to perform this operation.", ts("2024-05-26 10:00"), ts("2024-05-26 10:00")),
    ]


def test_failed_calls_by_error_code_window(engine):
    _, rows = run(engine, "cloudtrail_failed_calls_by_error_code", days="14")  # 05-18 .. 05-31: the Lambda conflict too
    assert [r[:7] for r in rows] == [
        ("AccessDenied", "iam.amazonaws.com", "GetRole", 7, 2, ETL, 6),
        ("AccessDenied", "iam.amazonaws.com", "CreateUser", 1, 1, ALICE, 1),
        ("Client.UnauthorizedOperation", "ec2.amazonaws.com", "DescribeInstances", 1, 1, DEPLOYER, 1),
        ("ResourceConflictException", "lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2", 1, 1, DEPLOYER, 1),
    ]
    _, rows = run(engine, "cloudtrail_failed_calls_by_error_code", days="3", as_of="2024-05-30")  # 05-28 .. 05-30
    assert [r[:7] for r in rows] == [
        ("AccessDenied", "iam.amazonaws.com", "GetRole", 6, 1, ETL, 6),
        ("AccessDenied", "iam.amazonaws.com", "CreateUser", 1, 1, ALICE, 1),
    ]


# -- cloudtrail_console_logins_without_mfa ------------------------------------------


def test_console_logins_without_mfa(engine):
    cols, rows = run(engine, "cloudtrail_console_logins_without_mfa", include_federated="false")
    assert cols == ["account_id", "user_type", "principal_arn", "user_name", "logins", "source_ips", "first_login",
                    "last_login"]
    assert rows == [
        # 05-15 and 05-27; the failed attempt at 17:58 and the 04-30 sign-in do not count
        (A, "IAMUser", ERIN, "erin", 2, ["203.0.113.80", "203.0.113.81"], ts("2024-05-15 07:30"), ts("2024-05-27 18:00")),
        # root: the 05-22 attempt failed; dave used MFA
        (A, "Root", ROOT, None, 1, ["198.51.100.99"], ts("2024-05-10 08:00"), ts("2024-05-10 08:00")),
        (B, "IAMUser", f"arn:aws:iam::{B}:user/erin", "erin", 1, ["198.51.100.20"], ts("2024-05-18 09:00"),
         ts("2024-05-18 09:00")),
    ]


def test_console_logins_without_mfa_federated_and_window(engine):
    _, rows = run(engine, "cloudtrail_console_logins_without_mfa")  # include_federated=true
    assert [(r[0], r[2], r[4]) for r in rows] == [(A, ERIN, 2), (A, ROOT, 1), (A, FRANK, 1), (B, f"arn:aws:iam::{B}:user/erin", 1)]
    assert rows[2] == (A, "AssumedRole", FRANK, "frank@example.com", 1, ["192.0.2.200"], ts("2024-05-21 09:00:05"),
                       ts("2024-05-21 09:00:05"))
    _, rows = run(engine, "cloudtrail_console_logins_without_mfa", days="1", as_of="2024-05-27")
    assert rows == [(A, "IAMUser", ERIN, "erin", 1, ["203.0.113.81"], ts("2024-05-27 18:00"), ts("2024-05-27 18:00"))]


# -- cloudtrail_root_account_use ----------------------------------------------------


def test_root_account_use(engine):
    cols, rows = run(engine, "cloudtrail_root_account_use")
    assert cols == ["account_id", "event_source", "event_name", "events", "failures", "source_ips", "first_seen", "last_seen"]
    assert rows == [
        # most recent first; the AWS Support call (invokedBy) and the 04-20 sign-in are left out
        (A, "iam.amazonaws.com", "GetAccountSummary", 2, 0, ["198.51.100.99", "203.0.113.50"],
         ts("2024-05-10 08:07"), ts("2024-05-22 17:00")),
        (A, "signin.amazonaws.com", "ConsoleLogin", 2, 1, ["198.51.100.99", "203.0.113.50"],
         ts("2024-05-10 08:00"), ts("2024-05-22 16:58")),
        (A, "iam.amazonaws.com", "CreateAccessKey", 1, 0, ["198.51.100.99"], ts("2024-05-10 08:05"), ts("2024-05-10 08:05")),
    ]


def test_root_account_use_window(engine):
    _, rows = run(engine, "cloudtrail_root_account_use", days="10")  # 05-22 .. 05-31
    assert [r[1:6] for r in rows] == [
        ("iam.amazonaws.com", "GetAccountSummary", 1, 0, ["203.0.113.50"]),
        ("signin.amazonaws.com", "ConsoleLogin", 1, 1, ["203.0.113.50"]),
    ]
    _, rows = run(engine, "cloudtrail_root_account_use", days="30", as_of="2024-05-09")  # 04-10 .. 05-09
    assert [r[1:6] for r in rows] == [("signin.amazonaws.com", "ConsoleLogin", 1, 0, ["198.51.100.99"])]


# -- cloudtrail_calls_from_new_ips --------------------------------------------------


def test_calls_from_new_ips(engine):
    cols, rows = run(engine, "cloudtrail_calls_from_new_ips")
    assert cols == ["account_id", "principal", "user_type", "source_ip_address", "first_seen", "last_seen", "calls", "apis",
                    "baseline_ips"]
    assert rows == [
        # bob was never seen before
        (A, BOB, "IAMUser", "192.0.2.10", ts("2024-05-31 11:00"), ts("2024-05-31 11:05"), 2, 2, 0),
        # alice used 203.0.113.200 on 04-25, before the 30-day baseline (05-01 .. 05-30); her
        # 198.51.100.7 is in it. etl's 10.0.3.17 is known; service host names are skipped.
        (A, ALICE, "IAMUser", "203.0.113.200", ts("2024-05-31 22:10"), ts("2024-05-31 22:20"), 3, 2, 1),
    ]


def test_calls_from_new_ips_windows(engine):
    _, rows = run(engine, "cloudtrail_calls_from_new_ips", baseline_days="40")  # baseline 04-21 .. 05-30
    assert rows == [(A, BOB, "IAMUser", "192.0.2.10", ts("2024-05-31 11:00"), ts("2024-05-31 11:05"), 2, 2, 0)]
    # baseline 05-30 only: etl (keyed on its role, whatever the session) made no call that
    # day; its Glue call through athena.amazonaws.com is not an IP
    _, rows = run(engine, "cloudtrail_calls_from_new_ips", baseline_days="1")
    assert [r[1:4] + r[6:] for r in rows] == [
        (f"arn:aws:iam::{A}:role/etl", "AssumedRole", "10.0.3.17", 1, 1, 0),
        (BOB, "IAMUser", "192.0.2.10", 2, 2, 0),
        (ALICE, "IAMUser", "203.0.113.200", 3, 2, 1),
    ]
    # checked window 05-28 .. 05-31 against 04-28 .. 05-27: etl's 10.0.3.17 is known from the spike
    _, rows = run(engine, "cloudtrail_calls_from_new_ips", days="4")
    assert [(r[1], r[3], r[6]) for r in rows] == [(BOB, "192.0.2.10", 2), (ALICE, "203.0.113.200", 3)]


# -- cloudtrail_access_denied_spikes ------------------------------------------------


def test_access_denied_spikes(engine):
    cols, rows = run(engine, "cloudtrail_access_denied_spikes")
    assert cols == ["account_id", "hour_start", "principal", "user_type", "denials", "apis", "event_names", "source_ips",
                    "first_denial", "last_denial"]
    assert rows == [
        (A, ts("2024-05-28 03:00"), ETL, "AssumedRole", 5, 1, ["GetRole"], ["10.0.3.17"], ts("2024-05-28 03:00"),
         ts("2024-05-28 03:40")),
    ]


def test_access_denied_spikes_every_denial(engine):
    _, rows = run(engine, "cloudtrail_access_denied_spikes", min_denials="1")
    assert [(r[1], r[2], r[4], r[6]) for r in rows] == [
        (ts("2024-05-28 03:00"), ETL, 5, ["GetRole"]),
        (ts("2024-05-26 10:00"), DEPLOYER, 1, ["DescribeInstances"]),  # Client.UnauthorizedOperation
        (ts("2024-05-28 04:00"), ETL, 1, ["GetRole"]),
        (ts("2024-05-29 10:00"), ALICE, 1, ["CreateUser"]),
        (ts("2024-05-31 11:00"), BOB, 1, ["GetRole"]),
    ]


# -- cloudtrail_iam_changes ---------------------------------------------------------


def test_iam_changes(engine):
    cols, rows = run(engine, "cloudtrail_iam_changes")
    assert cols == ["event_time", "account_id", "user_type", "principal_arn", "user_name", "invoked_by", "event_name",
                    "target", "policy", "source_ip_address", "event_id"]
    assert rows == [
        # root's own new access key: no userName in the request
        (ts("2024-05-10 08:05"), A, "Root", ROOT, None, None, "CreateAccessKey", None, None, "198.51.100.99", "ct-011"),
        (ts("2024-05-20 13:40"), A, "AssumedRole", DEPLOYER, "ci-run-42", None, "AttachRolePolicy", "orders-api-exec",
         "arn:aws:iam::aws:policy/AdministratorAccess", "192.0.2.80", "ct-035"),
        # alice's denied CreateUser and every read (GetRole, ListRoles, ListUsers, ...) are not changes
        (ts("2024-05-30 15:00"), A, "IAMUser", ALICE, "alice", None, "CreateAccessKey", "svc-report", None, "198.51.100.7",
         "ct-095"),
    ]
    _, rows = run(engine, "cloudtrail_iam_changes", days="7")
    assert [r[-1] for r in rows] == ["ct-095"]
