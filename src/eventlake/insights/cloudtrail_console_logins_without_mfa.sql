-- name: cloudtrail_console_logins_without_mfa
-- description: Successful AWS console sign-ins without MFA over the last N days, per user: sign-ins, source IPs, first and last sign-in.
-- category: cloudtrail
-- param: days int 30 Length of the window in days, ending on as_of
-- param: include_federated bool false Also report federated sign-ins (assumed roles, e.g. IAM Identity Center), whose MFA happens at the identity provider and is not recorded
-- param: as_of date today Day the window ends (inclusive, UTC)
--
-- A sign-in is a signin.amazonaws.com ConsoleLogin with responseElements.ConsoleLogin =
-- 'Success' and additionalEventData.MFAUsed = 'No' (failed attempts are left out). By
-- default only IAM users and the root user (user_type IAMUser, Root; root has no user
-- name) are reported, as in the CIS AWS benchmark. One row per account (the account that
-- logged the sign-in) and principal ARN.
SELECT
    recipient_account_id AS account_id,
    user_type,
    principal_arn,
    user_name,
    count(*) AS logins,
    list_sort(list(DISTINCT source_ip_address) FILTER (WHERE source_ip_address IS NOT NULL)) AS source_ips,
    min(event_time) AS first_login,
    max(event_time) AS last_login
FROM cloudtrail_events
WHERE event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
  AND event_date <= CAST($as_of AS DATE)
  AND event_source = 'signin.amazonaws.com'
  AND event_name = 'ConsoleLogin'
  AND json_extract_string(response_elements, '$.ConsoleLogin') = 'Success'
  AND json_extract_string(additional_event_data, '$.MFAUsed') = 'No'
  AND (user_type IN ('IAMUser', 'Root') OR $include_federated)
GROUP BY recipient_account_id, user_type, principal_arn, user_name
ORDER BY logins DESC, account_id, principal_arn, user_name, user_type
