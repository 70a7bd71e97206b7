"""DuckDB SQL -> Spark SQL, one construct at a time (pure sqlglot, no Spark). The expected
Spark SQL is written out; test_spark.py checks that the translations compute what DuckDB
computes."""

from __future__ import annotations

import pytest

from eventlake.engines.translate import RULES, to_spark, translate
from eventlake.errors import QueryError

CASES = [
    # -- named parameters become Spark markers, never text
    (
        'SELECT * FROM cloudtrail_events WHERE event_date = $as_of AND user_name = $user',
        'SELECT * FROM cloudtrail_events WHERE event_date = :as_of AND user_name = :user',
    ),
    (
        'SELECT * FROM t WHERE d > CAST($as_of AS DATE) - CAST($days AS INTEGER)',
        'SELECT * FROM t WHERE d > CAST(:as_of AS DATE) - CAST(:days AS INT)',
    ),
    # -- the lake's catalog/schema qualifiers name temp views
    (
        'SELECT count(*) FROM lake.cloudtrail_events',
        'SELECT COUNT(*) FROM cloudtrail_events',
    ),
    (
        'SELECT count(*) FROM lake.main.users u JOIN main.assets a ON a.account_id = u.account_id',
        'SELECT COUNT(*) FROM users AS u JOIN assets AS a ON a.account_id = u.account_id',
    ),
    # -- JSON access
    (
        "SELECT request_parameters->>'$.dashboardId' FROM t",
        "SELECT GET_JSON_OBJECT(request_parameters, '$.dashboardId') FROM t",
    ),
    (
        "SELECT json_extract_string(service_event_details, '$.eventRequestDetails.dashboardId') FROM t",
        "SELECT GET_JSON_OBJECT(service_event_details, '$.eventRequestDetails.dashboardId') FROM t",
    ),
    (
        "SELECT request_parameters->>'dashboardId' FROM t",
        "SELECT GET_JSON_OBJECT(request_parameters, '$.dashboardId') FROM t",
    ),
    (
        "SELECT j->>'$.items[0].id' FROM t",
        "SELECT GET_JSON_OBJECT(j, '$.items[0].id') FROM t",
    ),
    (
        'SELECT j->>\'$."user name"\' FROM t',
        "SELECT GET_JSON_OBJECT(j, '$[\\'user name\\']') FROM t",
    ),
    (
        "SELECT j->'$.a' FROM t",
        "SELECT TO_JSON(VARIANT_GET(PARSE_JSON(j), '$.a', 'variant')) FROM t",
    ),
    (
        "SELECT json_extract(j, '$.a.b') FROM t",
        "SELECT TO_JSON(VARIANT_GET(PARSE_JSON(j), '$.a.b', 'variant')) FROM t",
    ),
    (
        "SELECT j->'a'->>'b' FROM t",
        "SELECT GET_JSON_OBJECT(j, '$.a.b') FROM t",
    ),
    (
        'SELECT CAST(x AS JSON) FROM t',
        'SELECT x FROM t',
    ),
    # -- date_diff counts boundaries, date_sub whole parts
    (
        "SELECT date_diff('day', a, b) FROM t",
        'SELECT DATEDIFF(CAST(b AS DATE), CAST(a AS DATE)) FROM t',
    ),
    (
        "SELECT datediff('hour', a, b) FROM t",
        "SELECT TIMESTAMPDIFF(HOUR, DATE_TRUNC('HOUR', a), DATE_TRUNC('HOUR', b)) FROM t",
    ),
    (
        "SELECT date_diff('minutes', a, b) FROM t",
        "SELECT TIMESTAMPDIFF(MINUTE, DATE_TRUNC('MINUTE', a), DATE_TRUNC('MINUTE', b)) FROM t",
    ),
    (
        "SELECT date_diff('week', a, b) FROM t",
        'SELECT DATEDIFF(CAST(b AS DATE), CAST(a AS DATE)) DIV 7 FROM t',
    ),
    (
        "SELECT date_diff('month', a, b) FROM t",
        "SELECT TIMESTAMPDIFF(MONTH, DATE_TRUNC('MONTH', a), DATE_TRUNC('MONTH', b)) FROM t",
    ),
    (
        "SELECT date_sub('day', a, b) FROM t",
        'SELECT TIMESTAMPDIFF(DAY, a, b) FROM t',
    ),
    # -- date_trunc, casts, TIMESTAMPTZ
    (
        "SELECT date_trunc('day', event_time), date_trunc('month', event_date) FROM t",
        "SELECT DATE_TRUNC('DAY', event_time), DATE_TRUNC('MONTH', event_date) FROM t",
    ),
    (
        "SELECT date_trunc('month', DATE '2024-03-05') FROM t",
        "SELECT CAST(TRUNC(CAST('2024-03-05' AS DATE), 'MONTH') AS TIMESTAMP_NTZ) FROM t",
    ),
    (
        'SELECT CAST(event_time AS DATE), event_time::DATE FROM t',
        'SELECT CAST(event_time AS DATE), CAST(event_time AS DATE) FROM t',
    ),
    (
        "SELECT CAST(x AS TIMESTAMPTZ), TIMESTAMPTZ '2024-01-01 00:00:00+00' FROM t",
        "SELECT CAST(x AS TIMESTAMP), CAST('2024-01-01 00:00:00+00' AS TIMESTAMP) FROM t",
    ),
    (
        'SELECT CAST(x AS TIMESTAMP) FROM t',
        'SELECT CAST(x AS TIMESTAMP_NTZ) FROM t',
    ),
    (
        'SELECT CAST(x AS HUGEINT), CAST(x AS UBIGINT) FROM t',
        'SELECT CAST(x AS DECIMAL(38, 0)), CAST(x AS DECIMAL(20, 0)) FROM t',
    ),
    # -- intervals and date arithmetic
    (
        'SELECT * FROM t WHERE ts <= l + $minutes * INTERVAL 1 MINUTE',
        "SELECT * FROM t WHERE ts <= l + :minutes * INTERVAL '1' MINUTE",
    ),
    (
        'SELECT * FROM t WHERE ts >= CAST($as_of AS DATE) - INTERVAL ($days) DAY',
        "SELECT * FROM t WHERE ts >= CAST(CAST(:as_of AS DATE) AS TIMESTAMP_NTZ) - (:days * INTERVAL '1' DAY)",
    ),
    (
        'SELECT ts + to_hours(2) FROM t',
        "SELECT ts + (2 * INTERVAL '1' HOUR) FROM t",
    ),
    (
        'SELECT date_add(d, INTERVAL 1 DAY) FROM t',
        "SELECT d + INTERVAL '1' DAY FROM t",
    ),
    (
        "SELECT DATE '2024-03-31' - INTERVAL 30 DAY FROM t",
        "SELECT CAST(CAST('2024-03-31' AS DATE) AS TIMESTAMP_NTZ) - INTERVAL '30' DAY FROM t",
    ),
    (
        "SELECT DATE '2024-03-31' - DATE '2024-03-01' FROM t",
        "SELECT DATEDIFF(CAST('2024-03-31' AS DATE), CAST('2024-03-01' AS DATE)) FROM t",
    ),
    # -- QUALIFY and DISTINCT ON
    (
        'SELECT user_name, event_time FROM t QUALIFY row_number() OVER (PARTITION BY user_name ORDER BY event_time DESC) = 1',
        'SELECT user_name, event_time FROM (SELECT user_name, event_time, ROW_NUMBER() OVER (PARTITION BY user_name ORDER BY event_time DESC) AS _w FROM t) AS _t WHERE _w = 1',
    ),
    (
        'SELECT DISTINCT ON (user_name) user_name, event_time FROM t ORDER BY user_name, event_time DESC',
        'SELECT user_name, event_time FROM (SELECT user_name AS user_name, event_time AS event_time, ROW_NUMBER() OVER (PARTITION BY user_name ORDER BY user_name NULLS LAST, event_time DESC) AS _row_number FROM t) AS _t WHERE _row_number = 1',
    ),
    # -- list functions
    (
        'SELECT list(a), array_agg(DISTINCT a) FROM t',
        'SELECT COLLECT_LIST(a), COLLECT_LIST(DISTINCT a) FROM t',
    ),
    (
        'SELECT list(a ORDER BY a DESC) FROM t',
        'SELECT SORT_ARRAY(COLLECT_LIST(a), FALSE) FROM t',
    ),
    (
        'SELECT list(a ORDER BY ts) FROM t',
        'SELECT TRANSFORM(SORT_ARRAY(COLLECT_LIST(STRUCT(ts AS k0, a AS v)), TRUE), e -> e.v) FROM t',
    ),
    (
        "SELECT list_contains(groups, 'admins'), array_length(groups), list_distinct(groups) FROM t",
        "SELECT ARRAY_CONTAINS(groups, 'admins'), SIZE(groups), ARRAY_DISTINCT(groups) FROM t",
    ),
    (
        'SELECT groups[1], groups[-1], list_extract(groups, 2), groups[2:3] FROM t',
        'SELECT groups[0], ELEMENT_AT(groups, -1), ELEMENT_AT(groups, 2), SLICE(groups, 2, (3 - 2) + 1) FROM t',
    ),
    (
        "SELECT list_has_any(groups, ['a', 'b']), list_position(groups, 'a') FROM t",
        "SELECT ARRAYS_OVERLAP(groups, ARRAY('a', 'b')), NULLIF(ARRAY_POSITION(groups, 'a'), 0) FROM t",
    ),
    (
        'SELECT unnest(groups) AS g FROM t',
        'SELECT EXPLODE(groups) AS g FROM t',
    ),
    (
        "SELECT string_agg(a, ', ' ORDER BY a) FROM t",
        "SELECT LISTAGG(a, ', ') WITHIN GROUP (ORDER BY a NULLS LAST) FROM t",
    ),
    # -- strftime, strptime, epoch, date parts
    (
        "SELECT strftime(event_time, '%Y-%m-%d %H:%M') FROM t",
        "SELECT DATE_FORMAT(event_time, 'yyyy-MM-dd HH:mm') FROM t",
    ),
    (
        "SELECT strftime(event_time, '%Y-%m-%dT%H:%M:%S') FROM t",
        "SELECT DATE_FORMAT(event_time, 'yyyy-MM-dd\\'T\\'HH:mm:ss') FROM t",
    ),
    (
        "SELECT strptime(s, '%d/%m/%Y') FROM t",
        "SELECT TO_TIMESTAMP_NTZ(s, 'dd/MM/yyyy') FROM t",
    ),
    (
        'SELECT epoch(event_time) FROM t',
        'SELECT UNIX_MICROS(CAST(event_time AS TIMESTAMP)) / 1000000 FROM t',
    ),
    (
        'SELECT epoch(b - a) FROM t',
        'SELECT (UNIX_MICROS(CAST(b AS TIMESTAMP)) - UNIX_MICROS(CAST(a AS TIMESTAMP))) / 1000000 FROM t',
    ),
    (
        'SELECT extract(epoch FROM event_time) FROM t',
        'SELECT UNIX_MICROS(CAST(event_time AS TIMESTAMP)) / 1000000 FROM t',
    ),
    (
        'SELECT epoch_ms(ms) FROM t',
        'SELECT TIMESTAMP_MILLIS(ms) FROM t',
    ),
    (
        "SELECT extract(dow FROM d), date_part('isodow', d), dayofweek(d), extract(hour FROM ts), extract(second FROM ts) FROM t",
        'SELECT (DAYOFWEEK(d) - 1), (WEEKDAY(d) + 1), (DAYOFWEEK(d) - 1), EXTRACT(HOUR FROM ts), SECOND(ts) FROM t',
    ),
    (
        'SELECT dayname(d), monthname(d) FROM t',
        "SELECT DATE_FORMAT(d, 'EEEE'), DATE_FORMAT(d, 'MMMM') FROM t",
    ),
    # -- string functions, regular expressions, LIKE
    (
        "SELECT string_split(principal_arn, '/'), split_part(user_name, '/', -1) FROM t",
        "SELECT SPLIT(principal_arn, CONCAT('\\\\Q', '/', '\\\\E')), SPLIT_PART(user_name, '/', -1) FROM t",
    ),
    (
        "SELECT string_split(principal_arn, '/')[2] FROM t",
        "SELECT SPLIT(principal_arn, CONCAT('\\\\Q', '/', '\\\\E'))[1] FROM t",
    ),
    (
        "SELECT regexp_extract(arn, 'dashboard/([^/]+)', 1), regexp_extract(arn, '[0-9]+') FROM t",
        "SELECT REGEXP_EXTRACT(arn, 'dashboard/([^/]+)'), REGEXP_EXTRACT(arn, '[0-9]+', 0) FROM t",
    ),
    (
        "SELECT regexp_replace(arn, '^.*/', '') FROM t",
        "SELECT REGEXP_REPLACE(arn, '^([\\\\s\\\\S]*?)(?:^.*/)', '$1') FROM t",
    ),
    (
        "SELECT regexp_replace(a, 'x', 'y', 'i') FROM t",
        "SELECT REGEXP_REPLACE(a, '(?i)^([\\\\s\\\\S]*?)(?:x)', '$1y') FROM t",
    ),
    (
        "SELECT regexp_replace(a, '([a-z]+)-(\\d+)', '\\2:\\1', 'g') FROM t",
        "SELECT REGEXP_REPLACE(a, '([a-z]+)-(\\\\d+)', '$2:$1') FROM t",
    ),
    (
        "SELECT regexp_matches(a, '^get') FROM t",
        "SELECT a RLIKE '^get' FROM t",
    ),
    (
        "SELECT * FROM t WHERE user_agent ILIKE '%mozilla%' AND a NOT ILIKE 'x%'",
        "SELECT * FROM t WHERE user_agent ILIKE '%mozilla%' AND a NOT ILIKE 'x%'",
    ),
    (
        "SELECT * FROM t WHERE path LIKE 'C:\\temp\\%'",
        "SELECT * FROM t WHERE path LIKE 'C:\\\\\\\\temp\\\\\\\\%'",
    ),
    (
        "SELECT concat(a, '-', b), a || b FROM t",
        "SELECT CONCAT(COALESCE(a, ''), '-', COALESCE(b, '')), a || b FROM t",
    ),
    # -- aggregates
    (
        'SELECT count(*) FILTER (WHERE error_code IS NULL), sum(bytes) FILTER (WHERE read_only) FROM t',
        'SELECT COUNT(*) FILTER(WHERE error_code IS NULL), SUM(bytes) FILTER(WHERE read_only) FROM t',
    ),
    (
        'SELECT arg_max(user_name, event_time), count(DISTINCT user_name) FROM t',
        'SELECT MAX_BY(user_name, event_time), COUNT(DISTINCT user_name) FROM t',
    ),
    (
        'SELECT quantile_cont(x, 0.5), quantile_disc(x, 0.9), median(x) FROM t',
        'SELECT PERCENTILE(x, 0.5), PERCENTILE_DISC(0.9) WITHIN GROUP (ORDER BY x NULLS LAST), MEDIAN(x) FROM t',
    ),
    (
        'SELECT count() FROM t',
        'SELECT COUNT(*) FROM t',
    ),
    # -- ordering and projections
    (
        'SELECT a FROM t ORDER BY a, b DESC',
        'SELECT a FROM t ORDER BY a NULLS LAST, b DESC',
    ),
    (
        'SELECT a, count(*) FROM t GROUP BY ALL ORDER BY ALL',
        'SELECT a, COUNT(*) FROM t GROUP BY ALL ORDER BY ALL NULLS LAST',
    ),
    (
        'SELECT * EXCLUDE (a) FROM t',
        'SELECT * EXCEPT (a) FROM t',
    ),
    (
        "SELECT greatest(a, b), coalesce(a, 'x'), ifnull(a, 'y') FROM t",
        "SELECT GREATEST(a, b), COALESCE(a, 'x'), COALESCE(a, 'y') FROM t",
    ),
]


