-- name: product_retention
-- description: Retention cohorts: users grouped by the day or week they were first seen (or signed up with identify, or first sent a given event), and the share of each cohort active in each of the first N days or weeks after.
-- category: product
-- param: cohort_by str week Cohort and period length: day or week (ISO weeks, from Monday)
-- param: periods int 4 How many periods after the cohort's own (period 0) to report
-- param: cohort_event str first_seen What puts a user in a cohort: first_seen (first track, page or screen event), identify (first identify with a user_id: the signup), or a track event name (its first occurrence)
-- param: days int 56 Cohorts of the users whose cohort event falls in the N days ending on as_of
-- param: as_of date today Last day (inclusive, UTC); nothing after it counts
--
-- Rows: cohort (its first day), period (0 = the cohort's own day or week), users in the
-- cohort, retained (those with a track, page or screen event in the period) and rate. A
-- period is only listed once it has started (on or before as_of); the last one may be
-- partial. Activity before the cohort event's period does not count. Cohort events and
-- activity are looked for in everything up to as_of (a user's first event may be long before
-- the window). For week cohorts the first and last cohort may hold only the users whose
-- cohort event falls inside the window. An unknown cohort_by gives no rows.
WITH {{product_identities}},
scoped AS (
    SELECT *
    FROM events e
    WHERE e.event_date <= CAST($as_of AS DATE)
      AND e.type IN ('track', 'page', 'screen', 'identify')
),
{{product_events}},
active AS (
    SELECT DISTINCT user_key, event_date AS day
    FROM ev
    WHERE type IN ('track', 'page', 'screen')
),
starts AS (
    SELECT user_key, min(event_date) AS start_day
    FROM ev
    WHERE CASE $cohort_event
              WHEN 'first_seen' THEN type IN ('track', 'page', 'screen')
              WHEN 'identify' THEN type = 'identify' AND identified
              ELSE type = 'track' AND event = $cohort_event
          END
    GROUP BY user_key
),
members AS (
    SELECT
        user_key,
        CASE WHEN $cohort_by = 'day' THEN start_day ELSE CAST(date_trunc('week', start_day) AS DATE) END AS cohort
    FROM starts
    WHERE start_day > CAST($as_of AS DATE) - CAST($days AS INTEGER)
      AND $cohort_by IN ('day', 'week')
),
sizes AS (
    SELECT cohort, count(*) AS users
    FROM members
    GROUP BY cohort
),
returns AS (
    SELECT DISTINCT
        m.user_key,
        m.cohort,
        CASE WHEN $cohort_by = 'day' THEN date_diff('day', m.cohort, a.day) ELSE date_diff('week', m.cohort, a.day) END AS period
    FROM members m
    JOIN active a ON a.user_key = m.user_key AND a.day >= m.cohort
),
grid AS (
    SELECT s.cohort, s.users, p.period
    FROM sizes s
    CROSS JOIN (SELECT unnest(generate_series(0, $periods)) AS period) p
    WHERE s.cohort + CAST(p.period * CASE WHEN $cohort_by = 'day' THEN 1 ELSE 7 END AS INTEGER) <= CAST($as_of AS DATE)
)
SELECT
    g.cohort,
    CAST(g.period AS INTEGER) AS period,
    g.users,
    count(r.user_key) AS retained,
    round(count(r.user_key) / g.users, 4) AS rate
FROM grid g
LEFT JOIN returns r ON r.cohort = g.cohort AND r.period = g.period
GROUP BY g.cohort, g.period, g.users
ORDER BY g.cohort, period
