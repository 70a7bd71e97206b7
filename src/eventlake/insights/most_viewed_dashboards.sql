-- name: most_viewed_dashboards
-- description: Dashboards ranked by views (successful QuickSight GetDashboard events, and the console's own pages) and distinct viewers over the last N days.
-- category: bi
-- param: days int 30 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC)
--
-- The dashboard id comes from serviceEventDetails (request, then response details),
-- else from requestParameters (pre-extracted in bi_events); the name from the asset snapshot in effect on as_of
-- (the latest taken on or before it, else the earliest), else from the event itself.
WITH {{assets_in_effect}},
views AS (
    -- bi_events: dashboard views (QuickSight GetDashboard, and console pages viewed) with
    -- the dashboard id and the name the event reports already extracted
    SELECT
        account_id,
        region,
        asset_id AS dashboard_id,
        asset_name AS event_dashboard_name,
        user_name,
        event_time
    FROM bi_events
    WHERE kind = 'view'
      AND asset_type = 'dashboard'
      AND event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
      AND event_date <= CAST($as_of AS DATE)
),
per_dashboard AS (
    SELECT
        account_id,
        region,
        dashboard_id,
        max(event_dashboard_name) AS event_dashboard_name,
        count(*) AS views,
        count(DISTINCT user_name) AS viewers,
        min(event_time) AS first_view,
        max(event_time) AS last_view
    FROM views
    WHERE dashboard_id IS NOT NULL
    GROUP BY account_id, region, dashboard_id
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
    coalesce(d.name, p.event_dashboard_name) AS dashboard_name,
    p.views,
    p.viewers,
    p.first_view,
    p.last_view
FROM per_dashboard p
LEFT JOIN dashboards d
  ON d.account_id = p.account_id AND d.region = p.region AND d.asset_id = p.dashboard_id
ORDER BY p.views DESC, p.viewers DESC, p.account_id, p.region, p.dashboard_id
