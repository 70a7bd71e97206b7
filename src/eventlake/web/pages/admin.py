"""`/admin`: the BI admin console, after the published QuickSight admin console. Four
tabs (`?tab=overview|users|dashboards|datasets`) over the BI insights, the same GET
controls on each (inactivity window, start/end date, account, region: the URL is the
state, so a view is shareable), and two detail pages:

    /admin/users/{account_id}/{user_name}         a user's logins/views/edits over time,
                                                  dashboards viewed, recent events
    /admin/dashboards/{account_id}/{dashboard_id} a dashboard's views per day, viewers,
                                                  owners and viewers from its permissions

Controls map to insight parameters: start/end to `days` = end - start + 1 and
`as_of` = end; the inactivity window (days, or months of 30 days) to `idle_days`, and to
`days` of the insights that judge activity (user_activity, unused_datasets). Account and
region filter an insight's rows by wrapping its SQL in a SELECT whose conditions are bound
parameters. The queries a tab needs run side by side, each on its own cursor, under the
viewer's scope (web/scopes.py; kept in `Filters.scope`): the rewrite applies to the
insight and to the wrapping SELECT, and a tab whose insights read a table the viewer may
not see shows the policy's refusal instead."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request

from ...errors import EventlakeError
from ...governance.policy import Scope
from ...insights import get_insight
from ..app import console_of, require
from ..queries import Result
from ..render import query, size
from ..scopes import cache_key, failed, refused, scope_of

router = APIRouter()
NAV = ("Admin console", "/admin", "reader")

TABS = (("overview", "Overview"), ("users", "Users"), ("dashboards", "Dashboards"), ("datasets", "Datasets"))
AUTHOR_ROLES = frozenset({"ADMIN", "AUTHOR", "ADMIN_PRO", "AUTHOR_PRO"})
READER_ROLES = frozenset({"READER", "READER_PRO"})
DEFAULT_PERIOD = 30  # days ending today
DEFAULT_IDLE = 30
MAX_DAYS = 3660
MONTH_DAYS = 30
TOP = 5  # dashboards in the trend chart, the viewers panel and the overview
RECENT_EVENTS = 50
VIEWERS_SHOWN = 10  # per dashboard on the dashboards tab (the detail page lists them all)
# insights whose rows carry a region (the region control filters them; users are per account)
REGIONAL = frozenset({"most_viewed_dashboards", "dashboard_viewers", "dashboard_views_daily", "dashboard_permissions",
                      "popular_datasets", "unused_datasets", "most_updated_assets"})

SCOPES_TTL = 30.0

_SCOPES = """
SELECT DISTINCT account_id, region FROM bi_events WHERE account_id IS NOT NULL
UNION SELECT DISTINCT account_id, region FROM assets WHERE account_id IS NOT NULL
UNION SELECT DISTINCT account_id, region FROM users WHERE account_id IS NOT NULL
ORDER BY account_id, region
"""


# -- controls --------------------------------------------------------------------


@dataclass
class Filters:
    """The page's controls, parsed: the period, the inactivity window, account and region."""

    start: dt.date
    end: dt.date
    idle: int
    unit: str  # days | months
    account: str = "*"
    region: str = "*"
    errors: list[str] = field(default_factory=list)
    scope: Scope | None = None  # whose policy the page's queries run under (None: an admin's, none)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def idle_days(self) -> int:
        return self.idle * MONTH_DAYS if self.unit == "months" else self.idle

    @property
    def idle_label(self) -> str:
        if self.unit == "months":
            return f"{self.idle} month{'s' if self.idle != 1 else ''} ({self.idle_days} days)"
        return f"{self.idle} day{'s' if self.idle != 1 else ''}"

    def params(self) -> dict[str, Any]:
        """The controls as query-string values (for links that keep them)."""
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "idle": self.idle, "unit": self.unit,
                "account": None if self.account == "*" else self.account, "region": None if self.region == "*" else self.region}

    def detail_params(self) -> dict[str, Any]:
        """What a detail page keeps: the period and the inactivity window."""
        return {k: v for k, v in self.params().items() if k not in ("account", "region")}


def _date(text: str | None, default: dt.date, what: str, errors: list[str]) -> dt.date:
    if not text:
        return default
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        errors.append(f"{what} must be a date (YYYY-MM-DD), got {text!r}: using {default.isoformat()}")
        return default


