"""A tenant's write key writes to its tenant: the collector stamps the tenant of the
key's source on each event it accepts, and the loader puts the events in the tenant's
storage (pool: the lake's tables with tenant_id, bridge: its schema, silo: its lake)."""

from __future__ import annotations

import json
import time

import orjson
import pytest
from typer.testing import CliRunner

from eventlake.cli import app
from eventlake.collect.loader import Loader
from eventlake.collect.sources import add_source, load_sources
from eventlake.governance.tenants import TenantError, add_tenant, remove_tenant
from eventlake.lake import Lake
from tests.collect.test_loader import SEG1, record, write_segment
from tests.sources.test_lines import rows


def send(c, key: str, *message_ids: str) -> None:
    """Send track events with a key (retrying while a source added a moment ago is not
    known to the collector yet)."""
    body = {"batch": [{"type": "track", "userId": "u1", "event": "Signed Up", "messageId": m} for m in message_ids]}
    deadline = time.monotonic() + 10
    while (r := c.post("/v1/batch", body, key=key)).status_code == 401:
        assert time.monotonic() < deadline, "the source is not accepted"
        time.sleep(0.1)
    assert r.status_code == 200, r.text


@pytest.fixture
def tenants(lake):
    add_tenant(lake, "acme", "pool")
    add_tenant(lake, "initech", "bridge")
    add_tenant(lake, "umbrella", "silo")
    return lake


def test_a_tenants_write_key_writes_to_its_tenant(tenants, make_collector):
    lake = tenants
    c = make_collector("web")  # the lake's own source
    _, acme = add_source(lake, "acme-web", tenant="acme")
    _, initech = add_source(lake, "initech-app", tenant="initech")
    _, umbrella = add_source(lake, "umbrella-app", tenant="umbrella")
    send(c, c.key, "m-own", "m-shared")
    # the pool tenant sends a messageId the lake's own source sent too, and a retry
    send(c, acme, "m-a1", "m-a2", "m-shared")
    send(c, acme, "m-a1")
    send(c, initech, "m-i1", "m-i2")
    send(c, umbrella, "m-u1")
    stats = c.load()
    assert (stats.records_read, stats.records_loaded, stats.records_duplicate, stats.records_quarantined) == (9, 8, 1, 0)

    # pool: the lake's tables, tenant_id set; the same messageId of another owner is not a duplicate
    assert rows(lake, "SELECT tenant_id, message_id, source FROM main.events ORDER BY 1 NULLS FIRST, 2") == [
        (None, "m-own", "web"), (None, "m-shared", "web"),
        ("acme", "m-a1", "acme-web"), ("acme", "m-a2", "acme-web"), ("acme", "m-shared", "acme-web"),
    ]
    # raw_events keeps every record as received, the retry included
    assert rows(lake, "SELECT tenant_id, count(*) FROM main.raw_events GROUP BY 1 ORDER BY 1 NULLS FIRST") == [(None, 2), ("acme", 4)]
    # bridge: the tenant's schema, with the segment's mark there
    assert rows(lake, "SELECT message_id, source FROM tenant_initech.events ORDER BY 1") == [("m-i1", "initech-app"), ("m-i2", "initech-app")]
    assert rows(lake, "SELECT count(*) FROM tenant_initech.raw_events") == [(2,)]
    assert rows(lake, "SELECT source, sum(records), sum(loaded) FROM tenant_initech.ingested_objects GROUP BY 1") == [("collector", 2, 2)]
    # silo: the tenant's own lake
    silo = Lake(lake.path / "tenants" / "umbrella")
    assert rows(silo, "SELECT message_id, source FROM events") == [("m-u1", "umbrella-app")]
    assert rows(silo, "SELECT source, sum(records), sum(loaded) FROM ingested_objects GROUP BY 1") == [("collector", 1, 1)]
    # the lake's own segment marks count what went to the lake's tables
    assert rows(lake, "SELECT sum(records), sum(loaded), sum(duplicates) FROM main.ingested_objects WHERE source = 'collector'") == [(6, 5, 1)]
    # loading again changes nothing anywhere
    send(c, acme, "m-a2")
    send(c, initech, "m-i1")
    c.load()
    assert rows(lake, "SELECT count(*) FROM main.events WHERE tenant_id = 'acme'") == [(3,)]
    assert rows(lake, "SELECT count(*) FROM tenant_initech.events") == [(2,)]


