-- name: dashboard_viewers
-- description: Who viewed a dashboard over the last N days: per dashboard and viewer, views, first and last view, and the viewer's QuickSight user and role.
-- category: bi
-- param: dashboard_id str * Dashboard id to report on, or * for every dashboard
-- param: days int 90 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC)
--
-- Views are successful GetDashboard events; the dashboard id comes from serviceEventDetails,
-- else requestParameters. A viewer is the event's user_name (IAM user name or assumed-role
-- session name); bi_user_name and role come from the users snapshot in effect on as_of,
-- where a QuickSight user_name matches on itself or on its last '/' segment in the same
-- account (NULL when the viewer is not a known QuickSight user).
WITH {{assets_in_effect}},
{{users_in_effect}},
views AS (
    -- bi_events: successful QuickSight calls with the dashboard id and name extracted
    SELECT
        account_id,
        region,
        asset_id AS dashboard_id,
        asset_name AS event_dashboard_name,
        user_name,
        event_time
    FROM bi_events
    WHERE event_source = 'quicksight.amazonaws.com'
      AND event_name = 'GetDashboard'
      AND event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
      AND event_date <= CAST($as_of AS DATE)
),
per_viewer AS (
    SELECT
        account_id,
        region,
        dashboard_id,
        user_name,
        max(event_dashboard_name) AS event_dashboard_name,
        count(*) AS views,
        min(event_time) AS first_view,
        max(event_time) AS last_view
    FROM views
    WHERE dashboard_id IS NOT NULL
      AND ($dashboard_id = '*' OR dashboard_id = $dashboard_id)
    GROUP BY account_id, region, dashboard_id, user_name
),
dashboards AS (
    SELECT account_id, region, asset_id, max(name) AS name
    FROM assets_in_effect
    WHERE asset_type = 'dashboard'
    GROUP BY account_id, region, asset_id
),
bi_users AS (
    SELECT DISTINCT account_id, user_name, role
    FROM users_in_effect
)
SELECT
    v.account_id,
    v.region,
    v.dashboard_id,
    coalesce(d.name, v.event_dashboard_name) AS dashboard_name,
    v.user_name,
    b.user_name AS bi_user_name,
    b.role,
    v.views,
    v.first_view,
    v.last_view
FROM per_viewer v
LEFT JOIN dashboards d
  ON d.account_id = v.account_id AND d.region = v.region AND d.asset_id = v.dashboard_id
LEFT JOIN bi_users b
  ON b.account_id = v.account_id AND split_part(b.user_name, '/', -1) = split_part(v.user_name, '/', -1)
ORDER BY v.account_id, v.region, v.dashboard_id, v.views DESC, v.last_view DESC, v.user_name, bi_user_name
