"""The insight registry: loading .sql files, binding parameters, clear errors."""

from __future__ import annotations

import datetime as dt

import pytest

from eventlake.errors import InsightError
from eventlake.insights import Insight, Param, get_insight, list_insights, parse_insight

EXPECTED = [
    "dashboard_permissions",
    "dashboard_viewers",
    "dashboard_views_daily",
    "idle_authors",
    "logins_without_views",
    "most_updated_assets",
    "most_viewed_dashboards",
    "popular_datasets",
    "unused_datasets",
    "user_activity",
    "user_events",
    "user_groups",
]


def test_list_insights_sorted_with_metadata():
    everything = list_insights()
    assert [i.name for i in everything] == sorted(i.name for i in everything)
    insights = [i for i in everything if i.category == "bi"]
    assert [i.name for i in insights] == EXPECTED
    for i in insights:
        assert isinstance(i, Insight)
        assert i.description and i.sql.strip().upper().startswith("WITH")
        assert i.path is not None and i.path.name == f"{i.name}.sql"
        assert all(isinstance(p, Param) for p in i.params)
        assert i.param("as_of") is not None and i.param("as_of").type == "date"
        assert "-- name:" not in i.sql  # the header is metadata, not part of the SQL


def test_idle_authors_params():
    insight = get_insight("idle_authors")
    assert [(p.name, p.type, p.default) for p in insight.params] == [("idle_days", "int", "60"), ("as_of", "date", "today")]


def test_get_insight_unknown_lists_known():
    with pytest.raises(InsightError) as exc:
        get_insight("most_viewed")
    msg = str(exc.value)
    assert "'most_viewed'" in msg and "most_viewed_dashboards" in msg and "idle_authors" in msg


def test_bind_defaults_and_conversion():
    insight = get_insight("logins_without_views")
    today = dt.datetime.now(dt.timezone.utc).date()
    bound = insight.bind({})
    assert bound["minutes"] == 30 and bound["days"] == 30 and bound["as_of"] in (today, today + dt.timedelta(days=1))
    bound = insight.bind({"minutes": "45", "as_of": "2024-02-29"})
    assert bound == {"minutes": 45, "days": 30, "as_of": dt.date(2024, 2, 29)}
    assert insight.bind({"minutes": 10}, as_of=dt.date(2024, 1, 2)) == {"minutes": 10, "days": 30, "as_of": dt.date(2024, 1, 2)}
    assert get_insight("dashboard_viewers").bind({"dashboard_id": " d 1 "})["dashboard_id"] == " d 1 "


def test_bind_as_of_argument():
    insight = get_insight("idle_authors")
    assert insight.bind(as_of=dt.date(2024, 5, 1))["as_of"] == dt.date(2024, 5, 1)
    assert insight.bind({"as_of": "2024-05-01"}, as_of=dt.date(2024, 5, 1))["as_of"] == dt.date(2024, 5, 1)
    with pytest.raises(InsightError, match="contradicts"):
        insight.bind({"as_of": "2024-05-02"}, as_of=dt.date(2024, 5, 1))


@pytest.mark.parametrize(
    "values, words",
    [
        ({"idle_dayz": "3"}, ["'idle_dayz'", "idle_days, as_of"]),
        ({"idle_days": "sixty"}, ["'idle_days'", "'sixty'", "integer"]),
        ({"idle_days": "-5"}, ["'idle_days'", "'-5'"]),
        ({"idle_days": "1.5"}, ["'idle_days'", "'1.5'"]),
        ({"idle_days": True}, ["'idle_days'", "True"]),
        ({"as_of": "2024-02-30"}, ["'as_of'", "'2024-02-30'", "YYYY-MM-DD"]),
        ({"as_of": "31/03/2024"}, ["'as_of'", "'31/03/2024'"]),
        ({"as_of": dt.datetime(2024, 1, 1)}, ["'as_of'"]),
    ],
)
def test_bind_rejects_bad_values(values, words):
    with pytest.raises(InsightError) as exc:
        get_insight("idle_authors").bind(values)
    for w in words:
        assert w in str(exc.value)


