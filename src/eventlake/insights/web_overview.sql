-- name: web_overview
-- description: Web analytics over time: page views, visits and views per visit per hour, day, week or month of a time range (bucket auto: hourly up to 2 days, daily up to 90 days, weekly beyond), every bucket of the range listed.
-- category: web
-- param: bucket str auto Bucket size: auto, hour, day, week or month
--
-- Buckets are UTC clock hours, days, ISO weeks (from Monday) and calendar months; the first
-- bucket is the one holding start_time, so it (and the last) may cover the range only in
-- part. auto picks hour when end_time - start_time is at most 2 days, day up to 90 days and
-- week beyond. Buckets without page views are listed with zeros (views_per_visit NULL), but
-- when no page view at all passes the filters there are no rows. An unknown bucket value
-- gives no rows.
WITH {{web_views}},
size AS (
    SELECT
        CASE
            WHEN $bucket IN ('hour', 'day', 'week', 'month') THEN $bucket
            WHEN $bucket <> 'auto' THEN NULL
            WHEN epoch($end_time) - epoch($start_time) <= 2 * 86400 THEN 'hour'
            WHEN epoch($end_time) - epoch($start_time) <= 90 * 86400 THEN 'day'
            ELSE 'week'
        END AS bucket_size,
        epoch($end_time) - epoch($start_time) AS seconds
),
offsets AS (
    -- enough buckets to cover the range from the start of the first one (months: 28 days at least)
    SELECT
        bucket_size,
        unnest(generate_series(0, CAST(floor(seconds / CASE bucket_size WHEN 'hour' THEN 3600 WHEN 'day' THEN 86400
                                                                        WHEN 'week' THEN 604800 ELSE 2419200 END) AS BIGINT) + 1)) AS k
    FROM size
    WHERE bucket_size IS NOT NULL AND seconds > 0
),
buckets AS (
    SELECT
        bucket_size,
        CASE bucket_size
            WHEN 'hour' THEN date_trunc('hour', $start_time) + k * INTERVAL 1 HOUR
            WHEN 'day' THEN date_trunc('day', $start_time) + k * INTERVAL 1 DAY
            WHEN 'week' THEN date_trunc('week', $start_time) + k * INTERVAL 7 DAY
            ELSE date_trunc('month', $start_time) + k * INTERVAL 1 MONTH
        END AS bucket,
        CASE bucket_size
            WHEN 'hour' THEN date_trunc('hour', $start_time) + (k + 1) * INTERVAL 1 HOUR
            WHEN 'day' THEN date_trunc('day', $start_time) + (k + 1) * INTERVAL 1 DAY
            WHEN 'week' THEN date_trunc('week', $start_time) + (k + 1) * INTERVAL 7 DAY
            ELSE date_trunc('month', $start_time) + (k + 1) * INTERVAL 1 MONTH
        END AS bucket_end
    FROM offsets
)
SELECT
    b.bucket,
    b.bucket_size,
    count(v.ts) AS pageviews,
    count(CASE WHEN v.visit_start THEN 1 END) AS visits,
    round(count(v.ts) / nullif(count(CASE WHEN v.visit_start THEN 1 END), 0), 2) AS views_per_visit
FROM buckets b
CROSS JOIN (SELECT count(*) AS n FROM views) seen
LEFT JOIN views v ON v.ts >= b.bucket AND v.ts < b.bucket_end
WHERE b.bucket < $end_time AND seen.n > 0
GROUP BY b.bucket, b.bucket_size
ORDER BY b.bucket
