"""Derived tables: narrow tables computed from a source table's rows in the same commit
that loads them, so insights read a few pre-extracted columns instead of parsing JSON
payloads of every event. Each (table, source) pair is declared once in DERIVED: a
table may be fed by several sources (bi_events: CloudTrail's QuickSight calls and the
console's own usage), each owning the rows its `owns` predicate selects. `rebuild`
recomputes a table from its sources (after a retention run, a fix to its SQL, or for
tables filled by hand). A pool tenant's rows derive rows of the same tenant (the
tenant column is carried over; see lake/tenancy.py)."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from ..errors import LakeError
from .catalog import ALIAS, Lake, sql_literal
from .schema import BI_EVENTS, TableDef
from .tenancy import TENANT_COLUMN, add_tenant_column, has_tenant_column, tenant_stamp


@dataclass(frozen=True)
class Derived:
    table: TableDef
    source: str  # the table it is derived from
    select: str  # SELECT over `{rows}` (rows shaped like the source table) giving table's columns
    owns: str = "true"  # predicate on the derived table selecting the rows that come from this source


_QS = "'quicksight.amazonaws.com'"

BI_EVENTS_SELECT = f"""
SELECT
    event_id,
    event_time,
    event_date,
    recipient_account_id AS account_id,
    aws_region AS region,
    event_source,
    event_name,
    CASE
        WHEN event_source = {_QS} AND event_name IN ('GetDashboard', 'GetAnalysis') THEN 'view'
        WHEN event_source = {_QS} AND event_name IN ('CreateDashboard', 'UpdateDashboard',
             'UpdateDashboardPublishedVersion', 'DeleteDashboard', 'CreateAnalysis', 'UpdateAnalysis',
             'DeleteAnalysis') THEN 'edit'
        WHEN event_source = {_QS} THEN 'other'
        ELSE 'login'
    END AS kind,
    user_name,
    CASE WHEN event_name = 'AssumeRoleWithSAML'
        THEN split_part(json_extract_string(response_elements, '$.assumedRoleUser.arn'), '/', -1)
        ELSE split_part(user_name, '/', -1)
    END AS user_key,
    CASE
        WHEN event_source <> {_QS} THEN NULL
        WHEN event_name LIKE '%Dashboard%' THEN 'dashboard'
        WHEN event_name LIKE '%Analysis%' OR event_name LIKE '%Analyses%' THEN 'analysis'
    END AS asset_type,
    CASE
        WHEN event_source <> {_QS} THEN NULL
        WHEN event_name LIKE '%Dashboard%' THEN coalesce(
            json_extract_string(service_event_details, '$.eventRequestDetails.dashboardId'),
            json_extract_string(service_event_details, '$.eventResponseDetails.dashboardDetails.dashboardId'),
            json_extract_string(request_parameters, '$.dashboardId'))
        WHEN event_name LIKE '%Analysis%' OR event_name LIKE '%Analyses%' THEN coalesce(
            json_extract_string(service_event_details, '$.eventRequestDetails.analysisId'),
            json_extract_string(service_event_details, '$.eventResponseDetails.analysisDetails.analysisId'),
            json_extract_string(request_parameters, '$.analysisId'))
    END AS asset_id,
    CASE WHEN event_source = {_QS}
        THEN json_extract_string(service_event_details, '$.eventResponseDetails.dashboardDetails.dashboardName')
    END AS asset_name,
    CASE WHEN event_source = {_QS} THEN json_extract_string(request_parameters, '$.name') END AS request_name
FROM {{rows}}
WHERE error_code IS NULL
  AND (
        event_source = {_QS}
     OR (event_source = 'sts.amazonaws.com' AND event_name = 'AssumeRoleWithSAML')
     OR (event_source = 'signin.amazonaws.com' AND event_name = 'ConsoleLogin'
         AND coalesce(json_extract_string(response_elements, '$.ConsoleLogin'), 'Success') = 'Success')
  )
