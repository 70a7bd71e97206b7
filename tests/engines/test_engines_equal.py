"""Every built-in insight gives the same answer on DuckDB and on Spark over the hand-built
fixture lake (tests/insights/fixture.py): same columns, same rows in the same order
(every insight has a deterministic ORDER BY). Floats are compared to 6 places and
timestamps in UTC."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from eventlake.engines import get_engine
from eventlake.insights import list_insights, run_insight
from tests.insights.fixture import FIXTURE_PARAMS, build_fixture_lake

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def engines(tmp_path_factory, spark):
    lake = build_fixture_lake(tmp_path_factory.mktemp("equal") / "lake")
    duck = get_engine("duckdb", lake)
    sprk = get_engine("spark", lake, master="local[2]")
    yield duck, sprk
    sprk.close()
    duck.close()


def normalise(value):
    """A comparable form: floats to 6 places, aware timestamps in UTC, lists element-wise."""
    if isinstance(value, float):
        return value if math.isnan(value) else round(value, 6)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc)
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    return value


def table_rows(table):
    return [tuple(normalise(v) for v in row.values()) for row in table.to_pylist()]


@pytest.mark.parametrize("name", [i.name for i in list_insights()])
def test_insight_is_equal_on_both_engines(engines, name):
    duck, sprk = engines
    params = FIXTURE_PARAMS[name]
    expected = run_insight(duck, name, params)
    got = run_insight(sprk, name, params)
    assert got.column_names == expected.column_names
    assert expected.num_rows > 0, f"{name} is empty on the fixture: the comparison would prove little"
    assert table_rows(got) == table_rows(expected)
