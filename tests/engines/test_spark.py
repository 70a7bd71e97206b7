"""The Spark engine over a DuckLake lake: types, partitions, empty tables, deletes,
inlined data, parameters, errors, the CLI, and each translation rule computing what DuckDB
computes. Expected answers are written out; each is also checked against DuckDB."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from eventlake.engines.duckdb import DuckDBEngine, connect
from eventlake.errors import QueryError
from eventlake.lake.schema import TABLES

UTC = dt.timezone.utc

EVENTS = [
    # event_id, event_time, event_name, user_name, request_parameters, error_code
    ("e1", "2024-03-01 10:00:00+00", "GetDashboard", "QuickSightReader/eve", '{"dashboardId": "d-1", "nested": {"k": "v1"}}', None),
    ("e2", "2024-03-01 23:30:05.250+00", "GetDashboard", "QuickSightReader/eve", '{"dashboardId": "d-2", "nested": {"k": "v2", "n": 7}}', None),
    ("e3", "2024-03-02 00:15:00+00", "UpdateDashboard", "QuickSightAuthor/bea", None, "AccessDenied"),
    ("e4", "2024-03-03 12:00:00+00", "GetDashboard", "QuickSightAuthor/bea", '{"dashboardId": "d-1"}', None),
]


def ts(text: str) -> dt.datetime:
    """A UTC timestamp, as both engines return TIMESTAMPTZ values."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def insert_events(con, events) -> None:
    """One INSERT (one commit, one data file per partition)."""
    row = "(?, CAST(? AS TIMESTAMPTZ), CAST(CAST(? AS TIMESTAMPTZ) AS DATE), ?, ?, ?, ?, ?)"
    con.execute(
        "INSERT INTO cloudtrail_events (event_id, event_time, event_date, event_name, user_name, request_parameters, error_code, read_only) "
        "VALUES " + ", ".join([row] * len(events)),
        [v for e in events for v in (e[0], e[1], e[1], e[2], e[3], e[4], e[5], e[2].startswith("Get"))],
    )


@pytest.fixture
def events_lake(make_lake):
    """A lake with EVENTS (three daily partitions) and three users."""
    lake = make_lake()
    con = lake.connect()
    insert_events(con, EVENTS)
    con.execute(
        "INSERT INTO users (snapshot_time, snapshot_date, user_name, groups) VALUES "
        "('2024-03-01 06:00:00+00', '2024-03-01', 'QuickSightAuthor/bea', ['g1', 'g2', 'g3']), "
        "('2024-03-01 06:00:00+00', '2024-03-01', 'QuickSightReader/eve', ['g2']), "
        "('2024-03-01 06:00:00+00', '2024-03-01', 'hal', [])"
    )
    con.close()
    return lake


def rows(table) -> list[tuple]:
    return [tuple(r.values()) for r in table.to_pylist()]


def both(lake, spark_engine, sql, params=None):
    """Run on both engines; assert the same columns and rows; return Spark's."""
    spark_result = spark_engine(lake).query(sql, params)
    duck = DuckDBEngine(lake)
    try:
        duck_result = duck.query(sql, params)
    finally:
        duck.close()
    assert spark_result.column_names == duck_result.column_names
    assert rows(spark_result) == rows(duck_result)
    return spark_result


pytestmark = pytest.mark.spark


# -- reading the lake --------------------------------------------------------------------


def test_types_and_values(events_lake, spark_engine):
    result = both(
        events_lake,
        spark_engine,
        "SELECT event_id, event_time, event_date, request_parameters, read_only FROM cloudtrail_events ORDER BY event_id",
    )
    types = dict(zip(result.column_names, result.schema.types))
    assert str(types["event_time"]) == "timestamp[us, tz=UTC]"
    assert str(types["event_date"]) == "date32[day]"
    assert str(types["request_parameters"]) == "string"
    assert rows(result) == [
        ("e1", ts("2024-03-01 10:00:00"), dt.date(2024, 3, 1), EVENTS[0][4], True),
        ("e2", ts("2024-03-01 23:30:05.250"), dt.date(2024, 3, 1), EVENTS[1][4], True),
        ("e3", ts("2024-03-02 00:15:00"), dt.date(2024, 3, 2), None, False),
        ("e4", ts("2024-03-03 12:00:00"), dt.date(2024, 3, 3), EVENTS[3][4], True),
    ]
    users = both(events_lake, spark_engine, "SELECT user_name, groups FROM users ORDER BY user_name")
    assert str(users.schema.field("groups").type.value_type) == "string"
    assert rows(users) == [("QuickSightAuthor/bea", ["g1", "g2", "g3"]), ("QuickSightReader/eve", ["g2"]), ("hal", [])]