"""

CONSOLE_SOURCE = "console.eventlake"
CONSOLE_ACCOUNT = "eventlake"

# The console's usage as BI usage: sign-ins are logins; pages, dashboards, users and
# saved queries looked at are views (a page or saved query is the console's "dashboard",
# a detail page views the dashboard it shows); SQL written in the editor is an edit (the
# console's authoring). account 'eventlake', region 'console'.
CONSOLE_BI_SELECT = f"""
SELECT
    event_id,
    event_time,
    event_date,
    '{CONSOLE_ACCOUNT}' AS account_id,
    'console' AS region,
    '{CONSOLE_SOURCE}' AS event_source,
    action AS event_name,
    CASE action WHEN 'login' THEN 'login' WHEN 'run_sql' THEN 'edit' WHEN 'logout' THEN 'other' ELSE 'view' END AS kind,
    user_name,
    user_name AS user_key,
    CASE WHEN action IN ('login', 'logout') THEN NULL WHEN action = 'run_sql' THEN 'analysis' ELSE 'dashboard' END AS asset_type,
    CASE WHEN action IN ('login', 'logout') THEN NULL ELSE asset_id END AS asset_id,
    CASE WHEN action IN ('login', 'logout') THEN NULL ELSE asset_name END AS asset_name,
    NULL AS request_name
FROM {{rows}}
WHERE status = 'ok' AND user_name IS NOT NULL
  AND action IN ('login', 'logout', 'view', 'run_insight', 'run_sql', 'download')
"""

DERIVED: list[Derived] = [
    Derived(BI_EVENTS, "cloudtrail_events", BI_EVENTS_SELECT, owns=f"event_source <> '{CONSOLE_SOURCE}'"),
    Derived(BI_EVENTS, "console_events", CONSOLE_BI_SELECT, owns=f"event_source = '{CONSOLE_SOURCE}'"),
]


def derived_from(source: str) -> list[Derived]:
    """The derived tables computed from `source`."""
    return [d for d in DERIVED if d.source == source]


def append_derived(con: duckdb.DuckDBPyConnection, source: str, rows: str, tenant_id: str | None = None) -> None:
    """Append to every table derived from `source` what `rows` (a relation shaped like
    `source`: newly loaded, de-duplicated rows, of the pool tenant `tenant_id` or the
    lake's own) contributes; call inside the commit that loads those rows."""
    for d in derived_from(source):
        append_derived_one(con, d, rows, tenant_id)


def rebuild(lake: Lake, con: duckdb.DuckDBPyConnection, name: str) -> int:
    """Recompute a derived table from its whole source tables in one commit; returns rows."""
    feeds = [d for d in DERIVED if d.table.name == name]
    if not feeds:
        raise LakeError(f"{name!r} is not a derived table; derived tables: {', '.join(dict.fromkeys(d.table.name for d in DERIVED))}")
    lake.ensure_tables(con, [name] + [d.source for d in feeds])
    # a source holding pool tenants' rows derives each tenant's rows on their own
    pooled = [d for d in feeds if has_tenant_column(con, d.source)]
    if pooled:
        add_tenant_column(lake, con, [name])
    with lake.transaction(con):
        con.execute(f'DELETE FROM {ALIAS}."{name}"')
        for d in feeds:
            if d not in pooled:
                append_derived_one(con, d, f'{ALIAS}."{d.source}"')
                continue
            tenants = [t for (t,) in con.execute(f'SELECT DISTINCT "{TENANT_COLUMN}" FROM {ALIAS}."{d.source}"').fetchall()]
            for t in tenants:
                # tenant names are plain identifiers (governance.tenants.NAME_RE); quoted all the same
                match = "IS NULL" if t is None else "= " + sql_literal(t)
                append_derived_one(con, d, f'(SELECT * FROM {ALIAS}."{d.source}" WHERE "{TENANT_COLUMN}" {match})', t)
    return con.execute(f'SELECT count(*) FROM {ALIAS}."{name}"').fetchall()[0][0]


def append_derived_one(con: duckdb.DuckDBPyConnection, d: Derived, rows: str, tenant_id: str | None = None) -> None:
    cols = ", ".join(f'"{c}"' for c in d.table.column_names)
    stamp = tenant_stamp(tenant_id)
    con.execute(
        f'INSERT INTO {ALIAS}."{d.table.name}" ({cols}{stamp.column_sql}) SELECT *{stamp.value_sql} FROM ('
        + d.select.format(rows=rows) + ")",
        list(stamp.values),
    )
