"""Tenants in the three storage models, grants, and the datashare-like listings."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from eventlake.cli import app
from eventlake.governance.tenants import (
    TenantError, add_tenant, grant, load_grants, load_tenants, remove_tenant, revoke, share_objects, tenant_tables, tenants_of,
)


def run(lake, *args):
    return CliRunner().invoke(app, ["--lake", str(lake.path), *args])


def test_the_three_models_make_their_storage(lake):
    pool = add_tenant(lake, "acme", "pool")
    bridge = add_tenant(lake, "globex", "bridge")
    silo = add_tenant(lake, "initech", "silo")
    assert (pool.schema, pool.silo_path) == (None, None)
    assert (bridge.schema, bridge.silo_path) == ("tenant_globex", None)
    assert (silo.schema, silo.silo_path) == (None, "tenants/initech")
    con = lake.connect(read_only=True)
    bridged = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'lake' AND table_schema = 'tenant_globex'").fetchall()}
    con.close()
    assert bridged == set(tenant_tables())
    assert "cloudtrail_events" in bridged and "events" in bridged and "console_users" not in bridged and "api_tokens" not in bridged
    silo_lake = silo.silo(lake)
    scon = silo_lake.connect(read_only=True)
    assert set(silo_lake.table_names(scon)) == set(tenant_tables())
    scon.close()
    assert silo_lake.path == lake.path / "tenants" / "initech"
    assert [(t.name, t.model) for t in load_tenants(lake)] == [("acme", "pool"), ("globex", "bridge"), ("initech", "silo")]


def test_bad_tenants_are_refused(lake):
    add_tenant(lake, "acme", "pool")
    with pytest.raises(TenantError, match="tenant 'acme' exists already \\(pool\\)"):
        add_tenant(lake, "acme", "bridge")
    with pytest.raises(TenantError, match="storage model 'shared' is unknown: use pool, bridge or silo"):
        add_tenant(lake, "other", "shared")
    with pytest.raises(TenantError, match="tenant name 'Acme Corp' is invalid"):
        add_tenant(lake, "Acme Corp", "pool")
    with pytest.raises(TenantError, match="no tenant named 'nope'"):
        grant(lake, "nope", "user", "alice")


def test_grants_to_users_and_groups(lake):
    add_tenant(lake, "acme", "pool")
    add_tenant(lake, "globex", "bridge")
    grant(lake, "acme", "user", "alice")
    grant(lake, "acme", "user", "alice")  # idempotent
    grant(lake, "globex", "group", "globex-analysts")
    grants = load_grants(lake)
    assert [(g.tenant, g.grantee_type, g.grantee) for g in grants] == [("acme", "user", "alice"), ("globex", "group", "globex-analysts")]
    assert tenants_of(grants, "alice") == {"acme"}
    assert tenants_of(grants, "bob", {"globex-analysts"}) == {"globex"}
    assert tenants_of(grants, "carol", {"other"}) == frozenset()
    revoke(lake, "acme", "user", "alice")
    assert tenants_of(load_grants(lake), "alice") == frozenset()
    with pytest.raises(TenantError, match="user 'alice' holds no grant on tenant 'acme'"):
        revoke(lake, "acme", "user", "alice")
    remove_tenant(lake, "globex")
    assert load_grants(lake) == [] and [t.name for t in load_tenants(lake)] == ["acme"]
    # its data stays: the schema is still there
    con = lake.connect(read_only=True)
    assert con.execute("SELECT count(*) FROM information_schema.schemata WHERE catalog_name = 'lake' AND schema_name = 'tenant_globex'").fetchall() == [(1,)]
    con.close()


def test_cli_and_datashare_listings(lake):
    assert run(lake, "tenants", "add", "acme", "--model", "pool").exit_code == 0
    res = run(lake, "tenants", "add", "globex", "--model", "bridge")
    assert res.exit_code == 0 and res.output.strip() == "tenant globex added (bridge: schema tenant_globex)"
    assert run(lake, "tenants", "grant", "globex", "--group", "globex-analysts").output.strip() == "group globex-analysts may read tenant globex"
    assert run(lake, "tenants", "grant", "acme", "--user", "alice").exit_code == 0
    both = run(lake, "tenants", "grant", "acme", "--user", "a", "--group", "b")
    assert both.exit_code == 1 and "give exactly one of --user NAME or --group NAME" in str(both.exception)
    listed = json.loads(run(lake, "tenants", "list", "--format", "json").output)
    assert [(r["tenant"], r["model"], r["location"], r["consumers"]) for r in listed] == [
        ("acme", "pool", "shared tables, rows with tenant_id = 'acme'", 1),
        ("globex", "bridge", "schema tenant_globex", 1),
    ]
    objects = json.loads(run(lake, "tenants", "objects", "globex", "--format", "json").output)
    assert len(objects) == len(tenant_tables()) and {"tenant": "globex", "model": "bridge", "object": "tenant_globex.events"} in objects
    # no shared table has a tenant_id column yet: the pool tenant has no objects
    assert [o for o in share_objects(lake) if o["tenant"] == "acme"] == []
    consumers = json.loads(run(lake, "tenants", "consumers", "--format", "json").output)
    assert [(c["tenant"], c["grantee_type"], c["grantee"]) for c in consumers] == [("acme", "user", "alice"), ("globex", "group", "globex-analysts")]
