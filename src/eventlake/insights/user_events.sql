-- name: user_events
-- description: One BI user's usage events (or everyone's) over the last N days, newest first: logins, views and edits with the dashboard or analysis they touched.
-- category: bi
-- param: user_name str * QuickSight user name (e.g. QuickSightReader/alice) or the name CloudTrail shows (alice), or * for every user
-- param: days int 30 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC)
--
-- From bi_events (successful QuickSight calls, sign-ins, and the console's own usage).
-- A user matches as in user_activity: an event's user key (the IAM user name or the
-- session name) equals the last '/' segment of user_name; filter on account_id as well
-- when two accounts share a name. asset_name is the name in the asset snapshot in effect
-- on as_of, else the name the event reports (dashboard name of a view, or the name given
-- to a create or update).
WITH {{assets_in_effect}},
events AS (
    SELECT event_id, event_time, event_date, account_id, region, event_source, event_name, kind, user_name, user_key,
           asset_type, asset_id, coalesce(asset_name, request_name) AS event_asset_name
    FROM bi_events
    WHERE ($user_name = '*' OR user_key = split_part($user_name, '/', -1))
      AND event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
      AND event_date <= CAST($as_of AS DATE)
),
snap_assets AS (
    SELECT account_id, region, asset_type, asset_id, max(name) AS name
    FROM assets_in_effect
    WHERE asset_type IN ('dashboard', 'analysis')
    GROUP BY account_id, region, asset_type, asset_id
)
SELECT
    e.account_id,
    e.region,
    e.event_time,
    e.user_name,
    e.user_key,
    e.kind,
    e.event_source,
    e.event_name,
    e.asset_type,
    e.asset_id,
    coalesce(s.name, e.event_asset_name) AS asset_name
FROM events e
LEFT JOIN snap_assets s
  ON s.account_id = e.account_id AND s.region = e.region AND s.asset_type = e.asset_type AND s.asset_id = e.asset_id
ORDER BY e.event_time DESC, e.event_id
