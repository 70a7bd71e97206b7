-- name: product_paths_after
-- description: What users do after an event: for each of the next N track events after each occurrence of it in a time range, the most common events at that position and their share.
-- category: product
-- param: event str required The event (a track call's event name) whose following events to report
-- param: steps int 3 How many following events (positions) to report
-- param: top int 5 How many events to list per position
-- param: start_time timestamp now-30d Start of the range (inclusive; UTC unless the value has an offset; now-3h style for relative)
-- param: end_time timestamp now End of the range (exclusive)
--
-- Each occurrence of the event in the range is followed through the same user's next track
-- events in the range, in time order (ties by message id); position 1 is the very next one.
-- (end) counts the occurrences with no event at that position. share is the part of all the
-- occurrences, so each position's shares (before top cuts them) add up to 1. Ties by name.
WITH {{product_identities}},
scoped AS (
    SELECT *
    FROM events e
    WHERE e.event_date BETWEEN CAST($start_time AS DATE) AND CAST($end_time AS DATE)
      AND e."timestamp" >= $start_time
      AND e."timestamp" < $end_time
      AND e.type = 'track'
      AND e.event IS NOT NULL
),
{{product_events}},
numbered AS (
    SELECT user_key, event, row_number() OVER (PARTITION BY user_key ORDER BY ts, message_id) AS n
    FROM ev
),
anchors AS (
    SELECT user_key, n
    FROM numbered
    WHERE event = $event
),
positions AS (
    SELECT CAST(k AS INTEGER) AS position
    FROM (SELECT unnest(generate_series(0, $steps)) AS k) offsets
    WHERE k >= 1
),
paths AS (
    SELECT p.position, coalesce(x.event, '(end)') AS next_event
    FROM anchors a
    CROSS JOIN positions p
    LEFT JOIN numbered x ON x.user_key = a.user_key AND x.n = a.n + p.position
),
counted AS (
    SELECT position, next_event, count(*) AS occurrences
    FROM paths
    GROUP BY position, next_event
),
ranked AS (
    SELECT
        position,
        row_number() OVER (PARTITION BY position ORDER BY occurrences DESC, next_event) AS rank,
        next_event,
        occurrences,
        round(occurrences / sum(occurrences) OVER (PARTITION BY position), 4) AS share
    FROM counted
)
SELECT position, rank, next_event, occurrences, share
FROM ranked
WHERE rank <= $top
ORDER BY position, rank
