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
{{time_buckets}}
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
