"""`eventlake destinations ...`: the fan-out targets of collected events."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from ..destinations import Destination, load_destinations
from ..destinations.base import parse_time, utcnow
from ..destinations.fanout import replay as do_replay
from ..errors import EventlakeError
from .common import console, state

app = typer.Typer(
    help="Destinations that collected events are forwarded to (webhook, GA4, Amplitude, Segment-compatible): list, test, replay, status.",
    no_args_is_help=True,
)


def _destinations() -> list[Destination]:
    return load_destinations(state.settings())


def _find(name: str) -> Destination:
    dests = _destinations()
    for d in dests:
        if d.name == name:
            return d
    known = ", ".join(d.name for d in dests) or "none is configured"
    raise EventlakeError(f"no destination named {name!r} in eventlake.toml [destinations.*] (configured: {known})")


def _when(value: str, option: str) -> dt.datetime:
    when = parse_time(value)
    if when is None:
        try:
            when = dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), dt.timezone.utc)
        except ValueError:
            raise EventlakeError(f"{option} {value!r} must be a date (YYYY-MM-DD) or an ISO 8601 time (UTC unless it has an offset)") from None
    return when


def _show(value) -> str:
    if value is None:
        return "all"
    if isinstance(value, list):
        return ", ".join(value)
    return str(value)


@app.command("list")
def list_destinations(
    format: str = typer.Option("table", "--format", "-f", help="Output format: table or json."),
) -> None:
    """List the configured destinations (from eventlake.toml) without any secret."""
    infos = [d.describe() for d in _destinations()]
    if format == "json":
        console.print_json(orjson.dumps(infos).decode())
        return
    if format != "table":
        raise EventlakeError(f"--format {format!r} must be table or json")
    if not infos:
        console.print("no destinations configured: add \\[destinations.NAME] tables to eventlake.toml (see docs/configuration.md)")
        return
    t = Table(header_style="bold")
    for c in ("name", "type", "url", "secret", "sources", "events", "fields", "batch", "attempts"):
        t.add_column(c, overflow="fold")
    for i in infos:
        secret = f"${i['secret_env']} ({'set' if i['secret_set'] else 'NOT SET'})" if i["secret_env"] else "-"
        url = i["url"] + (f" (measurement_id {i['measurement_id']})" if i.get("measurement_id") else "")
        t.add_row(*(escape(str(v)) for v in (
            i["name"], i["type"], url, secret, _show(i["sources"]), _show(i["events"]), _show(i["fields"]),
            i["batch_size"], i["max_attempts"],
        )))
    console.print(t)


@app.command("test")
def test_destination(
    name: str = typer.Argument(..., help="Destination name ([destinations.NAME] in eventlake.toml)."),
    event: str = typer.Option("eventlake test", "--event", help="Name of the synthetic track event."),
) -> None:
    """Send one synthetic track event to a destination and print each attempt's outcome."""
    dest = _find(name)
    message_id = f"eventlake-test-{uuid.uuid4()}"
    payload = {
        "type": "track",
        "event": event,
        "messageId": message_id,
        "anonymousId": "eventlake-test-device",
        "userId": "eventlake-test-user",
        "timestamp": utcnow().isoformat().replace("+00:00", "Z"),
        "properties": {"test": True},
    }

    async def run():
        try:
            return await dest.send([payload])
        finally:
            await dest.aclose()

    outcomes = asyncio.run(run())
    for o in outcomes:
        console.print(
            f"{escape(dest.name)}: attempt {o.attempt}: {o.status}"
            + (f", HTTP {o.http_status}" if o.http_status is not None else "")
            + (f", {o.duration_ms:,.0f} ms" if o.duration_ms else "")
            + (f": {escape(o.error)}" if o.error else "")
        )
    if not outcomes or outcomes[-1].status != "delivered":
        raise typer.Exit(1)


@app.command("replay")
def replay(
    name: str = typer.Argument(..., help="Destination name."),
    start: str = typer.Option(..., "--from", help="Start of the receipt-time range (inclusive): YYYY-MM-DD or ISO 8601, UTC."),
    end: str = typer.Option(None, "--to", help="End of the range (exclusive); default now."),
) -> None:
    """Send the events collected in a time range that the destination has not had yet."""
    dest = _find(name)
    t1 = _when(start, "--from")
    t2 = _when(end, "--to") if end else utcnow()
    if t2 <= t1:
        raise EventlakeError(f"--to {t2.isoformat()} must be after --from {t1.isoformat()}")
    lake = state.lake()
    summary = do_replay(lake, dest, t1, t2)
    console.print(escape(summary.line()))
    for line in summary.failures:
        console.print("  failed: " + escape(line))
    if summary.failed:
        raise typer.Exit(1)


@app.command("status")
def status(
    since: str = typer.Option(None, "--since", help="Count attempts from this time (YYYY-MM-DD or ISO 8601); default the last 24 hours."),
) -> None:
    """Delivered, failed, dropped and retried events per destination since a time."""
    t1 = _when(since, "--since") if since else utcnow() - dt.timedelta(days=1)
    lake = state.lake()
    con = lake.connect(read_only=True)
    try:
        if "deliveries" not in lake.table_names(con):
            rows = []
        else:
            rows = con.execute(
                """SELECT destination,
                          count(*) FILTER (WHERE status = 'delivered'),
                          count(*) FILTER (WHERE status = 'failed'),
                          count(*) FILTER (WHERE status = 'dropped'),
                          count(*) FILTER (WHERE status = 'retry'),
                          count(*) FILTER (WHERE replay),
                          max(attempted_at) FILTER (WHERE status = 'delivered')
                   FROM lake.deliveries WHERE attempt_date >= ? AND attempted_at >= ?
                   GROUP BY destination ORDER BY destination""",
                [t1.astimezone(dt.timezone.utc).date(), t1],
            ).fetchall()
    finally:
        con.close()
    t = Table(title=f"deliveries since {t1.isoformat()}", header_style="bold")
    for c in ("destination", "delivered", "failed", "dropped", "retries", "by replay", "last delivered"):
        t.add_column(c, justify="left" if c in ("destination", "last delivered") else "right")
    for r in rows:
        last = r[6].astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ") if r[6] else "-"
        t.add_row(escape(r[0]), *(f"{int(v):,}" for v in r[1:6]), last)
    console.print(t)
