-- name: web_os
-- description: Operating systems in a time range ((none) when unknown): visits, page views and the share of all visits.
-- category: web
-- param: top int 20 How many rows to return (the largest first)
--
-- share is the part of the visits that pass the filters. Most visits first.
WITH {{web_views}},
per_value AS (
    SELECT
        os,
        count(CASE WHEN visit_start THEN 1 END) AS visits,
        count(*) AS pageviews
    FROM views
    GROUP BY os
),
ranked AS (
    SELECT
        row_number() OVER (ORDER BY visits DESC, pageviews DESC, os) AS rank,
        os,
        visits,
        pageviews,
        round(visits / nullif(sum(visits) OVER (), 0), 4) AS share
    FROM per_value
)
SELECT rank, os, visits, pageviews, share
FROM ranked
WHERE rank <= $top
ORDER BY rank
