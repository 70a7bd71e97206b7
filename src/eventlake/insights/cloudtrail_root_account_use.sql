-- name: cloudtrail_root_account_use
-- description: Activity of the root user over the last N days (not counting calls AWS services made as root): per account and API, events, failures, source IPs, first and last use.
-- category: cloudtrail
-- param: days int 30 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC)
--
-- Root activity is every event with userIdentity.type = 'Root' and no
-- userIdentity.invokedBy (an AWS service acting for the account, e.g. AWS Support). Console
-- sign-ins count, failed ones included: failures counts events with an errorCode or an
-- errorMessage (a failed ConsoleLogin has only the message). Most recent first.
SELECT
    recipient_account_id AS account_id,
    event_source,
    event_name,
    count(*) AS events,
    count(CASE WHEN error_code IS NOT NULL OR error_message IS NOT NULL THEN 1 END) AS failures,
    list_sort(list(DISTINCT source_ip_address) FILTER (WHERE source_ip_address IS NOT NULL)) AS source_ips,
    min(event_time) AS first_seen,
    max(event_time) AS last_seen
FROM cloudtrail_events
WHERE event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
  AND event_date <= CAST($as_of AS DATE)
  AND user_type = 'Root'
  AND invoked_by IS NULL
GROUP BY recipient_account_id, event_source, event_name
ORDER BY last_seen DESC, account_id, event_source, event_name
