-- name: vpc_nodata_intervals
-- description: Capture windows without flow records over the last N days: per network interface, the NODATA windows (no traffic to log) and SKIPDATA windows (records were skipped, e.g. capacity or an internal error), their total length and the first and last such window.
-- category: vpc-flow
-- param: days int 7 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC date of the window's start)
--
-- One row per (account, network interface, log_status) for log_status NODATA or SKIPDATA.
-- seconds adds up end - start of the windows (overlapping windows count twice). SKIPDATA
-- means flow records were lost: traffic-based answers for that interface and time are
-- incomplete. Ordered by SKIPDATA first, then account, interface.
SELECT
    account_id,
    interface_id,
    log_status,
    count(*) AS windows,
    CAST(coalesce(sum(date_diff('second', start_time, end_time)), 0) AS BIGINT) AS seconds,
    min(start_time) AS first_start,
    max(end_time) AS last_end
FROM vpc_flow_logs
WHERE log_status IN ('NODATA', 'SKIPDATA')
  AND event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
  AND event_date <= CAST($as_of AS DATE)
GROUP BY account_id, interface_id, log_status
ORDER BY CASE log_status WHEN 'SKIPDATA' THEN 0 ELSE 1 END, account_id NULLS LAST, interface_id NULLS LAST, log_status