def parse_filters(request: Request) -> Filters:
    """The controls from the query string; a bad value is replaced by its default and
    reported (never an error page)."""
    q = request.query_params
    errors: list[str] = []
    today = dt.datetime.now(dt.timezone.utc).date()
    end = _date(q.get("end"), today, "end", errors)
    start = _date(q.get("start"), end - dt.timedelta(days=DEFAULT_PERIOD - 1), "start", errors)
    if start > end:
        errors.append(f"start {start.isoformat()} is after end {end.isoformat()}: swapped them")
        start, end = end, start
    if (end - start).days + 1 > MAX_DAYS:
        start = end - dt.timedelta(days=MAX_DAYS - 1)
        errors.append(f"the period is limited to {MAX_DAYS} days: starting on {start.isoformat()}")
    unit = q.get("unit", "days")
    if unit not in ("days", "months"):
        errors.append(f"unit must be days or months, got {unit!r}")
        unit = "days"
    idle_text = (q.get("idle") or "").strip()
    idle = DEFAULT_IDLE if unit == "days" else 1
    if idle_text:
        if idle_text.isdigit() and 1 <= int(idle_text) <= (MAX_DAYS if unit == "days" else MAX_DAYS // MONTH_DAYS):
            idle = int(idle_text)
        else:
            errors.append(f"the inactivity window must be a whole number of {unit} from 1, got {idle_text!r}: using {idle}")
    return Filters(start, end, idle, unit, (q.get("account") or "*").strip() or "*", (q.get("region") or "*").strip() or "*", errors,
                   scope_of(request))


# -- queries ---------------------------------------------------------------------


def run_filtered(console, name: str, values: dict[str, Any], f: Filters | None = None, *,
                 where: dict[str, tuple[str, Any]] | None = None, limit: int | None = None) -> Result:
    """Run insight `name` with `values`, keeping the rows of the selected account (and
    region, for regional insights) and those matching `where`: {param: (condition using
    $param, value)}. Conditions are written here; values are always bound."""
    ins = get_insight(name)
    params: dict[str, Any] = dict(ins.bind(values))
    conds: list[str] = []
    if f is not None and f.account != "*":
        conds.append("account_id = $f_account")
        params["f_account"] = f.account
    if f is not None and f.region != "*" and name in REGIONAL:
        conds.append("region = $f_region")
        params["f_region"] = f.region
    for pname, (cond, value) in (where or {}).items():
        conds.append(cond)
        params[pname] = value
    scope = f.scope if f is not None else None
    if not conds:
        return console.queries.run(ins.sql, params, limit=limit, scope=scope)
    sql = f"SELECT * FROM (\n{ins.sql.strip().rstrip(';')}\n) AS insight WHERE " + " AND ".join(conds)
    return console.queries.run(sql, params, limit=limit, scope=scope)


def scopes(request: Request, f: Filters) -> tuple[list[str], list[str]]:
    """The accounts and regions in the data the viewer may see, for the dropdowns (looked
    up at most every SCOPES_TTL seconds per viewer: they change when a new account or
    region shows up)."""
    console = console_of(request)

    def find() -> tuple[list[str], list[str]]:
        rows = console.queries.run(_SCOPES, scope=f.scope).rows
        return sorted({r["account_id"] for r in rows}), sorted({r["region"] for r in rows if r["region"]})

    try:
        return console.queries.remember(("admin-scopes", cache_key(request)), SCOPES_TTL, find)
    except EventlakeError:
        return [], []


# -- links and actions -------------------------------------------------------------


def user_href(account_id: str, user_name: str, f: Filters) -> str:
    return f"/admin/users/{quote(account_id, safe='')}/{quote(user_name, safe='')}" + query(f.detail_params())


def dashboard_href(account_id: str, dashboard_id: str, f: Filters) -> str:
    return f"/admin/dashboards/{quote(account_id, safe='')}/{quote(dashboard_id, safe='')}" + query(f.detail_params())


def short_name(user_name: str) -> str:
    """`QuickSightReader/alice` -> `alice`: the name people go by."""
    return user_name.rsplit("/", 1)[-1]


def mailto(row: dict[str, Any], f: Filters) -> str | None:
    """A `mailto:` link with a prepared message for an idle author (None without e-mail)."""
    email = (row.get("email") or "").strip()
    if not email or "@" not in email:
        return None
    name = short_name(row["user_name"])
    last = row.get("last_activity")
    idle = row.get("days_idle", row.get("days_since_activity"))
    if last is not None:
        seen = (f"your last activity (sign-in, dashboard view or edit) was on {last:%Y-%m-%d}, "
                f"{idle} days before {f.end.isoformat()}")
    else:
        seen = f"we have no record of any sign-in, dashboard view or edit by you (inactivity window: {f.idle_days} days)"
    subject = f"Do you still need your BI author seat? (idle for {idle if idle is not None else f'{f.idle_days}+'} days)"
    body = (
        f"Hello {name},\n\n"
        f"You hold a {row.get('role') or 'AUTHOR'} seat in our BI tool (user {row['user_name']}, account {row['account_id']}), "
        f"but {seen}.\n\n"
        "Author seats are billed every month. If you no longer need yours, reply and we will change it to a reader "
        "seat or remove it; if you do, no action is needed.\n\n"
        "Thank you,\nBI administration"
    )
    return f"mailto:{quote(email, safe='@')}?subject={quote(subject, safe='')}&body={quote(body, safe='')}"


def _user_rows(rows: list[dict], f: Filters, groups: dict[tuple[str, str], list[str]] | None = None) -> list[dict]:
    for r in rows:
        r["_link_user_name"] = user_href(r["account_id"], r["user_name"], f)
        if groups is not None:
            r["groups"] = ", ".join(groups.get((r["account_id"], r["user_name"]), []))
        if r.get("status") == "idle" and r.get("role") in AUTHOR_ROLES:
            href = mailto(r, f)
            if href:
                r["_link_email"] = href
    return rows


def _idle_authors(users: list[dict]) -> list[dict]:
    """The idle author seats among user_activity rows (judged on the inactivity window),
    never-seen first, then the longest idle: what idle_authors lists for the same window."""
    idle = [dict(r, days_idle=r["days_since_activity"]) for r in users if r["status"] == "idle" and r["role"] in AUTHOR_ROLES]
    idle.sort(key=lambda r: (r["last_activity"] is not None, r["last_activity"] or dt.datetime.min.replace(tzinfo=dt.timezone.utc),
                             r["account_id"], r["user_name"]))
    return idle


# -- charts ----------------------------------------------------------------------


def _epoch(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp())


def daily_chart(start: dt.date, end: dt.date, series: list[tuple[str, dict[dt.date, int]]], title: str) -> dict[str, Any]:
    """A uPlot-ready daily series (every day of the period, zeros filled)."""
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    return {"title": title, "x": [_epoch(d) for d in days],
            "series": [{"label": label, "values": [values.get(d, 0) for d in days]} for label, values in series]}


# -- tabs ------------------------------------------------------------------------


def _tab_overview(console, f: Filters) -> dict[str, Any]:
    res = console.queries.gather(
        users=lambda: run_filtered(console, "user_activity", {"days": f.idle_days, "as_of": f.end}, f),
        dashboards=lambda: run_filtered(console, "most_viewed_dashboards", {"days": f.days, "as_of": f.end}, f),
        unused=lambda: run_filtered(console, "unused_datasets", {"days": f.idle_days, "as_of": f.end}, f),
    )
    users = _user_rows(res["users"].rows, f)
    dashboards = res["dashboards"].rows
    for d in dashboards:
        d["_link_dashboard_name"] = dashboard_href(d["account_id"], d["dashboard_id"], f)
    unused = res["unused"].rows
    for d in unused:
        d["spice"] = _size(d["spice_bytes"])
    idle_authors = _user_rows(_idle_authors(users), f)
    active = sum(1 for u in users if u["status"] == "active")
    return {
        "stats": {
            "active_users": active,
            "idle_users": len(users) - active,
            "idle_authors": len(idle_authors),
            "views": sum(d["views"] for d in dashboards),
            "dashboards_viewed": len(dashboards),
            "reclaimable": sum(d["spice_bytes"] or 0 for d in unused if d["import_mode"] == "SPICE"),
            "unused_datasets": len(unused),
        },
        "top_dashboards": dashboards[:TOP],
        "idle_authors": idle_authors,
        "unused": unused[:TOP],
    }


def _tab_users(console, f: Filters) -> dict[str, Any]:
    res = console.queries.gather(
        users=lambda: run_filtered(console, "user_activity", {"days": f.idle_days, "as_of": f.end}, f),
        groups=lambda: run_filtered(console, "user_groups", {"as_of": f.end}, f),
        no_views=lambda: run_filtered(console, "logins_without_views", {"days": f.days, "as_of": f.end}, f),
    )
    groups: dict[tuple[str, str], list[str]] = {}
    for g in res["groups"].rows:
        groups.setdefault((g["account_id"], g["user_name"]), []).append(g["group_name"])
    users = _user_rows(res["users"].rows, f, groups)
    authors = [u for u in users if u["role"] in AUTHOR_ROLES]
    readers = [u for u in users if u["role"] not in AUTHOR_ROLES]
    no_views = _user_rows(res["no_views"].rows, f)

    def count(rows, status):
        return sum(1 for r in rows if r["status"] == status)

    return {
        "stats": {"authors_active": count(authors, "active"), "authors_idle": count(authors, "idle"),
                  "readers_active": count(readers, "active"), "readers_idle": count(readers, "idle")},
        "idle_authors": _user_rows(_idle_authors(users), f),
        "authors": authors,
        "readers": readers,
        "no_views": no_views,
    }


def _tab_dashboards(console, f: Filters) -> dict[str, Any]:
    period = {"days": f.days, "as_of": f.end}
    res = console.queries.gather(
        top=lambda: run_filtered(console, "most_viewed_dashboards", period, f),
        daily=lambda: run_filtered(console, "dashboard_views_daily", period, f),
        viewers=lambda: run_filtered(console, "dashboard_viewers", period, f),
        perms=lambda: run_filtered(console, "dashboard_permissions", {"as_of": f.end}, f,
                                   where={"f_access": ("access = $f_access", "owner")}),
    )
    owners: dict[tuple[str, str], list[str]] = {}
    for p in res["perms"].rows:
        owners.setdefault((p["account_id"], p["dashboard_id"]), []).append(p["principal_name"])
    top = res["top"].rows
    for i, d in enumerate(top, 1):
        d["rank"] = i
        d["owners"] = ", ".join(owners.get((d["account_id"], d["dashboard_id"]), []))
        d["_link_dashboard_name"] = dashboard_href(d["account_id"], d["dashboard_id"], f)
    leaders = [(d["account_id"], d["region"], d["dashboard_id"]) for d in top[:TOP]]
    per_day: dict[tuple, dict[dt.date, int]] = {k: {} for k in leaders}
    total: dict[dt.date, int] = {}
    for r in res["daily"].rows:
        key = (r["account_id"], r["region"], r["dashboard_id"])
        if key in per_day:
            per_day[key][r["view_date"]] = r["views"]
        total[r["view_date"]] = total.get(r["view_date"], 0) + r["views"]
    names = {(d["account_id"], d["region"], d["dashboard_id"]): d["dashboard_name"] or d["dashboard_id"] for d in top}
    chart = daily_chart(f.start, f.end, [("all dashboards", total)] + [(names[k], per_day[k]) for k in leaders],
                        "Dashboard views per day")
    viewers_by: dict[tuple, list[dict]] = {k: [] for k in leaders}
    for v in res["viewers"].rows:
        key = (v["account_id"], v["region"], v["dashboard_id"])
        if key in viewers_by:
            v["viewer"] = v["bi_user_name"] or v["user_name"]
            v["_link_viewer"] = user_href(v["account_id"], v["viewer"], f)
            viewers_by[key].append(v)
    authors = []
    for d in top[:TOP]:
        for name in owners.get((d["account_id"], d["dashboard_id"]), []):
            authors.append({"dashboard_name": d["dashboard_name"], "_link_dashboard_name": d["_link_dashboard_name"],
                            "author": name, "_link_author": user_href(d["account_id"], name, f), "views": d["views"]})
    return {
        "top": top,
        "chart": chart,
        "viewers": [(names[k], next(d for d in top if (d["account_id"], d["region"], d["dashboard_id"]) == k), viewers_by[k])
                    for k in leaders],
        "authors": authors,
        "viewers_shown": VIEWERS_SHOWN,
        "stats": {"dashboards_viewed": len(top), "views": sum(d["views"] for d in top)},
    }


def _size(n: Any) -> str:
    return size(n or 0)


def _tab_datasets(console, f: Filters) -> dict[str, Any]:
    res = console.queries.gather(
        popular=lambda: run_filtered(console, "popular_datasets", {"days": f.days, "as_of": f.end}, f),
        unused=lambda: run_filtered(console, "unused_datasets", {"days": f.idle_days, "as_of": f.end}, f),
    )
    popular, unused = res["popular"].rows, res["unused"].rows
    for d in popular + unused:
        d["spice"] = _size(d["spice_bytes"])
    spice_unused = [d for d in unused if d["import_mode"] == "SPICE"]
    return {
        "popular": popular,
        "unused": unused,
        "stats": {
            "datasets": len(popular),
            "spice_total": sum(d["spice_bytes"] or 0 for d in popular if d["import_mode"] == "SPICE"),
            "unused": len(unused),
            "reclaimable": sum(d["spice_bytes"] or 0 for d in spice_unused),
        },
    }


_TAB_DATA = {"overview": _tab_overview, "users": _tab_users, "dashboards": _tab_dashboards, "datasets": _tab_datasets}


@router.get("/admin")
def admin(request: Request, tab: str = "overview"):
    require(request, NAV[2])
    console = console_of(request)
    f = parse_filters(request)
    if tab not in _TAB_DATA:
        f.errors.append(f"there is no tab {tab!r}: showing the overview")
        tab = "overview"
    accounts, regions = scopes(request, f)
    data: dict[str, Any] = {}
    error = None
    label = dict(TABS)[tab]
    try:
        data = _TAB_DATA[tab](console, f)
    except EventlakeError as exc:
        error = str(exc)
        if refused(exc):
            failed(request, "run_insight", exc, asset_type="dashboard", asset_id=f"console:/admin?tab={tab}",
                   asset_name=f"Admin console — {label}")
    console.record(request, "view", asset_type="dashboard", asset_id=f"console:/admin?tab={tab}",
                   asset_name=f"Admin console — {label}")
    return console.render(request, f"admin_{tab}.html", title=f"Admin console — {label}", tab=tab, tabs=TABS, f=f,
                          accounts=accounts, regions=regions, error=error, **data)


# -- detail pages ----------------------------------------------------------------


def _gather_recorded(request: Request, asset_type: str, asset_id: str, **jobs) -> dict[str, Any]:
    """gather(), recording a policy's refusal (the error page then shows its message)."""
    try:
        return console_of(request).queries.gather(**jobs)
    except EventlakeError as exc:
        if refused(exc):
            failed(request, "run_insight", exc, asset_type=asset_type, asset_id=asset_id, asset_name=asset_id)
        raise


@router.get("/admin/users/{account_id}/{user_name:path}")
def admin_user(request: Request, account_id: str, user_name: str):
    require(request, NAV[2])
    console = console_of(request)
    f = parse_filters(request)
    f.account, f.region = account_id, "*"
    res = _gather_recorded(
        request, "user", user_name,
        user=lambda: run_filtered(console, "user_activity", {"days": f.idle_days, "as_of": f.end}, f,
                                  where={"f_user": ("user_name = $f_user", user_name)}),
        groups=lambda: run_filtered(console, "user_groups", {"as_of": f.end}, f,
                                    where={"f_user": ("user_name = $f_user", user_name)}),
        events=lambda: run_filtered(console, "user_events", {"user_name": user_name, "days": f.days, "as_of": f.end}, f),
    )
    users = res["user"].rows
    events = res["events"].rows
    if not users and not events:
        return console.render(request, "error.html", status_code=404, title="No such user",
                              message=f"No BI user {user_name!r} in account {account_id!r}, and no activity of that name "
                                      f"between {f.start.isoformat()} and {f.end.isoformat()}.")
    user = users[0] if users else {"account_id": account_id, "user_name": user_name, "role": None, "email": None,
                                   "status": None, "last_activity": None, "days_since_activity": None}
    user["groups"] = ", ".join(g["group_name"] for g in res["groups"].rows)
    idle_author = user.get("status") == "idle" and user.get("role") in AUTHOR_ROLES
    mail = mailto(user, f) if idle_author else None
    series: dict[str, dict[dt.date, int]] = {"logins": {}, "views": {}, "edits": {}}
    viewed: dict[tuple, dict[str, Any]] = {}
    for e in events:
        day = e["event_time"].astimezone(dt.timezone.utc).date()
        kind = {"login": "logins", "view": "views", "edit": "edits"}.get(e["kind"])
        if kind:
            series[kind][day] = series[kind].get(day, 0) + 1
        if e["kind"] == "view" and e["asset_type"] == "dashboard" and e["asset_id"]:
            key = (e["account_id"], e["region"], e["asset_id"])
            d = viewed.setdefault(key, {"dashboard_name": e["asset_name"] or e["asset_id"], "region": e["region"], "views": 0,
                                        "last_view": e["event_time"],
                                        "_link_dashboard_name": dashboard_href(e["account_id"], e["asset_id"], f)})
            d["views"] += 1
    for e in events[:RECENT_EVENTS]:
        if e["asset_type"] == "dashboard" and e["asset_id"]:
            e["_link_asset_name"] = dashboard_href(e["account_id"], e["asset_id"], f)
    chart = daily_chart(f.start, f.end, [(k, v) for k, v in series.items()], f"Activity of {short_name(user_name)} per day")
    console.record(request, "view", asset_type="user", asset_id=user_name, asset_name=user_name)
    return console.render(
        request, "admin_user.html", title=f"{user_name} — Admin console", f=f, user=user, mail=mail,
        totals={k: sum(v.values()) for k, v in series.items()}, chart=chart,
        viewed=sorted(viewed.values(), key=lambda d: (-d["views"], d["dashboard_name"])),
        events=events[:RECENT_EVENTS], more_events=max(0, len(events) - RECENT_EVENTS),
        back=query(dict(f.params(), tab="users")),
    )


def _viewers_from_events(events: list[dict]) -> list[dict]:
    """dashboard_viewers' rows (viewer, views, first and last view) from view events."""
    out: dict[str, dict[str, Any]] = {}
    for e in events:
        v = out.setdefault(e["user_name"], {"account_id": e["account_id"], "region": e["region"], "user_name": e["user_name"],
                                            "bi_user_name": None, "role": None, "views": 0,
                                            "first_view": e["event_time"], "last_view": e["event_time"]})
        v["views"] += 1
        v["first_view"] = min(v["first_view"], e["event_time"])
        v["last_view"] = max(v["last_view"], e["event_time"])
    return sorted(out.values(), key=lambda v: (-v["views"], v["user_name"]))


@router.get("/admin/dashboards/{account_id}/{dashboard_id:path}")
def admin_dashboard(request: Request, account_id: str, dashboard_id: str):
    require(request, NAV[2])
    console = console_of(request)
    f = parse_filters(request)
    f.account, f.region = account_id, "*"
    period = {"dashboard_id": dashboard_id, "days": f.days, "as_of": f.end}
    res = _gather_recorded(
        request, "dashboard", dashboard_id,
        daily=lambda: run_filtered(console, "dashboard_views_daily", period, f),
        viewers=lambda: run_filtered(console, "dashboard_viewers", period, f),
        perms=lambda: run_filtered(console, "dashboard_permissions", {"dashboard_id": dashboard_id, "as_of": f.end}, f),
    )
    daily, viewers, perms = res["daily"].rows, res["viewers"].rows, res["perms"].rows
    if daily and not viewers:
        # dashboard_viewers counts QuickSight views only: the console's own pages (account
        # eventlake) get their viewers from the views themselves
        viewers = _viewers_from_events(run_filtered(
            console, "user_events", {"days": f.days, "as_of": f.end}, f,
            where={"f_dashboard": ("asset_id = $f_dashboard AND kind = 'view' AND asset_type = 'dashboard'", dashboard_id)},
        ).rows)
    if not daily and not viewers and not perms:
        return console.render(request, "error.html", status_code=404, title="No such dashboard",
                              message=f"No dashboard {dashboard_id!r} in account {account_id!r}: not in the permissions "
                                      f"snapshot and not viewed between {f.start.isoformat()} and {f.end.isoformat()}.")
    name = next((r["dashboard_name"] for r in daily + viewers + perms if r.get("dashboard_name")), None) or dashboard_id
    regions = sorted({r["region"] for r in daily + viewers + perms if r.get("region")})
    views: dict[dt.date, int] = {}
    for r in daily:
        views[r["view_date"]] = views.get(r["view_date"], 0) + r["views"]
    for v in viewers:
        v["viewer"] = v["bi_user_name"] or v["user_name"]
        v["_link_viewer"] = user_href(v["account_id"], v["viewer"], f)
    for p in perms:
        if p["principal_type"] == "user":
            p["_link_principal_name"] = user_href(p["account_id"], p["principal_name"], f)
    chart = daily_chart(f.start, f.end, [("views", views)], f"Views of {name} per day")
    console.record(request, "view", asset_type="dashboard", asset_id=dashboard_id, asset_name=name)
    return console.render(
        request, "admin_dashboard.html", title=f"{name} — Admin console", f=f, name=name, account_id=account_id,
        dashboard_id=dashboard_id, regions=regions, chart=chart, viewers=viewers, perms=perms,
        owners=[p for p in perms if p["access"] == "owner"],
        totals={"views": sum(views.values()), "viewers": len({v["viewer"] for v in viewers}), "days_viewed": len(views)},
        back=query(dict(f.params(), tab="dashboards")),
    )
