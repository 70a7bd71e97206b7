"""CloudTrail records for the demo: QuickSight usage by the world's people (SAML and
console logins, dashboard views, analysis work, publishing) and management-event noise
from other services, shaped like the records CloudTrail delivers."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from .world import (
    ACCOUNT_REGIONS, BROWSERS, DEV_ACCOUNT, IDP_ISSUER, MAIN_ACCOUNT, PROD_ACCOUNT, QS_REGION, SAML_PROVIDER, Analysis, Dashboard,
    Person, World, new_uuid, random_id,
)

QS = "quicksight.amazonaws.com"
BUSINESS_HOURS = [0.2] * 6 + [1, 3, 6, 8, 8, 7, 5, 7, 8, 7, 6, 4, 2, 1] + [0.5] * 4
SDK_AGENTS = (
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79-99.167.amzn2023.x86_64 exe/x86_64.amzn.2023 prompt/off",
    "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.213 md/arch#x86_64 lang/python#3.11.6 md/pyimpl#CPython "
    "cfg/retry-mode#legacy Botocore/1.34.69",
    "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0 "
    "(+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.0 os/linux lang/go#1.22.1 md/GOOS#linux",
    "aws-sdk-java/2.25.16 Linux/5.10.213 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. "
    "io/sync http/Apache cfg/retry-mode/legacy",
)
CONSOLE_AGENT = "AWS Internal"


def iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Recorder:
    """Collects records per (account, region, day) and what the metadata needs to know."""

    rng: random.Random
    records: dict[tuple[str, str, dt.date], list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    updates: dict[str, list[dt.datetime]] = field(default_factory=lambda: defaultdict(list))  # asset id -> update times
    publishes: dict[str, list[dt.datetime]] = field(default_factory=lambda: defaultdict(list))  # dashboard id -> times
    created: dict[str, dt.datetime] = field(default_factory=dict)  # asset id -> time of its Create* event

    def add(self, when: dt.datetime, account: str, region: str, source: str, name: str, identity: dict, ip: str, agent: str,
            *, req: Any = None, resp: Any = None, read_only: bool = True, event_type: str = "AwsApiCall",
            error: tuple[str | None, str] | None = None, details: dict | None = None, extra: dict | None = None) -> None:
        rng = self.rng
        r: dict[str, Any] = {
            "eventVersion": "1.09" if rng.random() < 0.7 else "1.08",
            "userIdentity": identity,
            "eventTime": iso(when),
            "eventSource": source,
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": ip,
            "userAgent": agent,
        }
        if error:
            if error[0]:
                r["errorCode"] = error[0]
            r["errorMessage"] = error[1]
        r["requestParameters"] = req
        r["responseElements"] = resp
        if extra:
            r["additionalEventData"] = extra
        if details is not None:
            r["serviceEventDetails"] = details
        r["requestID"] = new_uuid(rng)
        r["eventID"] = new_uuid(rng)
        r["readOnly"] = read_only
        r["eventType"] = event_type
        r["managementEvent"] = True
        r["recipientAccountId"] = account
        r["eventCategory"] = "Management"
        if event_type == "AwsApiCall" and not ip.endswith(".amazonaws.com"):
            host = source if source.startswith(("iam.", "sts.", "signin.")) else source.replace(".amazonaws.com", f".{region}.amazonaws.com")
            r["tlsDetails"] = {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": host}
        if agent.startswith("Mozilla") or agent == CONSOLE_AGENT:
            r["sessionCredentialFromConsole"] = "true"
        self.records[(account, region, when.date())].append(r)


# -- identities -----------------------------------------------------------------------


def iam_user(account: str, name: str, principal_id: str, key: str, console_login: dt.datetime | None = None) -> dict:
    ident = {"type": "IAMUser", "principalId": principal_id, "arn": f"arn:aws:iam::{account}:user/{name}", "accountId": account,
             "accessKeyId": key, "userName": name}
    if console_login:
        ident["sessionContext"] = {"sessionIssuer": {}, "webIdFederationData": {},
                                   "attributes": {"creationDate": iso(console_login), "mfaAuthenticated": "true"}}
    return ident


def assumed_role(account: str, role: str, role_id: str, session: str, key: str, created: dt.datetime) -> dict:
    return {
        "type": "AssumedRole", "principalId": f"{role_id}:{session}", "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
        "accountId": account, "accessKeyId": key,
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "principalId": role_id, "arn": f"arn:aws:iam::{account}:role/{role}",
                              "accountId": account, "userName": role},
            "webIdFederationData": {},
            "attributes": {"creationDate": iso(created), "mfaAuthenticated": "false"},
        },
    }


def aws_service(service: str) -> dict:
    return {"type": "AWSService", "invokedBy": service}


# -- QuickSight usage -----------------------------------------------------------------


class QuickSightActivity:
    """One person's sessions: a login, then views, analysis work or admin calls."""

    def __init__(self, rec: Recorder, world: World, end: dt.date, days: int):
        self.rec, self.world, self.end, self.days = rec, world, end, days
        self.rng = rec.rng
        self.idp_hash = "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyz0123456789+/") for _ in range(28)) + "="

    # which assets exist on a day
    def dashboards_on(self, day: dt.date) -> list[Dashboard]:
        age = (self.end - day).days
        out = []
        for d in self.world.dashboards:
            if d.lifecycle == "frozen" or (d.lifecycle == "new" and age >= 4) or (d.lifecycle == "deleted" and age <= 45):
                continue
            out.append(d)
        return out

    def analyses_of(self, owner: str, day: dt.date, shared: bool = False) -> list[Analysis]:
        """The analyses `owner` works on that day (with `shared`, everyone's current ones)."""
        age = (self.end - day).days
        out = []
        for a in self.world.analyses:
            if (a.owner != owner and not shared) or a.lifecycle == "frozen" or (a.lifecycle == "new" and age >= 10):
                continue
            if (a.lifecycle == "deleted" and age <= 45) or (a.lifecycle == "early" and age <= 100):
                continue
            out.append(a)
        return out

    def active_on(self, p: Person, day: dt.date) -> bool:
        age = (self.end - day).days
        if p.behaviour == "never" or (p.behaviour == "idle" and age < p.idle_for):
            return False
        return p.joined_days_before_end is None or age <= p.joined_days_before_end

    def day(self, day: dt.date) -> None:
        rng = self.rng
        weekend = day.weekday() >= 5
        for p in self.world.people:
            if not self.active_on(p, day):
                continue
            if p.behaviour == "idle" and (self.end - day).days == p.idle_for:  # the last time they came by
                self.session(p, dt.datetime.combine(day, dt.time(9)) + dt.timedelta(seconds=rng.randrange(28800)))
                continue
            chance = p.per_week / 7 * (0.25 if weekend else 1.25)
            sessions = (1 if rng.random() < chance else 0) + (1 if chance > 0.7 and rng.random() < chance - 0.7 else 0)
            for _ in range(sessions):
                hour = rng.choices(range(24), BUSINESS_HOURS)[0]
                self.session(p, dt.datetime.combine(day, dt.time(hour)) + dt.timedelta(seconds=rng.randrange(3600)))
        self.scripted(day)

    def session(self, p: Person, t: dt.datetime) -> None:
        rng = self.rng
        ident, t = self.login(p, t)
        day = t.date()
        if p.behaviour == "login_only":  # nothing is shared with them yet
            t += dt.timedelta(seconds=rng.randint(20, 300))
            if rng.random() < 0.6:
                self.qs_call(p, ident, t, "ListDashboards", {"awsAccountId": MAIN_ACCOUNT})
            if rng.random() < 0.3 and self.dashboards_on(day):
                d = rng.choice(self.dashboards_on(day))
                self.view(p, ident, t + dt.timedelta(seconds=rng.randint(5, 60)), d, denied=True)
            return
        if p.role == "ADMIN":
            for name in rng.sample(("ListUsers", "DescribeUser", "ListGroups", "DescribeGroup", "ListDashboards"), 2):
                t += dt.timedelta(seconds=rng.randint(10, 240))
                self.qs_call(p, ident, t, name, {"awsAccountId": MAIN_ACCOUNT, "namespace": "default"})
            if rng.random() < 0.5:
                self.views(p, ident, t, rng.randint(1, 2))
            return
        if p.role == "AUTHOR":
            self.author_work(p, ident, t)
            return
        if rng.random() < 0.12:  # logs in and leaves, or comes back much later
            if rng.random() < 0.5:
                self.views(p, ident, t + dt.timedelta(minutes=rng.randint(35, 120)), 1)
            return
        self.views(p, ident, t, rng.choices((1, 2, 3, 4, 5), (30, 30, 20, 12, 8))[0])

    def login(self, p: Person, t: dt.datetime) -> tuple[dict, dt.datetime]:
        rng, acct = self.rng, MAIN_ACCOUNT
        if p.identity == "iam":
            if rng.random() < 0.04:
                self.rec.add(t, acct, QS_REGION, "signin.amazonaws.com", "ConsoleLogin",
                             {"type": "IAMUser", "principalId": p.principal_id, "accountId": acct, "userName": p.name},
                             p.ip, p.user_agent, resp={"ConsoleLogin": "Failure"}, read_only=False, event_type="AwsConsoleSignIn",
                             error=(None, "Failed authentication"),
                             extra={"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": "No"})
                t += dt.timedelta(seconds=rng.randint(20, 90))
            self.rec.add(t, acct, QS_REGION, "signin.amazonaws.com", "ConsoleLogin", iam_user(acct, p.name, p.principal_id, ""),
                         p.ip, p.user_agent, resp={"ConsoleLogin": "Success"}, read_only=False, event_type="AwsConsoleSignIn",
                         extra={"LoginTo": "https://quicksight.aws.amazon.com/sn/start", "MobileVersion": "No",
                                "MFAIdentifier": f"arn:aws:iam::{acct}:mfa/{p.name}", "MFAUsed": "Yes"})
            key = random_id(rng, "ASIA", 16)
            return iam_user(acct, p.name, p.principal_id, key, console_login=t), t
        role, role_id = p.iam_role, self.world.role_ids[(acct, p.iam_role)]
        key = random_id(rng, "ASIA", 16)
        arn = f"arn:aws:sts::{acct}:assumed-role/{role}/{p.name}"
        self.rec.add(
            t, acct, QS_REGION, "sts.amazonaws.com", "AssumeRoleWithSAML",
            {"type": "SAMLUser", "principalId": f"{self.idp_hash}:{p.email}", "userName": p.email, "identityProvider": self.idp_hash},
            p.ip, p.user_agent,
            req={"sAMLAssertionID": "_" + new_uuid(rng).replace("-", ""), "roleSessionName": p.name,
                 "roleArn": f"arn:aws:iam::{acct}:role/{role}", "principalArn": f"arn:aws:iam::{acct}:saml-provider/{SAML_PROVIDER}",
                 "durationSeconds": 3600},
            resp={"credentials": {"accessKeyId": key, "sessionToken": "IQoJb3JpZ2luX2VjE" + random_id(rng, "", 40),
                                  "expiration": (t + dt.timedelta(hours=1)).strftime("%b %d, %Y, %I:%M:%S %p")},
                  "assumedRoleUser": {"assumedRoleId": f"{role_id}:{p.name}", "arn": arn}, "packedPolicySize": 6,
                  "subject": p.email, "subjectType": "persistent", "issuer": IDP_ISSUER,
                  "audience": "https://signin.aws.amazon.com/saml", "nameQualifier": self.idp_hash},
        )
        return assumed_role(acct, role, role_id, p.name, key, t), t

    def qs_call(self, p: Person, ident: dict, t: dt.datetime, name: str, req: dict) -> None:
        self.rec.add(t, MAIN_ACCOUNT, QS_REGION, QS, name, ident, p.ip, p.user_agent, req=req)

    def views(self, p: Person, ident: dict, t: dt.datetime, n: int) -> None:
        rng = self.rng
        dashboards = self.dashboards_on(t.date())
        if not dashboards:
            return
        for i in range(n):
            t += dt.timedelta(seconds=rng.randint(20, 480) if i == 0 else rng.randint(30, 720))
            self.view(p, ident, t, rng.choices(dashboards, [d.weight for d in dashboards])[0])

    def view(self, p: Person, ident: dict, t: dt.datetime, d: Dashboard, denied: bool = False) -> None:
        details = {"eventRequestDetails": {"dashboardId": d.id}}
        if denied:
            self.rec.add(t, MAIN_ACCOUNT, QS_REGION, QS, "GetDashboard", ident, p.ip, p.user_agent, event_type="AwsServiceEvent",
                         error=("AccessDeniedException", f"User: {ident['arn']} is not authorized to access this dashboard"),
                         details=details)
            return
        details["eventResponseDetails"] = {"dashboardDetails": {"dashboardName": d.name, "dashboardId": d.id,
                                                                "analysisIdList": [d.analysis.id]}}
        self.rec.add(t, MAIN_ACCOUNT, QS_REGION, QS, "GetDashboard", ident, p.ip, p.user_agent, event_type="AwsServiceEvent",
                     details=details)

    def open_analysis(self, p: Person, ident: dict, t: dt.datetime, a: Analysis) -> None:
        details = {"eventRequestDetails": {"analysisId": a.id},
                   "eventResponseDetails": {"analysisDetails": {"analysisName": a.name, "analysisId": a.id,
                                                                "dataSetIds": [ds.id for ds in a.datasets]}}}
        self.rec.add(t, MAIN_ACCOUNT, QS_REGION, QS, "GetAnalysis", ident, p.ip, p.user_agent, event_type="AwsServiceEvent",
                     details=details)

    def edit(self, p: Person, ident: dict, t: dt.datetime, name: str, asset: Analysis | Dashboard, version: int | None = None) -> None:
        acct = MAIN_ACCOUNT
        kind = "dashboard" if isinstance(asset, Dashboard) else "analysis"
        key = "dashboardId" if kind == "dashboard" else "analysisId"
        arn = f"arn:aws:quicksight:{QS_REGION}:{acct}:{kind}/{asset.id}"
        req: dict[str, Any] = {"awsAccountId": acct, key: asset.id}
        resp: dict[str, Any] = {"arn": arn, key: asset.id, "requestId": new_uuid(self.rng), "status": 200}
        if name.startswith(("Create", "Update")) and name != "UpdateDashboardPublishedVersion":
            req["name"] = asset.name
        if name == "UpdateDashboardPublishedVersion":
            req["versionNumber"] = version
            self.rec.publishes[asset.id].append(t)
        elif kind == "dashboard" and name != "DeleteDashboard":
            req["sourceEntity"] = {"sourceTemplate": None, "sourceAnalysis": {"arn": arn.replace("dashboard/", "analysis/")}}
            resp["versionArn"] = f"{arn}/version/{len(self.rec.publishes[asset.id]) + 2}"
            resp["creationStatus"] = "CREATION_IN_PROGRESS"
        if name.startswith("Create"):
            self.rec.created.setdefault(asset.id, t)
        if not name.startswith("Delete"):
            self.rec.updates[asset.id].append(t)
        self.rec.add(t, acct, QS_REGION, QS, name, ident, p.ip, p.user_agent, req=req, resp=resp, read_only=False)

    def author_work(self, p: Person, ident: dict, t: dt.datetime) -> None:
        rng = self.rng
        analyses = self.analyses_of(p.name, t.date(), shared=rng.random() < 0.15)  # now and then, a colleague's
        for _ in range(rng.randint(1, 3) if analyses else 0):
            a = rng.choice(analyses)
            t += dt.timedelta(seconds=rng.randint(30, 600))
            self.open_analysis(p, ident, t, a)
            for _ in range(rng.choices((0, 1, 2, 3), (25, 40, 25, 10))[0]):
                t += dt.timedelta(seconds=rng.randint(60, 1200))
                self.edit(p, ident, t, "UpdateAnalysis", a)
            dash = next((d for d in self.dashboards_on(t.date()) if d.analysis is a), None)
            if dash and rng.random() < 0.3:
                t += dt.timedelta(seconds=rng.randint(60, 600))
                self.edit(p, ident, t, "UpdateDashboard", dash)
                t += dt.timedelta(seconds=rng.randint(5, 90))
                self.edit(p, ident, t, "UpdateDashboardPublishedVersion", dash, version=len(self.rec.publishes[dash.id]) + 2)
        if rng.random() < 0.5:
            self.views(p, ident, t, rng.randint(1, 2))

    def scripted(self, day: dt.date) -> None:
        """The storyline: a new dashboard, a deleted one, an analysis last touched long ago."""
        age = (self.end - day).days
        world, rng = self.world, self.rng
        at = dt.datetime.combine(day, dt.time(10)) + dt.timedelta(seconds=rng.randrange(7200))
        if age in (10, 4):
            dash = next(d for d in world.dashboards if d.lifecycle == "new")
            p = world.person(dash.owner)
            ident, at = self.login(p, at)
            if age == 10:
                self.edit(p, ident, at + dt.timedelta(minutes=3), "CreateAnalysis", dash.analysis)
            else:
                self.edit(p, ident, at + dt.timedelta(minutes=2), "CreateDashboard", dash)
                self.edit(p, ident, at + dt.timedelta(minutes=3), "UpdateDashboardPublishedVersion", dash, version=1)
        if age == 45:
            dash = next(d for d in world.dashboards if d.lifecycle == "deleted")
            p = world.person(dash.owner)
            ident, at = self.login(p, at)
            self.edit(p, ident, at + dt.timedelta(minutes=4), "DeleteDashboard", dash)
            self.edit(p, ident, at + dt.timedelta(minutes=5), "DeleteAnalysis", dash.analysis)
        if age == min(self.days - 1, 105) and age > 100:
            a = next(x for x in world.analyses if x.lifecycle == "early")
            p = world.person(a.owner)
            ident, at = self.login(p, at)
            self.open_analysis(p, ident, at + dt.timedelta(minutes=1), a)
            self.edit(p, ident, at + dt.timedelta(minutes=9), "UpdateAnalysis", a)


