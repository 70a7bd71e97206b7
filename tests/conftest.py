"""Shared fixtures: a throw-away lake per test, and service checks that skip on a
user's machine but fail in CI (EVENTLAKE_REQUIRE_SERVICES=1)."""

from __future__ import annotations

import os
import socket

import pytest

from eventlake.lake import Lake

REQUIRE_SERVICES = os.environ.get("EVENTLAKE_REQUIRE_SERVICES") == "1"


def require_service(name: str, host: str, port: int) -> None:
    """Skip (or fail in CI) when a service does not answer on host:port."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return
    except OSError as exc:
        msg = f"{name} is not reachable on {host}:{port} ({exc})"
        if REQUIRE_SERVICES:
            pytest.fail(msg + " and EVENTLAKE_REQUIRE_SERVICES=1")
        pytest.skip(msg)


@pytest.fixture
def make_lake(tmp_path):
    """Factory for empty lakes in the test's temp dir: make_lake(name='lake', **overrides)."""

    def factory(name: str = "lake", **overrides) -> Lake:
        lake = Lake(tmp_path / name, **overrides)
        con = lake.connect(create=True)
        lake.ensure_tables(con)
        con.close()
        return lake

    return factory


@pytest.fixture
def lake(make_lake) -> Lake:
    """An empty lake with every eventlake table created."""
    return make_lake()


def pytest_collection_modifyitems(config, items):
    """All Spark tests run on one xdist worker, so one JVM serves them all."""
    for item in items:
        if item.get_closest_marker("spark"):
            item.add_marker(pytest.mark.xdist_group("spark"))