def test_views_have_the_catalog_columns_once_with_their_types(events_lake, spark_engine):
    from pyspark.sql import types as T

    engine = spark_engine(events_lake)
    schema = engine.spark.table("cloudtrail_events").schema
    assert schema.fieldNames() == TABLES["cloudtrail_events"].column_names  # event_date once, in place
    assert schema["event_date"].dataType == T.DateType()
    assert schema["event_time"].dataType == T.TimestampType()
    assert schema["request_parameters"].dataType == T.StringType()
    assert engine.spark.table("users").schema["groups"].dataType == T.ArrayType(T.StringType(), True)


def test_partition_counts(events_lake, spark_engine):
    result = both(
        events_lake, spark_engine, "SELECT event_date, count(*) AS n FROM cloudtrail_events GROUP BY event_date ORDER BY event_date"
    )
    assert rows(result) == [(dt.date(2024, 3, 1), 2), (dt.date(2024, 3, 2), 1), (dt.date(2024, 3, 3), 1)]


def test_partition_filter_prunes_files(events_lake, spark_engine):
    plan = spark_engine(events_lake).explain("SELECT count(*) FROM cloudtrail_events WHERE event_date = DATE '2024-03-02'")
    assert "PartitionFilters: [isnotnull(event_date" in plan


def test_empty_table(events_lake, spark_engine):
    result = both(events_lake, spark_engine, "SELECT * FROM assets")
    assert result.num_rows == 0
    assert result.column_names == TABLES["assets"].column_names
    types = dict(zip(result.column_names, map(str, result.schema.types)))
    assert types["created_time"] == "timestamp[us, tz=UTC]"
    assert types["snapshot_date"] == "date32[day]"
    assert types["spice_bytes"] == "int64"
    assert rows(both(events_lake, spark_engine, "SELECT count(*) AS n FROM assets")) == [(0,)]


def test_positional_deletes(make_lake, spark_engine):
    lake = make_lake()
    con = lake.connect()
    same_day = [(f"d{i}", f"2024-03-05 0{i}:00:00+00", "GetDashboard", "u", None, None) for i in range(6)]
    insert_events(con, same_day)  # one INSERT, one partition: one data file
    con.execute("DELETE FROM cloudtrail_events WHERE event_id IN ('d1', 'd4')")
    files = lake.list_files(con, "cloudtrail_events")
    assert len(files) == 1 and files[0].delete_file is not None  # the file stays, with a delete file
    con.close()
    sql = "SELECT event_id FROM cloudtrail_events ORDER BY event_id"
    assert rows(both(lake, spark_engine, sql)) == [("d0",), ("d2",), ("d3",), ("d5",)]

    con = lake.connect()
    con.execute("DELETE FROM cloudtrail_events WHERE event_id = 'd0'")  # a second delete on the same file
    con.close()
    assert rows(both(lake, spark_engine, sql)) == [("d2",), ("d3",), ("d5",)]


def test_partitioning_changed_over_time(make_lake, spark_engine):
    # files in snapshot_date=... directories, directly in the table directory, and under a
    # transform's key (year=2024) that is no column: read without partition discovery
    lake = make_lake()
    con = lake.connect()
    con.execute("INSERT INTO users (snapshot_date, user_name) VALUES ('2024-01-01', 'a')")
    con.execute("ALTER TABLE users RESET PARTITIONED BY")
    con.execute("INSERT INTO users (snapshot_date, user_name) VALUES ('2024-01-02', 'b')")
    con.execute("ALTER TABLE users SET PARTITIONED BY (year(snapshot_date))")
    con.execute("INSERT INTO users (snapshot_date, user_name) VALUES ('2024-01-03', 'c')")
    con.close()
    result = both(lake, spark_engine, "SELECT user_name, snapshot_date FROM users ORDER BY user_name")
    assert rows(result) == [("a", dt.date(2024, 1, 1)), ("b", dt.date(2024, 1, 2)), ("c", dt.date(2024, 1, 3))]


