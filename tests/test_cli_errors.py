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
