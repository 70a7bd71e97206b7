-- name: s3_anonymous_access
-- description: Unauthenticated (anonymous) S3 requests over the last N days, per bucket and client IP: requests, how many succeeded and were denied, bytes sent, distinct keys, an example key and user agent, first and last request; most requests first.
-- category: s3-access
-- param: days int 7 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC)
-- param: bucket str * Bucket to report on, or * for every bucket
-- param: succeeded_only bool false Only requests S3 answered with 2xx or 3xx (data or metadata actually served)
--
-- A request is anonymous when the log has no requester ('-'). On a static website bucket
-- that is expected; elsewhere a successful anonymous request means the bucket or object is
-- public. succeeded counts answers below 400, denied 403 answers. example_key and
-- user_agent are the first in sort order.
SELECT
    bucket,
    remote_ip,
    count(*) AS requests,
    count(CASE WHEN http_status < 400 THEN 1 END) AS succeeded,
    count(CASE WHEN http_status = 403 THEN 1 END) AS denied,
    CAST(coalesce(sum(bytes_sent), 0) AS BIGINT) AS bytes_sent,
    count(DISTINCT key) AS keys,
    min(key) AS example_key,
    min(user_agent) AS user_agent,
    min(request_time) AS first_request,
    max(request_time) AS last_request
FROM s3_access_logs
WHERE event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
  AND event_date <= CAST($as_of AS DATE)
  AND requester IS NULL
  AND ($bucket = '*' OR bucket = $bucket)
  AND (NOT $succeeded_only OR http_status < 400)
GROUP BY bucket, remote_ip
ORDER BY requests DESC, bucket, remote_ip NULLS LAST
