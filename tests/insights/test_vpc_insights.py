"""The VPC flow log insights (insights/vpc_*.sql) on a lake built by ingesting the
fixtures in tests/data/vpc_flow (see tests/sources/test_vpc_flow.py for what each file
holds). The answers below are worked out by hand from those records:

  2024-03-01, account 111122223333 (plain layout; 3 malformed lines are quarantined)
    192.0.2.44 -> web 10.0.1.10:443 (00:00 and 12:00), the replies back
    198.51.100.7 scans 10.0.1.10: 22 and 3389 at 00:00, 22 and 23 at 12:00, all REJECT
    203.0.113.9: SSH to 10.0.1.10 accepted, RDP rejected
    10.0.1.10 <-> db 10.0.2.20:5432; eni-0ccc... NODATA twice, SKIPDATA once
  2024-03-02, account 111122223333 (no header): 10.0.1.10 <-> 10.0.2.20 at 09:00 and 10:00
    (one rejected SSH); account 444455556666 (hive, v5 format): 10.1.0.5 -> S3, a rejected
    SSH from 198.51.100.7, traffic behind a load balancer, a rejected IPv6 RDP
  2024-03-03, account 444455556666 (all fields): an ECS task's flow, a BPA reject, a NODATA
"""

from __future__ import annotations

from pathlib import Path

from eventlake.insights import list_insights
from eventlake.lake import Lake
from eventlake.sources.lines import ingest_lines
from tests.insights.common import duckdb_engine_fixture, empty_lake, run_rows, ts

DATA = Path(__file__).resolve().parents[1] / "data" / "vpc_flow"
A, B = "111122223333", "444455556666"
AS_OF = "2024-03-03"

# Params under which each VPC insight has rows on the fixture lake (also used to compare
# DuckDB and Spark results).
FIXTURE_PARAMS: dict[str, dict[str, str]] = {
    "vpc_top_rejected_talkers": {"days": "7", "as_of": AS_OF, "top": "20"},
    "vpc_top_talkers_by_bytes": {"days": "7", "as_of": AS_OF, "top": "20"},
    "vpc_traffic_by_port": {"days": "7", "as_of": AS_OF, "top": "25"},
    "vpc_ssh_rdp_attempts": {"days": "7", "as_of": AS_OF, "min_attempts": "1"},
    "vpc_traffic_between": {"a": "10.0.1.10", "b": "10.0.2.", "days": "7", "as_of": AS_OF},
    "vpc_nodata_intervals": {"days": "7", "as_of": AS_OF},
}


def build_vpc_lake(path: Path) -> Lake:
    """A lake holding the VPC flow fixtures, loaded by the line ingest."""
    lake = empty_lake(path)
    stats = ingest_lines(lake, "vpc-flow", [str(DATA)])
    assert (stats.records_loaded, stats.records_quarantined, stats.files_skipped) == (25, 3, 2)
    return lake


engine = duckdb_engine_fixture(build_vpc_lake, "vpc-insights")


def run(engine, name, **overrides):
    return run_rows(engine, name, {**FIXTURE_PARAMS[name], **overrides})


def test_every_vpc_insight_has_fixture_params():
    vpc = [i for i in list_insights() if i.category == "vpc-flow"]
    assert sorted(FIXTURE_PARAMS) == [i.name for i in vpc]
    assert all(i.name.startswith("vpc_") and i.description for i in vpc)
    for i in vpc:  # every parameter has a default
        assert all(not p.required for p in i.params), i.name


def test_every_vpc_insight_has_rows_on_the_fixture(engine):
    for name in FIXTURE_PARAMS:
        assert run(engine, name)[1], name


def test_vpc_top_rejected_talkers(engine):
    cols, rows = run(engine, "vpc_top_rejected_talkers")
    assert cols == ["rank", "srcaddr", "rejected_flows", "rejected_packets", "rejected_bytes", "targets", "ports",
                    "first_seen", "last_seen"]
    assert rows == [
        # 4 records at 10.0.1.10 (ports 22, 3389, 22, 23) and one at 10.1.0.5:22 in the other account
        (1, "198.51.100.7", 5, 8, 460, 2, 3, ts("2024-03-01 00:00:10"), ts("2024-03-02 10:00:05")),
        (2, "10.1.0.5", 1, 3, 180, 1, 1, ts("2024-03-03 08:00:10"), ts("2024-03-03 08:00:10")),  # blocked by BPA
        # ties on flows and packets: by address
        (3, "10.0.1.10", 1, 2, 120, 1, 1, ts("2024-03-02 10:00:00"), ts("2024-03-02 10:00:00")),
        (4, "2001:db8::5", 1, 2, 120, 1, 1, ts("2024-03-02 10:00:20"), ts("2024-03-02 10:00:20")),
        (5, "203.0.113.9", 1, 1, 60, 1, 1, ts("2024-03-01 00:00:40"), ts("2024-03-01 00:00:40")),
    ]


