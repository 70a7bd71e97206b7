-- name: alb_slowest_urls
-- description: Slowest ALB URLs over the last N days: target processing time percentiles (p50, p90, p99) and maximum per load balancer, method and URL path, slowest p90 first.
-- category: alb
-- param: days int 7 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC)
-- param: elb str * Load balancer (the elb field, e.g. app/my-alb/50dc6c495c0c9188) to report on, or * for all
-- param: min_requests int 1 Leave out paths with fewer timed requests than this
-- param: top int 20 Number of paths listed
--
-- The path is the request URL without scheme, host, port and query string. Times are
-- target_processing_time in seconds (load balancer sent the request to the target starting
-- to answer), interpolated percentiles; requests never sent to a target (-1) are left out.
WITH reqs AS (
    SELECT
        elb,
        request_verb,
        coalesce(
            nullif(regexp_extract(request_url, '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*([^?#]*)', 1), ''),
            split_part(request_url, '?', 1)
        ) AS path,
        target_processing_time AS t
    FROM alb_logs
    WHERE event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
      AND event_date <= CAST($as_of AS DATE)
      AND ($elb = '*' OR elb = $elb)
      AND target_processing_time >= 0
      AND request_url IS NOT NULL
),
per_path AS (
    SELECT
        elb,
        request_verb,
        path,
        count(*) AS requests,
        round(quantile_cont(t, 0.5), 4) AS p50,
        round(quantile_cont(t, 0.9), 4) AS p90,
        round(quantile_cont(t, 0.99), 4) AS p99,
        max(t) AS max_time
    FROM reqs
    GROUP BY elb, request_verb, path
    HAVING count(*) >= $min_requests
),
ranked AS (
    SELECT *, row_number() OVER (ORDER BY p90 DESC, max_time DESC, elb, request_verb NULLS LAST, path) AS rank
    FROM per_path
)
SELECT rank, elb, request_verb, path, requests, p50, p90, p99, max_time
FROM ranked
WHERE rank <= $top
ORDER BY rank
