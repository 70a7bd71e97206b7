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
raw AS (
    SELECT
        coalesce(nullif(e.user_id, ''), nullif(e.anonymous_id, '')) AS id,
        nullif(e.user_id, '') IS NOT NULL AS identified,
        e.type,
        e.event,
        e."timestamp" AS ts,
        e.event_date,
        e.message_id
    FROM events e
    WHERE e.event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER) - 29
      AND e.event_date <= CAST($as_of AS DATE)
      AND e.type IN ('track', 'page', 'screen')
),
ev AS (
    SELECT coalesce(i.user_id, r.id) AS user_key, r.identified, r.type, r.event, r.ts, r.event_date, r.message_id
    FROM raw r
    LEFT JOIN identities i ON i.alias_id = r.id
    WHERE r.id IS NOT NULL
),
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
