-- name: cloudtrail_access_denied_spikes
-- description: Clock hours in which one principal was denied access at least min_denials times, over the last N days (probing, a broken deployment, a missing permission): denials, APIs, event names, source IPs.
-- category: cloudtrail
-- param: min_denials int 5 Denials by one principal within one clock hour that make a spike
-- param: days int 7 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC)
--
-- A denial is a call whose errorCode contains AccessDenied or Unauthorized (AccessDenied,
-- AccessDeniedException, Client.UnauthorizedOperation, ...). The principal is the caller's
-- ARN (for an assumed role, the session ARN), else its user name, else the invoking AWS
-- service, else its principal id; per account (the account that logged the call). Hours
-- are UTC clock hours (hour_start). Largest spikes first.
SELECT
    recipient_account_id AS account_id,
    date_trunc('hour', event_time) AS hour_start,
    coalesce(principal_arn, user_name, invoked_by, principal_id) AS principal,
    max(user_type) AS user_type,
    count(*) AS denials,
    count(DISTINCT event_source || ':' || event_name) AS apis,
    list_sort(list(DISTINCT event_name) FILTER (WHERE event_name IS NOT NULL)) AS event_names,
    list_sort(list(DISTINCT source_ip_address) FILTER (WHERE source_ip_address IS NOT NULL)) AS source_ips,
    min(event_time) AS first_denial,
    max(event_time) AS last_denial
FROM cloudtrail_events
WHERE event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
  AND event_date <= CAST($as_of AS DATE)
  AND (error_code LIKE '%AccessDenied%' OR error_code LIKE '%Unauthorized%')
GROUP BY recipient_account_id, date_trunc('hour', event_time), coalesce(principal_arn, user_name, invoked_by, principal_id)
HAVING count(*) >= $min_denials
ORDER BY denials DESC, hour_start, account_id, principal
