"""Every built-in insight gives the same answer on DuckDB and on Spark: same columns,
same rows in the same order (every insight has a deterministic ORDER BY). Floats are
compared to 6 places and timestamps in UTC. One lake holds every fixture: the hand-built
BI lake (tests/insights/fixture.py), the CloudTrail insight logs, and the service-log
fixtures of each type, loaded by their ingests; each insight runs with the parameters its
own test module gives it (FIXTURE_PARAMS)."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from eventlake.engines import get_engine
from eventlake.insights import list_insights, run_insight
from eventlake.sources.cloudtrail import ingest as ingest_cloudtrail
from eventlake.sources.lines import ingest_lines
from tests.insights import fixture as bi
from tests.insights import test_alb_insights as alb
from tests.insights import test_cloudfront_insights as cloudfront
from tests.insights import test_cloudtrail_insights as cloudtrail
from tests.insights import test_product_insights as product
from tests.insights import test_s3_insights as s3
from tests.insights import test_vpc_insights as vpc
from tests.insights import test_web_insights as web
from tests.insights.events_fixture import insert_events

FIXTURE_PARAMS = {
    **bi.FIXTURE_PARAMS, **cloudtrail.FIXTURE_PARAMS, **s3.FIXTURE_PARAMS, **vpc.FIXTURE_PARAMS,
    **alb.FIXTURE_PARAMS, **cloudfront.FIXTURE_PARAMS, **web.FIXTURE_PARAMS, **product.FIXTURE_PARAMS,
}
SERVICE_LOGS = {"s3-access": s3.LOGS, "vpc-flow": vpc.DATA, "alb": alb.DATA, "cloudfront": cloudfront.LOGS}

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def engines(tmp_path_factory, spark):
    lake = bi.build_fixture_lake(tmp_path_factory.mktemp("equal") / "lake")
    ingest_cloudtrail(lake, [str(cloudtrail.DATA)])
    for kind, folder in SERVICE_LOGS.items():
        ingest_lines(lake, kind, [str(folder)])
    insert_events(lake)
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


def test_every_insight_has_fixture_params():
    assert sorted(FIXTURE_PARAMS) == [i.name for i in list_insights()]


@pytest.mark.parametrize("name", [i.name for i in list_insights()])
def test_insight_is_equal_on_both_engines(engines, name):
    duck, sprk = engines
    params = FIXTURE_PARAMS[name]
    expected = run_insight(duck, name, params)
    got = run_insight(sprk, name, params)
    assert got.column_names == expected.column_names
    assert expected.num_rows > 0, f"{name} is empty on the fixture: the comparison would prove little"
    assert table_rows(got) == table_rows(expected)
