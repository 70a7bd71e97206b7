"""The console entry point: usage errors and EventlakeErrors print one clear message and
exit 2, never a traceback; values in messages are printed literally."""

from __future__ import annotations

import subprocess
import sys

import pytest

CMD = [sys.executable, "-c", "from eventlake.cli import main; main()"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(CMD + list(args), capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "args,expected",
    [
        (["bogus"], "No such command 'bogus'"),
        (["insights", "run"], "Missing argument"),
        (["ingest", "cloudtrail", "x", "--batch-mb", "abc"], "Invalid value for '--batch-mb'"),
        (["serve", "collector", "--loader-threads", "0"], "--loader-threads must be at least 1"),
        (["serve", "collector", "--load-max-lag", "-1"], "--load-max-lag must be 0 or more seconds"),
    ],
)
def test_usage_errors(args, expected):
    r = run(*args)
    assert r.returncode == 2
    assert expected in r.stderr
    assert "Traceback" not in r.stderr


def test_markup_in_values_is_printed_literally(tmp_path):
    bad = str(tmp_path / "no[/bold]lake[red]x")
    r = run("--lake", bad, "lake", "tables")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"no lake at {bad}" in r.stderr.replace("\n", "")


def test_unwritable_output_is_a_clear_error(lake):
    r = run("--lake", str(lake.path), "sql", "SELECT 1 AS a", "--format", "csv", "--output", "/nonexistent/dir/x.csv")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "cannot write /nonexistent/dir/x.csv: No such file or directory" in r.stderr


def test_intervals_render_as_text(lake):
    r = run("--lake", str(lake.path), "sql", "SELECT INTERVAL 1 DAY AS i, INTERVAL '90 minutes' AS j, INTERVAL 14 MONTHS AS k", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == '[{"i":"1 day","j":"01:30:00","k":"1 year 2 months"}]'


def test_strict_ingest_exits_1_when_something_was_quarantined(tmp_path):
    logs = tmp_path / "flows.log"
    logs.write_text(
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n"
        "2 123456789012 eni-0a1b2c3d 10.0.0.1 10.0.0.2 443 49152 6 10 840 1700000000 1700000060 ACCEPT OK\n"
        "2 123456789012 eni-0a1b2c3d 10.0.0.1 10.0.0.2 https 49152 6 10 840 1700000000 1700000060 ACCEPT OK\n"
    )
    lake = str(tmp_path / "lake")
    r = run("--lake", lake, "ingest", "vpc-flow", str(logs), "--strict")
    assert r.returncode == 1, r.stderr
    assert "records 2 read, 1 loaded, 0 duplicate, 1 quarantined" in r.stdout
    assert f"{logs} at line 3: " in r.stderr.replace("\n", "")
    r = run("--lake", lake, "ingest", "vpc-flow", str(logs))
    assert r.returncode == 0 and "1 unchanged since last run" in r.stdout


def test_failed_check_exits_1(tmp_path):
    folder = tmp_path / "AWSLogs" / "123456789012" / "vpcflowlogs" / "us-east-1" / "2024" / "01" / "01"
    folder.mkdir(parents=True)
    (folder / "123456789012_vpcflowlogs_us-east-1_fl-1_20240101T0000Z_abcd.log").write_text(
        "2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 70000 6 10 840 1704067200 1704067260 ACCEPT OK\n"
    )
    r = run("check", "vpc-flow", str(tmp_path), "--date", "2024-01-01", "--format", "json")
    assert r.returncode == 1, r.stderr
    import json

    got = {c["check"]: c["status"] for c in json.loads(r.stdout)}
    assert got["objects arrived"] == "ok" and got["dstport_range"] == "fail"
