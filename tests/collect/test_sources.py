"""Collector sources: write keys shown once and stored only as a hash, the latest row
per name wins, and the `eventlake sources` commands."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from eventlake.collect.sources import (
    CollectorSourceError,
    SourceRegistry,
    add_source,
    get_source,
    hash_key,
    load_sources,
    normalize_site,
    revoke_source,
    update_source,
)

CMD = [sys.executable, "-c", "from eventlake.cli import main; main()"]


def run(lake_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(CMD + ["--lake", str(lake_path), *args], capture_output=True, text=True, timeout=120)


def lake_bytes(lake_path: Path) -> bytes:
    """Every byte in the lake directory (catalog and data files)."""
    return b"".join(p.read_bytes() for p in sorted(lake_path.rglob("*")) if p.is_file())


# --- the library ----------------------------------------------------------------------


def test_add_stores_only_the_hash(lake):
    src, key = add_source(lake, "web", sites=["https://Example.com/"], event_allowlist=["Signed Up"], query_allowlist=["ref"])
    assert len(key) >= 43  # 32 random bytes, URL-safe base64
    assert src.key_hash == hashlib.sha256(key.encode()).hexdigest() == hash_key(key)
    assert re.fullmatch(r"k_[0-9a-f]{8}", src.key_id)
    assert key[:8] not in src.key_id
    assert src.sites == ("example.com",)
    [stored] = load_sources(lake)
    assert stored.name == "web" and stored.key_hash == src.key_hash and stored.key_id == src.key_id
    assert stored.event_allowlist == ("Signed Up",)
    assert stored.property_allowlist is None  # no allowlist: every property
    assert stored.query_allowlist == ("ref",)
    assert not stored.keep_ip and not stored.revoked
    assert key.encode() not in lake_bytes(lake.path)


def test_each_source_gets_its_own_key(lake):
    _, k1 = add_source(lake, "web")
    _, k2 = add_source(lake, "backend")
    assert k1 != k2
    assert [s.name for s in load_sources(lake)] == ["backend", "web"]


def test_adding_an_existing_name_is_an_error(lake):
    add_source(lake, "web")
    with pytest.raises(CollectorSourceError, match="'web' exists already"):
        add_source(lake, "web")


def test_latest_row_wins(lake):
    src, key = add_source(lake, "web", event_allowlist=["A"])
    update_source(lake, "web", event_allowlist=["A", "B"], keep_ip=True)
    update_source(lake, "web", property_allowlist=["plan"])
    s = get_source(lake, "web")
    assert s.event_allowlist == ("A", "B") and s.property_allowlist == ("plan",) and s.keep_ip
    assert s.key_hash == src.key_hash  # the key stays the same
    update_source(lake, "web", event_allowlist=None)
    assert get_source(lake, "web").event_allowlist is None
    con = lake.connect(read_only=True)
    assert con.execute("SELECT count(*) FROM collector_sources WHERE name = 'web'").fetchall()[0][0] == 4
    con.close()


def test_revoke_and_reuse_the_name(lake):
    src, key = add_source(lake, "web")
    revoked = revoke_source(lake, "web")
    assert revoked.revoked and revoked.key_hash == src.key_hash
    with pytest.raises(CollectorSourceError, match="revoked already"):
        revoke_source(lake, "web")
    with pytest.raises(CollectorSourceError, match="is revoked"):
        update_source(lake, "web", keep_ip=True)
    # a revoked name may be added again, with a new key
    src2, key2 = add_source(lake, "web")
    assert key2 != key and src2.key_hash != src.key_hash
    assert not get_source(lake, "web").revoked
    # each change of a write key is in the audit trail, with the key's id (never the key)
    from eventlake.governance.audit import read_audit

    trail = [(e["action"], e["target"], e["detail"]["key_id"]) for e in reversed(read_audit(lake))]
    assert trail == [("source_add", "web", src.key_id), ("source_revoke", "web", src.key_id), ("source_add", "web", src2.key_id)]


def test_unknown_source_and_invalid_settings(lake):
    with pytest.raises(CollectorSourceError, match="no collector source named 'nope'"):
        revoke_source(lake, "nope")
    with pytest.raises(CollectorSourceError, match="no collector source named 'nope'"):
        update_source(lake, "nope", keep_ip=True)
    with pytest.raises(CollectorSourceError, match="source name 'bad name' is invalid"):
        add_source(lake, "bad name")
    with pytest.raises(CollectorSourceError, match="is not a host name"):
        add_source(lake, "web", sites=["not a host"])
    with pytest.raises(CollectorSourceError, match="--allow-query 'a=b' is not a valid name"):
        add_source(lake, "web", query_allowlist=["a=b"])
    add_source(lake, "web")
    with pytest.raises(CollectorSourceError, match="nothing to change"):
        update_source(lake, "web")


@pytest.mark.parametrize(
    "given,expected",
    [("example.com", "example.com"), ("https://WWW.Example.com/", "www.example.com"), ("localhost:8000", "localhost:8000"), ("http://app.example.com:8443/x", "app.example.com:8443")],
)
def test_normalize_site(given, expected):
    assert normalize_site(given) == expected


def test_site_matching(lake):
    src, _ = add_source(lake, "web", sites=["example.com", "localhost:8000"])
    assert src.site_allowed("example.com")
    assert src.site_allowed("www.example.com")  # a subdomain of a registered site
    assert src.site_allowed("localhost:8000") and src.site_allowed("localhost")
    assert not src.site_allowed("evil-example.com")
    assert not src.site_allowed("example.com.evil.net")
    assert src.site_allowed(None)  # server-side clients send no Origin
    open_src, _ = add_source(lake, "backend")
    assert open_src.site_allowed("anything.org")


def test_registry_finds_active_sources_by_key(lake):
    reg = SourceRegistry(lake, refresh_seconds=60)
    assert reg.refresh()
    assert len(reg) == 0
    src, key = add_source(lake, "web")
    assert reg.lookup(key) is None  # not refreshed yet
    assert reg.refresh()
    assert reg.lookup(key).name == "web"
    assert reg.lookup(key + "x") is None and reg.lookup("") is None
    revoke_source(lake, "web")
    reg.refresh()
    assert reg.lookup(key) is None


def test_registry_reads_the_sources_again_only_after_a_change_to_them(lake):
    """A refresh first checks the snapshots since its last read: the collector's own
    loads (inserts into other tables) leave the list as it is; a new source, a revoked
    key or a removed tenant make it read the sources again, on the same connection."""
    from eventlake.governance.tenants import add_tenant, remove_tenant

    add_tenant(lake, "acme", "pool")
    _, key = add_source(lake, "web", tenant="acme")
    reg = SourceRegistry(lake, refresh_seconds=60)
    assert reg.refresh() and reg.reloads == 1 and reg.lookup(key).name == "web"
    assert reg.refresh() and reg.reloads == 1  # nothing committed since
    con = lake.connect()
    for i in range(3):  # what the loader does all day
        with lake.transaction(con):
            con.execute("INSERT INTO lake.main.deliveries (attempt_date, destination, message_id) VALUES (DATE '2026-11-26', ?, ?)", ["d", f"m{i}"])
    con.close()
    assert reg.refresh() and reg.reloads == 1 and reg.lookup(key).name == "web"
    _, key2 = add_source(lake, "app")
    assert reg.refresh() and reg.reloads == 2 and reg.lookup(key2).name == "app"
    remove_tenant(lake, "acme")  # its keys stop working with it
    assert reg.refresh() and reg.reloads == 3
    assert reg.lookup(key) is None and reg.lookup(key2).name == "app"
    revoke_source(lake, "app")
    assert reg.refresh() and reg.reloads == 4 and reg.lookup(key2) is None
    reg.close()
    assert reg.refresh() and reg.reloads == 5  # a new connection reads once more
    reg.close()


def test_registry_on_a_missing_lake(tmp_path):
    from eventlake.lake import Lake

    reg = SourceRegistry(Lake(tmp_path / "none"))
    assert reg.refresh() and len(reg) == 0


# --- the command line -------------------------------------------------------------------


def test_sources_cli_add_list_set_revoke(tmp_path):
    lake_path = tmp_path / "lake"
    r = run(lake_path, "sources", "add", "web", "--site", "example.com", "--allow-event", "Signed Up", "--allow-query", "ref")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    m = re.search(r"^([A-Za-z0-9_-]{43})$", out, re.M)
    assert m, out
    key = m.group(1)
    assert out.count(key) == 2  # the key line and the snippet
    assert f'<script defer src="https://example.com/s.js" data-key="{key}"></script>' in out
    key_id = re.search(r"key id (k_[0-9a-f]{8})", out).group(1)

    # only the hash is stored: the key's text is nowhere in the catalog or data files
    catalog = (lake_path / "catalog.sqlite").read_bytes()
    assert key.encode() not in catalog
    assert key.encode() not in lake_bytes(lake_path)
    assert hashlib.sha256(key.encode()).hexdigest().encode() in lake_bytes(lake_path)

    r = run(lake_path, "sources", "list")
    assert r.returncode == 0, r.stderr
    assert "web" in r.stdout and key_id in r.stdout and "active" in r.stdout and key not in r.stdout
    r = run(lake_path, "sources", "list", "--format", "json")
    [row] = json.loads(r.stdout)
    assert row["name"] == "web" and row["key_id"] == key_id and row["sites"] == ["example.com"]
    assert row["event_allowlist"] == ["Signed Up"] and row["property_allowlist"] is None and row["query_allowlist"] == ["ref"]
    assert row["keep_ip"] is False and row["revoked"] is False
    assert key not in r.stdout and "hash" not in r.stdout

    r = run(lake_path, "sources", "add", "web")
    assert r.returncode == 2 and "collector source 'web' exists already" in r.stderr and "Traceback" not in r.stderr

    r = run(lake_path, "sources", "set", "web", "--allow-property", "plan", "--allow-property", "seats", "--keep-ip", "--any-event")
    assert r.returncode == 0, r.stderr
    [row] = json.loads(run(lake_path, "sources", "list", "--format", "json").stdout)
    assert row["property_allowlist"] == ["plan", "seats"] and row["keep_ip"] is True and row["event_allowlist"] is None

    r = run(lake_path, "sources", "set", "web", "--allow-event", "A", "--any-event")
    assert r.returncode == 2 and "contradict" in r.stderr

    r = run(lake_path, "sources", "revoke", "web")
    assert r.returncode == 0 and f"revoked (key id {key_id})" in r.stdout
    [row] = json.loads(run(lake_path, "sources", "list", "--format", "json").stdout)
    assert row["revoked"] is True
    r = run(lake_path, "sources", "revoke", "nope")
    assert r.returncode == 2 and "no collector source named 'nope'" in r.stderr
    assert key.encode() not in lake_bytes(lake_path)


def test_sources_cli_snippet_placeholder_without_site(tmp_path):
    r = run(tmp_path / "lake", "sources", "add", "backend")
    assert r.returncode == 0, r.stderr
    assert 'src="https://COLLECTOR_HOST/s.js"' in r.stdout
    assert "COLLECTOR_HOST" in r.stderr
    r = run(tmp_path / "lake", "sources", "add", "app", "--collector-host", "t.example.com")
    assert 'src="https://t.example.com/s.js"' in r.stdout
