"""`eventlake demo ...`: generate the demo dataset and print the headline insights."""

from __future__ import annotations

import datetime as dt
import shlex
from pathlib import Path

import pyarrow as pa
import typer
from rich.markup import escape
from rich.rule import Rule

from ..engines import get_engine
from ..errors import EventlakeError
from ..insights import get_insight
from ..insights.registry import parse_date
from ..output import render_table
from .common import ENGINE_OPTION, SPARK_MASTER_OPTION, console, state

app = typer.Typer(help="A realistic demo dataset: generate it, then see what the insights say about it.", no_args_is_help=True)

# (insight, columns shown): the report's headline view of each insight. dashboard_viewers
# reports on the most viewed dashboard.
REPORT: list[tuple[str, list[str]]] = [
    ("most_viewed_dashboards", ["dashboard_name", "views", "viewers", "last_view"]),
    ("most_updated_assets", ["asset_name", "event_name", "events", "editors", "last_event_time"]),
    ("popular_datasets", ["dataset_name", "views", "viewers", "dashboards", "analyses"]),
    ("user_activity", ["user_name", "role", "last_activity", "views", "edits", "status"]),
    ("idle_authors", ["user_name", "role", "last_activity", "days_idle"]),
    ("unused_datasets", ["dataset_name", "spice_gib", "dashboards", "analyses", "last_used"]),
    ("logins_without_views", ["user_name", "logins", "logins_without_views", "last_login_without_views"]),
    ("dashboard_viewers", ["dashboard_name", "user_name", "role", "views", "last_view"]),
]
# The service-log headlines, each with the parameters that tell the demo's stories: a
# scan rejected by the VPC, a role reading the finance prefix, a failing ALB target, an
# API path CloudFront never caches. (insight, columns shown, parameters)
SERVICE_REPORT: list[tuple[str, list[str], dict[str, str]]] = [
    ("vpc_top_rejected_talkers", ["srcaddr", "rejected_flows", "targets", "ports", "first_seen", "last_seen"], {"top": "5"}),
    ("s3_requests_by_requester", ["bucket", "role", "requests", "keys", "first_request", "last_request"], {"prefix": "finance/"}),
    ("alb_5xx_by_target", ["target_ip", "target_port", "requests", "elb_5xx", "no_answer", "last_5xx"], {}),
    ("cloudfront_cache_hit_ratio_by_path", ["path", "requests", "hits", "misses", "hit_ratio"], {"top": "6"}),
]
# The web and product headlines (eventlake demo events): the week's sources and pages, and
# the signup funnel of the last 30 days. (insight, columns shown, parameters)
WEB_REPORT: list[tuple[str, list[str], dict[str, str]]] = [
    ("web_top_referrers", ["source", "visits", "share", "entry_pages"], {"top": "8"}),
    ("web_top_pages", ["host", "path", "pageviews", "entries", "share"], {"top": "8"}),
    ("product_funnel", ["step", "event", "users", "dropped", "dropoff_rate", "conversion"], {}),
]
TOP = 10


@app.command("generate")
def generate(
    out: Path = typer.Option(..., "--out", help="Folder to write cloudtrail/ and quicksight/ into."),
    seed: int = typer.Option(7, "--seed", help="Random seed: the same seed, days and end date give identical files."),
    days: int = typer.Option(120, "--days", help="Days of logs, ending on the end date."),
    end_date: str = typer.Option("today", "--end-date", help="Last day of the logs (YYYY-MM-DD or today, UTC)."),
    force: bool = typer.Option(False, "--force", help="Replace demo files already in --out."),
) -> None:
    """Write a seeded CloudTrail + QuickSight metadata dataset in the real delivery layout."""
    from ..demo import generate as do_generate

    summary = do_generate(out, seed=seed, days=days, end_date=parse_date(end_date, "--end-date"), force=force)
    for line in summary.lines():
        console.print(line, markup=False)
    lake_arg = f" --lake {shlex.quote(state.lake_option)}" if state.lake_option else ""
    console.print(
        f"next: eventlake{lake_arg} ingest cloudtrail {shlex.quote(str(summary.cloudtrail))}"
        f" && eventlake{lake_arg} ingest bi-metadata {shlex.quote(str(summary.quicksight))}"
        + "".join(f" && eventlake{lake_arg} ingest {t} {shlex.quote(str(summary.service_logs / t))}" for t in ("s3-access", "vpc-flow", "alb", "cloudfront"))
        + f" && eventlake{lake_arg} demo events --seed {seed} --days {days} --end-date {summary.end.isoformat()}"
        + f" && eventlake{lake_arg} demo report",
        markup=False,
    )


@app.command("events")
def events(
    seed: int = typer.Option(7, "--seed", help="Random seed: the same seed, days and end date give the same events."),
    days: int = typer.Option(120, "--days", help="Days of events, ending on the end date (as `demo generate`)."),
    end_date: str = typer.Option("today", "--end-date", help="Last day of the events (YYYY-MM-DD or today, UTC)."),
) -> None:
    """Send seeded web page views and product events through a collector in this process into the lake."""
    from ..demo.send import send_demo_events

    summary = send_demo_events(state.lake(), seed=seed, days=days, end_date=parse_date(end_date, "--end-date"))
    for line in summary.lines():
        console.print(line, markup=False)
    if not summary.sent == summary.accepted == summary.loaded + summary.duplicates:
        raise EventlakeError(
            f"the counts do not reconcile: sent {summary.sent}, accepted {summary.accepted}, "
            f"loaded {summary.loaded} + duplicates {summary.duplicates}, quarantined {summary.quarantined}"
        )


