-- fragment: dataset_usage_in_effect
-- Which dashboard or analysis used which dataset on as_of (declared by the insight): CTE
-- dataset_usage_in_effect holds the distinct (account_id, region, asset_type, asset_id,
-- dataset_id) links of the dataset_usage snapshot in effect on as_of, per account and
-- region the latest snapshot taken on or before as_of, else the earliest one.
dataset_usage_in_effect AS (
    SELECT DISTINCT u.account_id, u.region, u.asset_type, u.asset_id, u.dataset_id
    FROM dataset_usage u
    JOIN (
        SELECT
            account_id,
            region,
            coalesce(max(CASE WHEN snapshot_date <= CAST($as_of AS DATE) THEN snapshot_time END), min(snapshot_time)) AS snapshot_time
        FROM dataset_usage
        GROUP BY account_id, region
    ) s
      ON u.account_id = s.account_id AND u.region = s.region AND u.snapshot_time = s.snapshot_time
)
