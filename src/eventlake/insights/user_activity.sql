-- name: user_activity
-- description: Every BI user of the users snapshot in effect on as_of with role, last login, last view, last edit, counts over the last N days and whether they are active or idle in that window.
-- category: bi
-- param: days int 30 Length of the window in days, ending on as_of; a user with no login, view or edit in it is idle
-- param: as_of date today Day the window ends (inclusive, UTC)
--
-- Users: per account, the latest users snapshot taken on or before as_of, else the earliest.
-- Activity (successful events on or before as_of, never after):
--   login = sts AssumeRoleWithSAML (the user is the session name: the last '/' segment of
--           responseElements.assumedRoleUser.arn) or signin ConsoleLogin that succeeded;
--   view  = quicksight GetDashboard or GetAnalysis (opening a dashboard or an analysis);
--   edit  = quicksight Create/Update/Delete of a dashboard or analysis (incl. publishing).
-- Matching a QuickSight user to CloudTrail: in the same account, the event's user_name (the
-- IAM user name, or the session name of an assumed role) equals the QuickSight user_name or
-- its last '/' segment (QuickSight names federated users '<role>/<session>'). Two QuickSight
-- users that share a session name under different roles both get that session's events.
WITH {{users_in_effect}},
bi_users AS (
    SELECT DISTINCT account_id, user_name, role, email, identity_type, active
    FROM users_in_effect
),
activity AS (
    -- bi_events: successful QuickSight calls and sign-ins, user key and kind pre-extracted
    SELECT account_id, user_key AS name_key, kind, event_time, event_date
    FROM bi_events
    WHERE kind IN ('login', 'view', 'edit')
      AND event_date <= CAST($as_of AS DATE)
),
per_key AS (
    SELECT
        account_id,
        name_key,
        max(CASE WHEN kind = 'login' THEN event_time END) AS last_login,
        max(CASE WHEN kind = 'view' THEN event_time END) AS last_view,
        max(CASE WHEN kind = 'edit' THEN event_time END) AS last_edit,
        max(event_date) AS last_active_date,
        count(CASE WHEN kind = 'login' AND event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER) THEN 1 END) AS logins,
        count(CASE WHEN kind = 'view' AND event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER) THEN 1 END) AS views,
        count(CASE WHEN kind = 'edit' AND event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER) THEN 1 END) AS edits
    FROM activity
    WHERE name_key IS NOT NULL
    GROUP BY account_id, name_key
)
SELECT
    u.account_id,
    u.user_name,
    u.role,
    u.email,
    u.active,
    a.last_login,
    a.last_view,
    a.last_edit,
    greatest(a.last_login, a.last_view, a.last_edit) AS last_activity,
    date_diff('day', a.last_active_date, CAST($as_of AS DATE)) AS days_since_activity,
    coalesce(a.logins, 0) AS logins,
    coalesce(a.views, 0) AS views,
    coalesce(a.edits, 0) AS edits,
    CASE WHEN a.last_active_date > CAST($as_of AS DATE) - CAST($days AS INTEGER) THEN 'active' ELSE 'idle' END AS status
FROM bi_users u
LEFT JOIN per_key a
  ON a.account_id = u.account_id AND a.name_key = split_part(u.user_name, '/', -1)
ORDER BY status, last_activity DESC NULLS LAST, u.account_id, u.user_name
