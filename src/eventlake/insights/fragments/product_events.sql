-- fragment: product_events
-- The events of a product insight, each with its user: the insight defines the CTE
-- scoped (its rows of events: the range and types it reads), this fragment the CTEs raw
-- (each event's id: user_id, else anonymous_id) and ev (user_key: the id resolved through
-- product_identities, so what a visitor did before signing up counts for the user).
-- Events without any id (the web snippet's page views) are left out.
raw AS (
    SELECT
        coalesce(nullif(e.user_id, ''), nullif(e.anonymous_id, '')) AS id,
        nullif(e.user_id, '') IS NOT NULL AS identified,
        e.type,
        e.event,
        e."timestamp" AS ts,
        e.event_date,
        e.message_id
    FROM scoped e
),
ev AS (
    SELECT coalesce(i.user_id, r.id) AS user_key, r.identified, r.type, r.event, r.ts, r.event_date, r.message_id
    FROM raw r
    LEFT JOIN identities i ON i.alias_id = r.id
    WHERE r.id IS NOT NULL
)
