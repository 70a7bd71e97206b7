-- fragment: users_in_effect
-- The BI users as they were on as_of (declared by the insight): CTE users_in_effect holds
-- the rows of the users table from the snapshot in effect on as_of, per account the
-- latest snapshot taken on or before as_of, else the earliest one.
users_in_effect AS (
    SELECT u.*
    FROM users u
    JOIN (
        SELECT
            account_id,
            coalesce(max(CASE WHEN snapshot_date <= CAST($as_of AS DATE) THEN snapshot_time END), min(snapshot_time)) AS snapshot_time
        FROM users
        GROUP BY account_id
    ) s
      ON u.account_id = s.account_id AND u.snapshot_time = s.snapshot_time
)