def test_parse_insight_required_and_bool():
    text = (
        "-- name: demo_q\n-- description: A test.\n-- param: who str required Whose rows\n"
        "-- param: flag bool false A switch\nSELECT $who AS who, $flag AS flag\n"
    )
    insight = parse_insight(text, "demo_q.sql")
    assert insight.param("who").required and insight.sql == "SELECT $who AS who, $flag AS flag\n"
    assert insight.bind({"who": "x", "flag": "yes"}) == {"who": "x", "flag": True}
    with pytest.raises(InsightError, match="needs parameter 'who'"):
        insight.bind({})
    with pytest.raises(InsightError, match="'maybe'"):
        insight.bind({"who": "x", "flag": "maybe"})


@pytest.mark.parametrize(
    "text, words",
    [
        ("SELECT 1\n", "name"),
        ("-- name: q\nSELECT 1\n", "description"),
        ("-- name: q\n-- description: d\n-- param: n float 1 x\nSELECT $n\n", "type 'float'"),
        ("-- name: q\n-- description: d\n-- param: n int\nSELECT $n\n", "NAME TYPE DEFAULT DESCRIPTION"),
        ("-- name: q\n-- description: d\n-- param: n int abc x\nSELECT $n\n", "'abc'"),
        ("-- name: q\n-- description: d\nSELECT $n\n", "undeclared parameter(s) $n"),
        ("-- name: q\n-- description: d\n-- param: n int 1 x\nSELECT '$n'\n", "declared but not used"),
        ("-- name: q\n-- description: d\n-- param: n int 1 x\n-- param: n int 2 y\nSELECT $n\n", "declared twice"),
        ("-- name: q\n-- description: d\n", "no SQL"),
    ],
)
def test_parse_insight_errors(text, words):
    with pytest.raises(InsightError) as exc:
        parse_insight(text, "q.sql")
    assert words in str(exc.value) and "q.sql" in str(exc.value)


def test_json_paths_are_not_parameters():
    insight = parse_insight("-- name: q\n-- description: d\nSELECT x->>'$.a.b', json_extract_string(x, '$.c') FROM t\n", "q.sql")
    assert insight.params == [] and insight.bind({}) == {}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024-03-01T10:00", dt.datetime(2024, 3, 1, 10, 0, tzinfo=dt.timezone.utc)),
        ("2024-03-01 10:00:30Z", dt.datetime(2024, 3, 1, 10, 0, 30, tzinfo=dt.timezone.utc)),
        ("2024-03-01T12:00:00+02:00", dt.datetime(2024, 3, 1, 10, 0, tzinfo=dt.timezone.utc)),
        ("2024-03-01", dt.datetime(2024, 3, 1, tzinfo=dt.timezone.utc)),
    ],
)
def test_timestamp_params_are_utc(text, expected):
    ins = parse_insight(
        "-- name: t\n-- description: d\n-- param: start_time timestamp 2024-01-01T00:00 Start\nSELECT $start_time AS t\n", "t.sql"
    )
    got = ins.bind({"start_time": text})["start_time"]
    assert got == expected and got.utcoffset() == dt.timedelta(0)
    assert ins.bind({})["start_time"] == dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    assert ins.bind({"start_time": dt.datetime(2024, 5, 1, 8, 0)})["start_time"] == dt.datetime(2024, 5, 1, 8, 0, tzinfo=dt.timezone.utc)


def test_bad_timestamp_param_names_the_value():
    ins = parse_insight("-- name: t\n-- description: d\n-- param: at timestamp now When\nSELECT $at AS t\n", "t.sql")
    with pytest.raises(InsightError, match=r"parameter 'at' of insight 't' must be a UTC timestamp .* got '03/01/2024'"):
        ins.bind({"at": "03/01/2024"})


