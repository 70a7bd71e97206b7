-- name: vpc_top_talkers_by_bytes
-- description: Top talkers by bytes over the last N days: the source and destination address pairs that moved the most accepted traffic, with packets, flow records, destination ports and first and last flow.
-- category: vpc-flow
-- param: days int 7 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC date of the flow's start)
-- param: top int 20 Number of address pairs listed
--
-- One row per (srcaddr, dstaddr) of ACCEPT records; each direction of a conversation is its
-- own pair. A flow seen by the network interfaces at both ends is logged (and counted)
-- twice. Ranked by bytes, then packets, then the addresses.
WITH accepted AS (
    SELECT srcaddr, dstaddr, dstport, packets, bytes, start_time, end_time
    FROM vpc_flow_logs
    WHERE action = 'ACCEPT'
      AND srcaddr IS NOT NULL
      AND dstaddr IS NOT NULL
      AND event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
      AND event_date <= CAST($as_of AS DATE)
),
per_pair AS (
    SELECT
        srcaddr,
        dstaddr,
        CAST(coalesce(sum(bytes), 0) AS BIGINT) AS bytes,
        CAST(coalesce(sum(packets), 0) AS BIGINT) AS packets,
        count(*) AS flows,
        count(DISTINCT dstport) AS dstports,
        min(start_time) AS first_seen,
        max(end_time) AS last_seen
    FROM accepted
    GROUP BY srcaddr, dstaddr
),
ranked AS (
    SELECT *, row_number() OVER (ORDER BY bytes DESC, packets DESC, srcaddr, dstaddr) AS rank
    FROM per_pair
)
SELECT rank, srcaddr, dstaddr, bytes, packets, flows, dstports, first_seen, last_seen
FROM ranked
WHERE rank <= $top
ORDER BY rank
