-- name: dashboard_permissions
-- description: Who may do what on each dashboard (or one) in the permissions snapshot in effect on as_of: owners (may update, delete or share it: its authors) and viewers, users and groups.
-- category: bi
-- param: dashboard_id str * Dashboard id to report on, or * for every dashboard
-- param: as_of date today Day the snapshot must be in effect on (the latest taken on or before it, else the earliest)
--
-- From asset_permissions (Describe*Permissions), per account and region the snapshot in
-- effect on as_of. access is 'owner' when the principal's actions include
-- quicksight:UpdateDashboard, quicksight:DeleteDashboard or
-- quicksight:UpdateDashboardPermissions (what QuickSight grants a dashboard's owners and
-- co-owners), else 'viewer'. The dashboard name comes from the asset snapshot in effect
-- on as_of (NULL when the dashboard is not in it).
WITH {{assets_in_effect}},
perm_snap AS (
    SELECT
        account_id,
        region,
        coalesce(max(CASE WHEN snapshot_date <= CAST($as_of AS DATE) THEN snapshot_time END), min(snapshot_time)) AS snapshot_time
    FROM asset_permissions
    GROUP BY account_id, region
),
perms AS (
    SELECT
        p.account_id,
        p.region,
        p.asset_id AS dashboard_id,
        p.principal_type,
        p.principal_name,
        max(CASE WHEN list_has_any(p.actions, ['quicksight:UpdateDashboard', 'quicksight:DeleteDashboard',
                                               'quicksight:UpdateDashboardPermissions']) THEN 1 ELSE 0 END) AS owns,
        max(array_length(p.actions)) AS actions
    FROM asset_permissions p
    JOIN perm_snap s
      ON p.account_id = s.account_id AND p.region = s.region AND p.snapshot_time = s.snapshot_time
    WHERE p.asset_type = 'dashboard'
      AND ($dashboard_id = '*' OR p.asset_id = $dashboard_id)
    GROUP BY p.account_id, p.region, p.asset_id, p.principal_type, p.principal_name
),
dashboards AS (
    SELECT account_id, region, asset_id, max(name) AS name
    FROM assets_in_effect
    WHERE asset_type = 'dashboard'
    GROUP BY account_id, region, asset_id
)
SELECT
    p.account_id,
    p.region,
    p.dashboard_id,
    d.name AS dashboard_name,
    CASE WHEN p.owns = 1 THEN 'owner' ELSE 'viewer' END AS access,
    p.principal_type,
    p.principal_name,
    p.actions
FROM perms p
LEFT JOIN dashboards d
  ON d.account_id = p.account_id AND d.region = p.region AND d.asset_id = p.dashboard_id
ORDER BY p.account_id, p.region, p.dashboard_id, access, p.principal_type DESC, p.principal_name
