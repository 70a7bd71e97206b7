-- name: s3_bytes_by_requester
-- description: S3 data transfer by requester over the last N days: per bucket and requester, requests, bytes downloaded (sent by S3) and uploaded (objects written), distinct objects read and written; most bytes downloaded first.
-- category: s3-access
-- param: days int 7 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC)
-- param: bucket str * Bucket to report on, or * for every bucket
--
-- bytes_downloaded is bytes_sent (the answer bodies S3 sent: object data for GETs, listings
-- and error documents for the rest). bytes_uploaded is the object_size of successful
-- uploads: REST.PUT.OBJECT, REST.POST.OBJECT (form upload), REST.PUT.PART (a multipart
-- upload's parts), REST.COPY.OBJECT and REST.COPY.PART (copies written here).
-- objects_read counts distinct keys of successful GET.OBJECT requests (REST or WEBSITE),
-- objects_written distinct keys of those uploads. requester is NULL for anonymous
-- requests; AmazonS3 is S3 itself (lifecycle actions).
WITH reqs AS (
    SELECT
        bucket,
        requester,
        key,
        bytes_sent,
        object_size,
        http_status BETWEEN 200 AND 299 AND operation LIKE '%.GET.OBJECT' AS is_read,
        http_status BETWEEN 200 AND 299
            AND operation IN ('REST.PUT.OBJECT', 'REST.POST.OBJECT', 'REST.PUT.PART', 'REST.COPY.OBJECT', 'REST.COPY.PART') AS is_upload
    FROM s3_access_logs
    WHERE event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
      AND event_date <= CAST($as_of AS DATE)
      AND ($bucket = '*' OR bucket = $bucket)
)
SELECT
    bucket,
    requester,
    count(*) AS requests,
    CAST(coalesce(sum(bytes_sent), 0) AS BIGINT) AS bytes_downloaded,
    CAST(coalesce(sum(CASE WHEN is_upload THEN object_size END), 0) AS BIGINT) AS bytes_uploaded,
    count(DISTINCT CASE WHEN is_read THEN key END) AS objects_read,
    count(DISTINCT CASE WHEN is_upload THEN key END) AS objects_written
FROM reqs
GROUP BY bucket, requester
ORDER BY bytes_downloaded DESC, bytes_uploaded DESC, bucket, requester NULLS LAST