def _attach_with_inlining(lake):
    """Another DuckLake client: same catalog, data inlining on (DuckLake's default)."""
    con = connect(extensions=("ducklake", "sqlite_scanner"))
    con.execute(f"ATTACH 'ducklake:sqlite:{lake.catalog_file}' AS other (DATA_PATH '{lake.data_path}/', DATA_INLINING_ROW_LIMIT 100)")
    con.execute("USE other")
    return con


def test_inlined_rows_and_deletes_are_flushed_before_reading(events_lake, spark_engine):
    con = events_lake.connect()
    files_before = len(events_lake.list_files(con, "cloudtrail_events"))
    con.close()
    other = _attach_with_inlining(events_lake)
    insert_events(other, [("i1", "2024-03-01 12:00:00+00", "GetDashboard", "ivy", None, None)])
    other.execute("DELETE FROM cloudtrail_events WHERE event_id = 'e4'")  # a row of a file, deleted inline
    other.close()
    con = events_lake.connect()
    files = events_lake.list_files(con, "cloudtrail_events")
    con.close()
    assert len(files) == files_before and not any(f.delete_file for f in files)  # held in the catalog only

    engine = spark_engine(events_lake)
    assert engine.flushed_rows >= 1
    sql = "SELECT event_id FROM cloudtrail_events ORDER BY event_id"
    assert rows(both(events_lake, spark_engine, sql)) == [("e1",), ("e2",), ("e3",), ("i1",)]


def test_views_follow_new_commits(events_lake, spark_engine):
    engine = spark_engine(events_lake)
    sql = "SELECT count(*) AS n FROM cloudtrail_events"
    assert rows(engine.query(sql)) == [(4,)]
    con = events_lake.connect()
    insert_events(con, [("e5", "2024-03-04 08:00:00+00", "GetDashboard", "hal", None, None)])
    con.close()
    assert rows(engine.query(sql)) == [(5,)]
    other = _attach_with_inlining(events_lake)  # inlined by another client after the engine started
    insert_events(other, [("e6", "2024-03-04 09:00:00+00", "GetDashboard", "hal", None, None)])
    other.close()
    assert rows(engine.query(sql)) == [(6,)]


# -- parameters and errors ---------------------------------------------------------------


def test_parameters_are_bound_not_pasted(events_lake, spark_engine):
    sql = "SELECT event_id FROM cloudtrail_events WHERE user_name = $name ORDER BY event_id"
    assert rows(both(events_lake, spark_engine, sql, {"name": "QuickSightReader/eve"})) == [("e1",), ("e2",)]
    assert rows(both(events_lake, spark_engine, sql, {"name": "x' OR '1'='1"})) == []


def test_parameter_types(events_lake, spark_engine):
    sql = (
        "SELECT event_id FROM cloudtrail_events WHERE event_date >= $day AND event_time < $until "
        "AND list_contains($ids, event_id) AND read_only = $ro ORDER BY event_id"
    )
    params = {"day": dt.date(2024, 3, 1), "until": dt.datetime(2024, 3, 3, 12, 0), "ids": ["e1", "e2", "e4"], "ro": True}
    assert rows(both(events_lake, spark_engine, sql, params)) == [("e1",), ("e2",)]


def test_missing_and_unused_parameters(events_lake, spark_engine):
    engine = spark_engine(events_lake)
    with pytest.raises(QueryError, match=r"no value given for parameter\(s\) \$name"):
        engine.query("SELECT * FROM users WHERE user_name = $name")
    with pytest.raises(QueryError, match=r"does not use parameter\(s\) \$other"):
        engine.query("SELECT * FROM users WHERE user_name = $name", {"name": "hal", "other": 1})