def test_category_header():
    ins = parse_insight("-- name: t\n-- description: d\n-- category: vpc-flow\nSELECT 1 AS x\n", "t.sql")
    assert ins.category == "vpc-flow"
    assert parse_insight("-- name: t\n-- description: d\nSELECT 1 AS x\n", "t.sql").category == "general"
    with pytest.raises(InsightError, match="at most one '-- category"):
        parse_insight("-- name: t\n-- description: d\n-- category: a\n-- category: b\nSELECT 1 AS x\n", "t.sql")


def test_relative_timestamps():
    ins = parse_insight("-- name: t\n-- description: d\n-- param: since timestamp now-3h Since\nSELECT $since AS t\n", "t.sql")
    now = dt.datetime.now(dt.timezone.utc)
    for text, delta in (("now-3h", dt.timedelta(hours=3)), ("now - 90m", dt.timedelta(minutes=90)), ("now-7d", dt.timedelta(days=7)), ("NOW-2w", dt.timedelta(weeks=2))):
        got = ins.bind({"since": text})["since"]
        assert abs((now - delta) - got) < dt.timedelta(seconds=30), text
    assert abs(ins.bind({})["since"] - (now - dt.timedelta(hours=3))) < dt.timedelta(seconds=30)
    with pytest.raises(InsightError, match="now-N"):
        ins.bind({"since": "now-3y"})


def test_fragments_bring_their_sql_and_parameters():
    from eventlake.insights.registry import parse_fragment

    frag = parse_fragment(
        "-- fragment: recent\n-- param: days int 7 Window in days\n-- Rows of the last N days.\n"
        "recent AS (SELECT * FROM events WHERE event_date > current_date - $days)\n",
        "fragments/recent.sql",
    )
    ins = parse_insight(
        "-- name: t\n-- description: d\n-- param: top int 5 Rows\nWITH {{recent}}\nSELECT count(*) AS n FROM recent LIMIT $top\n",
        "t.sql", fragments={"recent": frag},
    )
    assert [p.name for p in ins.params] == ["days", "top"]
    assert ins.sql.startswith("WITH recent AS (SELECT * FROM events WHERE event_date > current_date - $days)\nSELECT")
    assert "-- from fragment recent:" in ins.text and "-- param: days int 7" in ins.text
    with pytest.raises(InsightError, match=r"unknown fragment \{\{nope\}\}; known: recent"):
        parse_insight("-- name: t\n-- description: d\nWITH {{nope}} SELECT 1 AS x\n", "t.sql", fragments={"recent": frag})
    with pytest.raises(InsightError, match="parameter days declared twice"):
        parse_insight(
            "-- name: t\n-- description: d\n-- param: days int 3 Again\nWITH {{recent}} SELECT count(*) AS n FROM recent\n",
            "t.sql", fragments={"recent": frag},
        )


def test_web_insights_share_the_filter_fragment():
    web = [i for i in list_insights() if i.category == "web"]
    assert len(web) == 9
    for i in web:
        assert [p.name for p in i.params][:10] == [
            "start_time", "end_time", "site", "path", "country", "device_type", "browser", "os", "referrer_host", "utm_source",
        ], i.name
        assert "{{" not in i.sql and "views AS (" in i.sql


def test_bi_insights_read_snapshots_through_the_fragments():
    bi = {i.name: i for i in list_insights() if i.category == "bi"}
    uses = {
        "assets_in_effect AS (": {"dashboard_permissions", "dashboard_viewers", "dashboard_views_daily", "most_updated_assets",
                                  "most_viewed_dashboards", "popular_datasets", "unused_datasets", "user_events"},
        "users_in_effect AS (": {"dashboard_viewers", "idle_authors", "logins_without_views", "user_activity", "user_groups"},
        "dataset_usage_in_effect AS (": {"popular_datasets", "unused_datasets"},
    }
    for cte, names in uses.items():
        assert {n for n, i in bi.items() if cte in i.sql} == names, cte
    for i in bi.values():
        assert "{{" not in i.sql and [p.name for p in i.params][-1] == "as_of", i.name
        assert "_snap AS (" not in i.sql.replace("perm_snap AS (", ""), i.name  # written once, in the fragments
