"""`eventlake extract ...`: write metadata snapshots of the systems being measured."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import console

app = typer.Typer(
    help="Extract metadata snapshots (users, groups, dashboards, datasets, permissions) into files that `eventlake ingest bi-metadata` loads.",
    no_args_is_help=True,
)


@app.command("quicksight")
def quicksight(
    account_id: str = typer.Option(..., "--account-id", help="12-digit AWS account id that owns the QuickSight subscription."),
    region: str = typer.Option(..., "--region", help="QuickSight region to read (user and group calls need the identity region)."),
    out: Path = typer.Option(..., "--out", help="Root folder; the snapshot goes to OUT/<account>/<region>/<YYYYMMDDTHHMMSSZ>/."),
    namespace: str = typer.Option("default", "--namespace", help="QuickSight namespace of the users and groups."),
    endpoint_url: str = typer.Option(None, "--endpoint-url", help="QuickSight API endpoint (for a local or private endpoint)."),
) -> None:
    """Snapshot QuickSight metadata with boto3 (credentials from the standard AWS chain)."""
    from ..extract import quicksight as qs

    folder = qs.extract_quicksight(account_id, region, out, namespace=namespace, endpoint_url=endpoint_url)
    console.print(f"wrote {folder}", markup=False, soft_wrap=True)
    counts = qs.snapshot_counts(folder)
    width = max((len(k) for k in counts), default=0)
    for api, n in counts.items():
        console.print(f"  {api:<{width}}  {n:>7,}", markup=False)
    if counts.get("errors"):
        console.print(f"  ({counts['errors']:,} calls failed; see {folder / 'errors.json'})", markup=False, soft_wrap=True)
    console.print(f"load it with: eventlake ingest bi-metadata {out}", markup=False, soft_wrap=True)
