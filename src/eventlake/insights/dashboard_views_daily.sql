-- name: dashboard_views_daily
-- description: Views per day of each dashboard (or one) over the last N days: views and distinct viewers per dashboard and day, for trend charts.
-- category: bi
-- param: dashboard_id str * Dashboard id to report on, or * for every dashboard
-- param: days int 30 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC)
--
-- Views are counted as in most_viewed_dashboards: successful QuickSight GetDashboard events
-- and the console's own pages viewed (bi_events kind 'view' on a dashboard). Only days with
-- at least one view have a row (a chart fills the other days with zero). The name comes from
-- the asset snapshot in effect on as_of, else from the events.
WITH {{assets_in_effect}},
views AS (
    SELECT account_id, region, asset_id AS dashboard_id, asset_name AS event_dashboard_name, user_name, event_date
    FROM bi_events
    WHERE kind = 'view'
      AND asset_type = 'dashboard'
      AND asset_id IS NOT NULL
      AND ($dashboard_id = '*' OR asset_id = $dashboard_id)
      AND event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
      AND event_date <= CAST($as_of AS DATE)
),
names AS (
    SELECT account_id, region, dashboard_id, max(event_dashboard_name) AS event_dashboard_name
    FROM views
    GROUP BY account_id, region, dashboard_id
),
per_day AS (
    SELECT account_id, region, dashboard_id, event_date AS view_date, count(*) AS views, count(DISTINCT user_name) AS viewers
    FROM views
    GROUP BY account_id, region, dashboard_id, event_date
),
dashboards AS (
    SELECT account_id, region, asset_id, max(name) AS name
    FROM assets_in_effect
    WHERE asset_type = 'dashboard'
    GROUP BY account_id, region, asset_id
)
SELECT
    p.account_id,
    p.region,
    p.dashboard_id,
    coalesce(d.name, n.event_dashboard_name) AS dashboard_name,
    p.view_date,
    p.views,
    p.viewers
FROM per_day p
JOIN names n
  ON n.account_id = p.account_id AND n.region = p.region AND n.dashboard_id = p.dashboard_id
LEFT JOIN dashboards d
  ON d.account_id = p.account_id AND d.region = p.region AND d.asset_id = p.dashboard_id
ORDER BY p.account_id, p.region, p.dashboard_id, p.view_date
