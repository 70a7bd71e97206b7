-- name: web_breakdown
-- description: Web traffic in a time range broken down by one dimension (group_by: path, referrer_host, country, device_type, browser, os, utm_source, utm_medium, utm_campaign or host): page views, visits and the share of the chosen metric (pageviews or visits).
-- category: web
-- param: group_by str path Dimension: path, referrer_host, country, device_type, browser, os, utm_source, utm_medium, utm_campaign or host
-- param: metric str pageviews What orders the rows and makes the share: pageviews or visits
-- param: top int 20 How many rows to return (the largest first)
--
-- referrer_host is the page view's source as web_top_referrers names it (for the pages after
-- the first of a visit, the site itself); path is the path alone (all sites together unless
-- site is set). Empty or unknown values are (none). Rows are ordered by the metric, then by
-- the other one. An unknown group_by or metric gives no rows.
WITH {{web_views}},
grouped AS (
    SELECT
        CASE $group_by
            WHEN 'path' THEN path
            WHEN 'referrer_host' THEN referrer_source
            WHEN 'country' THEN country
            WHEN 'device_type' THEN device_type
            WHEN 'browser' THEN browser
            WHEN 'os' THEN os
            WHEN 'utm_source' THEN utm_source
            WHEN 'utm_medium' THEN utm_medium
            WHEN 'utm_campaign' THEN utm_campaign
            WHEN 'host' THEN host
        END AS value,
        visit_start
    FROM views
    WHERE $metric IN ('pageviews', 'visits')
),
per_value AS (
    SELECT
        value,
        count(*) AS pageviews,
        count(CASE WHEN visit_start THEN 1 END) AS visits
    FROM grouped
    WHERE value IS NOT NULL
    GROUP BY value
),
ranked AS (
    SELECT
        row_number() OVER (
            ORDER BY CASE WHEN $metric = 'visits' THEN visits ELSE pageviews END DESC,
                     CASE WHEN $metric = 'visits' THEN pageviews ELSE visits END DESC,
                     value
        ) AS rank,
        value,
        pageviews,
        visits,
        round(CASE WHEN $metric = 'visits' THEN visits ELSE pageviews END
              / nullif(sum(CASE WHEN $metric = 'visits' THEN visits ELSE pageviews END) OVER (), 0), 4) AS share
    FROM per_value
)
SELECT rank, $group_by AS dimension, value, pageviews, visits, share
FROM ranked
WHERE rank <= $top
ORDER BY rank
