-- name: vpc_traffic_by_port
-- description: Traffic by destination port and protocol over the last N days: flow records accepted and rejected, packets, bytes, and how many sources and destinations used each port.
-- category: vpc-flow
-- param: days int 7 Length of the window in days, ending on as_of
-- param: as_of date today Day the window ends (inclusive, UTC date of the flow's start)
-- param: top int 25 Number of (protocol, port) rows listed
--
-- protocol is the IANA number (6 TCP, 17 UDP, 1 ICMP; protocol_name names the common ones).
-- Reply traffic is logged with the client's ephemeral port as its destination, so such
-- ports show up too. Records without a destination port (NODATA/SKIPDATA, ICMP) are left
-- out. Ranked by flow records, then bytes, then protocol and port.
WITH flows AS (
    SELECT protocol, dstport, action, srcaddr, dstaddr, packets, bytes
    FROM vpc_flow_logs
    WHERE dstport IS NOT NULL
      AND event_date > CAST($as_of AS DATE) - CAST($days AS INTEGER)
      AND event_date <= CAST($as_of AS DATE)
),
per_port AS (
    SELECT
        protocol,
        dstport,
        count(*) AS flows,
        count(CASE WHEN action = 'ACCEPT' THEN 1 END) AS accepted,
        count(CASE WHEN action = 'REJECT' THEN 1 END) AS rejected,
        CAST(coalesce(sum(packets), 0) AS BIGINT) AS packets,
        CAST(coalesce(sum(bytes), 0) AS BIGINT) AS bytes,
        count(DISTINCT srcaddr) AS sources,
        count(DISTINCT dstaddr) AS destinations
    FROM flows
    GROUP BY protocol, dstport
),
ranked AS (
    SELECT *, row_number() OVER (ORDER BY flows DESC, bytes DESC, protocol NULLS LAST, dstport) AS rank
    FROM per_port
)
SELECT
    rank,
    protocol,
    CASE protocol WHEN 6 THEN 'TCP' WHEN 17 THEN 'UDP' WHEN 1 THEN 'ICMP' WHEN 58 THEN 'ICMPv6' WHEN 47 THEN 'GRE'
        WHEN 50 THEN 'ESP' END AS protocol_name,
    dstport,
    flows,
    accepted,
    rejected,
    packets,
    bytes,
    sources,
    destinations
FROM ranked
WHERE rank <= $top
ORDER BY rank
