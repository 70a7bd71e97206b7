-- name: product_event_trend
-- description: A product event (or all track events) over time: events and distinct users per hour, day, week or month of a time range (bucket auto: hourly up to 2 days, daily up to 90 days, weekly beyond), every bucket listed.
-- category: product
-- param: start_time timestamp now-7d Start of the range (inclusive; UTC unless the value has an offset; now-3h style for relative)
-- param: end_time timestamp now End of the range (exclusive)
-- param: event str * Event name (a track call's event), or * for all track events together
-- param: bucket str auto Bucket size: auto, hour, day, week or month
--
-- Users are coalesce(user_id, anonymous_id), merged: an id that was seen as anonymous_id
-- together with a user_id (identify, or any call made after it), or as the previous_id of
-- an alias, belongs to the latest user_id it was seen with (over the whole lake, one
-- step: no chains), so what a visitor did before signing up counts for the user; a device
-- later identified as someone else moves its anonymous events to that someone. Events
-- without any id (the privacy-first web snippet's page views) are no one's.
--
-- Buckets are UTC clock hours, days, ISO weeks (from Monday) and calendar months, as in
-- web_overview; buckets without events are listed with zeros, but when the range has no such
-- event at all there are no rows. The event column repeats the event parameter. An unknown
-- bucket value gives no rows.
WITH links AS (
    SELECT anonymous_id AS alias_id, user_id, "timestamp" AS ts, message_id
    FROM events
    WHERE nullif(anonymous_id, '') IS NOT NULL AND nullif(user_id, '') IS NOT NULL
    UNION ALL
    SELECT previous_id AS alias_id, user_id, "timestamp" AS ts, message_id
    FROM events
    WHERE type = 'alias' AND nullif(previous_id, '') IS NOT NULL AND nullif(user_id, '') IS NOT NULL
),
identities AS (
    SELECT alias_id, user_id
    FROM (
        SELECT alias_id, user_id, row_number() OVER (PARTITION BY alias_id ORDER BY ts DESC, message_id DESC) AS n
        FROM links
    ) latest
    WHERE n = 1
),
raw AS (
    SELECT
        coalesce(nullif(e.user_id, ''), nullif(e.anonymous_id, '')) AS id,
        nullif(e.user_id, '') IS NOT NULL AS identified,
        e.type,
        e.event,
        e."timestamp" AS ts,
        e.event_date,
        e.message_id
    FROM events e
    WHERE e.event_date BETWEEN CAST($start_time AS DATE) AND CAST($end_time AS DATE)
      AND e."timestamp" >= $start_time
      AND e."timestamp" < $end_time
      AND e.type = 'track'
      AND e.event IS NOT NULL
      AND ($event = '*' OR e.event = $event)
),
ev AS (
    SELECT coalesce(i.user_id, r.id) AS user_key, r.identified, r.type, r.event, r.ts, r.event_date, r.message_id
    FROM raw r
    LEFT JOIN identities i ON i.alias_id = r.id
    WHERE r.id IS NOT NULL
),
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
    $event AS event,
    count(v.ts) AS events,
    count(DISTINCT v.user_key) AS users
FROM buckets b
CROSS JOIN (SELECT count(*) AS n FROM ev) seen
LEFT JOIN ev v ON v.ts >= b.bucket AND v.ts < b.bucket_end
WHERE b.bucket < $end_time AND seen.n > 0
GROUP BY b.bucket, b.bucket_size
ORDER BY b.bucket
