-- fragment: product_identities
-- Who is who in the product insights: the CTE identities maps every anonymous_id (and
-- alias previous_id) to the user_id it belongs to (links: every pairing seen).
--
-- Users are coalesce(user_id, anonymous_id), merged: an id that was seen as anonymous_id
-- together with a user_id (identify, or any call made after it), or as the previous_id of
-- an alias, belongs to the latest user_id it was seen with (over the whole lake, one
-- step: no chains), so what a visitor did before signing up counts for the user; a device
-- later identified as someone else moves its anonymous events to that someone. Events
-- without any id (the privacy-first web snippet's page views) are no one's.
links AS (
    SELECT anonymous_id AS alias_id, user_id, "timestamp" AS ts, message_id
    FROM events
    WHERE nullif(anonymous_id, '') IS NOT NULL AND nullif(user_id, '') IS NOT NULL
    UNION ALL
    SELECT previous_id AS alias_id, user_id, "timestamp" AS ts, message_id
    FROM events
    WHERE type = 'alias' AND nullif(previous_id, '') IS NOT NULL AND nullif(user_id, '') IS NOT NULL
),
identities AS (
    SELECT alias_id, user_id
    FROM (
        SELECT alias_id, user_id, row_number() OVER (PARTITION BY alias_id ORDER BY ts DESC, message_id DESC) AS n
        FROM links
    ) latest
    WHERE n = 1
)
