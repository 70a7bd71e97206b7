-- name: web_entry_pages
-- description: Entry pages in a time range: the pages visits started on (page views with visit_start), per site and path, with the share of all visits.
-- category: web
-- param: top int 20 How many rows to return (the largest first)
--
-- share is the page's part of the visits that pass the filters. Most visits first.
WITH {{web_views}},
per_page AS (
    SELECT host, path, count(*) AS visits
    FROM views
    WHERE visit_start
    GROUP BY host, path
),
ranked AS (
    SELECT
        row_number() OVER (ORDER BY visits DESC, host, path) AS rank,
        host,
        path,
        visits,
        round(visits / sum(visits) OVER (), 4) AS share
    FROM per_page
)
SELECT rank, host, path, visits, share
FROM ranked
WHERE rank <= $top
ORDER BY rank