@app.command("report")
def report(
    as_of: str = typer.Option(None, "--as-of", help="Day the insights' windows end (default: the day of the latest event)."),
    engine: str = ENGINE_OPTION,
    spark_master: str = SPARK_MASTER_OPTION,
) -> None:
    """Run the headline insights on the lake and print each one."""
    lake = state.lake()
    options = {"master": spark_master or state.settings().spark_master} if engine == "spark" else {}
    eng = get_engine(engine, lake, **options)
    try:
        day = parse_date(as_of, "--as-of") if as_of else _latest_event_day(eng)
        console.print(f"[bold]eventlake demo report[/bold] for lake {lake.path}, as of {day.isoformat()}")
        empty = []
        top_dashboard = None
        has_bi = _has_rows(eng, "bi_events")  # a lake with only `demo events` has none
        if not has_bi:
            empty.extend(name for name, _ in REPORT)
        for name, columns in REPORT if has_bi else []:
            insight = get_insight(name)
            values = {}
            if name == "dashboard_viewers" and top_dashboard:
                values["dashboard_id"] = top_dashboard
            params = insight.bind(values, day)
            result = eng.query(insight.sql, params)
            if name == "most_viewed_dashboards" and result.num_rows:
                top_dashboard = result.column("dashboard_id")[0].as_py()
            if not result.num_rows:
                empty.append(name)
            _print_section(name, insight.description, params, result, columns)
        if _has_rows(eng, "vpc_flow_logs"):
            console.print()
            console.print(Rule("[bold]service logs[/bold] (S3 access, VPC flow, ALB, CloudFront)", align="left"))
            for name, columns, values in SERVICE_REPORT:
                insight = get_insight(name)
                values = dict(values)
                if insight.param("start_time") is not None:  # the week up to the end of as_of
                    values["start_time"] = (day - dt.timedelta(days=6)).isoformat()
                    values["end_time"] = (day + dt.timedelta(days=1)).isoformat()
                params = insight.bind(values, day)
                result = eng.query(insight.sql, params)
                if not result.num_rows:
                    empty.append(name)
                _print_section(name, insight.description, params, result, columns)
        if _has_rows(eng, "events"):
            console.print()
            console.print(Rule("[bold]web and product[/bold] (eventlake demo events)", align="left"))
            for name, columns, values in WEB_REPORT:
                insight = get_insight(name)
                values = dict(values)
                if name == "product_funnel":
                    from ..demo.web import FUNNEL

                    values["steps"] = ",".join(FUNNEL)
                    values["start_time"] = (day - dt.timedelta(days=29)).isoformat()
                else:
                    values["start_time"] = (day - dt.timedelta(days=6)).isoformat()
                values["end_time"] = (day + dt.timedelta(days=1)).isoformat()
                params = insight.bind(values, day)
                result = eng.query(insight.sql, params)
                if not result.num_rows:
                    empty.append(name)
                _print_section(name, insight.description, params, result, columns)
    finally:
        eng.close()
    console.print()
    if empty:
        console.print(f"[yellow]no rows from: {', '.join(empty)}[/yellow] (has everything been ingested?)")
    lake_arg = f" --lake {shlex.quote(state.lake_option)}" if state.lake_option else ""
    console.print(
        f"Open the console: eventlake{lake_arg} users add admin --role admin && eventlake{lake_arg} serve console"
        " (then http://127.0.0.1:8089)",
        markup=False,
        soft_wrap=True,
    )


def _has_rows(eng, table: str) -> bool:
    try:
        return eng.query(f"SELECT count(*) AS n FROM {table}").column("n")[0].as_py() > 0
    except EventlakeError:
        return False


def _latest_event_day(eng) -> dt.date:
    value = None
    for table in ("cloudtrail_events", "events"):
        try:
            value = eng.query(f"SELECT max(event_date) AS d FROM {table}").column("d")[0].as_py()
        except EventlakeError:
            value = None
        if value is not None:
            break
    if value is None:
        raise EventlakeError("the lake holds no CloudTrail or collector events: run `eventlake ingest cloudtrail ...` or `eventlake demo events` first")
    return value


def _print_section(name: str, description: str, params: dict, result: pa.Table, columns: list[str]) -> None:
    shown = " ".join(
        "--param " + shlex.quote(f"{k}={v.isoformat() if hasattr(v, 'isoformat') else v}") for k, v in params.items() if k != "as_of"
    )
    console.print()
    console.print(Rule(f"[bold]{name}[/bold]", align="left"))
    console.print(description, markup=False)
    cols = [c for c in columns if c in result.column_names]
    render_table(result.select(cols), console, max_rows=TOP)
    as_of = params.get("as_of")
    lake_arg = f"--lake {shlex.quote(state.lake_option)} " if state.lake_option else ""
    command = f"eventlake {lake_arg}insights run {name} {shown}" + (f" --as-of {as_of.isoformat()}" if as_of else "")
    console.print(f"[dim]all rows and columns: {escape(command)}[/dim]", highlight=False)