@pytest.mark.parametrize(("duckdb_sql", "spark_sql"), CASES, ids=[c[0][:60] for c in CASES])
def test_translation(duckdb_sql, spark_sql):
    assert to_spark(duckdb_sql) == spark_sql


def test_parameters_listed_once_in_order_of_use():
    tr = translate("SELECT * FROM t WHERE a = $b AND c > $a AND d = $b")
    assert tr.sql == "SELECT * FROM t WHERE a = :b AND c > :a AND d = :b"
    assert tr.parameters == ("b", "a")


def test_parameter_values_never_reach_the_sql():
    # a parameter whose value looks like SQL stays a marker: only its name is in the text
    assert to_spark("SELECT * FROM t WHERE user_name = $name") == "SELECT * FROM t WHERE user_name = :name"


def test_every_rule_is_documented():
    assert all(rule.__doc__ and rule.__doc__.strip() for rule in RULES)


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT * FROM t WHERE a = $1", "positional parameter $1"),
        ("SELECT * FROM t WHERE a = ?", "positional parameter ?"),
        ("SELEC 1", "cannot parse the query as DuckDB SQL"),
        ("SELECT 1; SELECT 2", "exactly one SQL statement, got 2"),
        ("INSERT INTO t VALUES (1)", "queries (SELECT ...) only, not INSERT"),
        ("SELECT a FROM t UNION BY NAME SELECT a FROM u", "UNION BY NAME"),
        ("SELECT j->>'$.items[*].id' FROM t", "wildcards, slices or filters returns a list"),
        ("SELECT json_extract(j, ['$.a', '$.b']) FROM t", "a list of JSON paths"),
        ("SELECT json_extract_string(j, '/a/b') FROM t", "JSON pointer paths"),
        ("SELECT date_diff('decade', a, b) FROM t", "unsupported date part 'DECADE'"),
        ("SELECT regexp_replace(a, p, 'x') FROM t", "must be a literal"),
        ("SELECT strftime(ts, '%U') FROM t", "%U has no Spark equivalent"),
        ("SELECT list(a ORDER BY b, c DESC) FROM t", "mixed ASC/DESC"),
        ("SELECT arg_max(a, b, 2) FROM t", "cannot translate the query to Spark SQL"),
    ],
)
def test_untranslatable_queries_raise_query_error(sql, message):
    with pytest.raises(QueryError) as info:
        to_spark(sql)
    assert message in str(info.value)


def test_every_rule_is_in_the_docs():
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "engines.md").read_text()
    assert [rule.__name__ for rule in RULES if f"`{rule.__name__}`" not in doc] == []
