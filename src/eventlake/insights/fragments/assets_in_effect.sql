-- fragment: assets_in_effect
-- The BI assets (dashboards, analyses, datasets, ...) as they were on as_of (declared by
-- the insight): CTE assets_in_effect holds the rows of the assets table from the snapshot
-- in effect on as_of, per account and region the latest snapshot taken on or before
-- as_of, else the earliest one.
assets_in_effect AS (
    SELECT a.*
    FROM assets a
    JOIN (
        SELECT
            account_id,
            region,
            coalesce(max(CASE WHEN snapshot_date <= CAST($as_of AS DATE) THEN snapshot_time END), min(snapshot_time)) AS snapshot_time
        FROM assets
        GROUP BY account_id, region
    ) s
      ON a.account_id = s.account_id AND a.region = s.region AND a.snapshot_time = s.snapshot_time
)