# -- noise from other services ---------------------------------------------------------

# (event source, event name, read only, weight, actor kind)
NOISE = (
    ("ec2.amazonaws.com", "DescribeInstances", True, 20, "auto"),
    ("ec2.amazonaws.com", "DescribeSecurityGroups", True, 6, "auto"),
    ("ec2.amazonaws.com", "DescribeVolumes", True, 5, "service"),
    ("ec2.amazonaws.com", "RunInstances", False, 1, "ci"),
    ("ec2.amazonaws.com", "TerminateInstances", False, 1, "service"),
    ("ec2.amazonaws.com", "CreateTags", False, 2, "ci"),
    ("s3.amazonaws.com", "ListBuckets", True, 6, "human"),
    ("s3.amazonaws.com", "GetBucketLocation", True, 8, "auto"),
    ("s3.amazonaws.com", "GetBucketAcl", True, 4, "service"),
    ("s3.amazonaws.com", "PutBucketPolicy", False, 0.3, "ci"),
    ("s3.amazonaws.com", "CreateBucket", False, 0.2, "ci"),
    ("iam.amazonaws.com", "ListRoles", True, 4, "human"),
    ("iam.amazonaws.com", "GetRole", True, 5, "ci"),
    ("iam.amazonaws.com", "ListAttachedRolePolicies", True, 3, "ci"),
    ("iam.amazonaws.com", "CreateRole", False, 0.3, "ci"),
    ("iam.amazonaws.com", "AttachRolePolicy", False, 0.3, "ci"),
    ("sts.amazonaws.com", "AssumeRole", True, 15, "service"),
    ("sts.amazonaws.com", "GetCallerIdentity", True, 5, "ci"),
    ("lambda.amazonaws.com", "ListFunctions20150331", True, 3, "human"),
    ("lambda.amazonaws.com", "GetFunction20150331v2", True, 3, "ci"),
    ("lambda.amazonaws.com", "UpdateFunctionCode20150331v2", False, 1, "ci"),
    ("kms.amazonaws.com", "Decrypt", True, 12, "service"),
    ("kms.amazonaws.com", "GenerateDataKey", True, 6, "service"),
    ("logs.amazonaws.com", "CreateLogStream", False, 5, "service"),
    ("cloudformation.amazonaws.com", "DescribeStacks", True, 3, "ci"),
    ("monitoring.amazonaws.com", "DescribeAlarms", True, 3, "auto"),
)
DAILY_NOISE = {MAIN_ACCOUNT: 40, PROD_ACCOUNT: 60, DEV_ACCOUNT: 40}
SERVICES_BY_SOURCE = {
    "ec2.amazonaws.com": "autoscaling.amazonaws.com", "s3.amazonaws.com": "config.amazonaws.com",
    "sts.amazonaws.com": "lambda.amazonaws.com", "kms.amazonaws.com": "s3.amazonaws.com", "logs.amazonaws.com": "lambda.amazonaws.com",
}
FUNCTIONS = ("order-processor", "invoice-export", "nightly-compaction", "slack-notifier")


