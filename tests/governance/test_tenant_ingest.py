"""`eventlake ingest ... --tenant NAME`: a tenant's data goes to its storage (pool: the
shared tables with tenant_id, bridge: its schema, silo: its lake), and a tenant's
principal reads back exactly its rows. Real fixtures, real lakes, through the CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eventlake.cli import app
from eventlake.governance.access import principal_for_token, run_as
from eventlake.governance.rewrite import PolicyError
from eventlake.governance.tenants import add_tenant, grant, remove_tenant, tenant_tables
from eventlake.lake import Lake
from eventlake.lake.tenancy import has_tenant_column
from eventlake.web.principals import add_token, add_user
from tests.engines.conftest import spark  # noqa: F401  (the Spark session fixture)

DATA = Path(__file__).resolve().parents[1] / "data"
TRAIL = DATA / "cloudtrail_insights"  # 17 files, 45 events (12 of them BI usage) of two accounts
TRAIL_A = TRAIL / "AWSLogs" / "111122223333"  # 16 of those files, 44 events (11 BI usage)
S3_SIMPLE = DATA / "s3_access" / "simple"  # 4 log files: 15 good lines, 4 bad ones
S3_PART = DATA / "s3_access" / "partitioned"  # 3 log files: 23 good lines
QUICKSIGHT = DATA / "quicksight"  # one snapshot: 7 users, 14 assets


def run(lake, *args):
    return CliRunner().invoke(app, ["--lake", str(lake.path), *args])


def ok(res) -> str:
    assert res.exit_code == 0, (res.output, res.exception)
    return res.output.strip()


@pytest.fixture(scope="module")
def tenanted_template(tmp_path_factory):
    """A lake with tenants of each model and a principal for each (plus the provider's
    staff, who hold no grant), made once: (lake, principals by user name)."""
    lake = Lake(tmp_path_factory.mktemp("tenanted") / "lake")
    con = lake.connect(create=True)
    lake.ensure_tables(con)
    con.close()
    add_tenant(lake, "acme", "pool")
    add_tenant(lake, "globex", "pool")
    add_tenant(lake, "initech", "bridge")
    add_tenant(lake, "umbrella", "silo")
    principals = {}
    for user, tenant in (("ann", "acme"), ("gus", "globex"), ("ivy", "initech"), ("uma", "umbrella"), ("staff", None)):
        add_user(lake, user, f"{user}-password-1")
        token = add_token(lake, user)[1]
        if tenant:
            grant(lake, tenant, "user", user)
        principals[user] = principal_for_token(lake, token)
    return lake, principals


@pytest.fixture
def tenanted(tenanted_template, tmp_path):
    """A copy of the template lake for one test (a lake folder moves as a whole)."""
    template, principals = tenanted_template
    shutil.copytree(template.path, tmp_path / "lake")
    return Lake(tmp_path / "lake"), principals


def rows_as(lake, principal, sql: str, engine: str = "duckdb", **options) -> list[tuple]:
    table = run_as(lake, principal, engine, sql, **options)
    return [tuple(r.values()) for r in table.to_pylist()]


def counts_as(lake, principal, *tables: str) -> tuple[int, ...]:
    """Row counts of `tables` as the principal sees them (one query)."""
    return rows_as(lake, principal, "SELECT " + ", ".join(f"(SELECT count(*) FROM {t})" for t in tables))[0]


def local(lake, sql: str) -> list[tuple]:
    con = lake.connect(read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# --- pool ---------------------------------------------------------------------------------


def test_pool_tenants_get_their_own_rows_of_the_shared_tables(tenanted):
    lake, who = tenanted
    assert ok(run(lake, "ingest", "cloudtrail", str(TRAIL))).startswith("cloudtrail: files 17 read")
    # the same files for a pool tenant: not "unchanged", and the same event ids are not duplicates
    assert ok(run(lake, "ingest", "cloudtrail", str(TRAIL_A), "--tenant", "acme")).startswith(
        "cloudtrail into tenant acme (pool: shared tables, tenant_id = 'acme'): files 16 read, 0 skipped by rule, 0 failed, "
        "0 unchanged since last run; records 44 read, 44 loaded, 0 duplicate, 0 quarantined;"
    )
    assert "records 45 read, 45 loaded, 0 duplicate" in ok(run(lake, "ingest", "cloudtrail", str(TRAIL), "--tenant", "globex"))
    # a rerun for a tenant skips what that tenant already has
    assert "files 0 read, 0 skipped by rule, 0 failed, 16 unchanged since last run; records 0 read" in ok(
        run(lake, "ingest", "cloudtrail", str(TRAIL_A), "--tenant", "acme"))
    assert local(lake, "SELECT tenant_id, count(*) FROM cloudtrail_events GROUP BY 1 ORDER BY 1 NULLS FIRST") == [
        (None, 45), ("acme", 44), ("globex", 45)]
    # the derived BI usage rows are the tenant's too
    assert local(lake, "SELECT tenant_id, count(*) FROM bi_events GROUP BY 1 ORDER BY 1 NULLS FIRST") == [
        (None, 12), ("acme", 11), ("globex", 12)]

    # each tenant principal sees exactly its rows, and its own ingest bookkeeping
    q = "SELECT tenant_id, count(*), count(DISTINCT event_id) FROM cloudtrail_events GROUP BY 1"
    assert rows_as(lake, who["ann"], q) == [("acme", 44, 44)]
    assert rows_as(lake, who["gus"], q) == [("globex", 45, 45)]
    assert counts_as(lake, who["ann"], "bi_events", "ingested_objects", "ingest_runs") == (11, 16, 2)
    # tenants of the other models see none of the shared tables' rows
    assert counts_as(lake, who["ivy"], "cloudtrail_events") == (0,)
    assert counts_as(lake, who["uma"], "cloudtrail_events") == (0,)
    # the provider's staff see every row of the shared tables, the provider's own included
    assert rows_as(lake, who["staff"], "SELECT tenant_id, count(*) FROM cloudtrail_events GROUP BY 1 ORDER BY 1 NULLS FIRST") == [
        (None, 45), ("acme", 44), ("globex", 45)]


def test_pool_service_logs_quarantine_reparse_and_bi_metadata(tenanted):
    lake, who = tenanted
    out = ok(run(lake, "ingest", "s3-access", str(S3_SIMPLE), "--tenant", "acme"))
    assert out.startswith("s3-access into tenant acme (pool: shared tables, tenant_id = 'acme'): files 4 read")
    assert "records 19 read, 15 loaded, 0 duplicate, 4 quarantined" in out
    assert "records 23 read, 23 loaded" in ok(run(lake, "ingest", "s3-access", str(S3_PART), "--tenant", "acme"))
    assert "records 23 read, 23 loaded" in ok(run(lake, "ingest", "s3-access", str(S3_PART)))  # the provider's own copy
    assert "records 23 read, 23 loaded" in ok(run(lake, "ingest", "s3-access", str(S3_PART), "--tenant", "globex"))
    # the tenant's rejected lines are attributable to it: its principal sees them, no one else does
    assert counts_as(lake, who["ann"], "s3_access_logs", "quarantine") == (38, 4)
    assert counts_as(lake, who["gus"], "s3_access_logs", "quarantine") == (23, 0)
    assert local(lake, "SELECT count(*) FROM quarantine WHERE tenant_id IS NULL") == [(0,)]

    # reparse rebuilds the shared table from raw lines and every row keeps its tenant
    assert ok(run(lake, "reparse", "s3-access")).startswith(
        "s3_access_logs: 84 rows re-parsed from raw_line, 84 loaded, 0 moved to quarantine")
    assert local(lake, "SELECT tenant_id, count(*) FROM s3_access_logs GROUP BY 1 ORDER BY 1 NULLS FIRST") == [
        (None, 23), ("acme", 38), ("globex", 23)]
    assert local(lake, "SELECT tenant_id, count(*) FROM quarantine GROUP BY 1") == [("acme", 4)]

    assert "records 59 read, 59 loaded" in ok(run(lake, "ingest", "bi-metadata", str(QUICKSIGHT), "--tenant", "acme"))
    # the same snapshot for another tenant is that tenant's, not a duplicate
    assert "records 59 read, 59 loaded, 0 duplicate" in ok(run(lake, "ingest", "bi-metadata", str(QUICKSIGHT), "--tenant", "globex"))
    assert counts_as(lake, who["ann"], "users", "assets") == (7, 14)
    # (the provider's own rows of `users` are the console's users)
    assert local(lake, "SELECT count(*) FROM users WHERE tenant_id IS NULL AND source_object <> 'console_users'") == [(0,)]


def test_rebuilding_a_derived_table_keeps_each_rows_tenant(tenanted):
    lake, who = tenanted
    ok(run(lake, "ingest", "cloudtrail", str(TRAIL)))
    ok(run(lake, "ingest", "cloudtrail", str(TRAIL_A), "--tenant", "acme"))
    assert ok(run(lake, "lake", "rebuild", "bi_events")) == "bi_events: rebuilt, 23 rows"
    assert local(lake, "SELECT tenant_id, count(*) FROM bi_events GROUP BY 1 ORDER BY 1 NULLS FIRST") == [(None, 12), ("acme", 11)]
    assert counts_as(lake, who["ann"], "bi_events") == (11,)


@pytest.mark.spark
def test_spark_reads_files_written_before_the_tenant_column_as_null(tenanted, spark):  # noqa: F811
    lake, who = tenanted
    ok(run(lake, "ingest", "cloudtrail", str(TRAIL)))  # files without a tenant_id column
    ok(run(lake, "ingest", "cloudtrail", str(TRAIL_A), "--tenant", "acme"))  # the column added, then files with it
    q = "SELECT tenant_id, count(*) AS n FROM cloudtrail_events GROUP BY 1 ORDER BY 1 NULLS FIRST"
    assert rows_as(lake, who["staff"], q, "spark", master="local[2]") == [(None, 45), ("acme", 44)]
    assert rows_as(lake, who["ann"], q, "spark", master="local[2]") == [("acme", 44)]


# --- bridge and silo ----------------------------------------------------------------------


def test_a_bridge_tenants_data_goes_to_its_schema(tenanted):
    lake, who = tenanted
    assert ok(run(lake, "ingest", "cloudtrail", str(TRAIL), "--tenant", "initech")).startswith(
        "cloudtrail into tenant initech (bridge: schema tenant_initech): files 17 read, 0 skipped by rule, 0 failed, "
        "0 unchanged since last run; records 45 read, 45 loaded, 0 duplicate, 0 quarantined;"
    )
    assert "15 loaded, 0 duplicate, 4 quarantined" in ok(run(lake, "ingest", "s3-access", str(S3_SIMPLE), "--tenant", "initech"))
    assert "59 loaded" in ok(run(lake, "ingest", "bi-metadata", str(QUICKSIGHT), "--tenant", "initech"))
    assert "17 unchanged" in ok(run(lake, "ingest", "cloudtrail", str(TRAIL), "--tenant", "initech"))
    assert counts_as(lake, who["ivy"], "cloudtrail_events", "bi_events", "s3_access_logs", "quarantine", "users") == (45, 12, 15, 4, 7)
    assert rows_as(lake, who["ivy"], "SELECT source, records_loaded FROM ingest_runs ORDER BY started_at") == [
        ("cloudtrail", 45), ("s3-access", 15), ("bi-metadata", 59), ("cloudtrail", 0)]
    # nothing went to the shared tables: neither the provider nor a pool tenant sees it
    assert local(lake, "SELECT count(*) FROM main.cloudtrail_events") == [(0,)]
    assert counts_as(lake, who["staff"], "cloudtrail_events") == (0,)
    with pytest.raises(PolicyError, match="no table named 'cloudtrail_events'"):  # no pool tenant's rows in it
        counts_as(lake, who["ann"], "cloudtrail_events")
    # the schema holds the tenant tables only: ingest made none of the lake's own there
    schema = {t for (t,) in local(lake, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'tenant_initech'")}
    assert schema == set(tenant_tables())


def test_a_silo_tenants_data_goes_to_its_lake(tenanted):
    lake, who = tenanted
    silo = lake.path / "tenants" / "umbrella"
    assert ok(run(lake, "ingest", "cloudtrail", str(TRAIL), "--tenant", "umbrella")).startswith(
        f"cloudtrail into tenant umbrella (silo: its lake {silo}): files 17 read"
    )
    assert "23 loaded" in ok(run(lake, "ingest", "s3-access", str(S3_PART), "--tenant", "umbrella"))
    assert counts_as(lake, who["uma"], "cloudtrail_events", "bi_events", "s3_access_logs", "ingest_runs") == (45, 12, 23, 2)
    assert local(lake, "SELECT count(*) FROM cloudtrail_events") == [(0,)]
    assert local(lake, "SELECT count(*) FROM ingest_runs") == [(0,)]
    assert counts_as(lake, who["staff"], "cloudtrail_events") == (0,)
    with pytest.raises(PolicyError, match="no table named 's3_access_logs'"):
        counts_as(lake, who["ann"], "s3_access_logs")


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind, location", [("cloudtrail", TRAIL), ("s3-access", S3_PART), ("bi-metadata", QUICKSIGHT)])
def test_an_unknown_or_removed_tenant_is_refused_and_nothing_is_written(lake, kind, location):
    add_tenant(lake, "globex", "pool")
    res = run(lake, "ingest", kind, str(location), "--tenant", "nope")
    assert res.exit_code == 1
    assert str(res.exception) == "no tenant named 'nope' (see `eventlake tenants list`)"
    remove_tenant(lake, "globex")
    res = run(lake, "ingest", kind, str(location), "--tenant", "globex")
    assert res.exit_code == 1
    assert str(res.exception) == "tenant 'globex' was removed: its data is no longer written (see `eventlake tenants list`)"
    assert local(lake, "SELECT count(*) FROM ingest_runs") == [(0,)]
    assert local(lake, "SELECT count(*) FROM ingested_objects") == [(0,)]
    con = lake.connect(read_only=True)
    try:
        assert not any(has_tenant_column(con, t) for t in ("cloudtrail_events", "s3_access_logs", "users", "ingest_runs"))
    finally:
        con.close()
