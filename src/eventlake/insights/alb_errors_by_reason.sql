-- name: alb_errors_by_reason
-- description: ALB requests with an error reason (Lambda, authentication, WAF and weighted target group failures) or a desync classification over the last N days, per load balancer and reason: requests, clients, status codes, an example URL and first and last seen.
-- category: alb
-- param: days int 7 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC)
-- param: elb str * Load balancer (the elb field, e.g. app/my-alb/50dc6c495c0c9188) to report on, or * for all
--
-- error_reason is set when a Lambda target, an authenticate action, a weighted target group
-- or AWS WAF failed; classification (Acceptable, Ambiguous, Severe) and its reason when the
-- request did not comply with RFC 7230. statuses lists the distinct elb_status_code values,
-- example_url the smallest URL seen.
WITH reqs AS (
    SELECT elb, error_reason, classification, classification_reason, client_ip, elb_status_code, request_url, time
    FROM alb_logs
    WHERE event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
      AND event_date <= CAST($as_of AS DATE)
      AND ($elb = '*' OR elb = $elb)
      AND (error_reason IS NOT NULL OR classification IS NOT NULL)
)
SELECT
    elb,
    error_reason,
    classification,
    classification_reason,
    count(*) AS requests,
    count(DISTINCT client_ip) AS clients,
    array_to_string(array_sort(array_agg(DISTINCT CAST(elb_status_code AS VARCHAR))), ',') AS statuses,
    min(request_url) AS example_url,
    min(time) AS first_seen,
    max(time) AS last_seen
FROM reqs
GROUP BY elb, error_reason, classification, classification_reason
ORDER BY requests DESC, elb, error_reason NULLS LAST, classification NULLS LAST, classification_reason NULLS LAST
