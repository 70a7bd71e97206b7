-- name: product_active_users
-- description: Active users per day: DAU, WAU and MAU, the distinct users active on the day and in the 7 and 30 days ending on it, for each of the last N days.
-- category: product
-- param: days int 30 How many days to report, ending on as_of
-- param: as_of date today Last day (inclusive, UTC); nothing after it counts
--
-- Active means any track, page or screen event (identify, alias and group calls are not
-- activity). Days are UTC (event_date). Days without activity are listed with zeros, but
-- when no one was active in the 30 days before any of the days there are no rows.
WITH {{product_identities}},
scoped AS (
    SELECT *
    FROM events e
    WHERE e.event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER) - 29
      AND e.event_date <= CAST($as_of AS DATE)
      AND e.type IN ('track', 'page', 'screen')
),
{{product_events}},
active AS (
    SELECT DISTINCT user_key, event_date AS day
    FROM ev
),
days AS (
    SELECT CAST($as_of AS DATE) - CAST(k AS INTEGER) AS day
    FROM (SELECT unnest(generate_series(0, $days)) AS k) offsets
    WHERE k < $days
)
SELECT
    d.day,
    count(DISTINCT CASE WHEN a.day = d.day THEN a.user_key END) AS dau,
    count(DISTINCT CASE WHEN a.day > d.day - 7 THEN a.user_key END) AS wau,
    count(DISTINCT a.user_key) AS mau
FROM days d
CROSS JOIN (SELECT count(*) AS n FROM active) seen
LEFT JOIN active a ON a.day <= d.day AND a.day > d.day - 30
WHERE seen.n > 0
GROUP BY d.day
ORDER BY d.day
