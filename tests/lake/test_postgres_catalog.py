"""A lake whose catalog is in PostgreSQL, so several processes can share it."""

from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest

from eventlake.lake import Lake
from tests.conftest import REQUIRE_SERVICES, require_service


@pytest.fixture
def pg_database():
    require_service("PostgreSQL", "127.0.0.1", 5432)
    if shutil.which("psql") is None:
        if REQUIRE_SERVICES:
            pytest.fail("psql is not installed and EVENTLAKE_REQUIRE_SERVICES=1")
        pytest.skip("psql is not installed")
    name = f"eventlake_test_{uuid.uuid4().hex[:10]}"
    subprocess.run(["psql", "-h", "127.0.0.1", "-d", "postgres", "-qc", f"CREATE DATABASE {name}"], check=True)
    yield name
    subprocess.run(["psql", "-h", "127.0.0.1", "-d", "postgres", "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=True)


def test_postgres_catalog_shared_by_two_connections(tmp_path, pg_database):
    lake = Lake(tmp_path / "pglake", catalog=f"postgres:dbname={pg_database} host=127.0.0.1")
    writer = lake.connect(create=True)
    lake.ensure_tables(writer)
    reader = lake.connect(read_only=True)  # stays open while the writer commits
    with lake.transaction(writer):
        writer.execute(
            "INSERT INTO cloudtrail_events (event_id, event_time, event_date) "
            "VALUES ('e1', TIMESTAMPTZ '2026-01-01 10:00:00+00', DATE '2026-01-01')"
        )
    assert reader.execute("SELECT list(event_id) FROM cloudtrail_events").fetchone()[0] == ["e1"]
    assert {"asset_permissions", "assets", "bi_events", "cloudtrail_events", "vpc_flow_logs"} <= set(lake.table_names(reader))
    # Data files still live in the lake directory.
    files = lake.list_files(reader, "cloudtrail_events")
    assert len(files) == 1 and files[0].path.startswith(str(tmp_path / "pglake" / "data"))
