-- name: user_groups
-- description: BI group memberships in the users snapshot in effect on as_of: one row per group and member, with the member's role, e-mail and active flag.
-- category: bi
-- param: as_of date today Day the snapshot must be in effect on (per account, the latest taken on or before it, else the earliest)
--
-- Users without a group have no row. Group names are as the BI tool lists them (QuickSight
-- ListUserGroups).
WITH {{users_in_effect}},
bi_users AS (
    SELECT DISTINCT account_id, user_name, role, email, active, groups
    FROM users_in_effect
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
