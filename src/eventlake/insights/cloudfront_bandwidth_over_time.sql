-- name: cloudfront_bandwidth_over_time
-- description: CloudFront traffic per day (or hour) over the last N days: requests, bytes sent to viewers, bytes served from the cache, bytes received from viewers and distinct viewer IPs.
-- category: cloudfront
-- param: days int 7 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC)
-- param: domain str * Distribution domain (cs_host) or alternate domain name (x_host_header) to report on, or * for all
-- param: hourly bool false One row per hour instead of per day
--
-- period_start is the start of the UTC day (or hour). bytes_sent is sc_bytes (response
-- including headers), bytes_from_cache the part of it answered from the cache (Hit,
-- RefreshHit, OriginShieldHit), bytes_received cs_bytes (request including headers).
-- Periods without requests have no row.
WITH reqs AS (
    SELECT
        CASE WHEN $hourly THEN date_trunc('hour', request_time) ELSE date_trunc('day', request_time) END AS period_start,
        x_edge_result_type AS result_type,
        sc_bytes,
        cs_bytes,
        c_ip
    FROM cloudfront_logs
    WHERE event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
      AND event_date <= CAST($as_of AS DATE)
      AND ($domain = '*' OR cs_host = $domain OR x_host_header = $domain)
)
SELECT
    period_start,
    count(*) AS requests,
    CAST(coalesce(sum(sc_bytes), 0) AS BIGINT) AS bytes_sent,
    CAST(coalesce(sum(sc_bytes) FILTER (WHERE result_type IN ('Hit', 'RefreshHit', 'OriginShieldHit')), 0) AS BIGINT) AS bytes_from_cache,
    CAST(coalesce(sum(cs_bytes), 0) AS BIGINT) AS bytes_received,
    count(DISTINCT c_ip) AS viewers
FROM reqs
GROUP BY period_start
ORDER BY period_start
