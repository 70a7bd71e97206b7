-- name: s3_top_objects
-- description: The most requested S3 objects over the last N days: per bucket and key, requests, successful GETs, bytes sent, distinct requesters (anonymous counted apart) and the last request, busiest first.
-- category: s3-access
-- param: days int 7 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC)
-- param: bucket str * Bucket to report on, or * for every bucket
-- param: prefix str * Only keys starting with this, as logged (URL-encoded, e.g. curated/); * for every key
-- param: top int 20 Number of objects listed
--
-- Every request that names a key counts (GET, HEAD, PUT, DELETE, lifecycle actions, ...);
-- gets are GET.OBJECT requests (REST or WEBSITE) answered 2xx (206: part of the object).
-- Keys are as logged (URL-encoded). Ties: more bytes sent first, then bucket and key.
WITH per_object AS (
    SELECT
        bucket,
        key,
        count(*) AS requests,
        count(CASE WHEN operation LIKE '%.GET.OBJECT' AND http_status BETWEEN 200 AND 299 THEN 1 END) AS gets,
        CAST(coalesce(sum(bytes_sent), 0) AS BIGINT) AS bytes_sent,
        count(DISTINCT requester) AS requesters,
        count(CASE WHEN requester IS NULL THEN 1 END) AS anonymous,
        max(request_time) AS last_request
    FROM s3_access_logs
    WHERE event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
      AND event_date <= CAST($as_of AS DATE)
      AND key IS NOT NULL
      AND ($bucket = '*' OR bucket = $bucket)
      AND ($prefix = '*' OR starts_with(key, $prefix))
    GROUP BY bucket, key
),
ranked AS (
    SELECT *, row_number() OVER (ORDER BY requests DESC, bytes_sent DESC, bucket, key) AS rank
    FROM per_object
)
SELECT bucket, key, requests, gets, bytes_sent, requesters, anonymous, last_request
FROM ranked
WHERE rank <= $top
ORDER BY requests DESC, bytes_sent DESC, bucket, key
