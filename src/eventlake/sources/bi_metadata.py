"""BI metadata snapshots source: finds snapshot folders (a folder holding
manifest.json) anywhere under local folders or s3:// prefixes and loads them into
`users`, `assets`, `asset_permissions` and `dataset_usage` (format and parsing in
bi_snapshot.py).

A snapshot is identified by (account, region, snapshot time); snapshots accumulate and
are never overwritten. One snapshot commits in one transaction: its rows, its
quarantined entries, the `ingested_objects` marks of its files and one mark for its
identity. Re-reading an unchanged folder is skipped as unchanged; a copy of a loaded
snapshot elsewhere (or a changed file of one) is read and counted as duplicate. Bad
entries are quarantined and the rest of the snapshot still loads. For a pool tenant
every row carries the tenant, and a snapshot loaded for one tenant is new to another."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import duckdb
import pyarrow as pa

from ..errors import LakeError
from ..lake import Lake
from ..lake.catalog import ALIAS
from ..lake.schema import ASSET_PERMISSIONS, ASSETS, DATASET_USAGE, USERS, TableDef
from ..lake.tenancy import tenant_stamp
from .base import IngestStats, ingest_run, known_versions, record_objects, record_quarantine
from .bi_snapshot import MANIFEST, SNAPSHOT_FILES, SnapshotReader, SnapshotRows
from .stores import SourceObject, Store, open_store

SOURCE = "bi-metadata"


# -- finding snapshots ------------------------------------------------------------
@dataclass
class SnapshotFolder:
    prefix: str  # the folder's key relative to the listed root ('' for the root)
    files: dict[str, SourceObject]  # snapshot file name -> object


def find_snapshots(objects: Iterable[SourceObject], stats: IngestStats) -> list[SnapshotFolder]:
    """Group listed objects by folder; a folder holding manifest.json is a snapshot.
    Everything else is counted as skipped by rule."""
    by_folder: dict[str, list[SourceObject]] = {}
    for obj in objects:
        folder = obj.key.rsplit("/", 1)[0] if "/" in obj.key else ""
        by_folder.setdefault(folder, []).append(obj)

    def skip(why: str, n: int = 1) -> None:
        stats.files_skipped += n
        stats.skip_reasons[why] = stats.skip_reasons.get(why, 0) + n

    found = []
    for folder in sorted(by_folder):
        objs = by_folder[folder]
        if any(part.startswith(".") for part in folder.split("/")):
            skip("hidden or unfinished folder", len(objs))
            continue
        names = {o.name for o in objs}
        if MANIFEST not in names:
            skip("not in a snapshot folder", len(objs))
            continue
        files = {o.name: o for o in objs if o.name in SNAPSHOT_FILES}
        if len(files) < len(objs):
            skip("not a snapshot file", len(objs) - len(files))
        found.append(SnapshotFolder(folder, files))
    return found


# -- writing ----------------------------------------------------------------------
_ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
    "DATE": pa.date32(),
    "BOOLEAN": pa.bool_(),
    "BIGINT": pa.int64(),
    "VARCHAR[]": pa.list_(pa.string()),
}


def _insert(con: duckdb.DuckDBPyConnection, table: TableDef, rows: list[dict], tenant_id: str | None = None) -> None:
    """Append rows (dicts keyed by column name; missing keys are NULL) through an
    Arrow table registered with DuckDB: values are never pasted into SQL."""
    if not rows:
        return
    schema = pa.schema([(c, _ARROW_TYPES[t]) for c, t in table.columns])
    data = pa.Table.from_pylist([{c: r.get(c) for c in table.column_names} for r in rows], schema=schema)
    view = f"_bi_{table.name}"
    stamp = tenant_stamp(tenant_id)
    con.register(view, data)
    try:
        cols = ", ".join(f'"{c}"' for c in table.column_names)
        con.execute(f'INSERT INTO {ALIAS}."{table.name}" ({cols}{stamp.column_sql}) SELECT {cols}{stamp.value_sql} FROM {view}',
                    list(stamp.values))
    finally:
        con.unregister(view)


class BiMetadataIngest:
    """One `eventlake ingest bi-metadata` run over one or more locations."""

    def __init__(self, lake: Lake, locations: list[str], *, endpoint_url: str | None = None, tenant_id: str | None = None):
        self.lake = lake
        self.stores: list[Store] = [open_store(_folder_of(loc), endpoint_url) for loc in locations]
        self.tenant_id = tenant_id  # the pool tenant whose snapshots these are (None: the lake's own)
        self.stats = IngestStats(SOURCE, tenant_id=tenant_id)

    def run(self) -> IngestStats:
        tables = [USERS.name, ASSETS.name, ASSET_PERMISSIONS.name, DATASET_USAGE.name]
        with ingest_run(self.lake, self.stats, tables) as (con, spool):
            known = known_versions(con, SOURCE, self.tenant_id)
            seen: set[str] = set()
            for store in self.stores:
                objects = [o for o in store.list() if o.uri not in seen]
                seen.update(o.uri for o in objects)
                for folder in find_snapshots(objects, self.stats):
                    self._snapshot(con, folder, known, spool)
        return self.stats

    def _snapshot(self, con, folder: SnapshotFolder, known: dict[str, str], spool: Path) -> None:
        s = self.stats
        objs = list(folder.files.values())
        if all(known.get(o.uri) == o.version for o in objs):
            s.files_unchanged += len(objs)
            return
        fetched: dict[str, tuple[SourceObject, Path]] = {}
        try:
            for name, obj in folder.files.items():
                fetched[name] = (obj, obj.store.fetch(obj, spool))
            reader = SnapshotReader(fetched)
            ident = reader.identity()
            duplicate = ident is not None and ident.mark_uri in known
            rows = reader.read() if ident is not None else SnapshotRows()
        finally:
            for obj, path in fetched.values():
                if not obj.store.is_local():
                    path.unlink(missing_ok=True)
        if duplicate:
            # The same snapshot was loaded before (from here or a copy elsewhere):
            # every record is a duplicate and nothing but the file marks is written.
            for c in reader.counts.values():
                c[1:] = [0, c[0], 0]
            reader.quarantined = []
            rows = SnapshotRows()
        marks = []
        for name, obj in folder.files.items():
            rec, ld, dup, q = reader.counts[name]
            status = "failed" if name in reader.failed or ident is None else "loaded"
            marks.append((obj.uri, obj.size, obj.version, status, rec, ld, dup, q))
        if ident is not None and not duplicate:
            marks.append((ident.mark_uri, sum(o.size for o in objs), folder.files[MANIFEST].uri, "loaded", None, None, None, None))
        try:
            with self.lake.transaction(con):
                if ident is not None:
                    snap = dict(snapshot_time=ident.snapshot_time, snapshot_date=ident.snapshot_time.date(),
                                account_id=ident.account_id, region=ident.region)
                    for table, items in ((USERS, rows.users), (ASSETS, rows.assets),
                                         (ASSET_PERMISSIONS, rows.permissions), (DATASET_USAGE, rows.usage)):
                        _insert(con, table, [dict(r, **snap) for r in items], self.tenant_id)
                record_quarantine(con, SOURCE, s.run_id, reader.quarantined, self.tenant_id)
                record_objects(con, SOURCE, s.run_id, marks, self.tenant_id)
        except duckdb.Error as exc:
            where = folder.files[MANIFEST].uri.rsplit("/", 1)[0]
            raise LakeError(f"cannot commit the snapshot in {where}: {exc}") from None
        if ident is not None:
            known[ident.mark_uri] = folder.files[MANIFEST].uri
        for obj in objs:
            known[obj.uri] = obj.version
        counts = list(reader.counts.values())
        s.files_read += len(objs)
        s.files_failed += len(reader.failed) if ident is not None else len(objs)
        s.bytes_read += sum(o.size for o in objs)
        s.records_read += sum(c[0] for c in counts)
        s.records_loaded += sum(c[1] for c in counts)
        s.records_duplicate += sum(c[2] for c in counts)
        s.records_quarantined += sum(c[3] for c in counts)
        s.add_problems(q.message() for q in reader.quarantined)


def _folder_of(location: str) -> str:
    """A local file given as a location (e.g. a manifest.json) stands for its folder:
    a snapshot is read whole, never one file of it."""
    if "://" not in location:
        p = Path(location).expanduser()
        if p.is_file():
            return str(p.parent)
    return location


def ingest(lake: Lake, locations: Iterable[str], endpoint_url: str | None = None, tenant_id: str | None = None) -> IngestStats:
    """Ingest BI metadata snapshots from local paths and s3:// URIs (for the pool tenant
    `tenant_id`, or the lake's own)."""
    return BiMetadataIngest(lake, list(locations), endpoint_url=endpoint_url, tenant_id=tenant_id).run()