def test_a_removed_tenants_key_stops_and_what_it_sent_before_stays_the_tenants(tenants, make_collector):
    lake = tenants
    c = make_collector("initech-app", tenant="initech")
    send(c, c.key, "m-0")
    remove_tenant(lake, "initech")
    # the key works until the collector's next look at the sources (within a second here)
    accepted, deadline = ["m-0"], time.monotonic() + 10
    while (r := c.post("/v1/track", {"userId": "u", "event": "E", "messageId": f"m-{len(accepted)}"})).status_code == 200:
        accepted.append(f"m-{len(accepted)}")
        assert time.monotonic() < deadline, "a removed tenant's key still works"
        time.sleep(0.1)
    assert r.status_code == 401
    c.load()
    # what it accepted was acknowledged: it goes where the tenant's data stays
    assert rows(lake, "SELECT message_id FROM tenant_initech.events ORDER BY 1") == [(m,) for m in sorted(accepted)]
    assert rows(lake, "SELECT count(*) FROM main.events") == [(0,)]


def test_a_crash_after_a_silo_commit_loads_nothing_twice(tenants, tmp_path, monkeypatch):
    lake = tenants
    d = tmp_path / "raw"
    write_segment(d, SEG1, [record("m-own"), {**record("m-u1", source="umbrella-app"), "tenant": "umbrella"}])
    real_commit = Loader._commit

    def crash_in_the_lakes_commit(self, con, target, *rest):
        if target.path == lake.path:
            raise OSError("killed")
        return real_commit(self, con, target, *rest)

    monkeypatch.setattr(Loader, "_commit", crash_in_the_lakes_commit)
    stats = Loader(lake, d).load_pending()
    assert (stats.files_failed, (d / SEG1).exists()) == (1, True)
    silo = Lake(lake.path / "tenants" / "umbrella")
    assert rows(silo, "SELECT message_id FROM events") == [("m-u1",)]
    monkeypatch.setattr(Loader, "_commit", real_commit)
    stats = Loader(lake, d).load_pending()
    assert (stats.files_read, stats.records_read, stats.records_loaded) == (1, 1, 1)
    assert rows(silo, "SELECT message_id FROM events") == [("m-u1",)]
    assert rows(silo, "SELECT count(*) FROM ingested_objects") == [(1,)]
    assert rows(lake, "SELECT message_id FROM main.events") == [("m-own",)]
    assert not (d / SEG1).exists()


def test_a_record_for_a_tenant_the_lake_never_had_is_quarantined(lake, tmp_path):
    d = tmp_path / "raw"
    write_segment(d, SEG1, [record("m-1"), {**record("m-2"), "tenant": "ghost"}])
    stats = Loader(lake, d).load_pending()
    assert (stats.records_read, stats.records_loaded, stats.records_quarantined) == (2, 1, 1)
    assert stats.problems == [f"{SEG1} at line 2: sent for tenant ghost, which this lake does not have"]
    [(reason, raw)] = rows(lake, "SELECT reason, raw FROM quarantine")
    assert reason == "sent for tenant ghost, which this lake does not have"
    assert json.loads(raw)["message_id"] == "m-2" and json.loads(raw)["tenant"] == "ghost"
    assert rows(lake, "SELECT message_id FROM events") == [("m-1",)]


def test_sources_cli_ties_a_source_to_a_tenant(tenants):
    lake = tenants

    def run(*args):
        return CliRunner().invoke(app, ["--lake", str(lake.path), "sources", *args])

    res = run("add", "app", "--tenant", "acme")
    assert res.exit_code == 0, res.output
    assert res.output.splitlines()[0].startswith("source app created (key id k_") and "events go to tenant acme)" in res.output
    listed = orjson.loads(run("list", "--format", "json").output)
    assert [(s["name"], s["tenant"]) for s in listed] == [("app", "acme")]
    res = run("set", "app", "--tenant", "initech")
    assert res.exit_code == 0 and res.output.strip().endswith("; tenant initech"), res.output
    assert run("set", "app", "--no-tenant").exit_code == 0
    assert [s.tenant for s in load_sources(lake)] == [None]
    res = run("add", "other", "--tenant", "nope")
    assert res.exit_code == 1 and isinstance(res.exception, TenantError)
    assert str(res.exception) == "no tenant named 'nope' (see `eventlake tenants list`)"
    assert [s.name for s in load_sources(lake)] == ["app"]
    res = run("set", "app", "--tenant", "acme", "--no-tenant")
    assert res.exit_code == 1 and str(res.exception) == "--tenant and --no-tenant contradict each other: give one of them"


def test_an_older_lakes_sources_table_gets_the_tenant_column(tenants):
    lake = tenants
    add_source(lake, "web")
    con = lake.connect()
    con.execute('ALTER TABLE lake."collector_sources" DROP COLUMN "tenant"')  # as a lake made before tenants
    con.close()
    assert [(s.name, s.tenant) for s in load_sources(lake)] == [("web", None)]
    add_source(lake, "app", tenant="acme")
    assert [(s.name, s.tenant) for s in load_sources(lake)] == [("app", "acme"), ("web", None)]
