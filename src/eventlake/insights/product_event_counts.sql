-- name: product_event_counts
-- description: Product events (track calls) in a time range: per event name, events and distinct users, the same for the previous range of the same length, and the change in events.
-- category: product
-- param: start_time timestamp now-7d Start of the range (inclusive; UTC unless the value has an offset; now-3h style for relative)
-- param: end_time timestamp now End of the range (exclusive)
--
-- The previous range is the one of the same length that ends at start_time. change is
-- events / previous_events - 1 (-0.5: half as many; NULL when there were none before).
-- Event names seen only in the previous range are listed with 0 events. Most events first.
WITH {{product_identities}},
scoped AS (
    SELECT *
    FROM events e
    WHERE e.event_date BETWEEN CAST($start_time - ($end_time - $start_time) AS DATE) AND CAST($end_time AS DATE)
      AND e."timestamp" >= $start_time - ($end_time - $start_time)
      AND e."timestamp" < $end_time
      AND e.type = 'track'
      AND e.event IS NOT NULL
),
{{product_events}},
per_event AS (
    SELECT
        event,
        count(CASE WHEN ts >= $start_time THEN 1 END) AS events,
        count(DISTINCT CASE WHEN ts >= $start_time THEN user_key END) AS users,
        count(CASE WHEN ts < $start_time THEN 1 END) AS previous_events,
        count(DISTINCT CASE WHEN ts < $start_time THEN user_key END) AS previous_users
    FROM ev
    GROUP BY event
)
SELECT
    event,
    events,
    users,
    previous_events,
    previous_users,
    round(events / nullif(previous_events, 0) - 1, 4) AS change
FROM per_event
ORDER BY events DESC, previous_events DESC, event
