-- name: vpc_traffic_between
-- description: Traffic between two hosts or subnets over time: per hour and direction, the flow records accepted and rejected, packets and bytes exchanged between a and b.
-- category: vpc-flow
-- param: a str 10.0.1. One side: an address (10.0.1.10, 2001:db8::5), or an address prefix ending in '.' or ':' for a subnet (10.0.1.)
-- param: b str 10.0.2. The other side, written the same way
-- param: days int 7 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC date of the flow's start)
--
-- A record matches a side when its address equals the parameter or, for a parameter
-- ending in '.' or ':', starts with it (so '10.0.1.' is 10.0.1.0/24, '10.0.1' would not
-- be accepted as a prefix). direction is a_to_b (srcaddr in a, dstaddr in b) or b_to_a.
-- hour is the start of the UTC hour of the flow's start.
WITH matched AS (
    SELECT
        start_time,
        action,
        packets,
        bytes,
        (srcaddr = $a OR (right($a, 1) IN ('.', ':') AND substr(srcaddr, 1, length($a)) = $a)) AS src_a,
        (dstaddr = $a OR (right($a, 1) IN ('.', ':') AND substr(dstaddr, 1, length($a)) = $a)) AS dst_a,
        (srcaddr = $b OR (right($b, 1) IN ('.', ':') AND substr(srcaddr, 1, length($b)) = $b)) AS src_b,
        (dstaddr = $b OR (right($b, 1) IN ('.', ':') AND substr(dstaddr, 1, length($b)) = $b)) AS dst_b
    FROM vpc_flow_logs
    WHERE srcaddr IS NOT NULL
      AND dstaddr IS NOT NULL
      AND event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
      AND event_date <= CAST($as_of AS DATE)
),
directed AS (
    SELECT
        date_trunc('hour', start_time) AS hour,
        CASE WHEN src_a AND dst_b THEN 'a_to_b' ELSE 'b_to_a' END AS direction,
        action,
        packets,
        bytes
    FROM matched
    WHERE (src_a AND dst_b) OR (src_b AND dst_a)
)
SELECT
    hour,
    direction,
    count(*) AS flows,
    count(CASE WHEN action = 'ACCEPT' THEN 1 END) AS accepted,
    count(CASE WHEN action = 'REJECT' THEN 1 END) AS rejected,
    CAST(coalesce(sum(packets), 0) AS BIGINT) AS packets,
    CAST(coalesce(sum(bytes), 0) AS BIGINT) AS bytes
FROM directed
GROUP BY hour, direction
ORDER BY hour, direction
