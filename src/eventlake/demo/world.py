"""The demo's cast: accounts, regions, QuickSight users, dashboards, analyses, datasets and
data sources, with the behaviour each one shows in the logs. Plain data, drawn from one
seeded random generator so the same seed always builds the same world."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field

MAIN_ACCOUNT = "123456789012"  # QuickSight lives here; plain trail
PROD_ACCOUNT = "234567890123"  # organization trail
DEV_ACCOUNT = "345678901234"  # organization trail
ORG_ID = "o-a1b2c3d4e5"
QS_REGION = "us-east-1"
ACCOUNT_REGIONS: dict[str, tuple[str, ...]] = {
    MAIN_ACCOUNT: ("us-east-1", "eu-west-1"),
    PROD_ACCOUNT: ("us-east-1", "eu-west-1", "us-west-2"),
    DEV_ACCOUNT: ("us-east-1", "us-west-2"),
}
ORG_ACCOUNTS = (PROD_ACCOUNT, DEV_ACCOUNT)
SAML_PROVIDER = "Okta"
IDP_ISSUER = "http://www.okta.com/exk4demo9fq1Lx0Zt5d7"

# behaviour: active | idle (stops `idle_for` days before the end) | login_only (logs in,
# never manages to view) | never (a seat nobody uses)
# (name, role, identity, behaviour, sessions per week, idle_for days)
PEOPLE: tuple[tuple[str, str, str, str, float, int], ...] = (
    ("bi-admin", "ADMIN", "iam", "active", 4.0, 0),
    ("priya", "ADMIN", "federated", "idle", 2.0, 70),
    ("carlos", "AUTHOR", "federated", "active", 5.0, 0),
    ("dana", "AUTHOR", "federated", "active", 4.0, 0),
    ("ethan", "AUTHOR", "federated", "active", 3.0, 0),
    # active 1.5 times a week until exactly 10 days before the end, whatever the end's
    # weekday (the draws of each day depend on it): the console's inactivity window
    # lists her as idle from 10 days on
    ("fatima", "AUTHOR", "federated", "idle", 1.5, 10),
    ("gabe", "AUTHOR", "federated", "idle", 3.0, 75),
    ("hiro", "AUTHOR", "federated", "never", 0.0, 0),
    ("iris", "AUTHOR", "iam", "idle", 2.0, 110),
    ("alice", "READER", "federated", "active", 7.0, 0),
    ("bob", "READER", "federated", "active", 5.0, 0),
    ("chen", "READER", "federated", "active", 4.0, 0),
    ("diego", "READER", "federated", "active", 3.5, 0),
    ("elena", "READER", "federated", "active", 3.0, 0),
    ("farah", "READER", "federated", "active", 3.0, 0),
    ("george", "READER", "federated", "active", 2.5, 0),
    ("hannah", "READER", "federated", "active", 2.5, 0),
    ("ivan", "READER", "federated", "active", 2.0, 0),
    ("julia", "READER", "federated", "active", 2.0, 0),
    ("mateo", "READER", "federated", "active", 1.5, 0),
    ("quentin", "READER", "federated", "active", 1.5, 0),
    ("rosa", "READER", "federated", "active", 1.0, 0),
    ("tanya", "READER", "federated", "active", 1.0, 0),
    ("vera", "READER", "federated", "active", 0.8, 0),
    ("mark.ops", "READER", "iam", "active", 1.5, 0),
    ("kenji", "READER", "federated", "login_only", 2.5, 0),
    ("lena", "READER", "federated", "login_only", 2.0, 0),
    ("nina", "READER", "federated", "login_only", 1.5, 0),
    ("umar", "READER", "federated", "login_only", 1.0, 0),
    ("omar", "READER", "federated", "idle", 2.0, 50),
    ("paula", "READER", "federated", "idle", 2.0, 80),
    ("sven", "READER", "federated", "never", 0.0, 0),
    ("contractor.wei", "READER", "quicksight", "never", 0.0, 0),
)
# joins 3 days before the end: only in the second snapshot
LATE_JOINER = ("wanda", "READER", "federated", "active", 3.0, 0)

ROLE_NAMES = {"ADMIN": "QuickSightAdmin", "AUTHOR": "QuickSightAuthor", "READER": "QuickSightReader"}

DATASOURCES = (
    ("Athena - analytics lake", "ATHENA"),
    ("Redshift - warehouse", "REDSHIFT"),
    ("Postgres - app replica", "POSTGRESQL"),
    ("S3 - partner files", "S3"),
)
# (name, import mode, GiB of SPICE, data source index)
DATASETS = (
    ("Orders", "SPICE", 4.2, 1),
    ("Revenue daily", "SPICE", 0.6, 1),
    ("Opportunities", "SPICE", 1.1, 1),
    ("Web sessions", "SPICE", 9.5, 0),
    ("Campaigns", "SPICE", 0.3, 0),
    ("Support tickets", "SPICE", 2.4, 2),
    ("Inventory (live)", "DIRECT_QUERY", 0.0, 2),
    ("GL entries", "SPICE", 3.3, 1),
    ("Product events", "SPICE", 14.8, 0),
    ("Accounts", "SPICE", 0.4, 2),
    ("Regions", "SPICE", 0.01, 1),
    ("HR roster", "SPICE", 0.05, 3),
    ("Pipeline runs", "DIRECT_QUERY", 0.0, 0),
    ("Legacy orders 2015-2019", "SPICE", 38.0, 1),
    ("Campaigns 2022 archive", "SPICE", 12.5, 0),
    ("Clickstream raw (full history)", "SPICE", 41.7, 0),
    ("Orders - test copy", "SPICE", 5.1, 1),
    ("Pricing experiments", "SPICE", 6.2, 3),
    ("Partner catalog", "SPICE", 0.9, 3),
    ("Vendor feed", "DIRECT_QUERY", 0.0, 3),
)
# (dashboard name or None for an analysis without dashboard, analysis name, owner,
#  popularity weight, dataset names, lifecycle: normal | frozen | deleted | new | early)
#   frozen  - nobody opens or edits it in the whole period
#   deleted - deleted 45 days before the end (in no snapshot)
#   new     - analysis created 10, dashboard 4 days before the end (second snapshot only)
#   early   - only touched more than 100 days before the end
ASSETS = (
    ("Executive KPIs", "Executive KPIs analysis", "carlos", 30, ("Orders", "Revenue daily"), "normal"),
    ("Sales Pipeline", "Sales pipeline analysis", "carlos", 22, ("Opportunities", "Orders"), "normal"),
    ("Marketing Funnel", "Marketing funnel analysis", "dana", 15, ("Web sessions", "Campaigns"), "normal"),
    ("Customer Support SLA", "Support SLA analysis", "dana", 10, ("Support tickets",), "normal"),
    ("Inventory Health", "Inventory analysis", "ethan", 7, ("Inventory (live)",), "normal"),
    ("Finance Monthly Close", "Month-end close analysis", "fatima", 6, ("GL entries",), "normal"),
    ("Product Usage", "Product usage analysis", "ethan", 5, ("Product events", "Accounts"), "normal"),
    ("Regional Sales", "Regional sales analysis", "gabe", 4, ("Orders", "Regions"), "normal"),
    ("HR Headcount", "Headcount analysis", "fatima", 2, ("HR roster",), "normal"),
    ("Data Quality Monitor", "Data quality analysis", "ethan", 1, ("Pipeline runs",), "normal"),
    ("Legacy Orders (2019)", "Legacy orders analysis", "iris", 0, ("Legacy orders 2015-2019",), "frozen"),
    ("Campaign Archive 2022", "Campaign archive analysis", "gabe", 0, ("Campaigns 2022 archive",), "frozen"),
    ("Old Ops Board", "Old ops analysis", "dana", 3, ("Support tickets",), "deleted"),
    ("Partner Portal Preview", "Partner portal analysis", "carlos", 6, ("Partner catalog", "Orders"), "new"),
    (None, "Churn exploration", "dana", 0, ("Accounts", "Product events"), "normal"),
    (None, "Scratch - pricing test", "ethan", 0, ("Pricing experiments",), "early"),
)
GROUPS = (
    ("BI-Readers", "Everyone who reads shared dashboards"),
    ("BI-Authors", "Dashboard and analysis authors"),
    ("Executives", "Leadership team"),
    ("Sales", "Sales and sales operations"),
    ("New-Joiners", "Onboarding: no dashboards shared yet"),
)


@dataclass
class Person:
    name: str  # IAM user name or role session name: what CloudTrail shows as user_name
    role: str  # QuickSight role
    identity: str  # iam | federated | quicksight
    behaviour: str
    per_week: float
    idle_for: int
    email: str
    ip: str
    user_agent: str
    principal_id: str
    joined_days_before_end: int | None = None  # None: before the period
    groups: list[str] = field(default_factory=list)

    @property
    def iam_role(self) -> str:
        return ROLE_NAMES[self.role]

    @property
    def qs_user_name(self) -> str:
        """QuickSight names federated users `<role>/<session>`, IAM users by name."""
        return f"{self.iam_role}/{self.name}" if self.identity == "federated" else self.name


@dataclass
class DataSource:
    id: str
    name: str
    type: str


@dataclass
class DataSet:
    id: str
    name: str
    import_mode: str
    spice_bytes: int
    datasource: DataSource
    created_days_before_end: int


@dataclass
class Analysis:
    id: str
    name: str
    owner: str
    datasets: list[DataSet]
    lifecycle: str
    created_days_before_end: int


@dataclass
class Dashboard:
    id: str
    name: str
    owner: str
    weight: int
    analysis: Analysis
    lifecycle: str
    created_days_before_end: int

    @property
    def datasets(self) -> list[DataSet]:
        return self.analysis.datasets


@dataclass
class World:
    people: list[Person]
    datasources: list[DataSource]
    datasets: list[DataSet]
    analyses: list[Analysis]
    dashboards: list[Dashboard]
    role_ids: dict[tuple[str, str], str]  # (account, role name) -> AROA...

    def person(self, name: str) -> Person:
        return next(p for p in self.people if p.name == name)


BROWSERS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
)


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def random_id(rng: random.Random, prefix: str, n: int = 17, alphabet: str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") -> str:
    return prefix + "".join(rng.choice(alphabet) for _ in range(n))


def build_world(rng: random.Random, days: int) -> World:
    """Everyone and everything in the demo, drawn from `rng`."""
    people = []
    for i, (name, role, identity, behaviour, per_week, idle_for) in enumerate(PEOPLE + (LATE_JOINER,)):
        people.append(
            Person(
                name=name, role=role, identity=identity, behaviour=behaviour, per_week=per_week, idle_for=idle_for,
                email=f"{name.replace('.', '_')}@example.com", ip=f"{rng.choice(('203.0.113', '198.51.100'))}.{10 + i}",
                user_agent=rng.choice(BROWSERS), principal_id=random_id(rng, "AIDA"),
                joined_days_before_end=3 if (name, role) == LATE_JOINER[:2] else None,
            )
        )
    for p in people:
        if p.role in ("ADMIN", "AUTHOR"):
            p.groups.append("BI-Authors")
        elif p.behaviour == "login_only":
            p.groups.append("New-Joiners")
        else:
            p.groups.append("BI-Readers")
            p.groups.append(rng.choice(("Executives", "Sales", "Sales", "BI-Readers")))
        p.groups = sorted(dict.fromkeys(p.groups))
    role_ids = {(MAIN_ACCOUNT, r): random_id(rng, "AROA") for r in ROLE_NAMES.values()}

    datasources = [DataSource(new_uuid(rng), n, t) for n, t in DATASOURCES]
    datasets = []
    for name, mode, gib, src in DATASETS:
        spice = int(gib * 1024**3 * rng.uniform(0.97, 1.03)) if mode == "SPICE" else 0
        datasets.append(DataSet(new_uuid(rng), name, mode, spice, datasources[src], rng.randint(days + 60, days + 400)))
    by_name = {d.name: d for d in datasets}

    analyses, dashboards = [], []
    for dash_name, ana_name, owner, weight, ds_names, lifecycle in ASSETS:
        created = 10 if lifecycle == "new" else rng.randint(days + 20, days + 300)
        analysis = Analysis(new_uuid(rng), ana_name, owner, [by_name[n] for n in ds_names], lifecycle, created)
        analyses.append(analysis)
        if dash_name:
            dash_created = 4 if lifecycle == "new" else created - rng.randint(1, 15)
            dashboards.append(Dashboard(new_uuid(rng), dash_name, owner, weight, analysis, lifecycle, dash_created))
    return World(people, datasources, datasets, analyses, dashboards, role_ids)
