-- name: product_funnel
-- description: A conversion funnel of 2 to 8 ordered steps (track event names): per step, the users who reached it in order within window_hours of their first step, the drop-off from the previous step and the conversion from step 1.
-- category: product
-- param: steps str required Step event names in order, comma-separated (2 to 8), e.g. Signed Up,Project Created,Invited Teammate
-- param: window_hours int 24 Hours after a user's first step within which the next steps must happen
-- param: start_time timestamp now-30d Start of the range (inclusive; UTC unless the value has an offset; now-3h style for relative)
-- param: end_time timestamp now End of the range (exclusive)
--
-- A user enters the funnel with their first step-1 event in the range; step k counts when
-- the user's earliest step-k event after their step k-1 (strictly later) is within
-- window_hours of the step-1 event; later steps may fall after end_time. Steps done out of
-- order do not count (an event before the previous step is ignored, a later one may still
-- count). Names are trimmed; the same name may appear in several steps. dropped is the
-- users lost since the previous step, dropoff_rate their share of it, conversion the share
-- of step 1 (step 1: dropped and dropoff_rate NULL). No rows when no one did step 1 in the
-- range, or with fewer than 2 or more than 8 steps or an empty step name.
WITH {{product_identities}},
scoped AS (
    SELECT *
    FROM events e
    WHERE e.event_date BETWEEN CAST($start_time AS DATE) AND CAST($end_time + to_hours($window_hours) AS DATE)
      AND e."timestamp" >= $start_time
      AND e."timestamp" <= $end_time + to_hours($window_hours)
      AND e.type = 'track'
      AND e.event IS NOT NULL
),
{{product_events}},
step_list AS (
    SELECT CAST(k AS INTEGER) AS step, trim(list_extract(string_split($steps, ','), CAST(k AS INTEGER))) AS step_event
    FROM (SELECT unnest(generate_series(1, 8)) AS k) positions
    WHERE k <= array_length(string_split($steps, ','))
),
valid AS (
    SELECT count(*) AS steps, count(CASE WHEN step_event = '' THEN 1 END) AS blanks
    FROM step_list
),
funnel AS (
    SELECT l.step, l.step_event
    FROM step_list l
    CROSS JOIN valid v
    WHERE v.steps BETWEEN 2 AND 8 AND v.blanks = 0
      AND array_length(string_split($steps, ',')) <= 8
),
hits AS (
    SELECT v.user_key, v.ts, f.step
    FROM ev v
    JOIN funnel f ON f.step_event = v.event
),
s1 AS (
    SELECT user_key, min(ts) AS t1
    FROM hits
    WHERE step = 1 AND ts < $end_time
    GROUP BY user_key
),
s2 AS (
    SELECT p.user_key, p.t1, min(h.ts) AS t
    FROM s1 p
    JOIN hits h ON h.user_key = p.user_key AND h.step = 2 AND h.ts > p.t1 AND h.ts <= p.t1 + to_hours($window_hours)
    GROUP BY p.user_key, p.t1
),
s3 AS (
    SELECT p.user_key, p.t1, min(h.ts) AS t
    FROM s2 p
    JOIN hits h ON h.user_key = p.user_key AND h.step = 3 AND h.ts > p.t AND h.ts <= p.t1 + to_hours($window_hours)
    GROUP BY p.user_key, p.t1
),
s4 AS (
    SELECT p.user_key, p.t1, min(h.ts) AS t
    FROM s3 p
    JOIN hits h ON h.user_key = p.user_key AND h.step = 4 AND h.ts > p.t AND h.ts <= p.t1 + to_hours($window_hours)
    GROUP BY p.user_key, p.t1
),
s5 AS (
    SELECT p.user_key, p.t1, min(h.ts) AS t
    FROM s4 p
    JOIN hits h ON h.user_key = p.user_key AND h.step = 5 AND h.ts > p.t AND h.ts <= p.t1 + to_hours($window_hours)
    GROUP BY p.user_key, p.t1
),
s6 AS (
    SELECT p.user_key, p.t1, min(h.ts) AS t
    FROM s5 p
    JOIN hits h ON h.user_key = p.user_key AND h.step = 6 AND h.ts > p.t AND h.ts <= p.t1 + to_hours($window_hours)
    GROUP BY p.user_key, p.t1
),
s7 AS (
    SELECT p.user_key, p.t1, min(h.ts) AS t
    FROM s6 p
    JOIN hits h ON h.user_key = p.user_key AND h.step = 7 AND h.ts > p.t AND h.ts <= p.t1 + to_hours($window_hours)
    GROUP BY p.user_key, p.t1
),
s8 AS (
    SELECT p.user_key, p.t1, min(h.ts) AS t
    FROM s7 p
    JOIN hits h ON h.user_key = p.user_key AND h.step = 8 AND h.ts > p.t AND h.ts <= p.t1 + to_hours($window_hours)
    GROUP BY p.user_key, p.t1
),
reached AS (
    SELECT 1 AS step, count(*) AS users FROM s1
    UNION ALL SELECT 2, count(*) FROM s2
    UNION ALL SELECT 3, count(*) FROM s3
    UNION ALL SELECT 4, count(*) FROM s4
    UNION ALL SELECT 5, count(*) FROM s5
    UNION ALL SELECT 6, count(*) FROM s6
    UNION ALL SELECT 7, count(*) FROM s7
    UNION ALL SELECT 8, count(*) FROM s8
),
per_step AS (
    SELECT
        f.step,
        f.step_event,
        r.users,
        lag(r.users) OVER (ORDER BY f.step) AS previous_users,
        max(CASE WHEN f.step = 1 THEN r.users END) OVER () AS first_users
    FROM funnel f
    JOIN reached r ON r.step = f.step
)
SELECT
    step,
    step_event AS event,
    users,
    previous_users - users AS dropped,
    round((previous_users - users) / nullif(previous_users, 0), 4) AS dropoff_rate,
    round(users / nullif(first_users, 0), 4) AS conversion
FROM per_step
WHERE first_users > 0
ORDER BY step
