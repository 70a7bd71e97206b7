"""`eventlake destinations ...` through the console entry point, configured by an
eventlake.toml, against loopback vendors; and the [destinations.*] validation."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest

from eventlake.config import load_settings
from eventlake.destinations import DEFAULT_FIELDS, load_destinations, parse_destination, parse_destinations
from eventlake.errors import ConfigError

from . import SECRET, UTC, Reply, deliveries, free_port, load_raw, record, secret, vendor  # noqa: F401

pytestmark = pytest.mark.usefixtures("secret")

CMD = [sys.executable, "-c", "from eventlake.cli import main; main()"]


def write_config(tmp_path, lake, text: str):
    path = tmp_path / "eventlake.toml"
    path.write_text(f'[lake]\npath = "{lake.path}"\n\n' + text)
    return path


def run(config, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "EVENTLAKE_CONFIG": str(config), "COLUMNS": "250"}
    env.pop("EVENTLAKE_LAKE", None)
    return subprocess.run(CMD + list(args), capture_output=True, text=True, timeout=120, env=env)


def test_config_parsed_from_toml(tmp_path, lake, monkeypatch):
    cfg = write_config(tmp_path, lake, """
[destinations.hooks]
type = "webhook"
url = "https://hooks.example.com/in?token=abc"
secret_env = "EVENTLAKE_TEST_SECRET"
events = ["Signed Up"]

[destinations.ga]
type = "ga4"
measurement_id = "G-ABC"
secret_env = "GA_SECRET"
sources = ["web"]
fields = ["event", "anonymousId", "properties"]
""")
    monkeypatch.setenv("EVENTLAKE_CONFIG", str(cfg))
    dests = load_destinations(load_settings())
    assert [(d.name, d.type) for d in dests] == [("hooks", "webhook"), ("ga", "ga4")]
    hooks, ga = dests
    assert hooks.config.events == ("Signed Up",) and hooks.config.sources is None and hooks.config.fields == DEFAULT_FIELDS
    assert ga.url == "https://www.google-analytics.com/mp/collect" and ga.batch_size == 25
    assert ga.config.options == {"measurement_id": "G-ABC"} and ga.config.sources == ("web",)
    # what `list` shows: no secret, no query values
    info = hooks.describe()
    assert info["url"] == "https://hooks.example.com/in?token=***"
    assert info["secret_env"] == "EVENTLAKE_TEST_SECRET" and info["secret_set"] is True
    assert SECRET not in json.dumps(info)
    assert ga.describe()["secret_set"] is False


@pytest.mark.parametrize(
    "table,message",
    [
        ({"type": "ftp"}, "type must be one of webhook, ga4, amplitude, segment"),
        ({"type": "webhook", "secret_env": "X"}, "url is required"),
        ({"type": "webhook", "url": "ftp://x", "secret_env": "X"}, "must be an http:// or https:// URL"),
        ({"type": "webhook", "url": "https://x"}, "secret_env is required"),
        ({"type": "webhook", "url": "https://x", "secret": "hunter2"}, "secrets are never written in eventlake.toml"),
        ({"type": "amplitude", "api_key": "k"}, "api_key looks like a secret"),
        ({"type": "webhook", "url": "https://x", "secret_env": "not a name!"}, "must name an environment variable"),
        ({"type": "ga4", "secret_env": "X"}, "measurement_id is required"),
        ({"type": "segment", "secret_env": "X", "measurement_id": "G-1"}, "unknown key(s) measurement_id"),
        ({"type": "segment", "secret_env": "X", "max_attempts": 0}, "max_attempts must be an integer of at least 1"),
        ({"type": "segment", "secret_env": "X", "sources": "web"}, "sources must be a list of strings"),
        ({"type": "segment", "secret_env": "X", "timeout_s": "10"}, "timeout_s must be a number"),
    ],
)
def test_config_errors(table, message):
    with pytest.raises(ConfigError) as err:
        parse_destination("d", table)
    assert message in str(err.value)
    assert "hunter2" not in str(err.value)


def test_destinations_must_be_tables():
    with pytest.raises(ConfigError, match=r"\[destinations.NAME\]"):
        parse_destinations(["x"])
    with pytest.raises(ConfigError, match="destination name"):
        parse_destination("no spaces", {"type": "segment", "secret_env": "X"})


def test_cli_list_never_shows_secrets(tmp_path, lake):
    cfg = write_config(tmp_path, lake, """
