"""`/web`: web analytics over the page views the collector loaded (the `web_*` insights).

Everything the page shows comes from the URL's query string, so a view can be shared
and a reload shows the same thing:

    range      24h | 7d | 30d: the last 24 hours / 7 days / 30 days (default 7d)
    from, to   an explicit UTC range instead (ISO 8601, `now`, `now-3h`; to is exclusive)
    metric     pageviews | visits: the series charted and what orders the breakdown
    bucket     auto | hour | day | week | month: the chart's time buckets
    group      a breakdown dimension (path, source, country, ...): the web_breakdown table
    site, path, country, device, browser, os, source, utm_source
               global filters: every panel shows only the page views that match them all

Dragging over the chart navigates to the selected from/to; clicking a value in a panel
adds it as a filter. Invalid input is reported on the page (status 400), never a 500.
The panels' insights run concurrently, each on its own cursor; the site chooser's list
is kept for a minute per range of days (and viewer). Every panel runs under the viewer's
scope (web/scopes.py); when the policy refuses the page's insights the page says why
(status 403) and the refusal is recorded."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from ...errors import EventlakeError
from ...insights.registry import parse_timestamp
from ..app import console_of
from ..render import query
from ..scopes import cache_key, failed, refused, scope_of

router = APIRouter()
NAV = ("Web analytics", "/web", "reader")

PRESETS = {"24h": dt.timedelta(hours=24), "7d": dt.timedelta(days=7), "30d": dt.timedelta(days=30)}
PRESET_LABELS = {"24h": "Last 24 h", "7d": "Last 7 days", "30d": "Last 30 days"}
DEFAULT_PRESET = "7d"
METRICS = {"pageviews": "Page views", "visits": "Visits"}
BUCKETS = ("auto", "hour", "day", "week", "month")
BUCKET_SECONDS = {"hour": 3600, "day": 86400, "week": 7 * 86400, "month": 28 * 86400}
MAX_BUCKETS = 5000
# URL name -> (insight parameter, label): the global filters, in the order they are shown
FILTERS = {
    "site": ("site", "Site"),
    "path": ("path", "Page"),
    "source": ("referrer_host", "Source"),
    "utm_source": ("utm_source", "utm_source"),
    "country": ("country", "Country"),
    "device": ("device_type", "Device"),
    "browser": ("browser", "Browser"),
    "os": ("os", "OS"),
}
# group-by choices: URL value -> (web_breakdown group_by, label, the filter its values set)
GROUPS = {
    "path": ("path", "Page", "path"),
    "source": ("referrer_host", "Source", "source"),
    "utm_source": ("utm_source", "utm_source", "utm_source"),
    "utm_medium": ("utm_medium", "utm_medium", None),
    "utm_campaign": ("utm_campaign", "utm_campaign", None),
    "country": ("country", "Country", "country"),
    "device": ("device_type", "Device", "device"),
    "browser": ("browser", "Browser", "browser"),
    "os": ("os", "OS", "os"),
    "site": ("host", "Site", "site"),
}
PANEL_TOP = 10
BREAKDOWN_TOP = 50
SITES_TTL = 60.0  # the site chooser's list, per range of days


class BadInput(EventlakeError):
    """A query-string value the page cannot use."""


@dataclass
class View:
    """The page's state, read from the query string."""

    start: dt.datetime
    end: dt.datetime
    preset: str | None
    metric: str = "pageviews"
    bucket: str = "auto"
    group: str | None = None
    filters: dict[str, str] = field(default_factory=dict)  # URL name -> value

    def state(self) -> dict[str, str]:
        """The query-string parameters that make this view (links change one of them)."""
        out: dict[str, str] = {}
        if self.preset:
            out["range"] = self.preset
        else:
            out["from"] = iso(self.start)
            out["to"] = iso(self.end)
        if self.metric != "pageviews":
            out["metric"] = self.metric
        if self.bucket != "auto":
            out["bucket"] = self.bucket
        if self.group:
            out["group"] = self.group
        out.update(self.filters)
        return out

    def values(self) -> dict[str, Any]:
        """The insights' time range and filter parameters."""
        vals: dict[str, Any] = {"start_time": self.start, "end_time": self.end}
        for name, value in self.filters.items():
            vals[FILTERS[name][0]] = value
        return vals


