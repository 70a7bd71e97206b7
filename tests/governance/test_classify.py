"""PII classification suggestions (governance/classify.py): the detectors, a table made
for the test, and the demo dataset."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from eventlake.cli import app
from eventlake.governance.classify import (
    apply,
    ips_in,
    is_card,
    is_email,
    is_free_text,
    is_ip,
    is_phone,
    name_evidence,
    suggest,
)
from eventlake.governance.groups import add_group
from eventlake.governance.store import column_policies
from eventlake.lake import Lake

DEMO_DAYS = 3
DEMO_SEED = 7
DEMO_END = "2026-03-15"  # fixed, so the sampled values are the same every day


@pytest.mark.parametrize("column, expected", [
    ("email", "email"), ("e_mail", "email"), ("mail", "email"), ("contactEmail", "email"),
    ("ip", "ip"), ("client_ip", "ip"), ("source_ip_address", "ip"), ("remote_ip", "ip"), ("srcaddr", "ip"),
    ("dstaddr", "ip"), ("c_ip", "ip"), ("x_forwarded_for", "ip"),
    ("first_name", "name"), ("user_name", "name"), ("name", "name"),
    ("phone", "phone"), ("msisdn", "phone"), ("mobile_phone", "phone"),
    ("card_number", "card"), ("pan", "card"),
    ("street", "address"), ("home_address", "address"),
    ("comment", "free_text"), ("error_message", "free_text"), ("note", "free_text"), ("title", "free_text"),
    ("user_id", "id"), ("anonymous_id", "id"),
])
def test_name_evidence(column, expected):
    assert name_evidence(column)[0] == expected


@pytest.mark.parametrize("column", ["message_id", "event_name", "bytes", "user_agent", "mac_address", "address_type", "shipping"])
def test_name_evidence_none(column):
    assert name_evidence(column) is None


def test_value_detectors():
    assert is_email("dana@example.com") and not is_email("dana@") and not is_email("arn:aws:iam::1:user/dana")
    assert is_ip("203.0.113.9") and is_ip("2001:db8::1") and not is_ip("lambda.amazonaws.com") and not is_ip("1.2.3")
    assert ips_in("GET / 203.0.113.9:443 -") and ips_in("from 2001:db8::1 on")
    assert not ips_in("Mozilla/5.0 Chrome/120.0.0.0 Safari/537.36")  # a version, not an address
    assert not ips_in("file_10.0.0.1_x.log.gz") and not ips_in("at 12:22:30 today")
    assert is_card("4111 1111 1111 1111") and is_card("5555-5555-5555-4444")
    assert not is_card("4111 1111 1111 1112")  # Luhn check fails
    assert not is_card("123456789012")  # an AWS account id: too short
    assert is_phone("+44 20 7946 0958") and is_phone("(415) 555-2671") and is_phone("+14155552671")
    assert not is_phone("4155552671")  # bare digits are ids more often than phones
    assert not is_phone("2026-11-26")
    assert is_free_text("The export failed because the disk was full again")
    assert not is_free_text("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)")
    assert not is_free_text("short note")


@pytest.fixture
def people(lake) -> Lake:
    """A table the classifier has never heard of, with PII in odd places."""
    con = lake.connect()
    con.execute(
        "CREATE TABLE lake.people (id INTEGER, contact VARCHAR, addr VARCHAR, tel VARCHAR, cc VARCHAR, doc JSON, "
        "remark VARCHAR, log VARCHAR, status VARCHAR, email VARCHAR)"
    )
    rows = []
    for i in range(40):
        rows.append((
            i, f"person{i}@example.org", f"198.51.100.{i}", f"+1 415 555 {2600 + i:04d}",
            "4111 1111 1111 1111" if i % 2 else "5555 5555 5555 4444",
            '{"who": {"mail": "p%d@example.net"}, "n": %d}' % (i, i),
            f"customer {i} asked us to call back later about the invoice",
            f"GET /index.html from 203.0.113.{i} status 200",
            "active" if i % 3 else "disabled",
            f"not-an-address-{i}",
        ))
    con.executemany("INSERT INTO lake.people VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.close()
    return lake


def test_suggest_from_values(people):
    found = {s.column: s for s in suggest(people, "people")}
    assert {c: (s.classification, s.suggested_mask) for c, s in found.items()} == {
        "contact": ("email", "hash"),
        "addr": ("ip", "hash"),
        "tel": ("phone", "last4"),
        "cc": ("card", "last4"),
        "doc": ("email", "null"),  # inside JSON: the document is nulled whole
        "remark": ("free_text", "redact"),
        "log": ("ip", "redact"),  # inside a longer string: redacted whole
        "email": ("email", "hash"),
    }
    assert found["contact"].confidence == 0.95 and found["contact"].reason == "email in 40/40 sampled values"
    assert found["addr"].reason == "ip in 40/40 sampled values"
    assert found["doc"].reason == "email inside 40/40 sampled values at $.who.mail"
    # the name says e-mail, no value is one: the confidence is halved
    assert found["email"].confidence == 0.35
    assert found["email"].reason == "name 'email' (email); but no email in 40 sampled values"
    assert found["remark"].confidence == 0.6 and found["remark"].reason == "prose in 40/40 sampled values"
    assert "id" not in found and "status" not in found  # a row number, a status word


def test_apply_writes_confident_suggestions(people):
    add_group(people, "pii_readers")
    done = apply(people, "people", suggest(people, "people"), except_groups=["pii_readers"])
    actions = {a.suggestion.column: a.action for a in done}
    assert actions == {"contact": "applied", "addr": "applied", "tel": "applied", "cc": "applied",
                       "doc": "applied", "remark": "below threshold", "log": "applied", "email": "below threshold"}
    pol = column_policies(people)["people"]
    assert {c: (p.classification, p.mask, p.updated_by) for c, p in pol.items()} == {
        "contact": ("email", "hash", "suggest"), "addr": ("ip", "hash", "suggest"), "tel": ("phone", "last4", "suggest"),
        "cc": ("card", "last4", "suggest"), "doc": ("email", "null", "suggest"), "log": ("ip", "redact", "suggest"),
    }
    assert pol["contact"].except_groups == frozenset({"pii_readers"})
    # a second run keeps what is there
    again = apply(people, "people", suggest(people, "people"))
    assert [a.action for a in again if a.action != "below threshold"] == ["kept"] * 6


# --- the demo dataset -----------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_lake(tmp_path_factory) -> Lake:
    """A few days of the demo dataset, loaded the way `make demo` does."""
    root = tmp_path_factory.mktemp("classify-demo")
    logs, lake = root / "logs", Lake(root / "lake")

    def cli(*args: str, check: bool = True) -> None:
        res = CliRunner().invoke(app, list(args))
        assert res.exit_code == 0 or not check, res.output

    cli("demo", "generate", "--out", str(logs), "--seed", str(DEMO_SEED), "--days", str(DEMO_DAYS), "--end-date", DEMO_END)
    cli("--lake", str(lake.path), "ingest", "cloudtrail", str(logs / "cloudtrail"))
    cli("--lake", str(lake.path), "ingest", "bi-metadata", str(logs / "quicksight"))
    for t in ("s3-access", "vpc-flow", "alb", "cloudfront"):
        # the demo's service logs hold a few damaged lines: quarantined, never fatal
        cli("--lake", str(lake.path), "ingest", t, str(logs / "service-logs" / t), check=False)
    cli("--lake", str(lake.path), "demo", "events", "--seed", str(DEMO_SEED), "--days", str(DEMO_DAYS), "--end-date", DEMO_END)
    return lake


def _found(lake, table):
    return {s.column: (s.classification, s.suggested_mask) for s in suggest(lake, table)}


def _confident(lake, table, threshold=0.7):
    return {s.column: (s.classification, s.suggested_mask) for s in suggest(lake, table) if s.confidence >= threshold}


def test_demo_service_logs(demo_lake):
    assert _confident(demo_lake, "s3_access_logs") == {"remote_ip": ("ip", "hash"), "raw_line": ("ip", "redact")}
    assert _confident(demo_lake, "vpc_flow_logs") == {
        "srcaddr": ("ip", "hash"), "dstaddr": ("ip", "hash"), "pkt_srcaddr": ("ip", "hash"), "pkt_dstaddr": ("ip", "hash"),
        "raw_line": ("ip", "redact")}
    assert _confident(demo_lake, "alb_logs") == {
        "client_ip": ("ip", "hash"), "target_ip": ("ip", "hash"), "target_port_list": ("ip", "redact"),
        "raw_line": ("ip", "redact")}
    assert _confident(demo_lake, "cloudfront_logs") == {
        "c_ip": ("ip", "hash"), "x_forwarded_for": ("ip", "hash"), "raw_line": ("ip", "redact")}
    # user agents, request ids and file names are not PII
    for table, column in [("s3_access_logs", "user_agent"), ("alb_logs", "user_agent"), ("cloudfront_logs", "cs_user_agent"),
                          ("alb_logs", "source_object"), ("vpc_flow_logs", "log_format"), ("s3_access_logs", "request_id")]:
        assert column not in _found(demo_lake, table), (table, column)


def test_demo_cloudtrail(demo_lake):
    found = {s.column: s for s in suggest(demo_lake, "cloudtrail_events")}
    assert (found["source_ip_address"].classification, found["source_ip_address"].suggested_mask) == ("ip", "hash")
    assert found["source_ip_address"].confidence >= 0.8  # some events come from AWS services, not addresses
    assert (found["error_message"].classification, found["error_message"].suggested_mask) == ("free_text", "redact")
    assert found["user_name"].classification == "name" and found["user_name"].confidence < 0.7
    # SAML users' e-mail addresses inside the JSON payloads
    assert found["user_identity"].classification == "email" and "$.userName" in found["user_identity"].reason
    assert "user_agent" not in found and "event_id" not in found and "request_id" not in found


def test_demo_events_and_users(demo_lake):
    assert _found(demo_lake, "users")["email"] == ("email", "hash")
    users = {s.column: s for s in suggest(demo_lake, "users")}
    assert users["email"].confidence == 0.98
    events = _found(demo_lake, "events")
    assert events["user_id"] == ("id", None) and events["anonymous_id"] == ("id", None)
    assert events["title"] == ("free_text", "redact")
    assert "message_id" not in events and "browser" not in events and "country" not in events


def test_demo_apply_cli(demo_lake):
    res = CliRunner().invoke(app, ["--lake", str(demo_lake.path), "policies", "suggest", "s3_access_logs", "--apply"])
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert lines[-3:] == [
        "s3_access_logs.remote_ip: classified ip, mask hash (confidence 0.98)",
        "s3_access_logs.raw_line: classified ip, mask redact (confidence 0.90)",
        "2 policies written",
    ]
    pol = column_policies(demo_lake)["s3_access_logs"]
    assert sorted((c, p.mask) for c, p in pol.items()) == [("raw_line", "redact"), ("remote_ip", "hash")]
