-- name: most_updated_assets
-- description: Dashboards and analyses ranked by create/update/delete events over the last N days, one row per asset and event name.
-- category: bi
-- param: days int 30 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC)
--
-- Counted events (successful, quicksight.amazonaws.com): CreateDashboard, UpdateDashboard,
-- UpdateDashboardPublishedVersion, DeleteDashboard, CreateAnalysis, UpdateAnalysis,
-- DeleteAnalysis. The asset id comes from requestParameters, else serviceEventDetails;
-- the name from the asset snapshot in effect on as_of, else from requestParameters.name
-- (so deleted assets keep a name). asset_events is the asset's total over all event names.
WITH {{assets_in_effect}},
edits AS (
    SELECT
        recipient_account_id AS account_id,
        aws_region AS region,
        CASE WHEN event_name LIKE '%Dashboard%' THEN 'dashboard' ELSE 'analysis' END AS asset_type,
        CASE WHEN event_name LIKE '%Dashboard%'
            THEN coalesce(
                json_extract_string(request_parameters, '$.dashboardId'),
                json_extract_string(service_event_details, '$.eventRequestDetails.dashboardId'),
                json_extract_string(service_event_details, '$.eventResponseDetails.dashboardDetails.dashboardId'))
            ELSE coalesce(
                json_extract_string(request_parameters, '$.analysisId'),
                json_extract_string(service_event_details, '$.eventRequestDetails.analysisId'),
                json_extract_string(service_event_details, '$.eventResponseDetails.analysisDetails.analysisId'))
        END AS asset_id,
        json_extract_string(request_parameters, '$.name') AS event_asset_name,
        event_name,
        user_name,
        event_time
    FROM cloudtrail_events
    WHERE event_source = 'quicksight.amazonaws.com'
      AND event_name IN ('CreateDashboard', 'UpdateDashboard', 'UpdateDashboardPublishedVersion', 'DeleteDashboard',
                         'CreateAnalysis', 'UpdateAnalysis', 'DeleteAnalysis')
      AND error_code IS NULL
      AND event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
      AND event_date <= CAST($as_of AS DATE)
),
per_event AS (
    SELECT
        account_id,
        region,
        asset_type,
        asset_id,
        event_name,
        count(*) AS events,
        count(DISTINCT user_name) AS editors,
        max(event_time) AS last_event_time
    FROM edits
    WHERE asset_id IS NOT NULL
    GROUP BY account_id, region, asset_type, asset_id, event_name
),
event_names AS (
    SELECT account_id, region, asset_type, asset_id, max(event_asset_name) AS name
    FROM edits
    WHERE asset_id IS NOT NULL
    GROUP BY account_id, region, asset_type, asset_id
),
snap_assets AS (
    SELECT account_id, region, asset_type, asset_id, max(name) AS name
    FROM assets_in_effect
    WHERE asset_type IN ('dashboard', 'analysis')
    GROUP BY account_id, region, asset_type, asset_id
),
ranked AS (
    SELECT
        e.account_id,
        e.region,
        e.asset_type,
        e.asset_id,
        coalesce(s.name, n.name) AS asset_name,
        e.event_name,
        e.events,
        e.editors,
        e.last_event_time,
        CAST(sum(e.events) OVER (PARTITION BY e.account_id, e.region, e.asset_type, e.asset_id) AS BIGINT) AS asset_events
    FROM per_event e
    JOIN event_names n
      ON n.account_id = e.account_id AND n.region = e.region AND n.asset_type = e.asset_type AND n.asset_id = e.asset_id
    LEFT JOIN snap_assets s
      ON s.account_id = e.account_id AND s.region = e.region AND s.asset_type = e.asset_type AND s.asset_id = e.asset_id
)
SELECT
    account_id,
    region,
    asset_type,
    asset_id,
    asset_name,
    asset_events,
    event_name,
    events,
    editors,
    last_event_time
FROM ranked
ORDER BY asset_events DESC, account_id, region, asset_type, asset_id, events DESC, event_name
