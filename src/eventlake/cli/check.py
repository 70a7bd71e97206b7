"""`eventlake check <type> LOCATION... --date D`: has a day of service logs arrived,
and do its records follow the rules? Exit status 1 when a check fails."""

from __future__ import annotations

import typer

from ..errors import EventlakeError
from ..output import write_result
from ..sources import LOG_TYPE_MODULES, log_type
from ..sources.checks import GROUP_PARTS
from .common import FORMAT_OPTION, OUTPUT_OPTION, console

app = typer.Typer(help="Check that a day of service logs has arrived and that its records follow the rules.", no_args_is_help=True)


def _add(name: str) -> None:
    logtype = log_type(name)

    def command(
        locations: list[str] = typer.Argument(..., help="Folders or s3://bucket/prefix URIs in the AWS delivery layout."),
        date: str = typer.Option(..., "--date", "-d", help="Day to check (YYYY-MM-DD or today)."),
        reference_days: int = typer.Option(1, "--reference-days", help="Compare with the day this many days before (default: the day before)."),
        by: str = typer.Option(",".join(GROUP_PARTS), "--by", help=f"What each expected delivery is identified by: any of {', '.join(GROUP_PARTS)}, comma-separated."),
        min_objects: int = typer.Option(1, "--min-objects", help="Fewest objects the day must have."),
        rules: bool = typer.Option(True, "--rules/--no-rules", help="Also parse the day's objects and apply the record rules."),
        endpoint_url: str = typer.Option(None, "--endpoint-url", help="S3-compatible endpoint for s3:// locations."),
        fmt: str = FORMAT_OPTION,
        output: str = OUTPUT_OPTION,
    ) -> None:
        from ..insights.registry import parse_date
        from ..sources.checks import check

        day = parse_date(date, "--date")
        if reference_days < 1:
            raise EventlakeError(f"--reference-days must be at least 1, got {reference_days}")
        parts = tuple(p.strip() for p in by.split(",") if p.strip())
        unknown = [p for p in parts if p not in GROUP_PARTS]
        if unknown:
            raise EventlakeError(f"--by {', '.join(unknown)}: use any of {', '.join(GROUP_PARTS)}")
        report = check(
            logtype, locations, day, reference_days=reference_days, by=parts, min_objects=min_objects,
            rules=rules, endpoint_url=endpoint_url,
        )
        write_result(report.table(), fmt, output, console, title=f"{name} {day}")
        if report.failed:
            raise typer.Exit(1)

    command.__doc__ = f"Check a day of {(logtype.description or name).rstrip('.')}: arrival per account/region/hour, and record rules."
    app.command(name)(command)


for _name in LOG_TYPE_MODULES:
    _add(_name)
