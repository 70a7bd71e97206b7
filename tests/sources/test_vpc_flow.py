"""The VPC flow log type (sources/vpc_flow.py): formats, parsing, layouts, skips and
rules, on the fixtures in tests/data/vpc_flow, written to the published format:

  plain/AWSLogs/111122223333/vpcflowlogs/us-east-1/2024/03/01/
    ..._20240301T0005Z_3f2a1b4c.log.gz   default v2 format with header (gzip), a NODATA record
    ..._20240301T1205Z_8c7d6e5f.log      default v2 with header: SKIPDATA, NODATA and 3 malformed lines
    ..._fl-0a1b2c3d4e5f60002_...log.parquet  a Parquet flow log (skipped)
  plain/AWSLogs/111122223333/CloudTrail-Digest/...json.gz   another service's folder (skipped)
  hive/AWSLogs/aws-account-id=444455556666/aws-service=vpcflowlogs/aws-region=eu-west-1/
    year=2024/month=03/day=02/hour=10/...  version-5 custom format in a non-default order
    year=2024/month=03/day=03/hour=08/...  every documented field plus one undocumented
  noheader/111122223333_eni-0bbb2222bbbb2222b.log   default format without a header line
"""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventlake.sources.logtypes import FileFormat, Layout, parse_lines, parsed_columns
from eventlake.sources.vpc_flow import DEFAULT_FORMAT, FIELDS, LOGTYPE, TABLE

DATA = Path(__file__).resolve().parents[1] / "data" / "vpc_flow"
A, B = "111122223333", "444455556666"
PLAIN = DATA / f"plain/AWSLogs/{A}/vpcflowlogs/us-east-1/2024/03/01"
HIVE = DATA / f"hive/AWSLogs/aws-account-id={B}/aws-service=vpcflowlogs/aws-region=eu-west-1/year=2024/month=03"
P1 = PLAIN / f"{A}_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f60001_20240301T0005Z_3f2a1b4c.log.gz"
P2 = PLAIN / f"{A}_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f60001_20240301T1205Z_8c7d6e5f.log"
H1 = HIVE / f"day=02/hour=10/{B}_vpcflowlogs_eu-west-1_fl-0fedcba9876543210_20240302T1000Z_1a2b3c4d.log"
H2 = HIVE / f"day=03/hour=08/{B}_vpcflowlogs_eu-west-1_fl-0fedcba9876543210_20240303T0800Z_5e6f7a8b.log"
NOHEADER = DATA / f"noheader/{A}_eni-0bbb2222bbbb2222b.log"

V5 = (
    "version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport pkt-srcaddr "
    "pkt-dstaddr protocol bytes packets start end action tcp-flags log-status region az-id flow-direction traffic-path "
    "pkt-src-aws-service pkt-dst-aws-service"
)
ALL_FIELDS = [name for name, _, _ in FIELDS]
NEWEST = " ".join(ALL_FIELDS[:14] + ["x-custom-note"] + ALL_FIELDS[14:])
ECS = f"arn:aws:ecs:eu-west-1:{B}"
VPC, SUBNET = "vpc-0f1e2d3c4b5a69788", "subnet-0a9b8c7d6e5f40312"


def ts(epoch: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc)


def row(line_no: int, **values) -> dict:
    """An expected parsed row: every parsed column NULL but those given, reason NULL."""
    out = {"line_no": line_no, **{c: None for c in parsed_columns(LOGTYPE)}, "reason": None}
    unknown = set(values) - set(out)
    assert not unknown, unknown
    out.update(values)
    return out


def v2(line_no, iface, src, dst, sport, dport, proto, packets, bytes_, start, end, action, status="OK", account=A):
    return row(
        line_no, event_date=ts(start).date(), version=2, account_id=account, interface_id=iface, srcaddr=src, dstaddr=dst,
        srcport=sport, dstport=dport, protocol=proto, packets=packets, bytes=bytes_, start_time=ts(start), end_time=ts(end),
        action=action, log_status=status,
    )


def no_data(line_no, iface, start, end, status, account=A):
    return row(line_no, event_date=ts(start).date(), version=2, account_id=account, interface_id=iface,
               start_time=ts(start), end_time=ts(end), log_status=status)


