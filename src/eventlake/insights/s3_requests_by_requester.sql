-- name: s3_requests_by_requester
-- description: Who accessed an S3 bucket or key prefix in a time range, optionally leaving out the requester or role expected there (who accessed this prefix other than the ETL role?): per bucket and requester, requests, denied and failed requests, bytes sent, distinct keys and IPs, first and last request.
-- category: s3-access
-- param: start_time timestamp now-24h Start of the range (inclusive; UTC unless the value has an offset; now-3h style for relative)
-- param: end_time timestamp now End of the range (exclusive)
-- param: bucket str * Bucket to report on, or * for every bucket
-- param: prefix str * Only keys starting with this, as logged (URL-encoded, e.g. raw/2024/); * for every request, with or without a key
-- param: exclude str none Requester to leave out: an exact requester (ARN or canonical user id), or a role name, which leaves out every session of the role; none leaves out no one
--
-- requester is NULL for anonymous (unauthenticated) requests, which are never left out;
-- AmazonS3 is S3 itself (lifecycle actions). role is the role name of an assumed-role
-- session (arn:aws:sts::<account>:assumed-role/<role>/<session>). denied counts 403
-- answers, failed every answer of 400 or more (denied included). bytes_sent is what S3
-- sent back (downloads), not uploads.
WITH reqs AS (
    SELECT
        bucket,
        requester,
        CASE WHEN requester LIKE 'arn:%:sts::%:assumed-role/%' THEN split_part(requester, '/', 2) END AS role,
        key,
        remote_ip,
        http_status,
        bytes_sent,
        request_time
    FROM s3_access_logs
    WHERE event_date BETWEEN CAST($start_time AS DATE) AND CAST($end_time AS DATE)
      AND request_time >= $start_time
      AND request_time < $end_time
      AND ($bucket = '*' OR bucket = $bucket)
      AND ($prefix = '*' OR starts_with(key, $prefix))
)
SELECT
    bucket,
    requester,
    max(role) AS role,
    count(*) AS requests,
    count(CASE WHEN http_status = 403 THEN 1 END) AS denied,
    count(CASE WHEN http_status >= 400 THEN 1 END) AS failed,
    CAST(coalesce(sum(bytes_sent), 0) AS BIGINT) AS bytes_sent,
    count(DISTINCT key) AS keys,
    count(DISTINCT remote_ip) AS remote_ips,
    min(request_time) AS first_request,
    max(request_time) AS last_request
FROM reqs
WHERE $exclude = 'none'
   OR requester IS NULL
   OR (requester <> $exclude AND coalesce(role, '') <> $exclude)
GROUP BY bucket, requester
ORDER BY requests DESC, bucket, requester NULLS LAST
