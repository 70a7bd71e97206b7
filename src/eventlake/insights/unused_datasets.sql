-- name: unused_datasets
-- description: Datasets not used by any dashboard or analysis that was viewed, opened or edited in the last N days, largest SPICE capacity first: the cost to reclaim.
-- category: bi
-- param: days int 90 Days without use that make a dataset unused, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC)
--
-- Datasets and usage come from the snapshot in effect on as_of (per account and region,
-- the latest snapshot taken on or before as_of, else the earliest). A dataset is used when
-- a dashboard or analysis that uses it had a successful GetDashboard / GetAnalysis or a
-- create/update event in the window. last_used is the latest such event on or before
-- as_of, however old (NULL: never seen in the logs).
WITH {{assets_in_effect}},
{{dataset_usage_in_effect}},
datasets AS (
    SELECT account_id, region, asset_id AS dataset_id, name, import_mode, spice_bytes, created_time, updated_time
    FROM assets_in_effect
    WHERE asset_type = 'dataset'
),
touches AS (
    -- bi_events: successful QuickSight calls with the dashboard or analysis id extracted
    SELECT account_id, region, asset_type, asset_id, event_time, event_date
    FROM bi_events
    WHERE event_source = 'quicksight.amazonaws.com'
      AND event_name IN ('GetDashboard', 'CreateDashboard', 'UpdateDashboard', 'UpdateDashboardPublishedVersion',
                         'GetAnalysis', 'CreateAnalysis', 'UpdateAnalysis')
      AND event_date <= CAST($as_of AS DATE)
),
asset_last AS (
    SELECT account_id, region, asset_type, asset_id, max(event_time) AS last_time, max(event_date) AS last_date
    FROM touches
    WHERE asset_id IS NOT NULL
    GROUP BY account_id, region, asset_type, asset_id
),
dataset_use AS (
    SELECT
        u.account_id,
        u.region,
        u.dataset_id,
        count(DISTINCT CASE WHEN u.asset_type = 'dashboard' THEN u.asset_id END) AS dashboards,
        count(DISTINCT CASE WHEN u.asset_type = 'analysis' THEN u.asset_id END) AS analyses,
        max(t.last_time) AS last_used,
        max(t.last_date) AS last_used_date
    FROM dataset_usage_in_effect u
    LEFT JOIN asset_last t
      ON t.account_id = u.account_id AND t.region = u.region AND t.asset_type = u.asset_type AND t.asset_id = u.asset_id
    GROUP BY u.account_id, u.region, u.dataset_id
)
SELECT
    d.account_id,
    d.region,
    d.dataset_id,
    d.name AS dataset_name,
    d.import_mode,
    d.spice_bytes,
    round(CAST(coalesce(d.spice_bytes, 0) AS DOUBLE) / 1073741824, 2) AS spice_gib,
    coalesce(u.dashboards, 0) AS dashboards,
    coalesce(u.analyses, 0) AS analyses,
    u.last_used,
    d.created_time,
    d.updated_time
FROM datasets d
LEFT JOIN dataset_use u
  ON u.account_id = d.account_id AND u.region = d.region AND u.dataset_id = d.dataset_id
WHERE u.last_used_date IS NULL
   OR u.last_used_date <= CAST($as_of AS DATE) - CAST($days AS INTEGER)
ORDER BY coalesce(d.spice_bytes, 0) DESC, d.account_id, d.region, d.dataset_id