[destinations.mirror]
type = "segment"
url = "https://user:pw@collector.example.com"
secret_env = "EVENTLAKE_TEST_SECRET"

[destinations.amp]
type = "amplitude"
secret_env = "AMPLITUDE_KEY_NOT_SET"
""")
    r = run(cfg, "destinations", "list", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert SECRET not in r.stdout and "pw@" not in r.stdout
    infos = json.loads(r.stdout)
    assert [(i["name"], i["type"], i["url"], i["secret_set"]) for i in infos] == [
        ("mirror", "segment", "https://collector.example.com", True),
        ("amp", "amplitude", "https://api2.amplitude.com/2/httpapi", False),
    ]
    r = run(cfg, "destinations", "list")
    assert r.returncode == 0, r.stderr
    assert "mirror" in r.stdout and "$EVENTLAKE_TEST_SECRET (set)" in r.stdout and "NOT SET" in r.stdout
    assert SECRET not in r.stdout


def test_cli_bad_config_is_one_clear_line(tmp_path, lake):
    cfg = write_config(tmp_path, lake, '[destinations.x]\ntype = "webhook"\nurl = "https://x"\nsecret = "hunter2"\n')
    r = run(cfg, "destinations", "list")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "secret_env" in r.stderr and "hunter2" not in r.stderr


def test_cli_test_sends_one_synthetic_event(tmp_path, lake, vendor):
    cfg = write_config(tmp_path, lake, f"""
[destinations.hooks]
type = "webhook"
url = "{vendor.url}/hook"
secret_env = "EVENTLAKE_TEST_SECRET"
backoff_s = 0.01
""")
    vendor.script = [Reply(503, b"warming up")]
    r = run(cfg, "destinations", "test", "hooks")
    assert r.returncode == 0, r.stderr
    assert "attempt 1: retry, HTTP 503" in r.stdout and "attempt 2: delivered, HTTP 200" in r.stdout
    assert len(vendor.requests) == 2
    (event,) = vendor.requests[-1].json["events"]
    assert event["event"] == "eventlake test" and event["messageId"].startswith("eventlake-test-")
    assert deliveries(lake) == []  # a test is not recorded

    vendor.default = Reply(401, b'{"error": "bad key"}')
    r = run(cfg, "destinations", "test", "hooks")
    assert r.returncode == 1 and "failed, HTTP 401" in r.stdout
    r = run(cfg, "destinations", "test", "nope")
    assert r.returncode == 2 and "no destination named 'nope'" in r.stderr and "hooks" in r.stderr


def test_cli_replay_and_status(tmp_path, lake, vendor):
    day = dt.datetime(2026, 11, 26, tzinfo=UTC)
    recs = [record(i, received_at=day + dt.timedelta(hours=i)) for i in range(4)]
    load_raw(lake, recs)
    port = free_port()
    cfg = write_config(tmp_path, lake, f"""
[destinations.hooks]
type = "webhook"
url = "http://127.0.0.1:{port}/"
secret_env = "EVENTLAKE_TEST_SECRET"
max_attempts = 1
""")
    r = run(cfg, "destinations", "replay", "hooks", "--from", "2026-11-26", "--to", "2026-11-26T02:00:00Z")
    assert r.returncode == 1
    assert "hooks: 2 read, 0 already delivered, 0 duplicate, 0 not for this destination, 2 sent: 0 delivered, 2 failed" in r.stdout
    assert "connection error" in r.stdout
    cfg.write_text(cfg.read_text().replace(f"127.0.0.1:{port}", vendor.url.removeprefix("http://")))
    r = run(cfg, "destinations", "replay", "hooks", "--from", "2026-11-26", "--to", "2026-11-27")
    assert r.returncode == 0, r.stderr
    assert "4 read, 0 already delivered, 0 duplicate, 0 not for this destination, 4 sent: 4 delivered, 0 failed" in r.stdout
    rows = deliveries(lake, "hooks")
    assert len(rows) == 6 and all(r["replay"] for r in rows)
    r = run(cfg, "destinations", "status", "--since", "2000-01-01")
    assert r.returncode == 0, r.stderr
    line = next(ln for ln in r.stdout.splitlines() if "hooks" in ln)
    assert [c.strip() for c in line.split("│")[1:7]] == ["hooks", "4", "2", "0", "0", "6"]
    r = run(cfg, "destinations", "replay", "hooks", "--from", "yesterday")
    assert r.returncode == 2 and "--from 'yesterday' must be a date" in r.stderr
