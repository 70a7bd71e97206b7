-- name: cloudtrail_iam_changes
-- description: Successful IAM changes (users, roles, groups, policies, access keys) over the last N days, one row per event: who, what, on which user/role/group and policy, from where.
-- category: cloudtrail
-- param: days int 7 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC)
--
-- A change is an iam.amazonaws.com event without errorCode that is not read-only
-- (readOnly = false; when readOnly is missing, any event not named Get*, List*, Generate*
-- or Simulate*). target is requestParameters.userName, else roleName, groupName or
-- instanceProfileName (NULL when the caller acts on itself, e.g. root creating its own
-- access key); policy is requestParameters.policyArn, else policyName. Oldest first.
SELECT
    event_time,
    recipient_account_id AS account_id,
    user_type,
    principal_arn,
    user_name,
    invoked_by,
    event_name,
    coalesce(
        json_extract_string(request_parameters, '$.userName'),
        json_extract_string(request_parameters, '$.roleName'),
        json_extract_string(request_parameters, '$.groupName'),
        json_extract_string(request_parameters, '$.instanceProfileName')
    ) AS target,
    coalesce(
        json_extract_string(request_parameters, '$.policyArn'),
        json_extract_string(request_parameters, '$.policyName')
    ) AS policy,
    source_ip_address,
    event_id
FROM cloudtrail_events
WHERE event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
  AND event_date <= CAST($as_of AS DATE)
  AND event_source = 'iam.amazonaws.com'
  AND error_code IS NULL
  AND NOT coalesce(
        read_only,
        event_name LIKE 'Get%' OR event_name LIKE 'List%' OR event_name LIKE 'Generate%' OR event_name LIKE 'Simulate%'
      )
ORDER BY event_time, event_id
