"""One SparkSession for the whole test session (local[2], 2 shuffle partitions, no UI,
UTC), shared by every Spark test; SparkEngine reuses it instead of starting its own."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="session")
def spark():
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install 'eventlake[spark]')")
    if shutil.which("java") is None:
        pytest.skip("Spark needs a Java runtime (java is not on PATH)")
    from eventlake.engines.spark import spark_session

    session = spark_session("local[2]", **{"spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2"})
    yield session
    session.stop()


@pytest.fixture
def spark_engine(spark):
    """Factory: a SparkEngine over a lake, closed after the test."""
    from eventlake.engines.spark import SparkEngine

    engines = []

    def factory(lake):
        engine = SparkEngine(lake, "local[2]", **{"spark.sql.shuffle.partitions": "2"})
        engines.append(engine)
        return engine

    yield factory
    for engine in engines:
        engine.close()
