"""`eventlake insights list/show/run` through typer's CliRunner."""

from __future__ import annotations

import json

import pytest
from fixture import build_fixture_lake
from typer.testing import CliRunner

from eventlake.cli import app
from eventlake.errors import InsightError


@pytest.fixture(scope="module")
def lake_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "lake"
    build_fixture_lake(path)
    return str(path)


def invoke(*args):
    return CliRunner().invoke(app, list(args))


def test_list_shows_names_params_and_defaults():
    result = invoke("insights", "list", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["idle_authors"]["params"] == "idle_days int = 60, as_of date = today"
    assert "AUTHOR and ADMIN" in rows["idle_authors"]["description"]
    assert rows["idle_authors"]["category"] == "bi"


def test_list_one_category():
    result = invoke("insights", "list", "--category", "bi", "--format", "json")
    assert result.exit_code == 0, result.output
    assert sorted(r["name"] for r in json.loads(result.stdout)) == [
        "dashboard_permissions", "dashboard_viewers", "dashboard_views_daily", "idle_authors", "logins_without_views",
        "most_updated_assets", "most_viewed_dashboards", "popular_datasets", "unused_datasets", "user_activity",
        "user_events", "user_groups",
    ]
    result = invoke("insights", "list", "--category", "nope")
    assert result.exit_code != 0
    assert "no insights in category 'nope'; categories: alb, bi, cloudfront, cloudtrail, product, s3-access, vpc-flow, web" in str(result.exception)


def test_list_table(tmp_path):
    out = tmp_path / "list.txt"
    result = invoke("insights", "list", "--output", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "unused_datasets" in text and "days int = 90" in text


def test_show_prints_header_and_sql():
    result = invoke("insights", "show", "idle_authors")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("-- name: idle_authors") and "$idle_days" in result.stdout


def test_run_json_with_params_and_as_of(lake_dir):
    result = invoke("--lake", lake_dir, "insights", "run", "idle_authors", "--as-of", "2024-03-31", "--param", "idle_days=60",
                    "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["user_name"], r["days_idle"]) for r in rows] == [("QuickSightAuthor/dan", None), ("QuickSightAuthor/cal", 81)]
    assert rows[1]["last_activity"] == "2024-01-10T09:30:00Z"


def test_run_table_has_title(lake_dir, tmp_path):
    out = tmp_path / "viewers.txt"
    result = invoke("--lake", lake_dir, "insights", "run", "dashboard_viewers", "-p", "dashboard_id=d-ops", "--as-of",
                    "2024-03-31", "--output", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "dashboard_viewers (dashboard_id=d-ops, days=90, as_of=2024-03-31)" in text
    assert "ci-bot" in text and "2 rows" in text


def test_run_csv_to_file(lake_dir, tmp_path):
    out = tmp_path / "unused.csv"
    result = invoke("--lake", lake_dir, "insights", "run", "unused_datasets", "--as-of", "2024-03-31", "--format", "csv",
                    "--output", str(out))
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0].startswith('"account_id","region","dataset_id"') and len(lines) == 4
    assert '"ds-legacy"' in lines[1]


@pytest.mark.parametrize(
    "args, words",
    [
        (["insights", "run", "nope"], ["unknown insight 'nope'", "idle_authors"]),
        (["insights", "run", "idle_authors", "--param", "idle_days=x"], ["'idle_days'", "'x'"]),
        (["insights", "run", "idle_authors", "--param", "bogus=1"], ["no parameter 'bogus'"]),
        (["insights", "run", "idle_authors", "--as-of", "yesterday"], ["--as-of", "'yesterday'"]),
        (["insights", "run", "idle_authors", "--param", "idle_days"], ["key=value"]),
        (["insights", "show", "nope"], ["unknown insight 'nope'"]),
    ],
)
def test_run_errors(lake_dir, args, words):
    result = invoke("--lake", lake_dir, *args)
    assert result.exit_code != 0
    assert result.exception is not None and isinstance(result.exception, Exception)
    for w in words:
        assert w in str(result.exception)


def test_bad_param_error_is_an_insight_error(lake_dir):
    result = invoke("--lake", lake_dir, "insights", "run", "idle_authors", "--param", "idle_days=x")
    assert isinstance(result.exception, InsightError)
