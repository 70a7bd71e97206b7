-- name: alb_requests_over_time
-- description: ALB traffic per hour over the last N days, per load balancer: requests, 4xx and 5xx responses, bytes received and sent, and the mean and largest target processing time.
-- category: alb
-- param: days int 7 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC)
-- param: elb str * Load balancer (the elb field, e.g. app/my-alb/50dc6c495c0c9188) to report on, or * for all
--
-- Hours are UTC, by the time the load balancer answered (for WebSockets: closed the
-- connection). 4xx/5xx count elb_status_code, the status the client got. Target times are
-- in seconds and leave out requests never sent to a target (logged as -1).
WITH reqs AS (
    SELECT
        elb,
        date_trunc('hour', time) AS hour,
        elb_status_code,
        received_bytes,
        sent_bytes,
        CASE WHEN target_processing_time >= 0 THEN target_processing_time END AS target_time
    FROM alb_logs
    WHERE event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
      AND event_date <= CAST($as_of AS DATE)
      AND ($elb = '*' OR elb = $elb)
)
SELECT
    hour,
    elb,
    count(*) AS requests,
    count(CASE WHEN elb_status_code BETWEEN 400 AND 499 THEN 1 END) AS status_4xx,
    count(CASE WHEN elb_status_code BETWEEN 500 AND 599 THEN 1 END) AS status_5xx,
    CAST(coalesce(sum(received_bytes), 0) AS BIGINT) AS received_bytes,
    CAST(coalesce(sum(sent_bytes), 0) AS BIGINT) AS sent_bytes,
    round(avg(target_time), 3) AS avg_target_time,
    max(target_time) AS max_target_time
FROM reqs
GROUP BY hour, elb
ORDER BY hour, elb
