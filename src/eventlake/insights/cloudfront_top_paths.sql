-- name: cloudfront_top_paths
-- description: Most requested CloudFront paths over the last N days: requests, distinct viewer IPs, bytes sent, errors (4xx, 5xx and aborted) and the mean and largest time taken per URI path.
-- category: cloudfront
-- param: days int 7 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC)
-- param: domain str * Distribution domain (cs_host) or alternate domain name (x_host_header) to report on, or * for all
-- param: top int 20 Number of paths listed
--
-- Paths are cs_uri_stem as requested (without the query string). viewers counts distinct
-- c_ip (the proxy's address when the viewer came through one). errors are responses with
-- status 400 or more, plus status 000 (the viewer closed the connection before CloudFront
-- responded). Times are in seconds (time_taken: request received to last byte queued).
WITH reqs AS (
    SELECT cs_uri_stem AS path, c_ip, sc_bytes, sc_status, time_taken
    FROM cloudfront_logs
    WHERE event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
      AND event_date <= CAST($as_of AS DATE)
      AND ($domain = '*' OR cs_host = $domain OR x_host_header = $domain)
),
per_path AS (
    SELECT
        path,
        count(*) AS requests,
        count(DISTINCT c_ip) AS viewers,
        CAST(coalesce(sum(sc_bytes), 0) AS BIGINT) AS bytes_sent,
        count(*) FILTER (WHERE sc_status >= 400 OR sc_status = 0) AS errors,
        round(avg(time_taken), 3) AS avg_time_taken,
        max(time_taken) AS max_time_taken
    FROM reqs
    GROUP BY path
),
ranked AS (
    SELECT *, row_number() OVER (ORDER BY requests DESC, path NULLS LAST) AS rank
    FROM per_path
)
SELECT path, requests, viewers, bytes_sent, errors, avg_time_taken, max_time_taken
FROM ranked
WHERE rank <= $top
ORDER BY requests DESC, path NULLS LAST
