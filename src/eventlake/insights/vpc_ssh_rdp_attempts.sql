-- name: vpc_ssh_rdp_attempts
-- description: SSH (TCP 22) and RDP (TCP 3389) connection attempts over the last N days: per source, destination and service, the flow records accepted and rejected and the first and last attempt; sources with rejected attempts first.
-- category: vpc-flow
-- param: days int 7 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC date of the flow's start)
-- param: min_attempts int 1 Leave out (source, destination, service) rows with fewer flow records
--
-- An attempt is a flow log record of protocol 6 to destination port 22 or 3389 (any
-- action). accepted > 0 means the VPC let the traffic through: whether a login succeeded is
-- not in flow logs. Ordered by rejected attempts, then all attempts, then source,
-- destination and port.
WITH attempts AS (
    SELECT srcaddr, dstaddr, dstport, action, start_time
    FROM vpc_flow_logs
    WHERE protocol = 6
      AND dstport IN (22, 3389)
      AND event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
      AND event_date <= CAST($as_of AS DATE)
),
per_target AS (
    SELECT
        srcaddr,
        dstaddr,
        dstport,
        count(*) AS attempts,
        count(CASE WHEN action = 'ACCEPT' THEN 1 END) AS accepted,
        count(CASE WHEN action = 'REJECT' THEN 1 END) AS rejected,
        min(start_time) AS first_attempt,
        max(start_time) AS last_attempt
    FROM attempts
    GROUP BY srcaddr, dstaddr, dstport
)
SELECT
    srcaddr,
    dstaddr,
    dstport,
    CASE dstport WHEN 22 THEN 'ssh' ELSE 'rdp' END AS service,
    attempts,
    accepted,
    rejected,
    first_attempt,
    last_attempt
FROM per_target
WHERE attempts >= $min_attempts
ORDER BY rejected DESC, attempts DESC, srcaddr, dstaddr, dstport
