-- name: logins_without_views
-- description: Readers who logged in over the last N days (federated AssumeRoleWithSAML or console sign-in) and viewed no dashboard within M minutes after a login.
-- category: bi
-- param: minutes int 30 Minutes after a login in which a dashboard view counts
-- param: days int 30 Length of the window of logins in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC)
--
-- A login is a successful sts AssumeRoleWithSAML or signin ConsoleLogin (ConsoleLogin
-- 'Success'). Its user is, for AssumeRoleWithSAML, the session name: the last '/' segment
-- of responseElements.assumedRoleUser.arn (arn:aws:sts::<acct>:assumed-role/<role>/<session>),
-- which is what the later QuickSight events carry as user_name; for ConsoleLogin, the
-- event's user_name. The published sample view joins the SAML event's userIdentity.userName
-- (the IdP subject, e.g. an e-mail address) to the QuickSight user and so never matches:
-- it is always empty. A view is a successful GetDashboard by the same session name in the
-- same account at or after the login and at most M minutes later. Readers (roles READER
-- and READER_PRO) come from the users snapshot in effect on as_of; a QuickSight user name
-- matches on itself or its last '/' segment. One row per reader with at least one such login.
WITH {{users_in_effect}},
readers AS (
    SELECT DISTINCT account_id, user_name, role, email
    FROM users_in_effect
    WHERE role IN ('READER', 'READER_PRO')
),
logins AS (
    SELECT
        event_id,
        recipient_account_id AS account_id,
        CASE WHEN event_name = 'AssumeRoleWithSAML'
            THEN split_part(json_extract_string(response_elements, '$.assumedRoleUser.arn'), '/', -1)
            ELSE split_part(user_name, '/', -1)
        END AS name_key,
        event_time AS login_time
    FROM cloudtrail_events
    WHERE error_code IS NULL
      AND event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
      AND event_date <= CAST($as_of AS DATE)
      AND (
            (event_source = 'sts.amazonaws.com' AND event_name = 'AssumeRoleWithSAML')
         OR (event_source = 'signin.amazonaws.com' AND event_name = 'ConsoleLogin'
             AND coalesce(json_extract_string(response_elements, '$.ConsoleLogin'), 'Success') = 'Success')
      )
),
views AS (
    SELECT recipient_account_id AS account_id, split_part(user_name, '/', -1) AS name_key, event_time
    FROM cloudtrail_events
    WHERE event_source = 'quicksight.amazonaws.com'
      AND event_name = 'GetDashboard'
      AND error_code IS NULL
      AND event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
),
checked AS (
    SELECT l.event_id, l.account_id, l.name_key, l.login_time, count(v.event_time) AS views_after
    FROM logins l
    LEFT JOIN views v
      ON v.account_id = l.account_id
     AND v.name_key = l.name_key
     AND v.event_time >= l.login_time
     AND v.event_time <= l.login_time + $minutes * INTERVAL 1 MINUTE
    WHERE l.name_key IS NOT NULL
    GROUP BY l.event_id, l.account_id, l.name_key, l.login_time
),
per_key AS (
    SELECT
        account_id,
        name_key,
        count(*) AS logins,
        count(CASE WHEN views_after = 0 THEN 1 END) AS logins_without_views,
        min(CASE WHEN views_after = 0 THEN login_time END) AS first_login_without_views,
        max(CASE WHEN views_after = 0 THEN login_time END) AS last_login_without_views
    FROM checked
    GROUP BY account_id, name_key
)
SELECT
    r.account_id,
    r.user_name,
    r.role,
    r.email,
    p.logins,
    p.logins_without_views,
    p.first_login_without_views,
    p.last_login_without_views
FROM readers r
JOIN per_key p
  ON p.account_id = r.account_id AND p.name_key = split_part(r.user_name, '/', -1)
WHERE p.logins_without_views > 0
ORDER BY p.logins_without_views DESC, p.logins DESC, r.account_id, r.user_name