def test_vpc_top_rejected_talkers_window_and_top(engine):
    _, rows = run(engine, "vpc_top_rejected_talkers", as_of="2024-03-01", days="1", top="1")
    # 03-01 only: 198.51.100.7's four records there (the malformed fifth and sixth were quarantined)
    assert rows == [(1, "198.51.100.7", 4, 7, 420, 1, 3, ts("2024-03-01 00:00:10"), ts("2024-03-01 12:00:10"))]
    assert run(engine, "vpc_top_rejected_talkers", as_of="2024-02-29")[1] == []


def test_vpc_top_talkers_by_bytes(engine):
    cols, rows = run(engine, "vpc_top_talkers_by_bytes")
    assert cols == ["rank", "srcaddr", "dstaddr", "bytes", "packets", "flows", "dstports", "first_seen", "last_seen"]
    assert rows == [
        (1, "10.1.0.5", "52.95.110.1", 1048576, 800, 1, 1, ts("2024-03-02 10:00"), ts("2024-03-02 10:01")),
        # the database's replies: ports 36000 and 36010
        (2, "10.0.2.20", "10.0.1.10", 370000, 56, 2, 2, ts("2024-03-01 00:00:30"), ts("2024-03-02 09:01")),
        # three accepted queries; the rejected SSH at 10:00 is not accepted traffic
        (3, "10.0.1.10", "10.0.2.20", 96800, 65, 3, 1, ts("2024-03-01 00:00:30"), ts("2024-03-02 10:01:10")),
        (4, "10.0.1.10", "192.0.2.44", 12000, 10, 1, 1, ts("2024-03-01 00:00"), ts("2024-03-01 00:01")),
        # 9000 bytes each: more packets first
        (5, "10.1.2.30", "10.1.0.5", 9000, 25, 1, 1, ts("2024-03-03 08:00"), ts("2024-03-03 08:01")),
        (6, "192.0.2.44", "10.0.1.10", 9000, 20, 2, 1, ts("2024-03-01 00:00"), ts("2024-03-01 12:01:20")),
        (7, "203.0.113.9", "10.0.1.10", 4000, 20, 1, 1, ts("2024-03-01 00:00:20"), ts("2024-03-01 00:01:20")),
        (8, "10.1.0.99", "10.1.0.5", 3000, 6, 1, 1, ts("2024-03-02 10:00:10"), ts("2024-03-02 10:01:10")),
    ]
    assert [r[:3] for r in run(engine, "vpc_top_talkers_by_bytes", top="2")[1]] == [
        (1, "10.1.0.5", "52.95.110.1"), (2, "10.0.2.20", "10.0.1.10"),
    ]


def test_vpc_traffic_by_port(engine):
    cols, rows = run(engine, "vpc_traffic_by_port")
    assert cols == ["rank", "protocol", "protocol_name", "dstport", "flows", "accepted", "rejected", "packets", "bytes",
                    "sources", "destinations"]
    assert rows == [
        (1, 6, "TCP", 22, 5, 1, 4, 27, 4400, 3, 3),
        (2, 6, "TCP", 443, 4, 3, 1, 823, 1057756, 2, 3),
        (3, 6, "TCP", 5432, 3, 3, 0, 65, 96800, 1, 1),
        (4, 6, "TCP", 3389, 3, 0, 3, 5, 300, 3, 2),
        # single records: by bytes
        (5, 6, "TCP", 36000, 1, 1, 0, 38, 250000, 1, 1),
        (6, 6, "TCP", 36010, 1, 1, 0, 18, 120000, 1, 1),
        (7, 6, "TCP", 50432, 1, 1, 0, 10, 12000, 1, 1),
        (8, 6, "TCP", 8080, 1, 1, 0, 25, 9000, 1, 1),
        (9, 6, "TCP", 49200, 1, 1, 0, 6, 3000, 1, 1),
        (10, 6, "TCP", 23, 1, 0, 1, 1, 60, 1, 1),
    ]
    assert run(engine, "vpc_traffic_by_port", as_of="2024-03-03", days="1")[1] == [
        (1, 6, "TCP", 8080, 1, 1, 0, 25, 9000, 1, 1),
        (2, 6, "TCP", 443, 1, 0, 1, 3, 180, 1, 1),
    ]


