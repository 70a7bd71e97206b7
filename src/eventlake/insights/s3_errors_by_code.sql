-- name: s3_errors_by_code
-- description: S3 requests that failed over the last N days, per bucket, HTTP status and S3 error code (AccessDenied, NoSuchKey, SlowDown, ...): requests, distinct requesters, anonymous requests, distinct keys, an example key, first and last seen.
-- category: s3-access
-- param: days int 7 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC)
-- param: bucket str * Bucket to report on, or * for every bucket
-- param: min_status int 400 Lowest HTTP status counted (400: client and server errors; 500: server errors only)
--
-- requesters counts distinct authenticated requesters; anonymous counts requests without
-- one. example_key is the first failing key in sort order (keys as logged, URL-encoded).
SELECT
    bucket,
    http_status,
    error_code,
    count(*) AS requests,
    count(DISTINCT requester) AS requesters,
    count(CASE WHEN requester IS NULL THEN 1 END) AS anonymous,
    count(DISTINCT key) AS keys,
    min(key) AS example_key,
    min(request_time) AS first_seen,
    max(request_time) AS last_seen
FROM s3_access_logs
WHERE event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
  AND event_date <= CAST($as_of AS DATE)
  AND http_status >= $min_status
  AND ($bucket = '*' OR bucket = $bucket)
GROUP BY bucket, http_status, error_code
ORDER BY requests DESC, bucket, http_status, error_code NULLS LAST