def test_query_errors_are_one_clear_line(events_lake, spark_engine):
    engine = spark_engine(events_lake)
    with pytest.raises(QueryError) as info:
        engine.query("SELECT no_such_column FROM users")
    message = str(info.value)
    assert message.startswith("Spark could not run the query: [UNRESOLVED_COLUMN")
    assert "Spark SQL: SELECT no_such_column FROM users" in message
    assert "Traceback" not in message and "at org.apache" not in message
    with pytest.raises(QueryError, match="UNION BY NAME"):
        engine.query("SELECT user_name FROM users UNION BY NAME SELECT user_name FROM users")


def test_explain_shows_the_translation_and_sparks_plan(events_lake, spark_engine):
    plan = spark_engine(events_lake).explain("SELECT count(*) FROM lake.users WHERE user_name = $n", {"n": "hal"})
    assert plan.startswith("-- Spark SQL (translated from DuckDB's dialect):\nSELECT COUNT(*) FROM users WHERE user_name = :n\n")
    assert "== Physical Plan ==" in plan


# -- every translation rule computes what DuckDB computes ------------------------------------

CONSTRUCTS = {
    "date_diff": (
        "SELECT event_id, date_diff('day', event_time, TIMESTAMPTZ '2024-03-03 00:00:00+00') AS days, "
        "date_diff('hour', event_time, TIMESTAMPTZ '2024-03-03 00:00:00+00') AS hours, "
        "date_diff('week', event_date, DATE '2024-03-09') AS weeks, date_diff('month', event_date, DATE '2024-04-01') AS months, "
        "date_sub('hour', event_time, TIMESTAMPTZ '2024-03-03 00:00:00+00') AS whole_hours FROM cloudtrail_events ORDER BY event_id",
        [("e1", 2, 38, 1, 1, 38), ("e2", 2, 25, 1, 1, 24), ("e3", 1, 24, 1, 1, 23), ("e4", 0, -12, 0, 1, -12)],
    ),
    "json": (
        "SELECT event_id, request_parameters->>'$.dashboardId' AS a, json_extract_string(request_parameters, '$.nested.k') AS b, "
        "request_parameters->'$.dashboardId' AS c, request_parameters->'nested'->>'n' AS d, "
        "json_extract(request_parameters, '$.nested.n') AS e FROM cloudtrail_events ORDER BY event_id",
        [
            ("e1", "d-1", "v1", '"d-1"', None, None),
            ("e2", "d-2", "v2", '"d-2"', "7", "7"),
            ("e3", None, None, None, None, None),
            ("e4", "d-1", None, '"d-1"', None, None),
        ],
    ),
    "date_parts": (
        "SELECT event_id, dayofweek(event_date) AS dow, isodow(event_date) AS isodow, extract(dow FROM event_time) AS dow2, "
        "epoch(event_time) AS epoch, extract(second FROM event_time) AS sec, extract(hour FROM event_time) AS hour, "
        "strftime(event_time, '%Y-%m-%dT%H:%M') AS iso, dayname(event_date) AS day FROM cloudtrail_events ORDER BY event_id",
        [
            ("e1", 5, 5, 5, 1709287200.0, 0, 10, "2024-03-01T10:00", "Friday"),
            ("e2", 5, 5, 5, 1709335805.25, 5, 23, "2024-03-01T23:30", "Friday"),
            ("e3", 6, 6, 6, 1709338500.0, 0, 0, "2024-03-02T00:15", "Saturday"),
            ("e4", 0, 7, 0, 1709467200.0, 0, 12, "2024-03-03T12:00", "Sunday"),
        ],
    ),
    "epoch_of_difference": ("SELECT epoch(max(event_time) - min(event_time)) AS seconds FROM cloudtrail_events", [(180000.0,)]),
    "date_arithmetic": (
        "SELECT DATE '2024-03-31' - INTERVAL 30 DAY AS a, DATE '2024-03-31' - DATE '2024-03-01' AS b, "
        "DATE '2024-03-31' - CAST(30 AS INTEGER) AS c, date_trunc('month', DATE '2024-03-05') AS d, "
        "date_trunc('day', event_time) AS e, event_time + to_hours(2) AS f FROM cloudtrail_events WHERE event_id = 'e2'",
        [
            (
                dt.datetime(2024, 3, 1),
                30,
                dt.date(2024, 3, 1),
                dt.datetime(2024, 3, 1),
                ts("2024-03-01 00:00:00"),
                ts("2024-03-02 01:30:05.250"),
            )
        ],
    ),
    "qualify": (
        "SELECT user_name, event_id FROM cloudtrail_events "
        "QUALIFY row_number() OVER (PARTITION BY user_name ORDER BY event_time DESC) = 1 ORDER BY user_name",
        [("QuickSightAuthor/bea", "e4"), ("QuickSightReader/eve", "e2")],
    ),
    "distinct_on": (
        "SELECT DISTINCT ON (user_name) user_name, event_id FROM cloudtrail_events ORDER BY user_name, event_time",
        [("QuickSightAuthor/bea", "e3"), ("QuickSightReader/eve", "e1")],
    ),
    "filter_ilike": (
        "SELECT count(*) FILTER (WHERE error_code IS NULL) AS ok, count(*) FILTER (WHERE user_name ILIKE '%EVE') AS eve, "
        "count(DISTINCT user_name) AS users, count(*) FILTER (WHERE request_parameters IS NULL) AS no_params FROM cloudtrail_events",
        [(3, 2, 2, 1)],
    ),
    "lists": (
        "SELECT user_name, groups, array_length(groups) AS n, list_contains(groups, 'g1') AS has_g1, groups[1] AS first, "
        "groups[-1] AS last, list_extract(groups, 5) AS fifth, groups[2:3] AS middle, list_has_any(groups, ['g3', 'x']) AS any_g3, "
        "list_position(groups, 'g2') AS pos_g2 FROM users ORDER BY user_name",
        [
            ("QuickSightAuthor/bea", ["g1", "g2", "g3"], 3, True, "g1", "g3", None, ["g2", "g3"], True, 2),
            ("QuickSightReader/eve", ["g2"], 1, False, "g2", "g2", None, [], False, 1),
            ("hal", [], 0, False, None, None, None, [], False, None),
        ],
    ),
    "ordered_lists": (
        "SELECT list(event_id ORDER BY event_time DESC) AS latest_first, list(event_id ORDER BY event_id) AS ids, "
        "string_agg(event_id, ',' ORDER BY event_id DESC) AS joined FROM cloudtrail_events",
        [(["e4", "e3", "e2", "e1"], ["e1", "e2", "e3", "e4"], "e4,e3,e2,e1")],
    ),
    "strings": (
        "SELECT event_id, split_part(user_name, '/', -1) AS name, string_split(user_name, '/')[1] AS kind, "
        "regexp_extract(user_name, '([a-z]+)$', 1) AS tail, regexp_replace(user_name, '[a-z]', '_') AS first_replaced, "
        "regexp_replace(user_name, '[a-z]', '_', 'g') AS all_replaced, regexp_replace(user_name, '(\\w+)/(\\w+)', '\\2@\\1') AS swapped, "
        "concat(error_code, '!') AS c, user_name LIKE 'QuickSight%' AS qs FROM cloudtrail_events ORDER BY event_id",
        [
            ("e1", "eve", "QuickSightReader", "eve", "Q_ickSightReader/eve", "Q____S____R_____/___", "eve@QuickSightReader", "!", True),
            ("e2", "eve", "QuickSightReader", "eve", "Q_ickSightReader/eve", "Q____S____R_____/___", "eve@QuickSightReader", "!", True),
            ("e3", "bea", "QuickSightAuthor", "bea", "Q_ickSightAuthor/bea", "Q____S____A_____/___", "bea@QuickSightAuthor", "AccessDenied!", True),
            ("e4", "bea", "QuickSightAuthor", "bea", "Q_ickSightAuthor/bea", "Q____S____A_____/___", "bea@QuickSightAuthor", "!", True),
        ],
    ),
    "quantiles": (
        "SELECT quantile_cont(extract(hour FROM event_time), 0.5) AS q, median(extract(hour FROM event_time)) AS m, "
        "quantile_disc(extract(hour FROM event_time), 0.5) AS qd FROM cloudtrail_events",
        [(11.0, 11.0, 10)],
    ),
    "group_by_all": (
        "SELECT event_date, event_name, count(*) AS n FROM cloudtrail_events GROUP BY ALL ORDER BY ALL",
        [(dt.date(2024, 3, 1), "GetDashboard", 2), (dt.date(2024, 3, 2), "UpdateDashboard", 1), (dt.date(2024, 3, 3), "GetDashboard", 1)],
    ),
    "exclude": (
        "SELECT * EXCLUDE (groups, snapshot_time, snapshot_date, account_id, region, namespace, principal_id, arn, email, "
        "identity_type, active, source_object) FROM users ORDER BY user_name",
        [("QuickSightAuthor/bea", None), ("QuickSightReader/eve", None), ("hal", None)],
    ),
    "nulls_last": (
        "SELECT event_id, error_code FROM cloudtrail_events ORDER BY error_code, event_id",
        [("e3", "AccessDenied"), ("e1", None), ("e2", None), ("e4", None)],
    ),
    "window": (
        "SELECT event_id, lag(event_id) OVER (PARTITION BY user_name ORDER BY event_time) AS prev, "
        "count(*) OVER (PARTITION BY user_name) AS n FROM cloudtrail_events ORDER BY event_id",
        [("e1", None, 2), ("e2", "e1", 2), ("e3", None, 2), ("e4", "e3", 2)],
    ),
}

