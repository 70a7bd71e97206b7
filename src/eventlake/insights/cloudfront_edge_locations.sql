-- name: cloudfront_edge_locations
-- description: CloudFront edge locations over the last N days: requests, bytes sent, cache hit ratio and latency (mean and 95th percentile of time taken, mean time to first byte) per edge location.
-- category: cloudfront
-- param: days int 7 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC)
-- param: domain str * Distribution domain (cs_host) or alternate domain name (x_host_header) to report on, or * for all
--
-- An edge location is x_edge_location (e.g. FRA56-P1); airport is its first three
-- letters, usually the IATA code of an airport near it. Times are in seconds: time_taken
-- from request received to last byte queued, time_to_first_byte to the first byte
-- (logged since December 2019; NULL when no request in the row has it). p95 interpolates
-- between values. The hit ratio is as in cloudfront_cache_hit_ratio_by_path: hits (Hit,
-- RefreshHit, OriginShieldHit) / (hits + misses), NULL without either.
WITH reqs AS (
    SELECT x_edge_location, x_edge_result_type AS result_type, sc_bytes, time_taken, time_to_first_byte
    FROM cloudfront_logs
    WHERE event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
      AND event_date <= CAST($as_of AS DATE)
      AND ($domain = '*' OR cs_host = $domain OR x_host_header = $domain)
),
per_edge AS (
    SELECT
        x_edge_location,
        count(*) AS requests,
        CAST(coalesce(sum(sc_bytes), 0) AS BIGINT) AS bytes_sent,
        count(*) FILTER (WHERE result_type IN ('Hit', 'RefreshHit', 'OriginShieldHit')) AS hits,
        count(*) FILTER (WHERE result_type = 'Miss') AS misses,
        avg(time_taken) AS avg_time_taken,
        quantile_cont(time_taken, 0.95) AS p95_time_taken,
        avg(time_to_first_byte) AS avg_time_to_first_byte
    FROM reqs
    GROUP BY x_edge_location
)
SELECT
    x_edge_location,
    substr(x_edge_location, 1, 3) AS airport,
    requests,
    bytes_sent,
    CASE WHEN hits + misses > 0 THEN round(CAST(hits AS DOUBLE) / (hits + misses), 4) END AS hit_ratio,
    round(avg_time_taken, 3) AS avg_time_taken,
    round(p95_time_taken, 3) AS p95_time_taken,
    round(avg_time_to_first_byte, 3) AS avg_time_to_first_byte
FROM per_edge
ORDER BY requests DESC, x_edge_location NULLS LAST
