-- name: alb_top_clients
-- description: Top ALB clients over the last N days: requests per client IP with the load balancers reached, 4xx and 5xx responses, bytes received and sent, and first and last request.
-- category: alb
-- param: days int 7 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC)
-- param: elb str * Load balancer (the elb field, e.g. app/my-alb/50dc6c495c0c9188) to report on, or * for all
-- param: top int 20 Number of clients listed
--
-- client_ip is the address the load balancer saw: the proxy's (e.g. CloudFront's) when
-- there is one in front. Ranked by requests, then bytes sent, then the address.
WITH reqs AS (
    SELECT client_ip, elb, elb_status_code, received_bytes, sent_bytes, time
    FROM alb_logs
    WHERE event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
      AND event_date <= CAST($as_of AS DATE)
      AND ($elb = '*' OR elb = $elb)
),
per_client AS (
    SELECT
        client_ip,
        count(*) AS requests,
        count(DISTINCT elb) AS load_balancers,
        count(CASE WHEN elb_status_code BETWEEN 400 AND 499 THEN 1 END) AS status_4xx,
        count(CASE WHEN elb_status_code BETWEEN 500 AND 599 THEN 1 END) AS status_5xx,
        CAST(coalesce(sum(received_bytes), 0) AS BIGINT) AS received_bytes,
        CAST(coalesce(sum(sent_bytes), 0) AS BIGINT) AS sent_bytes,
        min(time) AS first_seen,
        max(time) AS last_seen
    FROM reqs
    GROUP BY client_ip
),
ranked AS (
    SELECT *, row_number() OVER (ORDER BY requests DESC, sent_bytes DESC, client_ip NULLS LAST) AS rank
    FROM per_client
)
SELECT rank, client_ip, requests, load_balancers, status_4xx, status_5xx, received_bytes, sent_bytes, first_seen, last_seen
FROM ranked
WHERE rank <= $top
ORDER BY rank
