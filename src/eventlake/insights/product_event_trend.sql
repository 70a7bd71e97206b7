-- name: product_event_trend
-- description: A product event (or all track events) over time: events and distinct users per hour, day, week or month of a time range (bucket auto: hourly up to 2 days, daily up to 90 days, weekly beyond), every bucket listed.
-- category: product
-- param: start_time timestamp now-7d Start of the range (inclusive; UTC unless the value has an offset; now-3h style for relative)
-- param: end_time timestamp now End of the range (exclusive)
-- param: event str * Event name (a track call's event), or * for all track events together
-- param: bucket str auto Bucket size: auto, hour, day, week or month
--
-- Buckets are UTC clock hours, days, ISO weeks (from Monday) and calendar months, as in
-- web_overview; buckets without events are listed with zeros, but when the range has no such
-- event at all there are no rows. The event column repeats the event parameter. An unknown
-- bucket value gives no rows.
WITH {{product_identities}},
scoped AS (
    SELECT *
    FROM events e
    WHERE e.event_date BETWEEN CAST($start_time AS DATE) AND CAST($end_time AS DATE)
      AND e."timestamp" >= $start_time
      AND e."timestamp" < $end_time
      AND e.type = 'track'
      AND e.event IS NOT NULL
      AND ($event = '*' OR e.event = $event)
),
{{product_events}},
{{time_buckets}}
SELECT
    b.bucket,
    b.bucket_size,
    $event AS event,
    count(v.ts) AS events,
    count(DISTINCT v.user_key) AS users
FROM buckets b
CROSS JOIN (SELECT count(*) AS n FROM ev) seen
LEFT JOIN ev v ON v.ts >= b.bucket AND v.ts < b.bucket_end
WHERE b.bucket < $end_time AND seen.n > 0
GROUP BY b.bucket, b.bucket_size
ORDER BY b.bucket