def read_fixture(path: Path) -> tuple[FileFormat, list[str]]:
    """A fixture file as the line ingest sees it: its format and its record lines."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    lines = data.decode("utf-8").splitlines()
    fmt = LOGTYPE.detect_format(lines[:8])
    return fmt, [ln for ln in lines[fmt.header_lines :] if ln.strip()]


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    c.execute("SET TimeZone = 'America/Los_Angeles'")  # event dates must not depend on the session zone
    yield c
    c.close()


def parse(con, path: Path) -> list[dict]:
    fmt, lines = read_fixture(path)
    return parse_lines(con, LOGTYPE, lines, fmt.key, source_object=str(path))


# -- the table ---------------------------------------------------------------------------


def test_table_has_a_column_for_every_documented_field():
    assert TABLE.name == "vpc_flow_logs"
    assert TABLE.partition_by == ("event_date",)
    assert TABLE.columns == (
        ("event_date", "DATE"),
        ("version", "INTEGER"), ("account_id", "VARCHAR"), ("interface_id", "VARCHAR"), ("srcaddr", "VARCHAR"),
        ("dstaddr", "VARCHAR"), ("srcport", "INTEGER"), ("dstport", "INTEGER"), ("protocol", "INTEGER"),
        ("packets", "BIGINT"), ("bytes", "BIGINT"), ("start_time", "TIMESTAMPTZ"), ("end_time", "TIMESTAMPTZ"),
        ("action", "VARCHAR"), ("log_status", "VARCHAR"),
        ("vpc_id", "VARCHAR"), ("subnet_id", "VARCHAR"), ("instance_id", "VARCHAR"), ("tcp_flags", "INTEGER"),
        ("type", "VARCHAR"), ("pkt_srcaddr", "VARCHAR"), ("pkt_dstaddr", "VARCHAR"),
        ("region", "VARCHAR"), ("az_id", "VARCHAR"), ("sublocation_type", "VARCHAR"), ("sublocation_id", "VARCHAR"),
        ("pkt_src_aws_service", "VARCHAR"), ("pkt_dst_aws_service", "VARCHAR"), ("flow_direction", "VARCHAR"),
        ("traffic_path", "INTEGER"),
        ("ecs_cluster_arn", "VARCHAR"), ("ecs_cluster_name", "VARCHAR"), ("ecs_container_instance_arn", "VARCHAR"),
        ("ecs_container_instance_id", "VARCHAR"), ("ecs_container_id", "VARCHAR"), ("ecs_second_container_id", "VARCHAR"),
        ("ecs_service_name", "VARCHAR"), ("ecs_task_definition_arn", "VARCHAR"), ("ecs_task_arn", "VARCHAR"),
        ("ecs_task_id", "VARCHAR"),
        ("reject_reason", "VARCHAR"), ("resource_id", "VARCHAR"), ("encryption_status", "VARCHAR"),
        ("extra", "JSON"),
        ("log_format", "VARCHAR"), ("source_object", "VARCHAR"), ("line_no", "BIGINT"), ("raw_line", "VARCHAR"),
        ("ingested_at", "TIMESTAMPTZ"),
    )
    assert LOGTYPE.name == "vpc-flow" and LOGTYPE.has_format
    assert DEFAULT_FORMAT == "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"


def test_the_table_is_created_in_the_lake(lake):
    con = lake.connect()
    try:
        cols = con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'vpc_flow_logs' ORDER BY ordinal_position"
        ).fetchall()
    finally:
        con.close()
    assert [c for c, in cols] == TABLE.column_names


# -- formats -----------------------------------------------------------------------------


def test_detect_format_reads_the_header_line():
    assert LOGTYPE.detect_format([DEFAULT_FORMAT, "2 1 eni-1 - - - - - - - 1 2 - NODATA"]) == FileFormat(DEFAULT_FORMAT, 1)
    assert LOGTYPE.detect_format([V5]) == FileFormat(V5, 1)
    # spacing of the header does not change the key
    assert LOGTYPE.detect_format(["  srcaddr   dstaddr  start "]) == FileFormat("srcaddr dstaddr start", 1)
    # undocumented names are part of the format; they go to `extra`
    assert LOGTYPE.detect_format(["start x-new-field srcaddr"]) == FileFormat("start x-new-field srcaddr", 1)


def test_detect_format_without_a_header_is_the_default_format():
    record = f"2 {A} eni-0aaa1111aaaa1111a 10.0.0.1 10.0.0.2 1 2 6 1 40 1709251200 1709251260 ACCEPT OK"
    assert LOGTYPE.detect_format([record]) == FileFormat(DEFAULT_FORMAT, 0)
    assert LOGTYPE.detect_format([]) == FileFormat(DEFAULT_FORMAT, 0)
    # lowercase words that are no field names are a record, not a header
    assert LOGTYPE.detect_format(["eni-0abc ingress wavelength"]) == FileFormat(DEFAULT_FORMAT, 0)
    assert LOGTYPE.detect_format(["ACCEPT OK"]) == FileFormat(DEFAULT_FORMAT, 0)


def test_fixture_formats():
    assert read_fixture(P1)[0] == FileFormat(DEFAULT_FORMAT, 1)
    assert read_fixture(P2)[0] == FileFormat(DEFAULT_FORMAT, 1)
    assert read_fixture(H1)[0] == FileFormat(V5, 1)
    assert read_fixture(H2)[0] == FileFormat(NEWEST, 1)
    assert read_fixture(NOHEADER)[0] == FileFormat(DEFAULT_FORMAT, 0)


def test_parse_sql_none_is_the_default_format():
    assert LOGTYPE.parse_sql(None) == LOGTYPE.parse_sql(DEFAULT_FORMAT)
    assert LOGTYPE.parse_sql("") == LOGTYPE.parse_sql(DEFAULT_FORMAT)


# -- parsing -----------------------------------------------------------------------------


def test_default_format_gzip_file_with_header(con):
    i1, i2, i3 = "eni-0aaa1111aaaa1111a", "eni-0bbb2222bbbb2222b", "eni-0ccc3333cccc3333c"
    assert parse(con, P1) == [
        v2(1, i1, "192.0.2.44", "10.0.1.10", 50432, 443, 6, 12, 5400, 1709251200, 1709251260, "ACCEPT"),
        v2(2, i1, "10.0.1.10", "192.0.2.44", 443, 50432, 6, 10, 12000, 1709251200, 1709251260, "ACCEPT"),
        v2(3, i1, "198.51.100.7", "10.0.1.10", 40001, 22, 6, 3, 180, 1709251210, 1709251270, "REJECT"),
        v2(4, i1, "198.51.100.7", "10.0.1.10", 40002, 3389, 6, 2, 120, 1709251215, 1709251275, "REJECT"),
        v2(5, i1, "203.0.113.9", "10.0.1.10", 51515, 22, 6, 20, 4000, 1709251220, 1709251280, "ACCEPT"),
        v2(6, i2, "10.0.1.10", "10.0.2.20", 36000, 5432, 6, 40, 64000, 1709251230, 1709251290, "ACCEPT"),
        v2(7, i2, "10.0.2.20", "10.0.1.10", 5432, 36000, 6, 38, 250000, 1709251230, 1709251290, "ACCEPT"),
        no_data(8, i3, 1709251200, 1709251260, "NODATA"),
        v2(9, i1, "203.0.113.9", "10.0.1.10", 51516, 3389, 6, 1, 60, 1709251240, 1709251300, "REJECT"),
    ]
    assert ts(1709251200) == dt.datetime(2024, 3, 1, tzinfo=dt.timezone.utc)


def test_nodata_skipdata_and_malformed_lines(con):
    i1, i3 = "eni-0aaa1111aaaa1111a", "eni-0ccc3333cccc3333c"
    rows = parse(con, P2)
    assert rows[:4] == [
        v2(1, i1, "198.51.100.7", "10.0.1.10", 40003, 22, 6, 1, 60, 1709294400, 1709294460, "REJECT"),
        v2(2, i1, "198.51.100.7", "10.0.1.10", 40004, 23, 6, 1, 60, 1709294410, 1709294470, "REJECT"),
        v2(3, i1, "192.0.2.44", "10.0.1.10", 50433, 443, 6, 8, 3600, 1709294420, 1709294480, "ACCEPT"),
        no_data(4, i3, 1709294400, 1709294460, "SKIPDATA"),
    ]
    assert rows[7] == no_data(8, i3, 1709294460, 1709294520, "NODATA")
    assert [(r["line_no"], r["reason"]) for r in rows[4:7]] == [
        (5, "line has 6 fields, the format has 14"),
        (6, "dstport 'ssh' is not an integer"),
        (7, "start '2024-03-01T12:00:40Z' is not a unix time in seconds"),
    ]


def test_default_format_without_header(con):
    i2 = "eni-0bbb2222bbbb2222b"
    assert parse(con, NOHEADER) == [
        v2(1, i2, "10.0.1.10", "10.0.2.20", 36010, 5432, 6, 20, 32000, 1709370000, 1709370060, "ACCEPT"),
        v2(2, i2, "10.0.2.20", "10.0.1.10", 5432, 36010, 6, 18, 120000, 1709370000, 1709370060, "ACCEPT"),
        v2(3, i2, "10.0.1.10", "10.0.2.20", 36011, 22, 6, 2, 120, 1709373600, 1709373660, "REJECT"),
        v2(4, i2, "10.0.1.10", "10.0.2.20", 36012, 5432, 6, 5, 800, 1709373610, 1709373670, "ACCEPT"),
    ]


def test_custom_version_5_format_in_its_own_order(con):
    common = dict(version=5, vpc_id=VPC, subnet_id=SUBNET, account_id=B, protocol=6, log_status="OK", region="eu-west-1",
                  az_id="euw1-az1", event_date=dt.date(2024, 3, 2))
    inst, eni = "i-0123456789abcdef0", "eni-0e1e2e3e4e5e6e7e8"
    assert parse(con, H1) == [
        row(1, **common, instance_id=inst, interface_id=eni, type="IPv4", srcaddr="10.1.0.5", dstaddr="52.95.110.1",
            srcport=49152, dstport=443, pkt_srcaddr="10.1.0.5", pkt_dstaddr="52.95.110.1", bytes=1048576, packets=800,
            start_time=ts(1709373600), end_time=ts(1709373660), action="ACCEPT", tcp_flags=19, flow_direction="egress",
            traffic_path=7, pkt_dst_aws_service="S3"),
        row(2, **common, instance_id=inst, interface_id=eni, type="IPv4", srcaddr="198.51.100.7", dstaddr="10.1.0.5",
            srcport=40100, dstport=22, pkt_srcaddr="198.51.100.7", pkt_dstaddr="10.1.0.5", bytes=40, packets=1,
            start_time=ts(1709373605), end_time=ts(1709373665), action="REJECT", tcp_flags=2, flow_direction="ingress"),
        # behind a load balancer: srcaddr is its address, pkt-srcaddr the client's
        row(3, **common, interface_id="eni-0f0f0f0f0f0f0f0f0", type="IPv4", srcaddr="10.1.0.99", dstaddr="10.1.0.5",
            srcport=443, dstport=49200, pkt_srcaddr="203.0.113.50", pkt_dstaddr="10.1.0.5", bytes=3000, packets=6,
            start_time=ts(1709373610), end_time=ts(1709373670), action="ACCEPT", tcp_flags=3, flow_direction="ingress"),
        row(4, **common, instance_id=inst, interface_id=eni, type="IPv6", srcaddr="2001:db8::5", dstaddr="2001:db8:1::9",
            srcport=33000, dstport=3389, pkt_srcaddr="2001:db8::5", pkt_dstaddr="2001:db8:1::9", bytes=120, packets=2,
            start_time=ts(1709373620), end_time=ts(1709373680), action="REJECT", tcp_flags=2, flow_direction="egress",
            traffic_path=2),
    ]


def test_newest_fields_and_an_undocumented_one(con):
    common = dict(version=10, account_id=B, vpc_id=VPC, region="eu-west-1", event_date=dt.date(2024, 3, 3))
    assert parse(con, H2) == [
        row(1, **common, interface_id="eni-0abcabcabcabcabc0", srcaddr="10.1.2.30", dstaddr="10.1.0.5", srcport=41000,
            dstport=8080, protocol=6, packets=25, bytes=9000, start_time=ts(1709452800), end_time=ts(1709452860),
            action="ACCEPT", log_status="OK", extra='{"x-custom-note":"note-1"}', subnet_id="subnet-0c1c2c3c4c5c6c7c8",
            tcp_flags=19, type="IPv4", pkt_srcaddr="10.1.2.30", pkt_dstaddr="10.1.0.5", az_id="euw1-az2",
            flow_direction="egress", traffic_path=1, ecs_cluster_arn=f"{ECS}:cluster/web", ecs_cluster_name="web",
            ecs_container_instance_arn=f"{ECS}:container-instance/web/0a1b2c3d4e5f60718293a4b5c6d7e8f9",
            ecs_container_instance_id="0a1b2c3d4e5f60718293a4b5c6d7e8f9", ecs_container_id="3d1f0e2c5b4a6978",
            ecs_service_name="web-svc", ecs_task_definition_arn=f"{ECS}:task-definition/web:7",
            ecs_task_arn=f"{ECS}:task/web/9f8e7d6c5b4a39281706f5e4d3c2b1a0", ecs_task_id="9f8e7d6c5b4a39281706f5e4d3c2b1a0",
            encryption_status="1"),
        row(2, **common, interface_id="eni-0e1e2e3e4e5e6e7e8", srcaddr="10.1.0.5", dstaddr="198.51.100.80", srcport=49500,
            dstport=443, protocol=6, packets=3, bytes=180, start_time=ts(1709452810), end_time=ts(1709452870),
            action="REJECT", log_status="OK", extra='{"x-custom-note":null}', subnet_id=SUBNET,
            instance_id="i-0123456789abcdef0", tcp_flags=2, type="IPv4", pkt_srcaddr="10.1.0.5",
            pkt_dstaddr="198.51.100.80", az_id="euw1-az1", flow_direction="egress", traffic_path=8, reject_reason="BPA",
            encryption_status="0"),
        row(3, **common, interface_id="eni-0dead0dead0dead0", start_time=ts(1709452800), end_time=ts(1709452860),
            log_status="NODATA", extra='{"x-custom-note":null}', subnet_id=SUBNET, az_id="euw1-az1"),
    ]


@pytest.mark.parametrize(
    "line, reason",
    [
        ("2 1 eni-1 a b 1 2 6 1 40 1709251200 1709251260 ACCEPT", "line has 13 fields, the format has 14"),
        ("2 1 eni-1 a b 1 2 6 1 40 1709251200 1709251260 ACCEPT OK extra", "line has 15 fields, the format has 14"),
        ("2 1 eni-1 a b 1  2 6 1 40 1709251200 1709251260 ACCEPT OK", "line has 15 fields, the format has 14"),
        ("v2 1 eni-1 a b 1 2 6 1 40 1709251200 1709251260 ACCEPT OK", "version 'v2' is not an integer"),
        ("2 1 eni-1 a b 1.5 2 6 1 40 1709251200 1709251260 ACCEPT OK", "srcport '1.5' is not an integer"),
        ("2 1 eni-1 a b 0x16 2 6 1 40 1709251200 1709251260 ACCEPT OK", "srcport '0x16' is not an integer"),
        ("2 1 eni-1 a b 022 2 6 1 40 1709251200 1709251260 ACCEPT OK", "srcport '022' is not a plain integer (sign or leading zeros)"),
        ("2 1 eni-1 a b +22 2 6 1 40 1709251200 1709251260 ACCEPT OK", "srcport '+22' is not a plain integer (sign or leading zeros)"),
        ("2 1 eni-1 a b 1 2 6 -3 40 1709251200 1709251260 ACCEPT OK", None),
        ("2 1 eni-1 a b 1 1e3 6 1 40 1709251200 1709251260 ACCEPT OK", "dstport '1e3' is not an integer"),
        ("2 1 eni-1 a b 1 99999999999 6 1 40 1709251200 1709251260 ACCEPT OK", "dstport '99999999999' is out of range"),
        ("2 1 eni-1 a b 1 2 tcp 1 40 1709251200 1709251260 ACCEPT OK", "protocol 'tcp' is not an integer"),
        ("2 1 eni-1 a b 1 2 6 ١ 40 1709251200 1709251260 ACCEPT OK", "packets '١' is not an integer"),
        ("2 1 eni-1 a b 1 2 6 1 " + "9" * 30 + " 1709251200 1709251260 ACCEPT OK", "bytes '" + "9" * 30 + "' is out of range"),
        ("2 1 eni-1 a b 1 2 6 1 40 1709251200.5 1709251260 ACCEPT OK", "start '1709251200.5' is not a unix time in seconds"),
        ("2 1 eni-1 a b 1 2 6 1 40 -1 1709251260 ACCEPT OK", "start '-1' is out of range (1970 to 2099)"),
        ("2 1 eni-1 a b 1 2 6 1 40 4102444800 1709251260 ACCEPT OK", "start '4102444800' is out of range (1970 to 2099)"),
        ("2 1 eni-1 a b 1 2 6 1 40 1709251200 soon ACCEPT OK", "end 'soon' is not a unix time in seconds"),
        ("2 1 eni-1 a b 1 2 6 1 40 - - ACCEPT OK", "start and end missing (-): the record has no date"),
        ("2 1 eni-1 a b 1 2 6 1 40 1709251200 1709251260 " + "x" * 100 + " OK", None),
        ("2 1 eni-1 a b 1 2 6 1 40 " + "7" * 100 + " 1709251260 ACCEPT OK", "start '" + "7" * 61 + "...' is not a unix time in seconds"),
    ],
)
def test_reasons(con, line, reason):
    (got,) = parse_lines(con, LOGTYPE, [line])
    assert got["reason"] == reason


def test_missing_start_falls_back_to_end(con):
    (got,) = parse_lines(con, LOGTYPE, ["2 1 eni-1 - - - - - - - - 1709251260 - NODATA"])
    assert got == row(1, version=2, account_id="1", interface_id="eni-1", end_time=ts(1709251260), log_status="NODATA",
                      event_date=dt.date(2024, 3, 1))


def test_dash_is_null_in_every_field(con):
    fmt = " ".join(ALL_FIELDS[:10] + ALL_FIELDS[12:]) + " end"  # everything but start, end last
    (got,) = parse_lines(con, LOGTYPE, ["- " * (len(ALL_FIELDS) - 2) + "1709251260"], fmt)
    assert got == row(1, end_time=ts(1709251260), event_date=dt.date(2024, 3, 1))


def test_repeated_and_unknown_fields_go_to_extra(con):
    (got,) = parse_lines(con, LOGTYPE, ["80 443 a 1709251200 b 8080"], "srcport dstport new-one start new-two srcport")
    assert got == row(1, srcport=80, dstport=443, start_time=ts(1709251200), event_date=dt.date(2024, 3, 1),
                      extra='{"new-one":"a","new-two":"b","srcport#6":"8080"}')


def test_a_format_without_start_or_end_dates_records_by_the_object_name(con):
    key = f"s3://logs/AWSLogs/{A}/vpcflowlogs/us-east-1/2024/03/01/{A}_vpcflowlogs_us-east-1_fl-0abc_20240301T2355Z_ab12.log.gz"
    hive = f"AWSLogs/aws-account-id={A}/aws-service=vpcflowlogs/aws-region=us-east-1/year=2024/month=02/day=29/x.log"
    assert parse_lines(con, LOGTYPE, ["10.0.0.1 ACCEPT"], "srcaddr action", source_object=key) == [
        row(1, srcaddr="10.0.0.1", action="ACCEPT", event_date=dt.date(2024, 3, 1))
    ]
    assert parse_lines(con, LOGTYPE, ["10.0.0.1 ACCEPT"], "srcaddr action", source_object=hive)[0]["event_date"] == dt.date(2024, 2, 29)
    (got,) = parse_lines(con, LOGTYPE, ["10.0.0.1 ACCEPT"], "srcaddr action", source_object="/tmp/flows.log")
    assert got["reason"] == "the format has no start or end field and the object name holds no date"


def test_event_date_is_the_utc_date_of_start(con):
    late = 1709337599  # 2024-03-01 23:59:59 UTC, 15:59 in the session's zone, 00:00 the next day in Tokyo
    (got,) = parse_lines(con, LOGTYPE, [f"2 1 eni-1 a b 1 2 6 1 40 {late} {late + 2} ACCEPT OK"])
    assert got["event_date"] == dt.date(2024, 3, 1) and got["start_time"] == ts(late)


# -- layouts and skips -------------------------------------------------------------------


def test_layout_plain_delivery():
    key = f"bucket/prefix/AWSLogs/{A}/vpcflowlogs/us-east-1/2024/03/01/{A}_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f60001_20240301T1205Z_8c7d6e5f.log.gz"
    assert LOGTYPE.layout(key) == Layout(account=A, region="us-east-1", resource="fl-0a1b2c3d4e5f60001",
                                         date=dt.date(2024, 3, 1), hour=12)
    hourly = f"AWSLogs/{A}/vpcflowlogs/us-east-1/2024/03/01/13/{A}_vpcflowlogs_us-east-1_fl-0abc_20240301T1305Z_aa.log.gz"
    assert LOGTYPE.layout(hourly) == Layout(A, "us-east-1", "fl-0abc", dt.date(2024, 3, 1), 13)


def test_layout_hive_delivery():
    assert LOGTYPE.layout(str(H1.relative_to(DATA))) == Layout(B, "eu-west-1", "fl-0fedcba9876543210", dt.date(2024, 3, 2), 10)
    daily = f"AWSLogs/aws-account-id={A}/aws-service=vpcflowlogs/aws-region=ap-south-1/year=2023/month=12/day=31/{A}_vpcflowlogs_ap-south-1_fl-0abc_20231231T2305Z_bb.log.gz"
    assert LOGTYPE.layout(daily) == Layout(A, "ap-south-1", "fl-0abc", dt.date(2023, 12, 31), 23)


def test_layout_from_the_file_name_alone_and_unknown_keys():
    assert LOGTYPE.layout(f"copies/{A}_vpcflowlogs_eu-central-1_fl-0abc_20240229T0005Z_cc.log") == Layout(
        A, "eu-central-1", "fl-0abc", dt.date(2024, 2, 29), 0
    )
    assert LOGTYPE.layout("flows/export.log") == Layout()
    assert LOGTYPE.layout(f"{A}_vpcflowlogs_us-east-1_fl-0abc_20241399T0005Z_cc.log") == Layout(A, "us-east-1", "fl-0abc", None, 0)


def test_skip_reason():
    ok = f"AWSLogs/{A}/vpcflowlogs/us-east-1/2024/03/01/{A}_vpcflowlogs_us-east-1_fl-0abc_20240301T0005Z_aa.log.gz"
    assert LOGTYPE.skip_reason(ok) is None
    assert LOGTYPE.skip_reason(str(H1)) is None
    assert LOGTYPE.skip_reason("exports/flows.log") is None
    assert "Parquet" in LOGTYPE.skip_reason(ok.replace(".log.gz", ".log.parquet"))
    assert LOGTYPE.skip_reason("exports/flows.json") == "JSON file, not a plain-text flow log"
    assert LOGTYPE.skip_reason(f"AWSLogs/{A}/CloudTrail-Digest/us-east-1/2024/03/01/x.gz") == (
        "in the AWSLogs folder of service 'CloudTrail-Digest', not vpcflowlogs"
    )
    assert LOGTYPE.skip_reason(f"AWSLogs/aws-account-id={A}/aws-service=elasticloadbalancing/x.log.gz") == (
        "in the AWSLogs folder of service 'elasticloadbalancing', not vpcflowlogs"
    )
    assert LOGTYPE.skip_reason(f"AWSLogs/{A}/elasticloadbalancing/us-east-1/2024/03/01/x.log.gz") is not None


def test_fixture_tree_skips():
    files = sorted(p for p in DATA.rglob("*") if p.is_file())
    skipped = {p.name for p in files if LOGTYPE.skip_reason(str(p.relative_to(DATA))) is not None}
    assert skipped == {
        f"{A}_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f60002_20240301T0005Z_9e8d7c6b.log.parquet",
        f"{A}_CloudTrail-Digest_us-east-1_trail_us-east-1_20240301T010000Z.json.gz",
    }


# -- rules -------------------------------------------------------------------------------

RULE_CASES = {
    # rule -> (a record that breaks it, as column overrides of a good record)
    "srcport_range": {"srcport": 70000},
    "dstport_range": {"dstport": -1},
    "protocol_range": {"protocol": 256},
    "action_value": {"action": "DROP"},
    "log_status_value": {"log_status": "PARTIAL"},
    "time_order": {"start_time": "2024-03-01 00:02:00+00"},
    "packets_non_negative": {"packets": -1},
    "bytes_non_negative": {"bytes": -5},
    "bytes_without_packets": {"packets": 0},
    "tcp_flags_range": {"tcp_flags": 512},
    "version_value": {"version": 1},
    "account_id_value": {"account_id": "12345"},
    "type_value": {"type": "ipv4"},
    "flow_direction_value": {"flow_direction": "inbound"},
    "traffic_path_range": {"traffic_path": 0},
    "nodata_without_flow": {"log_status": "NODATA"},
    "address_value": {"dstaddr": "not-an-ip"},
}


def test_rules(con):
    good = {
        "version": 5, "account_id": A, "srcaddr": "10.0.0.1", "dstaddr": "2001:db8::1", "srcport": 1, "dstport": 443,
        "protocol": 6, "packets": 2, "bytes": 80, "start_time": "2024-03-01 00:00:00+00", "end_time": "2024-03-01 00:01:00+00",
        "action": "ACCEPT", "log_status": "OK", "tcp_flags": 19, "type": "IPv4", "flow_direction": "egress", "traffic_path": 1,
    }
    assert sorted(r.name for r in LOGTYPE.rules) == sorted(RULE_CASES)
    types = dict(TABLE.columns)
    cols = parsed_columns(LOGTYPE)

    def select(values):
        parts = [
            f"CAST({'NULL' if values.get(c) is None else repr(values[c]) if isinstance(values[c], str) else values[c]} AS {types[c]}) AS \"{c}\""
            for c in cols
        ]
        return "SELECT " + ", ".join(parts)

    for rule in LOGTYPE.rules:
        broken = con.execute(f"SELECT coalesce(({rule.violation}), false) FROM ({select({**good, **RULE_CASES[rule.name]})})").fetchone()[0]
        clean = con.execute(f"SELECT coalesce(({rule.violation}), false) FROM ({select(good)})").fetchone()[0]
        nulls = con.execute(f"SELECT coalesce(({rule.violation}), false) FROM ({select({})})").fetchone()[0]
        assert (broken, clean, nulls) == (True, False, False), rule.name


# -- robustness --------------------------------------------------------------------------

FORMATS = {
    "default": DEFAULT_FORMAT,
    "v5": V5,
    "newest": NEWEST,
}
SAMPLES = {
    "default": read_fixture(P1)[1] + read_fixture(P2)[1],
    "v5": read_fixture(H1)[1],
    "newest": read_fixture(H2)[1],
}
WEIRD = st.sampled_from(["-", "", "9" * 40, "-9223372036854775809", "٣", "é", "∞", "1e9", "0x1f", "'", "\\", "\t", "NaN", "\x00"])


@st.composite
def mutated(draw):
    kind = draw(st.sampled_from(sorted(FORMATS)))
    line = draw(st.sampled_from(SAMPLES[kind]))
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["truncate", "insert", "delete", "swap", "replace"]))
        fields = line.split(" ")
        if op == "truncate":
            line = line[: draw(st.integers(0, len(line)))]
        elif op == "insert":
            at = draw(st.integers(0, len(line)))
            line = line[:at] + draw(st.text(min_size=1, max_size=3)) + line[at:]
        elif op == "delete" and line:
            at = draw(st.integers(0, len(line) - 1))
            line = line[:at] + line[at + 1 :]
        elif op == "swap" and len(fields) > 1:
            i, j = draw(st.integers(0, len(fields) - 1)), draw(st.integers(0, len(fields) - 1))
            fields[i], fields[j] = fields[j], fields[i]
            line = " ".join(fields)
        elif op == "replace":
            fields[draw(st.integers(0, len(fields) - 1))] = draw(WEIRD)
            line = " ".join(fields)
    return kind, line


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(mutated(), min_size=1, max_size=8))
def test_mutated_lines_never_break_the_parse(con, lines):
    for kind in FORMATS:
        batch = [line for k, line in lines if k == kind]
        if not batch:
            continue
        rows = parse_lines(con, LOGTYPE, batch, FORMATS[kind])
        assert [r["line_no"] for r in rows] == list(range(1, len(batch) + 1))
        for r in rows:
            assert r["reason"] is not None or r["event_date"] is not None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(st.text(max_size=200).map(lambda s: s.replace("\n", " ").replace("\r", " ")), min_size=1, max_size=8),
    fields=st.lists(st.sampled_from(ALL_FIELDS + ["odd-name", "x"]), min_size=1, max_size=12),
)
def test_random_text_never_breaks_the_parse(con, lines, fields):
    for fmt in (None, " ".join(fields)):
        rows = parse_lines(con, LOGTYPE, lines, fmt)
        assert len(rows) == len(lines)
        for r in rows:
            assert r["reason"] is not None or r["event_date"] is not None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(ALL_FIELDS), size=st.integers(1, len(ALL_FIELDS)))
def test_any_documented_field_set_in_any_order(con, order, size):
    """The same record written in any subset and order of fields parses to the same values."""
    fields = order[:size]
    (reference,) = parse(con, H2)[:1]
    full = dict(zip(NEWEST.split(), read_fixture(H2)[1][0].split(" ")))
    (got,) = parse_lines(con, LOGTYPE, [" ".join(full[f] for f in fields)], " ".join(fields), source_object=str(H2))
    columns = {FIELD: col for FIELD, col, _ in FIELDS}
    expected = {col: (reference[col] if f in fields else None) for f, col in columns.items()}
    assert {col: got[col] for col in expected} == expected
    assert got["reason"] is None and got["event_date"] == dt.date(2024, 3, 3)


# -- through the line ingest -------------------------------------------------------------


def test_ingest_and_reparse_the_fixture_tree(lake):
    from eventlake.sources.lines import ingest_lines, reparse

    stats = ingest_lines(lake, "vpc-flow", [str(DATA)])
    assert (stats.files_read, stats.files_skipped, stats.records_loaded, stats.records_quarantined) == (5, 2, 25, 3)

    def snapshot():
        con = lake.connect()
        try:
            return con.execute(
                "SELECT event_date, log_format, count(*), count(extra), sum(bytes), min(start_time), max(end_time) "
                "FROM vpc_flow_logs GROUP BY ALL ORDER BY ALL"
            ).fetchall()
        finally:
            con.close()

    before = snapshot()
    assert [(d, f, n) for d, f, n, *_ in before] == [
        (dt.date(2024, 3, 1), DEFAULT_FORMAT, 14),
        (dt.date(2024, 3, 2), DEFAULT_FORMAT, 4),
        (dt.date(2024, 3, 2), V5, 4),
        (dt.date(2024, 3, 3), NEWEST, 3),
    ]
    again = reparse(lake, "vpc-flow")
    assert (again.rows, again.loaded, again.quarantined) == (25, 25, 0)
    assert snapshot() == before
