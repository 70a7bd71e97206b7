-- name: cloudtrail_failed_calls_by_error_code
-- description: Failed API calls (an errorCode is set) over the last N days by error code and API: failures, distinct principals, the principal with the most such failures and one of its error messages.
-- category: cloudtrail
-- param: days int 7 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC)
--
-- One row per (error code, event source, event name). A principal is the caller's ARN (for
-- an assumed role, the session ARN), else its user name, else the invoking AWS service,
-- else its principal id. top_principal has the most failures of the row (ties: the
-- smallest name); sample_error_message is its alphabetically first error message. Failed
-- console sign-ins carry no errorCode and are not counted here (see
-- cloudtrail_console_logins_without_mfa and cloudtrail_calls_by_principal).
WITH failed AS (
    SELECT
        error_code,
        event_source,
        event_name,
        coalesce(principal_arn, user_name, invoked_by, principal_id) AS principal,
        error_message,
        event_time
    FROM cloudtrail_events
    WHERE error_code IS NOT NULL
      AND event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
      AND event_date <= CAST($as_of AS DATE)
),
per_api AS (
    SELECT
        error_code,
        event_source,
        event_name,
        count(*) AS failures,
        count(DISTINCT principal) AS principals,
        min(event_time) AS first_failure,
        max(event_time) AS last_failure
    FROM failed
    GROUP BY error_code, event_source, event_name
),
per_principal AS (
    SELECT
        error_code,
        event_source,
        event_name,
        principal,
        count(*) AS failures,
        min(error_message) AS sample_error_message
    FROM failed
    GROUP BY error_code, event_source, event_name, principal
),
top_principal AS (
    SELECT
        *,
        row_number() OVER (PARTITION BY error_code, event_source, event_name ORDER BY failures DESC, principal NULLS LAST) AS rank
    FROM per_principal
)
SELECT
    a.error_code,
    a.event_source,
    a.event_name,
    a.failures,
    a.principals,
    t.principal AS top_principal,
    t.failures AS top_principal_failures,
    t.sample_error_message,
    a.first_failure,
    a.last_failure
FROM per_api a
JOIN top_principal t
  ON t.error_code = a.error_code
 AND t.event_source = a.event_source
 AND t.event_name = a.event_name
 AND t.rank = 1
ORDER BY a.failures DESC, a.error_code, a.event_source, a.event_name