def test_vpc_ssh_rdp_attempts(engine):
    cols, rows = run(engine, "vpc_ssh_rdp_attempts")
    assert cols == ["srcaddr", "dstaddr", "dstport", "service", "attempts", "accepted", "rejected", "first_attempt",
                    "last_attempt"]
    assert rows == [
        ("198.51.100.7", "10.0.1.10", 22, "ssh", 2, 0, 2, ts("2024-03-01 00:00:10"), ts("2024-03-01 12:00:00")),
        ("10.0.1.10", "10.0.2.20", 22, "ssh", 1, 0, 1, ts("2024-03-02 10:00"), ts("2024-03-02 10:00")),
        ("198.51.100.7", "10.0.1.10", 3389, "rdp", 1, 0, 1, ts("2024-03-01 00:00:15"), ts("2024-03-01 00:00:15")),
        ("198.51.100.7", "10.1.0.5", 22, "ssh", 1, 0, 1, ts("2024-03-02 10:00:05"), ts("2024-03-02 10:00:05")),
        ("2001:db8::5", "2001:db8:1::9", 3389, "rdp", 1, 0, 1, ts("2024-03-02 10:00:20"), ts("2024-03-02 10:00:20")),
        ("203.0.113.9", "10.0.1.10", 3389, "rdp", 1, 0, 1, ts("2024-03-01 00:00:40"), ts("2024-03-01 00:00:40")),
        # let through by the VPC
        ("203.0.113.9", "10.0.1.10", 22, "ssh", 1, 1, 0, ts("2024-03-01 00:00:20"), ts("2024-03-01 00:00:20")),
    ]
    assert [r[:4] for r in run(engine, "vpc_ssh_rdp_attempts", min_attempts="2")[1]] == [
        ("198.51.100.7", "10.0.1.10", 22, "ssh"),
    ]


def test_vpc_traffic_between(engine):
    cols, rows = run(engine, "vpc_traffic_between")
    assert cols == ["hour", "direction", "flows", "accepted", "rejected", "packets", "bytes"]
    assert rows == [
        (ts("2024-03-01 00:00"), "a_to_b", 1, 1, 0, 40, 64000),
        (ts("2024-03-01 00:00"), "b_to_a", 1, 1, 0, 38, 250000),
        (ts("2024-03-02 09:00"), "a_to_b", 1, 1, 0, 20, 32000),
        (ts("2024-03-02 09:00"), "b_to_a", 1, 1, 0, 18, 120000),
        (ts("2024-03-02 10:00"), "a_to_b", 2, 1, 1, 7, 920),
    ]
    # the sides swapped swap the directions; a subnet prefix matches like the address
    swapped = run(engine, "vpc_traffic_between", a="10.0.2.", b="10.0.1.")[1]
    assert [(h, {"a_to_b": "b_to_a", "b_to_a": "a_to_b"}[d], *rest) for h, d, *rest in swapped] == sorted(
        rows, key=lambda r: (r[0], {"a_to_b": "b_to_a", "b_to_a": "a_to_b"}[r[1]])
    )
    # without a trailing '.', '10.0.1' is an address, not a prefix: nothing matches
    assert run(engine, "vpc_traffic_between", a="10.0.1")[1] == []
    assert run(engine, "vpc_traffic_between", a="2001:db8:", b="2001:db8:1::9")[1] == [
        (ts("2024-03-02 10:00"), "a_to_b", 1, 0, 1, 2, 120),
    ]
    assert run(engine, "vpc_traffic_between", as_of="2024-03-01", days="1")[1] == rows[:2]


def test_vpc_nodata_intervals(engine):
    cols, rows = run(engine, "vpc_nodata_intervals")
    assert cols == ["account_id", "interface_id", "log_status", "windows", "seconds", "first_start", "last_end"]
    assert rows == [
        (A, "eni-0ccc3333cccc3333c", "SKIPDATA", 1, 60, ts("2024-03-01 12:00"), ts("2024-03-01 12:01")),
        (A, "eni-0ccc3333cccc3333c", "NODATA", 2, 120, ts("2024-03-01 00:00"), ts("2024-03-01 12:02")),
        (B, "eni-0dead0dead0dead0", "NODATA", 1, 60, ts("2024-03-03 08:00"), ts("2024-03-03 08:01")),
    ]
    assert run(engine, "vpc_nodata_intervals", as_of="2024-03-02", days="1")[1] == []
