"""Shared fixtures: a throw-away lake per test, and service checks that skip on a
user's machine but fail in CI (EVENTLAKE_REQUIRE_SERVICES=1)."""

from __future__ import annotations

import os
import socket
import uuid

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


@pytest.fixture(scope="session")
def s3_endpoint():
    """A real S3-compatible HTTP endpoint on loopback (moto's server mode)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint, monkeypatch, tmp_path):
    """(client, bucket, endpoint): a fresh bucket on the loopback S3 endpoint, with dummy
    credentials in the environment and no AWS config file of the user's."""
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    bucket = f"eventlake-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return client, bucket, s3_endpoint


def pytest_collection_modifyitems(config, items):
    """All Spark tests run on one xdist worker, so one JVM serves them all."""
    for item in items:
        if item.get_closest_marker("spark"):
            item.add_marker(pytest.mark.xdist_group("spark"))
