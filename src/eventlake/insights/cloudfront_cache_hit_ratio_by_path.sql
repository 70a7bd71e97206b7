-- name: cloudfront_cache_hit_ratio_by_path
-- description: CloudFront cache hit ratio by path over the last N days: per URI path, requests, cache hits, misses, errors and the hit ratio (hits / (hits + misses)), busiest paths first.
-- category: cloudfront
-- param: days int 7 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC)
-- param: domain str * Distribution domain (cs_host, e.g. d111111abcdef8.cloudfront.net) or alternate domain name (x_host_header) to report on, or * for all
-- param: min_requests int 1 Paths with fewer requests in the window are left out
-- param: top int 50 Number of paths listed
--
-- A hit is a request CloudFront answered from its cache (x_edge_result_type Hit,
-- RefreshHit: found but revalidated with the origin, or OriginShieldHit); a miss went to
-- the origin (Miss). Errors (Error, LimitExceeded, CapacityExceeded) and Redirects
-- (HTTP to HTTPS) count in requests but not in the ratio, which is NULL for a path with
-- neither hits nor misses. Paths are cs_uri_stem as requested (without the query string).
WITH reqs AS (
    SELECT cs_uri_stem AS path, x_edge_result_type AS result_type
    FROM cloudfront_logs
    WHERE event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
      AND event_date <= CAST($as_of AS DATE)
      AND ($domain = '*' OR cs_host = $domain OR x_host_header = $domain)
),
per_path AS (
    SELECT
        path,
        count(*) AS requests,
        count(*) FILTER (WHERE result_type IN ('Hit', 'RefreshHit', 'OriginShieldHit')) AS hits,
        count(*) FILTER (WHERE result_type = 'Miss') AS misses,
        count(*) FILTER (WHERE result_type IN ('Error', 'LimitExceeded', 'CapacityExceeded')) AS errors
    FROM reqs
    GROUP BY path
),
ranked AS (
    SELECT *, row_number() OVER (ORDER BY requests DESC, path NULLS LAST) AS rank
    FROM per_path
    WHERE requests >= $min_requests
)
SELECT
    path,
    requests,
    hits,
    misses,
    errors,
    CASE WHEN hits + misses > 0 THEN round(CAST(hits AS DOUBLE) / (hits + misses), 4) END AS hit_ratio
FROM ranked
WHERE rank <= $top
ORDER BY requests DESC, path NULLS LAST
