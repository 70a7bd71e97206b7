-- name: idle_authors
-- description: Author seats (roles AUTHOR and ADMIN, which QuickSight bills as authors, plus their _PRO variants) with no login, view or edit in the last N days: fixed monthly fees to reclaim.
-- category: bi
-- param: idle_days int 60 Days without activity that make an author idle, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC)
--
-- Users come from the users snapshot in effect on as_of (per account, the latest taken on
-- or before as_of, else the earliest). Activity and user matching are as in user_activity:
-- login = AssumeRoleWithSAML (session name from responseElements.assumedRoleUser.arn) or a
-- successful ConsoleLogin; view = GetDashboard / GetAnalysis; edit = create/update/delete
-- of a dashboard or analysis; an event's user_name matches a QuickSight user_name or its
-- last '/' segment in the same account. days_idle is NULL for authors never seen in the logs.
WITH {{users_in_effect}},
authors AS (
    SELECT DISTINCT account_id, user_name, role, email, active
    FROM users_in_effect
    WHERE role IN ('AUTHOR', 'ADMIN', 'AUTHOR_PRO', 'ADMIN_PRO')
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
        max(event_date) AS last_active_date
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
    date_diff('day', a.last_active_date, CAST($as_of AS DATE)) AS days_idle
FROM authors u
LEFT JOIN per_key a
  ON a.account_id = u.account_id AND a.name_key = split_part(u.user_name, '/', -1)
WHERE a.last_active_date IS NULL
   OR a.last_active_date <= CAST($as_of AS DATE) - CAST($idle_days AS INTEGER)
ORDER BY last_activity NULLS FIRST, u.account_id, u.user_name
