-- name: cloudfront_errors_by_status
-- description: CloudFront error responses over the last N days by HTTP status and result type: requests, distinct paths and viewer IPs, the path with the most such errors, first and last occurrence.
-- category: cloudfront
-- param: days int 7 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC)
-- param: domain str * Distribution domain (cs_host) or alternate domain name (x_host_header) to report on, or * for all
-- param: min_status int 400 Lowest HTTP status counted as an error
-- param: include_aborted bool true Also count status 000: the viewer closed the connection before CloudFront responded
--
-- One row per (sc_status, x_edge_result_type, x_edge_detailed_result_type); the detailed
-- type names the cause of an Error (OriginConnectError, OriginDnsError, ClientCommError,
-- ...). top_path has the most errors of the row (ties: the smallest path).
WITH errors AS (
    SELECT
        sc_status,
        x_edge_result_type,
        x_edge_detailed_result_type,
        cs_uri_stem AS path,
        c_ip,
        request_time
    FROM cloudfront_logs
    WHERE event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
      AND event_date <= CAST($as_of AS DATE)
      AND ($domain = '*' OR cs_host = $domain OR x_host_header = $domain)
      AND (sc_status >= $min_status OR ($include_aborted AND sc_status = 0))
),
per_kind AS (
    SELECT
        sc_status,
        x_edge_result_type,
        x_edge_detailed_result_type,
        count(*) AS requests,
        count(DISTINCT path) AS paths,
        count(DISTINCT c_ip) AS viewers,
        min(request_time) AS first_seen,
        max(request_time) AS last_seen
    FROM errors
    GROUP BY sc_status, x_edge_result_type, x_edge_detailed_result_type
),
per_path AS (
    SELECT
        sc_status,
        x_edge_result_type,
        x_edge_detailed_result_type,
        path,
        row_number() OVER (
            PARTITION BY sc_status, x_edge_result_type, x_edge_detailed_result_type
            ORDER BY count(*) DESC, path NULLS LAST
        ) AS rank
    FROM errors
    GROUP BY sc_status, x_edge_result_type, x_edge_detailed_result_type, path
)
SELECT
    k.sc_status,
    k.x_edge_result_type,
    k.x_edge_detailed_result_type,
    k.requests,
    k.paths,
    k.viewers,
    p.path AS top_path,
    k.first_seen,
    k.last_seen
FROM per_kind k
LEFT JOIN per_path p
  ON p.sc_status = k.sc_status
 AND p.x_edge_result_type IS NOT DISTINCT FROM k.x_edge_result_type
 AND p.x_edge_detailed_result_type IS NOT DISTINCT FROM k.x_edge_detailed_result_type
 AND p.rank = 1
ORDER BY k.requests DESC, k.sc_status, k.x_edge_result_type NULLS LAST, k.x_edge_detailed_result_type NULLS LAST
