"""`eventlake ingest <source> ...`: load a source into the lake (or, with --tenant,
into a tenant's storage) and print a summary."""

from __future__ import annotations

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from ..errors import EventlakeError
from ..lake import Lake
from ..sources import LOG_TYPE_MODULES
from ..sources.base import IngestStats
from .common import console, err_console, state

app = typer.Typer(help="Load sources into the lake (incremental, idempotent, atomic per batch).", no_args_is_help=True)


TENANT_OPTION = typer.Option(
    None, "--tenant",
    help="Load into this tenant's storage: pool, the shared tables with tenant_id = NAME; bridge, its schema; silo, its own lake.",
)


def _target(lake: Lake, tenant: str | None) -> tuple[Lake, str | None, str | None]:
    """(lake to write, pool tenant id to stamp, where-it-went label) for --tenant; the
    lake itself, None, None without one. An unknown tenant fails before anything is read."""
    if tenant is None:
        return lake, None, None
    from ..governance.tenants import tenant_target

    target = tenant_target(lake, tenant)
    return target.lake, target.tenant_id, target.describe()


def report(stats: IngestStats, strict: bool, into: str | None = None) -> None:
    """Print the run summary (saying which tenant it loaded into, if any) and the capped
    list of problems; exit 1 under --strict when anything was quarantined."""
    console.print(stats.summary(into), markup=False, soft_wrap=True)
    if stats.problems:
        err_console.print(f"quarantined ({stats.records_quarantined:,}); see `eventlake sql \"SELECT * FROM quarantine\"`:", markup=False)
        for line in stats.problem_lines():
            err_console.print("  " + line, markup=False, soft_wrap=True)
    if strict and stats.records_quarantined:
        raise typer.Exit(1)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[files]} files"),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )


def _check_sizes(batch_mb: int | None, memory_mb: int | None) -> None:
    if batch_mb is not None and batch_mb <= 0:
        raise EventlakeError(f"--batch-mb must be a positive number of megabytes, got {batch_mb}")
    if memory_mb is not None and memory_mb < 64:
        raise EventlakeError(f"--memory-mb must be at least 64, got {memory_mb}")


def _run_with_progress(name: str, make_job) -> IngestStats:
    """Run `make_job(on_progress=..., on_total=...)`'s job under a progress bar."""
    with _progress() as progress:
        task = progress.add_task(name, total=None, files=0)
        done = {"files": 0}

        def on_total(files: int, nbytes: int) -> None:
            progress.update(task, total=nbytes, files=f"0/{files}")
            done["total"] = files

        def on_progress(files: int, nbytes: int) -> None:
            done["files"] += files
            progress.update(task, advance=nbytes, files=f"{done['files']}/{done.get('total', '?')}")

        return make_job(on_progress=on_progress, on_total=on_total).run()


@app.command("cloudtrail")
def cloudtrail(
    locations: list[str] = typer.Argument(..., help="Folders, files or s3://bucket/prefix URIs in the CloudTrail delivery layout."),
    endpoint_url: str = typer.Option(None, "--endpoint-url", help="S3-compatible endpoint (e.g. http://127.0.0.1:9000)."),
    strict: bool = typer.Option(False, "--strict", help="Exit with status 1 if any record was quarantined."),
    batch_mb: int = typer.Option(None, "--batch-mb", help="Uncompressed MB read per commit (default from config, 512)."),
    memory_mb: int = typer.Option(None, "--memory-mb", help="DuckDB memory limit in MB while ingesting (default from config, 384)."),
    tenant: str = TENANT_OPTION,
) -> None:
    """Ingest AWS CloudTrail logs (plain and organization trails, .json.gz/.json) into cloudtrail_events."""
    from ..sources.cloudtrail import CloudTrailIngest

    settings = state.settings()
    _check_sizes(batch_mb, memory_mb)
    lake, tenant_id, into = _target(state.lake(memory_limit=f"{memory_mb or settings.memory_mb}MB", threads=2), tenant)
    stats = _run_with_progress("cloudtrail", lambda **cb: CloudTrailIngest(
        lake, locations, endpoint_url=endpoint_url, batch_mb=batch_mb or settings.batch_mb, tenant_id=tenant_id, **cb,
    ))
    report(stats, strict, into)


def _add_log_command(name: str) -> None:
    """`eventlake ingest <name>` for one service-log type (see sources.LOG_TYPE_MODULES)."""
    from ..sources import log_type

    logtype = log_type(name)

    def command(
        locations: list[str] = typer.Argument(..., help="Folders, files or s3://bucket/prefix URIs (plain or gzip files, any AWS delivery layout)."),
        endpoint_url: str = typer.Option(None, "--endpoint-url", help="S3-compatible endpoint (e.g. http://127.0.0.1:9000)."),
        since: str = typer.Option(None, "--since", help="Skip objects whose delivery folder or name dates them before this day (YYYY-MM-DD)."),
        until: str = typer.Option(None, "--until", help="Skip objects dated more than a day after this day (YYYY-MM-DD; the day of grace keeps late deliveries)."),
        strict: bool = typer.Option(False, "--strict", help="Exit with status 1 if any line was quarantined."),
        batch_mb: int = typer.Option(None, "--batch-mb", help="MB of log lines parsed per commit (default 16)."),
        memory_mb: int = typer.Option(None, "--memory-mb", help="DuckDB memory limit in MB while ingesting (default from config, 384)."),
        tenant: str = TENANT_OPTION,
    ) -> None:
        from ..insights.registry import parse_date
        from ..sources.lines import LineIngest

        settings = state.settings()
        _check_sizes(batch_mb, memory_mb)
        lo = parse_date(since, "--since") if since else None
        hi = parse_date(until, "--until") if until else None
        if lo and hi and lo > hi:
            raise EventlakeError(f"--since {lo} is after --until {hi}")
        lake, tenant_id, into = _target(state.lake(memory_limit=f"{memory_mb or settings.memory_mb}MB", threads=2), tenant)
        stats = _run_with_progress(name, lambda **cb: LineIngest(
            lake, logtype, locations, endpoint_url=endpoint_url, batch_mb=batch_mb or 16, since=lo, until=hi, tenant_id=tenant_id, **cb,
        ))
        report(stats, strict, into)

    command.__doc__ = f"Ingest {(logtype.description or name).rstrip('.')} into {logtype.table.name}."
    app.command(name)(command)


@app.command("bi-metadata")
def bi_metadata(
    locations: list[str] = typer.Argument(..., help="Folders (or s3:// URIs) of snapshot files written by `eventlake extract quicksight`."),
    endpoint_url: str = typer.Option(None, "--endpoint-url", help="S3-compatible endpoint for s3:// locations."),
    strict: bool = typer.Option(False, "--strict", help="Exit with status 1 if any record was quarantined."),
    tenant: str = TENANT_OPTION,
) -> None:
    """Ingest BI metadata snapshots (QuickSight API shaped) into users, assets, asset_permissions and dataset_usage."""
    from ..sources.bi_metadata import ingest as ingest_bi

    lake, tenant_id, into = _target(state.lake(), tenant)
    stats = ingest_bi(lake, locations, endpoint_url=endpoint_url, tenant_id=tenant_id)
    report(stats, strict, into)


for _name in LOG_TYPE_MODULES:
    _add_log_command(_name)
