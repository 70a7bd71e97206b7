-- name: s3_slow_requests
-- description: S3 latency per bucket and operation over the last N days: requests and the 50th/95th/99th percentiles of total time and turn-around time (ms), the slowest request, and the share of time S3 spent processing; slowest (95th percentile of total time) first.
-- category: s3-access
-- param: days int 7 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC)
-- param: bucket str * Bucket to report on, or * for every bucket
-- param: min_requests int 1 Operations with fewer timed requests in the window are left out
--
-- total_time is how long the request was in flight as S3 saw it (first byte received to
-- last byte sent); turn_around_time how long S3 took to process it (last byte of the
-- request to first byte of the answer). When total time is high and turn-around time low,
-- the time went into moving bytes (a slow client or network, or a big object);
-- s3_share = sum(turn-around) / sum(total). Requests without times (lifecycle actions)
-- are left out. Percentiles interpolate between values, rounded to 0.1 ms.
SELECT
    bucket,
    operation,
    count(*) AS requests,
    round(quantile_cont(total_time, 0.5), 1) AS p50_total_ms,
    round(quantile_cont(total_time, 0.95), 1) AS p95_total_ms,
    round(quantile_cont(total_time, 0.99), 1) AS p99_total_ms,
    max(total_time) AS max_total_ms,
    round(quantile_cont(turn_around_time, 0.5), 1) AS p50_turn_around_ms,
    round(quantile_cont(turn_around_time, 0.95), 1) AS p95_turn_around_ms,
    round(CAST(sum(turn_around_time) AS DOUBLE) / nullif(sum(total_time), 0), 4) AS s3_share
FROM s3_access_logs
WHERE event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
  AND event_date <= CAST($as_of AS DATE)
  AND total_time IS NOT NULL
  AND ($bucket = '*' OR bucket = $bucket)
GROUP BY bucket, operation
HAVING count(*) >= $min_requests
ORDER BY p95_total_ms DESC, bucket, operation