def iso(t: dt.datetime) -> str:
    t = t.astimezone(dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ") if t.microsecond == 0 else t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def duration_text(seconds: float) -> str:
    if seconds % 86400 == 0:
        return f"{int(seconds // 86400)} d"
    if seconds % 3600 == 0:
        return f"{int(seconds // 3600)} h"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min"


def read_view(params: dict[str, str], now: dt.datetime | None = None) -> View:
    """The view a query string asks for; BadInput naming the parameter when a value is wrong."""
    now = now or dt.datetime.now(dt.timezone.utc)
    preset = params.get("range") or None
    start_text, end_text = (params.get("from") or "").strip(), (params.get("to") or "").strip()
    if start_text or end_text:
        preset = None
        end = parse_timestamp(end_text, "to") if end_text else now
        start = parse_timestamp(start_text, "from") if start_text else end - PRESETS[DEFAULT_PRESET]
        if start >= end:
            raise BadInput(f"from ({iso(start)}) must be before to ({iso(end)})")
    else:
        preset = preset or DEFAULT_PRESET
        if preset not in PRESETS:
            raise BadInput(f"range must be one of {', '.join(PRESETS)}, got {preset!r}")
        end = now.replace(microsecond=0)
        start = end - PRESETS[preset]
    metric = params.get("metric") or "pageviews"
    if metric not in METRICS:
        raise BadInput(f"metric must be pageviews or visits, got {metric!r}")
    bucket = params.get("bucket") or "auto"
    if bucket not in BUCKETS:
        raise BadInput(f"bucket must be one of {', '.join(BUCKETS)}, got {bucket!r}")
    if bucket != "auto" and (end - start).total_seconds() / BUCKET_SECONDS[bucket] > MAX_BUCKETS:
        raise BadInput(f"{duration_text((end - start).total_seconds())} in {bucket}s is more than {MAX_BUCKETS} buckets: "
                       "choose a larger bucket or a shorter range")
    group = params.get("group") or None
    if group is not None and group not in GROUPS:
        raise BadInput(f"group must be one of {', '.join(GROUPS)}, got {group!r}")
    filters = {}
    for name in FILTERS:
        value = params.get(name)
        if value not in (None, "", "*"):
            if len(value) > 2048:
                raise BadInput(f"the {name} filter is longer than 2048 characters")
            filters[name] = value
    return View(start, end, preset, metric, bucket, group, filters)


def _panels(request: Request, view: View) -> dict[str, list[dict]]:
    """Run every panel's insight under the viewer's scope, concurrently (each on its own cursor)."""
    console = console_of(request)
    scope = scope_of(request)
    vals = view.values()
    jobs = {
        "overview": ("web_overview", {**vals, "bucket": view.bucket}),
        "pages": ("web_top_pages", {**vals, "top": PANEL_TOP}),
        "referrers": ("web_top_referrers", {**vals, "top": PANEL_TOP}),
        "countries": ("web_countries", {**vals, "top": PANEL_TOP}),
        "devices": ("web_devices", {**vals, "top": PANEL_TOP}),
        "browsers": ("web_browsers", {**vals, "top": PANEL_TOP}),
        "os": ("web_os", {**vals, "top": PANEL_TOP}),
    }
    if view.group:
        jobs["breakdown"] = ("web_breakdown", {**vals, "group_by": GROUPS[view.group][0], "metric": view.metric,
                                               "top": BREAKDOWN_TOP})
    run = {key: (lambda n=name, v=values: console.queries.insight(n, v, scope=scope).rows) for key, (name, values) in jobs.items()}
    # the site filter's choices: every site with page views on the range's days (kept
    # SITES_TTL seconds; computed beside the panels when not kept)
    day = dt.timedelta(days=1)
    start = dt.datetime.combine(view.start.date(), dt.time(), dt.timezone.utc)
    end = dt.datetime.combine(view.end.date(), dt.time(), dt.timezone.utc) + day
    sites = {"start_time": start, "end_time": end, "group_by": "host", "top": 100}
    run["sites"] = lambda: console.queries.remember(
        ("web-sites", cache_key(request), start, end), SITES_TTL,
        lambda: console.queries.insight("web_breakdown", sites, scope=scope).rows)
    return console.queries.gather(**run)


def _filter_link(view: View, name: str | None, value: Any) -> str | None:
    """A link to this view with `name` filtered to `value`, or None (no such filter)."""
    if name is None or value is None:
        return None
    return query(view.state(), **{name: str(value)})


def _series(view: View, rows: list[dict]) -> dict:
    """The chart's data: bucket starts (epoch seconds) with both metrics; the range's end
    closes the last bucket, so each bucket is drawn over the time it covers."""
    start_s, end_s = view.start.timestamp(), view.end.timestamp()
    xs = [r["bucket"].timestamp() for r in rows]
    pv = [r["pageviews"] for r in rows]
    vi = [r["visits"] for r in rows]
    if xs:
        xs[0] = max(xs[0], start_s)  # the first bucket may begin before the range
        xs.append(end_s)
        pv.append(pv[-1])
        vi.append(vi[-1])
    return {
        "x": xs, "pageviews": pv, "visits": vi, "metric": view.metric, "label": METRICS[view.metric],
        "from": start_s, "to": end_s, "bucket_size": rows[0]["bucket_size"] if rows else None,
    }


@router.get("/web")
def web(request: Request):
    console = console_of(request)
    params = dict(request.query_params)
    # the "add a filter" form: turn its two fields into the filter's own parameter
    add_dim, add_value = params.pop("add", None), params.pop("value", None)
    if add_dim is not None:
        if add_dim in FILTERS and add_value not in (None, ""):
            params[add_dim] = add_value
        return RedirectResponse("/web" + query(params), status_code=303)
    console.record(request, "view", asset_type="dashboard", asset_id="console:/web", asset_name="Web analytics")
    try:
        view = read_view(params)
    except EventlakeError as exc:
        return console.render(request, "web.html", status_code=400, title="Web analytics", error=str(exc),
                              view=None, params=params, **_choices())
    try:
        data = _panels(request, view)
    except EventlakeError as exc:
        if not refused(exc):
            raise
        failed(request, "run_insight", exc, asset_type="dashboard", asset_id="console:/web", asset_name="Web analytics")
        return console.render(request, "web.html", status_code=403, title="Web analytics", error=str(exc),
                              view=None, params=params, **_choices())
    state = view.state()
    for r in data["pages"]:
        r["_link_site"] = _filter_link(view, "site", r["host"])
        r["_link_path"] = _filter_link(view, "path", r["path"])
    for r in data["referrers"]:
        r["_link_source"] = _filter_link(view, "source", r["source"])
    for key, col, name in (("countries", "country", "country"), ("devices", "device_type", "device"),
                           ("browsers", "browser", "browser"), ("os", "os", "os")):
        for r in data[key]:
            r["_link_" + col] = _filter_link(view, name, r[col])
    breakdown = data.get("breakdown") or []
    if view.group:
        for r in breakdown:
            r["_link_value"] = _filter_link(view, GROUPS[view.group][2], r["value"])
    overview = data["overview"]
    pageviews = sum(r["pageviews"] for r in overview)
    visits = sum(r["visits"] for r in overview)
    totals = {"pageviews": pageviews, "visits": visits,
              "views_per_visit": round(pageviews / visits, 2) if visits else None}
    seconds = (view.end - view.start).total_seconds()
    mid = view.start + (view.end - view.start) / 2
    zoom_out = {"from": iso(max(mid - (view.end - view.start), dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc))),
                "to": iso(mid + (view.end - view.start))}
    active = [{"name": n, "label": FILTERS[n][1], "value": v, "remove": query(state, **{n: None})}
              for n, v in view.filters.items()]
    return console.render(
        request, "web.html", title="Web analytics", error=None, view=view, state=state, data=data,
        totals=totals, breakdown=breakdown, series=_series(view, overview), active=active,
        sites=[r["value"] for r in data["sites"]], duration=duration_text(seconds), zoom_out=zoom_out,
        iso=iso, params=params, **_choices(),
    )


def _choices() -> dict[str, Any]:
    return {"presets": PRESET_LABELS, "metrics": METRICS, "buckets": BUCKETS,
            "groups": {k: v[1] for k, v in GROUPS.items()}, "filter_names": {k: v[1] for k, v in FILTERS.items()}}
