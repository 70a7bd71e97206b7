-- name: cloudfront_top_referers
-- description: Sites that send viewers to CloudFront over the last N days: per referring host, requests, distinct viewer IPs and landing paths, and the most requested landing path.
-- category: cloudfront
-- param: days int 7 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC)
-- param: domain str * Distribution domain (cs_host) or alternate domain name (x_host_header) to report on, or * for all
-- param: include_internal bool false Also count referrals from the site itself (referer host equal to the request's host or distribution domain)
-- param: top int 20 Number of referring hosts listed
--
-- The referring host is the host part of cs_referer, lower-cased (a referer logged without
-- a scheme counts up to its first '/'); requests without a Referer header are not counted.
-- top_path has the most requests of the host (ties: the smallest path).
WITH refs AS (
    SELECT
        lower(nullif(regexp_extract(cs_referer, '^(?:[A-Za-z][A-Za-z0-9+.-]*://)?([^/:?#]+)', 1), '')) AS referer_host,
        cs_uri_stem AS path,
        c_ip,
        lower(x_host_header) AS host,
        lower(cs_host) AS distribution_domain
    FROM cloudfront_logs
    WHERE event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
      AND event_date <= CAST($as_of AS DATE)
      AND ($domain = '*' OR cs_host = $domain OR x_host_header = $domain)
      AND cs_referer IS NOT NULL
),
external AS (
    SELECT *
    FROM refs
    WHERE referer_host IS NOT NULL
      AND ($include_internal
           OR (referer_host IS DISTINCT FROM host AND referer_host IS DISTINCT FROM distribution_domain))
),
per_host AS (
    SELECT
        referer_host,
        count(*) AS requests,
        count(DISTINCT c_ip) AS viewers,
        count(DISTINCT path) AS paths
    FROM external
    GROUP BY referer_host
),
per_path AS (
    SELECT
        referer_host,
        path,
        row_number() OVER (PARTITION BY referer_host ORDER BY count(*) DESC, path NULLS LAST) AS rank
    FROM external
    GROUP BY referer_host, path
),
ranked AS (
    SELECT h.*, p.path AS top_path, row_number() OVER (ORDER BY h.requests DESC, h.referer_host) AS host_rank
    FROM per_host h
    LEFT JOIN per_path p ON p.referer_host = h.referer_host AND p.rank = 1
)
SELECT referer_host, requests, viewers, paths, top_path
FROM ranked
WHERE host_rank <= $top
ORDER BY requests DESC, referer_host
