-- name: alb_5xx_by_target
-- description: ALB 5xx by target over the last N days: per load balancer, target group and target (ip:port), the requests, the 5xx the clients got, the 5xx the targets returned themselves, those with no answer from the target, their share and the last one.
-- category: alb
-- param: days int 7 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC)
-- param: elb str * Load balancer (the elb field, e.g. app/my-alb/50dc6c495c0c9188) to report on, or * for all
--
-- elb_5xx counts elb_status_code 5xx (what the client got); target_5xx counts
-- target_status_code 5xx (what the target answered); no_answer counts elb 5xx without a
-- target status (the target timed out, closed the connection or was never reached, or a
-- Lambda function failed: see error_reason). target_ip is NULL for Lambda targets and for
-- requests never dispatched. Only targets with at least one 5xx are listed.
WITH reqs AS (
    SELECT elb, target_group_arn, target_ip, target_port, elb_status_code, target_status_code, time
    FROM alb_logs
    WHERE event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
      AND event_date <= CAST($as_of AS DATE)
      AND ($elb = '*' OR elb = $elb)
),
per_target AS (
    SELECT
        elb,
        target_group_arn,
        target_ip,
        target_port,
        count(*) AS requests,
        count(CASE WHEN elb_status_code BETWEEN 500 AND 599 THEN 1 END) AS elb_5xx,
        count(CASE WHEN target_status_code BETWEEN 500 AND 599 THEN 1 END) AS target_5xx,
        count(CASE WHEN elb_status_code BETWEEN 500 AND 599 AND target_status_code IS NULL THEN 1 END) AS no_answer,
        max(CASE WHEN elb_status_code BETWEEN 500 AND 599 OR target_status_code BETWEEN 500 AND 599 THEN time END) AS last_5xx
    FROM reqs
    GROUP BY elb, target_group_arn, target_ip, target_port
)
SELECT
    elb,
    target_group_arn,
    target_ip,
    target_port,
    requests,
    elb_5xx,
    target_5xx,
    no_answer,
    round(CAST(elb_5xx AS DOUBLE) / requests, 4) AS elb_5xx_share,
    last_5xx
FROM per_target
WHERE elb_5xx > 0 OR target_5xx > 0
ORDER BY elb_5xx DESC, target_5xx DESC, elb, target_group_arn NULLS LAST, target_ip NULLS LAST, target_port NULLS LAST
