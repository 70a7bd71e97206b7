-- name: web_top_referrers
-- description: Where visits come from in a time range: visits per source (the referring host, else the utm_source, else (direct)), their share and how many entry pages they landed on.
-- category: web
-- param: top int 20 How many rows to return (the largest first)
--
-- Only visits count (page views with visit_start), so moving between the pages of one site
-- is not a source; a referrer from another host of the same domain is (it starts a visit).
-- A referrer wins over a utm_source; a visit with neither is (direct). entry_pages counts
-- the distinct site and path pairs the source's visits started on. Most visits first.
WITH {{web_views}},
per_source AS (
    SELECT
        referrer_source AS source,
        count(*) AS visits,
        count(DISTINCT host || path) AS entry_pages
    FROM views
    WHERE visit_start
    GROUP BY referrer_source
),
ranked AS (
    SELECT
        row_number() OVER (ORDER BY visits DESC, source) AS rank,
        source,
        visits,
        round(visits / sum(visits) OVER (), 4) AS share,
        entry_pages
    FROM per_source
)
SELECT rank, source, visits, share, entry_pages
FROM ranked
WHERE rank <= $top
ORDER BY rank
