"""Derived tables: narrow tables computed from a source table's rows in the same commit
that loads them, so insights read a few pre-extracted columns instead of parsing JSON
payloads of every event. Each is declared once in DERIVED; `rebuild` recomputes one
from its source (after a retention run, a fix to its SQL, or for tables filled by hand)."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from ..errors import LakeError
from .catalog import ALIAS, Lake
from .schema import BI_EVENTS, TableDef


@dataclass(frozen=True)
class Derived:
    table: TableDef
    source: str  # the table it is derived from
    select: str  # SELECT over `{rows}` (rows shaped like the source table) giving table's columns


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

DERIVED: dict[str, Derived] = {
    "bi_events": Derived(BI_EVENTS, "cloudtrail_events", BI_EVENTS_SELECT),
}


def derived_from(source: str) -> list[Derived]:
    """The derived tables computed from `source`."""
    return [d for d in DERIVED.values() if d.source == source]


def append_derived(con: duckdb.DuckDBPyConnection, source: str, rows: str) -> None:
    """Append to every table derived from `source` what `rows` (a relation shaped like
    `source`: newly loaded, de-duplicated rows) contributes; call inside the commit that
    loads those rows."""
    for d in derived_from(source):
        append_derived_one(con, d, rows)


def rebuild(lake: Lake, con: duckdb.DuckDBPyConnection, name: str) -> int:
    """Recompute a derived table from its whole source table in one commit; returns rows."""
    d = DERIVED.get(name)
    if d is None:
        raise LakeError(f"{name!r} is not a derived table; derived tables: {', '.join(DERIVED)}")
    lake.ensure_tables(con, [d.table.name, d.source])
    with lake.transaction(con):
        con.execute(f'DELETE FROM {ALIAS}."{d.table.name}"')
        append_derived_one(con, d, f'{ALIAS}."{d.source}"')
    return con.execute(f'SELECT count(*) FROM {ALIAS}."{d.table.name}"').fetchall()[0][0]


def append_derived_one(con: duckdb.DuckDBPyConnection, d: Derived, rows: str) -> None:
    cols = ", ".join(f'"{c}"' for c in d.table.column_names)
    con.execute(f'INSERT INTO {ALIAS}."{d.table.name}" ({cols}) ' + d.select.format(rows=rows))
