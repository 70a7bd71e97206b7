-- name: cloudtrail_calls_from_new_ips
-- description: Calls from source IP addresses a principal had not used in the preceding baseline window: per principal and new IP, first and last call, calls, distinct APIs and how many IPs the principal used in the baseline (0: a new principal).
-- category: cloudtrail
-- param: days int 1 Length of the window checked, in days ending on as_of
-- param: baseline_days int 30 Length of the baseline window, in days just before the checked window
-- param: as_of date today Day the checked window ends (inclusive, UTC)
--
-- Checked window: event_date in (as_of - days, as_of]; baseline: the baseline_days days
-- before it. The principal is the role ARN for assumed-role sessions (sessions come and go,
-- the role stays), else the caller's ARN, else its principal id; per account (the account
-- that logged the call). Source addresses that are not IPs are skipped: AWS service host
-- names (*.amazonaws.com, calls a service made for the principal) and 'AWS Internal'.
-- A principal with no calls in the baseline has baseline_ips = 0 and all its IPs are new.
WITH calls AS (
    SELECT
        recipient_account_id AS account_id,
        coalesce(session_issuer_arn, principal_arn, principal_id) AS principal,
        user_type,
        source_ip_address,
        event_source,
        event_name,
        event_time,
        event_date
    FROM cloudtrail_events
    WHERE event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER) - CAST($baseline_days AS INTEGER)
      AND event_date <= CAST($as_of AS DATE)
      AND source_ip_address IS NOT NULL
      AND source_ip_address NOT LIKE '%.amazonaws.com'
      AND source_ip_address <> 'AWS Internal'
      AND coalesce(session_issuer_arn, principal_arn, principal_id) IS NOT NULL
),
baseline AS (
    SELECT DISTINCT account_id, principal, source_ip_address
    FROM calls
    WHERE event_date <= CAST($as_of AS DATE) - CAST($days AS INTEGER)
),
baseline_ips AS (
    SELECT account_id, principal, count(*) AS baseline_ips
    FROM baseline
    GROUP BY account_id, principal
),
recent AS (
    SELECT
        account_id,
        principal,
        source_ip_address,
        max(user_type) AS user_type,
        count(*) AS calls,
        count(DISTINCT event_source || ':' || event_name) AS apis,
        min(event_time) AS first_seen,
        max(event_time) AS last_seen
    FROM calls
    WHERE event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
    GROUP BY account_id, principal, source_ip_address
)
SELECT
    r.account_id,
    r.principal,
    r.user_type,
    r.source_ip_address,
    r.first_seen,
    r.last_seen,
    r.calls,
    r.apis,
    coalesce(n.baseline_ips, 0) AS baseline_ips
FROM recent r
LEFT JOIN baseline b
  ON b.account_id = r.account_id
 AND b.principal = r.principal
 AND b.source_ip_address = r.source_ip_address
LEFT JOIN baseline_ips n
  ON n.account_id = r.account_id
 AND n.principal = r.principal
WHERE b.source_ip_address IS NULL
ORDER BY r.first_seen, r.account_id, r.principal, r.source_ip_address
