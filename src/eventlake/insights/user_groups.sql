-- name: user_groups
-- description: BI group memberships in the users snapshot in effect on as_of: one row per group and member, with the member's role, e-mail and active flag.
-- category: bi
-- param: as_of date today Day the snapshot must be in effect on (per account, the latest taken on or before it, else the earliest)
--
-- Users without a group have no row. Group names are as the BI tool lists them (QuickSight
-- ListUserGroups).
WITH user_snap AS (
    SELECT
        account_id,
        coalesce(max(CASE WHEN snapshot_date <= CAST($as_of AS DATE) THEN snapshot_time END), min(snapshot_time)) AS snapshot_time
    FROM users
    GROUP BY account_id
),
bi_users AS (
    SELECT DISTINCT u.account_id, u.user_name, u.role, u.email, u.active, u.groups
    FROM users u
    JOIN user_snap s ON u.account_id = s.account_id AND u.snapshot_time = s.snapshot_time
),
members AS (
    SELECT u.account_id, g.group_name, u.user_name, u.role, u.email, u.active
    FROM bi_users u
    CROSS JOIN UNNEST(u.groups) AS g(group_name)
)
SELECT DISTINCT account_id, group_name, user_name, role, email, active
FROM members
WHERE group_name IS NOT NULL
ORDER BY account_id, group_name, user_name
