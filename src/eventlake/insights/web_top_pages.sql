-- name: web_top_pages
-- description: Most viewed pages in a time range: page views per site and path, how many visits started there (entries) and the share of all page views.
-- category: web
-- param: top int 20 How many rows to return (the largest first)
--
-- share is the page's part of the page views that pass the filters. Busiest first.
WITH {{web_views}},
per_page AS (
    SELECT
        host,
        path,
        count(*) AS pageviews,
        count(CASE WHEN visit_start THEN 1 END) AS entries
    FROM views
    GROUP BY host, path
),
ranked AS (
    SELECT
        row_number() OVER (ORDER BY pageviews DESC, entries DESC, host, path) AS rank,
        host,
        path,
        pageviews,
        entries,
        round(pageviews / sum(pageviews) OVER (), 4) AS share
    FROM per_page
)
SELECT rank, host, path, pageviews, entries, share
FROM ranked
WHERE rank <= $top
ORDER BY rank
