-- name: alb_tls_versions
-- description: TLS protocols and ciphers ALB clients negotiated over the last N days: requests, distinct clients and SNI domains, share of the HTTPS requests and the last use, e.g. to see who still needs TLS 1.2 or an old cipher.
-- category: alb
-- param: days int 7 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC)
-- param: elb str * Load balancer (the elb field, e.g. app/my-alb/50dc6c495c0c9188) to report on, or * for all
--
-- Only requests on HTTPS listeners (ssl_protocol set: https, h2, grpcs, wss) count; share is
-- of those requests in the window.
WITH tls AS (
    SELECT ssl_protocol, ssl_cipher, client_ip, domain_name, time
    FROM alb_logs
    WHERE event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
      AND event_date <= CAST($as_of AS DATE)
      AND ($elb = '*' OR elb = $elb)
      AND ssl_protocol IS NOT NULL
),
per_suite AS (
    SELECT
        ssl_protocol,
        ssl_cipher,
        count(*) AS requests,
        count(DISTINCT client_ip) AS clients,
        count(DISTINCT domain_name) AS domains,
        max(time) AS last_seen
    FROM tls
    GROUP BY ssl_protocol, ssl_cipher
)
SELECT
    ssl_protocol,
    ssl_cipher,
    requests,
    clients,
    domains,
    round(CAST(requests AS DOUBLE) / sum(requests) OVER (), 4) AS share,
    last_seen
FROM per_suite
ORDER BY requests DESC, ssl_protocol, ssl_cipher NULLS LAST
