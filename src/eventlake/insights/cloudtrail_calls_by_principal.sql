-- name: cloudtrail_calls_by_principal
-- description: API calls by principal in a time range, optionally for one service or API (e.g. who made the Lambda calls in a spike): per principal, calls, distinct APIs, failures and first/last call.
-- category: cloudtrail
-- param: start_time timestamp now-24h Start of the range (inclusive; UTC unless the value has an offset; now-3h style for relative)
-- param: end_time timestamp now End of the range (exclusive)
-- param: event_source str * Only calls to this service, e.g. lambda.amazonaws.com; * for every service
-- param: event_name str * Only this API, e.g. UpdateFunctionCode20150331v2; * for every API
--
-- A principal is the caller as CloudTrail names it: account (recipient_account_id, the
-- account whose trail logged the call), userIdentity type, ARN (for an assumed role, the
-- session ARN arn:aws:sts::<acct>:assumed-role/<role>/<session>), user name (IAM user name
-- or session name) and, for calls made by an AWS service, invokedBy. apis counts distinct
-- (event source, event name) pairs; a call failed when it has an errorCode or an
-- errorMessage (a failed ConsoleLogin has only the message).
SELECT
    recipient_account_id AS account_id,
    user_type,
    principal_arn,
    user_name,
    invoked_by,
    count(*) AS calls,
    count(DISTINCT event_source || ':' || event_name) AS apis,
    count(DISTINCT event_source) AS services,
    count(CASE WHEN error_code IS NOT NULL OR error_message IS NOT NULL THEN 1 END) AS failures,
    count(DISTINCT source_ip_address) AS source_ips,
    min(event_time) AS first_call,
    max(event_time) AS last_call
FROM cloudtrail_events
WHERE event_date BETWEEN CAST($start_time AS DATE) AND CAST($end_time AS DATE)
  AND event_time >= $start_time
  AND event_time < $end_time
  AND ($event_source = '*' OR event_source = $event_source)
  AND ($event_name = '*' OR event_name = $event_name)
GROUP BY recipient_account_id, user_type, principal_arn, user_name, invoked_by
ORDER BY calls DESC, account_id, principal_arn, user_name, invoked_by, user_type
