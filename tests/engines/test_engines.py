"""Choosing an engine by name; Spark is an optional extra."""

from __future__ import annotations

import sys

import pytest

from eventlake.engines import get_engine
from eventlake.errors import EngineUnavailable


def test_spark_without_pyspark_says_how_to_install(lake, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark now raises ImportError
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(EngineUnavailable, match=r"^the spark engine needs: pip install 'eventlake\[spark\]'$"):
        get_engine("spark", lake)


def test_unknown_engine(lake):
    with pytest.raises(EngineUnavailable, match="unknown engine 'presto'; choose one of duckdb, spark"):
        get_engine("presto", lake)


# -- how the Spark engine names and groups a table's files (pure functions, no Spark) --------


def test_partition_base_for_hive_style_files():
    from eventlake.engines.spark import partition_base

    files = ["/l/data/main/t/event_date=2024-03-01/a.parquet", "/l/data/main/t/event_date=2024-03-02/b.parquet"]
    assert partition_base("t", files, ["event_id", "event_date"]) == "/l/data/main/t"


@pytest.mark.parametrize(
    "files",
    [
        ["/l/t/a.parquet", "/l/t/b.parquet"],  # not partitioned: nothing to discover
        ["/l/t/event_date=2024-03-01/a.parquet", "/l/t/b.parquet"],  # partitioning changed over time
        ["/l/t/year=2024/a.parquet"],  # a partition transform: `year` is not a column
    ],
)
def test_no_partition_base_unless_every_file_is_under_column_keys(files):
    from eventlake.engines.spark import partition_base

    assert partition_base("t", files, ["event_id", "event_date"]) is None


def test_spark_paths():
    from eventlake.engines.spark import spark_path

    assert spark_path("/lake/data/t/event_date=2024-03-01/f.parquet") == "file:///lake/data/t/event_date=2024-03-01/f.parquet"
    assert spark_path("s3://bucket/lake/f.parquet") == "s3a://bucket/lake/f.parquet"
    assert spark_path("gs://bucket/lake/f.parquet") == "gs://bucket/lake/f.parquet"


def test_spark_types_from_duckdb_types():
    pytest.importorskip("pyspark")
    import duckdb
    from pyspark.sql import types as T

    from eventlake.engines.spark import spark_type
    from eventlake.errors import LakeError

    con = duckdb.connect()
    rel = con.sql(
        "SELECT '{}'::JSON AS j, TIMESTAMPTZ '2024-01-01 00:00:00+00' AS tz, TIMESTAMP '2024-01-01' AS ntz, DATE '2024-01-01' AS d, "
        "['a'] AS l, 1::BIGINT AS b, 1.5::DECIMAL(10, 2) AS dec, {'x': 1} AS s, MAP(['k'], [1]) AS m, 1::UBIGINT AS ub"
    )
    got = {c: spark_type(t, c) for c, t in zip(rel.columns, rel.types)}
    assert got == {
        "j": T.StringType(),
        "tz": T.TimestampType(),
        "ntz": T.TimestampNTZType(),
        "d": T.DateType(),
        "l": T.ArrayType(T.StringType(), True),
        "b": T.LongType(),
        "dec": T.DecimalType(10, 2),
        "s": T.StructType([T.StructField("x", T.IntegerType(), True)]),
        "m": T.MapType(T.StringType(), T.IntegerType(), True),
        "ub": T.DecimalType(20, 0),
    }
    with pytest.raises(LakeError, match="column t.i has type INTERVAL, which the spark engine cannot read"):
        spark_type(con.sql("SELECT INTERVAL 1 DAY AS i").types[0], "t.i")
