-- fragment: time_buckets
-- The buckets of a time series over start_time..end_time (both declared by the insight,
-- with `bucket`: auto, hour, day, week or month): CTE buckets holds bucket_size and
-- every bucket start and end. Buckets are UTC clock hours, days, ISO weeks (from Monday)
-- and calendar months; auto picks hour up to 2 days, day up to 90 days, week beyond;
-- an unknown bucket value gives no buckets.
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
