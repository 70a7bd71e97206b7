-- name: popular_datasets
-- description: Datasets ranked by views over the last N days of the dashboards and analyses that use them, then by how many dashboards and analyses use them.
-- category: bi
-- param: days int 30 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC)
--
-- Usage (which dashboard or analysis uses which dataset) and the datasets themselves come
-- from the snapshot in effect on as_of: per account and region, the latest snapshot taken
-- on or before as_of, else the earliest one. views counts successful GetDashboard events
-- on the dashboards using the dataset plus GetAnalysis events on the analyses using it;
-- viewers counts the distinct users behind those events.
WITH {{assets_in_effect}},
{{dataset_usage_in_effect}},
datasets AS (
    SELECT account_id, region, asset_id AS dataset_id, name, import_mode, spice_bytes
    FROM assets_in_effect
    WHERE asset_type = 'dataset'
),
opens AS (
    SELECT
        recipient_account_id AS account_id,
        aws_region AS region,
        CASE WHEN event_name = 'GetDashboard' THEN 'dashboard' ELSE 'analysis' END AS asset_type,
        CASE WHEN event_name = 'GetDashboard'
            THEN coalesce(
                json_extract_string(service_event_details, '$.eventRequestDetails.dashboardId'),
                json_extract_string(service_event_details, '$.eventResponseDetails.dashboardDetails.dashboardId'),
                json_extract_string(request_parameters, '$.dashboardId'))
            ELSE coalesce(
                json_extract_string(service_event_details, '$.eventRequestDetails.analysisId'),
                json_extract_string(service_event_details, '$.eventResponseDetails.analysisDetails.analysisId'),
                json_extract_string(request_parameters, '$.analysisId'))
        END AS asset_id,
        user_name
    FROM cloudtrail_events
    WHERE event_source = 'quicksight.amazonaws.com'
      AND event_name IN ('GetDashboard', 'GetAnalysis')
      AND error_code IS NULL
      AND event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
      AND event_date <= CAST($as_of AS DATE)
),
uses AS (
    SELECT
        account_id,
        region,
        dataset_id,
        count(DISTINCT CASE WHEN asset_type = 'dashboard' THEN asset_id END) AS dashboards,
        count(DISTINCT CASE WHEN asset_type = 'analysis' THEN asset_id END) AS analyses
    FROM dataset_usage_in_effect
    GROUP BY account_id, region, dataset_id
),
dataset_views AS (
    SELECT u.account_id, u.region, u.dataset_id, count(*) AS views, count(DISTINCT o.user_name) AS viewers
    FROM dataset_usage_in_effect u
    JOIN opens o
      ON o.account_id = u.account_id AND o.region = u.region AND o.asset_type = u.asset_type AND o.asset_id = u.asset_id
    GROUP BY u.account_id, u.region, u.dataset_id
)
SELECT
    d.account_id,
    d.region,
    d.dataset_id,
    d.name AS dataset_name,
    d.import_mode,
    d.spice_bytes,
    coalesce(v.views, 0) AS views,
    coalesce(v.viewers, 0) AS viewers,
    coalesce(u.dashboards, 0) AS dashboards,
    coalesce(u.analyses, 0) AS analyses
FROM datasets d
LEFT JOIN uses u
  ON u.account_id = d.account_id AND u.region = d.region AND u.dataset_id = d.dataset_id
LEFT JOIN dataset_views v
  ON v.account_id = d.account_id AND v.region = d.region AND v.dataset_id = d.dataset_id
ORDER BY views DESC, viewers DESC, dashboards DESC, analyses DESC, d.account_id, d.region, d.dataset_id