class Noise:
    """Management events of an ordinary AWS estate: automation, CI, people, services."""

    def __init__(self, rec: Recorder):
        self.rec, self.rng = rec, rec.rng
        rng = self.rng
        self.keys = {(a, u): random_id(rng, "AKIA", 16) for a in ACCOUNT_REGIONS for u in ("ci-deploy", "terraform")}
        self.ids = {(a, u): random_id(rng, "AIDA") for a in ACCOUNT_REGIONS for u in ("ci-deploy", "terraform", "dev-sam")}
        self.role_ids = {(a, r): random_id(rng, "AROA") for a in ACCOUNT_REGIONS
                         for r in ("OpsAutomation", "AWSReservedSSO_AdministratorAccess_5d2f7a1c9e3b8f04", "order-processor-role")}
        self.admins = ("jdoe", "asmith", "mkowalski", "lnguyen")

    def actor(self, kind: str, account: str, source: str, t: dt.datetime) -> tuple[dict, str, str]:
        rng = self.rng
        if kind == "service":
            svc = SERVICES_BY_SOURCE.get(source, "cloudformation.amazonaws.com")
            return aws_service(svc), svc, svc
        if kind == "ci":
            user = rng.choice(("ci-deploy", "terraform"))
            ident = iam_user(account, user, self.ids[(account, user)], self.keys[(account, user)])
            return ident, f"192.0.2.{rng.randint(10, 20)}", rng.choice(SDK_AGENTS[1:3])
        if kind == "auto":
            role = "OpsAutomation"
            session = f"i-0{rng.getrandbits(64):016x}"[:19]
            return (assumed_role(account, role, self.role_ids[(account, role)], session, random_id(rng, "ASIA", 16),
                                 t - dt.timedelta(minutes=rng.randint(1, 50))),
                    f"192.0.2.{rng.randint(100, 140)}", rng.choice(SDK_AGENTS[:2] + SDK_AGENTS[3:]))
        role = "AWSReservedSSO_AdministratorAccess_5d2f7a1c9e3b8f04"
        return (assumed_role(account, role, self.role_ids[(account, role)], rng.choice(self.admins), random_id(rng, "ASIA", 16),
                             t - dt.timedelta(minutes=rng.randint(1, 300))),
                f"198.51.100.{rng.randint(60, 90)}", rng.choice((CONSOLE_AGENT, SDK_AGENTS[0])))

    def day(self, day: dt.date) -> None:
        rng = self.rng
        weekend = day.weekday() >= 5
        for account, regions in ACCOUNT_REGIONS.items():
            for region in regions:
                n = int(DAILY_NOISE[account] * (0.55 if weekend else 1.0) * rng.uniform(0.7, 1.3))
                choices = [x for x in NOISE if region == "us-east-1" or not x[0].startswith("iam.")]
                for source, name, read_only, _, kind in rng.choices(choices, [x[3] for x in choices], k=n):
                    hour = rng.randrange(24) if kind in ("auto", "service") else rng.choices(range(24), BUSINESS_HOURS)[0]
                    t = dt.datetime.combine(day, dt.time(hour)) + dt.timedelta(seconds=rng.randrange(3600))
                    self.one(account, region, t, source, name, read_only, kind)
        if day.weekday() == 0:  # the root user signs in now and then (weekly checks)
            t = dt.datetime.combine(day, dt.time(9)) + dt.timedelta(seconds=rng.randrange(20000))
            self.rec.add(t, DEV_ACCOUNT, "us-east-1", "signin.amazonaws.com", "ConsoleLogin",
                         {"type": "Root", "principalId": DEV_ACCOUNT, "arn": f"arn:aws:iam::{DEV_ACCOUNT}:root",
                          "accountId": DEV_ACCOUNT, "accessKeyId": ""},
                         "198.51.100.7", BROWSERS[0], resp={"ConsoleLogin": "Success"},
                         read_only=False, event_type="AwsConsoleSignIn",
                         extra={"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": "Yes"})
        if not weekend and rng.random() < 0.5:  # a developer (no BI seat) signs in to the console
            t = dt.datetime.combine(day, dt.time(8)) + dt.timedelta(seconds=rng.randrange(30000))
            self.rec.add(t, PROD_ACCOUNT, "us-east-1", "signin.amazonaws.com", "ConsoleLogin",
                         iam_user(PROD_ACCOUNT, "dev-sam", self.ids[(PROD_ACCOUNT, "dev-sam")], ""), "198.51.100.33",
                         CONSOLE_AGENT, resp={"ConsoleLogin": "Success"}, read_only=False, event_type="AwsConsoleSignIn",
                         extra={"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": "Yes"})

    def one(self, account: str, region: str, t: dt.datetime, source: str, name: str, read_only: bool, kind: str) -> None:
        rng = self.rng
        ident, ip, agent = self.actor(kind, account, source, t)
        bucket = f"acme-{rng.choice(('data', 'logs', 'artifacts', 'exports'))}-{account[-4:]}-{region}"
        fn = rng.choice(FUNCTIONS)
        req: Any = None
        resp: Any = None
        if name == "AssumeRole":
            role = "order-processor-role"
            req = {"roleArn": f"arn:aws:iam::{account}:role/{role}", "roleSessionName": fn, "durationSeconds": 3600}
            resp = {"credentials": {"accessKeyId": random_id(rng, "ASIA", 16),
                                    "expiration": (t + dt.timedelta(hours=1)).strftime("%b %d, %Y, %I:%M:%S %p")},
                    "assumedRoleUser": {"assumedRoleId": f"{self.role_ids[(account, role)]}:{fn}",
                                        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{fn}"}}
        elif source == "s3.amazonaws.com" and name != "ListBuckets":
            req = {"bucketName": bucket, "Host": f"{bucket}.s3.{region}.amazonaws.com", name.replace("Bucket", "").lower(): ""}
        elif name == "DescribeInstances":
            req = {"instancesSet": {}, "filterSet": {"items": [{"name": "tag:team", "valueSet": {"items": [{"value": "data"}]}}]}}
        elif name in ("RunInstances", "TerminateInstances", "CreateTags"):
            iid = f"i-0{rng.getrandbits(64):016x}"[:19]
            req = {"instancesSet": {"items": [{"instanceId": iid}]}}
            resp = {"requestId": new_uuid(rng), "instancesSet": {"items": [{"instanceId": iid}]}}
        elif source == "lambda.amazonaws.com" and name != "ListFunctions20150331":
            req = {"functionName": fn}
        elif source == "kms.amazonaws.com":
            req = {"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": {"aws:s3:arn": f"arn:aws:s3:::{bucket}"}}
        elif name == "CreateLogStream":
            req = {"logGroupName": f"/aws/lambda/{fn}", "logStreamName": f"{t:%Y/%m/%d}/[$LATEST]{rng.getrandbits(128):032x}"}
        elif source == "iam.amazonaws.com" and name != "ListRoles":
            req = {"roleName": rng.choice(("order-processor-role", "OpsAutomation", "quicksight-service-role"))}
        elif name == "DescribeStacks":
            req = {"stackName": rng.choice(("network", "data-platform", "bi-ingest"))}
        error = None
        if kind in ("human", "ci") and rng.random() < 0.03:
            code = "Client.UnauthorizedOperation" if source.startswith("ec2") else "AccessDenied"
            error = (code, f"User: {ident.get('arn', '')} is not authorized to perform: {source.split('.')[0]}:{name}")
            resp = None
        elif kind == "auto" and rng.random() < 0.01:
            error = ("ThrottlingException", "Rate exceeded")
        self.rec.add(t, account, region, source, name, ident, ip, agent, req=req, resp=resp, read_only=read_only, error=error)
