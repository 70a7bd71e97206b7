-- name: product_new_users
-- description: New users per day over the last N days: users first seen that day (their first track, page or screen event), users who signed up (their first identify with a user_id) and the running total of users seen.
-- category: product
-- param: days int 30 How many days to report, ending on as_of
-- param: as_of date today Last day (inclusive, UTC); nothing after it counts
--
-- First seen is over everything in the lake up to as_of, so a user active before the window
-- is not new in it. total_users counts the users first seen on or before the day. Days are
-- UTC (event_date). No rows when no user was seen by as_of.
WITH {{product_identities}},
scoped AS (
    SELECT *
    FROM events e
    WHERE e.event_date <= CAST($as_of AS DATE)
      AND e.type IN ('track', 'page', 'screen', 'identify')
),
{{product_events}},
firsts AS (
    SELECT user_key, min(event_date) AS first_day
    FROM ev
    WHERE type IN ('track', 'page', 'screen')
    GROUP BY user_key
),
signups AS (
    SELECT user_key, min(event_date) AS signup_day
    FROM ev
    WHERE type = 'identify' AND identified
    GROUP BY user_key
),
days AS (
    SELECT CAST($as_of AS DATE) - CAST(k AS INTEGER) AS day
    FROM (SELECT unnest(generate_series(0, $days)) AS k) offsets
    WHERE k < $days
),
per_first AS (
    SELECT first_day AS day, count(*) AS n
    FROM firsts
    GROUP BY first_day
),
per_signup AS (
    SELECT signup_day AS day, count(*) AS n
    FROM signups
    GROUP BY signup_day
),
earlier AS (
    SELECT count(*) AS n
    FROM firsts
    WHERE first_day <= CAST($as_of AS DATE) - CAST($days AS INTEGER)
),
seen AS (
    SELECT count(*) AS n
    FROM firsts
)
SELECT
    d.day,
    coalesce(f.n, 0) AS new_users,
    coalesce(s.n, 0) AS signups,
    CAST(b.n + sum(coalesce(f.n, 0)) OVER (ORDER BY d.day) AS BIGINT) AS total_users
FROM days d
LEFT JOIN per_first f ON f.day = d.day
LEFT JOIN per_signup s ON s.day = d.day
CROSS JOIN earlier b
CROSS JOIN seen
WHERE seen.n > 0
ORDER BY d.day
