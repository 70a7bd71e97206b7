-- name: vpc_top_rejected_talkers
-- description: Top talkers rejected by the VPC (security groups, network ACLs or block public access) over the last N days: per source address, the rejected flow records, packets and bytes, how many hosts and ports it tried, and when it was first and last seen.
-- category: vpc-flow
-- param: days int 7 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC date of the flow's start)
-- param: top int 20 Number of sources listed
--
-- One row per srcaddr of REJECT records (NODATA/SKIPDATA records have no address and are
-- not counted). rejected_flows counts flow log records: a flow recorded by both ends' network
-- interfaces, or over several capture windows, counts more than once. Ranked by rejected
-- flows, then packets, then address.
WITH rejected AS (
    SELECT srcaddr, dstaddr, dstport, packets, bytes, start_time
    FROM vpc_flow_logs
    WHERE action = 'REJECT'
      AND srcaddr IS NOT NULL
      AND event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
      AND event_date <= CAST($as_of AS DATE)
),
per_source AS (
    SELECT
        srcaddr,
        count(*) AS rejected_flows,
        CAST(coalesce(sum(packets), 0) AS BIGINT) AS rejected_packets,
        CAST(coalesce(sum(bytes), 0) AS BIGINT) AS rejected_bytes,
        count(DISTINCT dstaddr) AS targets,
        count(DISTINCT dstport) AS ports,
        min(start_time) AS first_seen,
        max(start_time) AS last_seen
    FROM rejected
    GROUP BY srcaddr
),
ranked AS (
    SELECT *, row_number() OVER (ORDER BY rejected_flows DESC, rejected_packets DESC, srcaddr) AS rank
    FROM per_source
)
SELECT rank, srcaddr, rejected_flows, rejected_packets, rejected_bytes, targets, ports, first_seen, last_seen
FROM ranked
WHERE rank <= $top
ORDER BY rank