PARAM_CONSTRUCTS = {
    "computed_interval": (
        "SELECT count(*) AS n FROM cloudtrail_events WHERE event_time >= CAST($as_of AS DATE) - INTERVAL ($days) DAY",
        {"as_of": dt.date(2024, 3, 3), "days": 1},
        [(2,)],
    ),
    "param_times_interval": (
        "SELECT event_id FROM cloudtrail_events WHERE event_time BETWEEN $start AND $start + $minutes * INTERVAL 1 MINUTE ORDER BY event_id",
        {"start": dt.datetime(2024, 3, 1, 23, 0), "minutes": 90},
        [("e2",), ("e3",)],
    ),
}


def test_constructs_compute_what_duckdb_computes(events_lake, spark_engine):
    # one engine for every construct (cheaper than one per parametrized case)
    engine = spark_engine(events_lake)
    duck = DuckDBEngine(events_lake)
    failures = []
    try:
        cases = [(n, sql, None, exp) for n, (sql, exp) in CONSTRUCTS.items()]
        cases += [(n, sql, p, exp) for n, (sql, p, exp) in PARAM_CONSTRUCTS.items()]
        for name, sql, params, expected in cases:
            got_spark, got_duck = rows(engine.query(sql, params)), rows(duck.query(sql, params))
            if got_duck != expected:
                failures.append(f"{name}: DuckDB gave {got_duck}")
            if got_spark != expected:
                failures.append(f"{name}: Spark gave {got_spark}, expected {expected}")
    finally:
        duck.close()
    assert not failures, "\n".join(failures)


# -- the CLI ------------------------------------------------------------------------------


def test_cli_sql_on_spark(events_lake, spark):
    from typer.testing import CliRunner

    from eventlake.cli import app

    runner = CliRunner()
    base = ["--lake", str(events_lake.path), "sql"]
    query = "SELECT event_date, count(*) AS n FROM cloudtrail_events GROUP BY 1 ORDER BY 1"
    result = runner.invoke(app, base + [query, "--engine", "spark", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"event_date": "2024-03-01", "n": 2}, {"event_date": "2024-03-02", "n": 1}, {"event_date": "2024-03-03", "n": 1}]
    explained = runner.invoke(app, base + ["SELECT count(*) FROM users", "--engine", "spark", "--explain"])
    assert explained.exit_code == 0, explained.output
    assert "SELECT COUNT(*) FROM users" in explained.stdout and "== Physical Plan ==" in explained.stdout
    assert spark.sparkContext._jsc is not None  # the CLI's engine did not stop the shared session
