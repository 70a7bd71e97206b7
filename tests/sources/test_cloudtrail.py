"""The CloudTrail source: delivery layouts, normalized columns, skip rules, damage
and quarantine, idempotence, atomicity under kill, S3 over HTTP, and bounded memory
on a large file. Expected values are written out; ctgen only builds the input."""

from __future__ import annotations

import gzip
import hashlib
import json
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

import ctgen
from ctgen import ACCOUNT, ORG, OTHER_ACCOUNT
from eventlake.cli import app
from eventlake.errors import SourceError
from eventlake.lake import Lake
from eventlake.sources import cloudtrail
from eventlake.sources.cloudtrail import CloudTrailIngest, ingest

DATA = Path(__file__).resolve().parents[1] / "data" / "cloudtrail"


# -- helpers ---------------------------------------------------------------------

_READERS: dict[Path, object] = {}


@pytest.fixture(autouse=True)
def _close_readers():
    yield
    while _READERS:
        _READERS.popitem()[1].close()


def reader(lake: Lake):
    """A read-only connection to the lake, kept for the test (opening one costs ~0.2 s
    of extension loading); it sees every commit made since, by this process or another."""
    con = _READERS.get(lake.path)
    if con is None:
        con = _READERS[lake.path] = lake.connect(read_only=True)
    return con


def query(lake: Lake, sql: str, params: list | None = None) -> list[tuple]:
    return reader(lake).execute(sql, params or []).fetchall()


def partition_dirs(lake: Lake, table: str = "cloudtrail_events") -> list[str]:
    """The folder names of the table's data files, e.g. event_date=2024-03-01."""
    return sorted({Path(f.path).parent.name for f in lake.list_files(reader(lake), table)})


def scalar(lake: Lake, sql: str, params: list | None = None):
    return query(lake, sql, params)[0][0]


def event_ids(lake: Lake) -> list[str]:
    return [r[0] for r in query(lake, "SELECT event_id FROM cloudtrail_events ORDER BY event_id")]


def objects(lake: Lake) -> list[tuple]:
    """(uri, status, records, loaded, duplicates, quarantined) of every ingested_objects row."""
    return query(lake, "SELECT uri, status, records, loaded, duplicates, quarantined FROM ingested_objects ORDER BY uri, ingested_at")


def quarantine_rows(lake: Lake) -> list[tuple]:
    return query(lake, "SELECT source, source_object, position, reason FROM quarantine ORDER BY source_object, position")


def counts(stats) -> dict:
    """The counters of an IngestStats as a dict, for one literal comparison."""
    keys = ("files_read", "files_skipped", "files_unchanged", "files_failed",
            "records_read", "records_loaded", "records_duplicate", "records_quarantined")
    return {k: getattr(stats, k) for k in keys}


def expect(files_read=0, files_skipped=0, files_unchanged=0, files_failed=0,
           records_read=0, records_loaded=0, records_duplicate=0, records_quarantined=0) -> dict:
    return dict(locals())


def simples(n: int, prefix: str = "evt", day: str = "2024-03-01", start: int = 0) -> list[dict]:
    return [ctgen.simple(i, day=day, prefix=prefix) for i in range(start, start + n)]


def cli(lake_path: Path, *args: str):
    return CliRunner().invoke(app, ["--lake", str(lake_path), "ingest", "cloudtrail", *args])


def flat(text: str) -> str:
    """Output with line wrapping undone (rich wraps at the console width)."""
    return " ".join(text.split())


@pytest.fixture
def streamed(monkeypatch):
    """Force every file through the streamed (ijson) path, in chunks of 2 records."""
    monkeypatch.setattr(cloudtrail, "BIG_FILE", -1)
    monkeypatch.setattr(cloudtrail, "STREAM_CHUNK", 2)


# -- layouts ---------------------------------------------------------------------

def test_plain_trail_layout(tmp_path, lake):
    root = tmp_path / "logs"
    a = ctgen.write_log(root, simples(3, "east"), region="us-east-1", stamp="1015")
    b = ctgen.write_log(root, simples(2, "west", day="2024-03-02"), region="eu-west-1", day="2024-03-02", stamp="1020",
                        rand="ZyXwVuTs98765432")
    assert a.relative_to(root).as_posix() == (
        "AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/01/"
        "111122223333_CloudTrail_us-east-1_20240301T1015Z_AbCdEfGh12345678.json.gz"
    )

    stats = ingest(lake, [str(root)])

    assert counts(stats) == expect(files_read=2, records_read=5, records_loaded=5)
    assert stats.reconciles()
    assert stats.bytes_read == a.stat().st_size + b.stat().st_size
    assert query(lake, "SELECT source_object, count(*) FROM cloudtrail_events GROUP BY 1 ORDER BY 1") == [
        (str(b), 2), (str(a), 3)  # eu-west-1 sorts before us-east-1
    ]
    assert query(lake, "SELECT uri, status, records, loaded FROM ingested_objects ORDER BY uri") == [
        (str(b), "loaded", 2, 2), (str(a), "loaded", 3, 3)
    ]
    assert query(lake, "SELECT files_read, records_loaded FROM ingest_runs") == [(2, 5)]
    # partitioned by event date
    assert partition_dirs(lake) == ["event_date=2024-03-01", "event_date=2024-03-02"]


def test_organization_trail_layout(tmp_path, lake):
    root = tmp_path / "logs"
    p1 = ctgen.write_log(root, simples(2, "acct1"), org=ORG, account=ACCOUNT)
    p2 = ctgen.write_log(root, simples(3, "acct2"), org=ORG, account=OTHER_ACCOUNT, region="ap-south-1")
    assert p2.relative_to(root).as_posix().startswith(
        "AWSLogs/o-a1b2c3d4e5/444455556666/CloudTrail/ap-south-1/2024/03/01/444455556666_CloudTrail_ap-south-1_"
    )

    stats = ingest(lake, [str(root / "AWSLogs")])

    assert counts(stats) == expect(files_read=2, records_read=5, records_loaded=5)
    assert query(lake, "SELECT source_object, count(*) FROM cloudtrail_events GROUP BY 1 ORDER BY 1") == [
        (str(p1), 2), (str(p2), 3)
    ]


def test_plain_json_and_gz_side_by_side(tmp_path, lake):
    root = tmp_path / "logs"
    ctgen.write_log(root, simples(2, "gz"), stamp="1000")
    plain = ctgen.write_log(root, simples(3, "plain"), stamp="1005", gz=False)
    assert plain.name.endswith("_AbCdEfGh12345678.json")

    stats = ingest(lake, [str(root)])

    assert counts(stats) == expect(files_read=2, records_read=5, records_loaded=5)
    assert event_ids(lake) == ["gz-000000", "gz-000001", "plain-000000", "plain-000001", "plain-000002"]


def test_content_not_the_name_decides_compression(tmp_path, lake):
    """Copies sometimes lose or gain the .gz: a gzip file named .json and a plain file
    named .json.gz both load."""
    root = tmp_path / "logs"
    ctgen.write(root, ctgen.log_key(ACCOUNT, "us-east-1", "2024-03-01", stamp="1000", gz=False),
                ctgen.log_bytes(simples(2, "gzjson"), gz=True))
    ctgen.write(root, ctgen.log_key(ACCOUNT, "us-east-1", "2024-03-01", stamp="1005", gz=True),
                ctgen.log_bytes(simples(3, "plaingz"), gz=False))

    stats = ingest(lake, [str(root)])

    assert counts(stats) == expect(files_read=2, records_read=5, records_loaded=5)
    assert len(event_ids(lake)) == 5


def test_nested_folders_are_walked_and_other_files_skipped(tmp_path, lake):
    root = tmp_path / "bucket-copy"
    for i, day in enumerate(["2024-01-31", "2024-02-01", "2024-02-29", "2024-03-01"]):
        ctgen.write_log(root, simples(1, f"d{i}", day=day), day=day, region=["us-east-1", "eu-west-1"][i % 2])
    (root / "AWSLogs" / "README.txt").write_text("not a log")
    (root / "AWSLogs" / ACCOUNT / "CloudTrail" / "us-east-1" / "2024" / "manifest.csv").write_text("a,b\n")

    stats = ingest(lake, [str(root)])

    assert counts(stats) == expect(files_read=4, files_skipped=2, records_read=4, records_loaded=4)
    assert stats.skip_reasons == {"not a log file": 2}
    assert query(lake, "SELECT CAST(event_date AS VARCHAR), event_id FROM cloudtrail_events ORDER BY 1") == [
        ("2024-01-31", "d0-000000"), ("2024-02-01", "d1-000000"), ("2024-02-29", "d2-000000"), ("2024-03-01", "d3-000000")
    ]


def test_single_file_as_location(tmp_path, lake):
    root = tmp_path / "logs"
    one = ctgen.write_log(root, simples(2, "one"), stamp="1000")
    ctgen.write_log(root, simples(5, "other"), stamp="1100")

    stats = ingest(lake, [str(one)])

    assert counts(stats) == expect(files_read=1, records_read=2, records_loaded=2)
    assert query(lake, "SELECT DISTINCT source_object FROM cloudtrail_events") == [(str(one),)]


def test_several_locations_in_one_run_and_overlaps_counted_once(tmp_path, lake):
    a = ctgen.write_log(tmp_path / "a", simples(2, "a"))
    b = ctgen.write_log(tmp_path / "b", simples(3, "b"), org=ORG)

    # `a` is named twice: as a folder and as the file inside it.
    stats = ingest(lake, [str(tmp_path / "a"), str(tmp_path / "b"), str(a)])

    assert counts(stats) == expect(files_read=2, records_read=5, records_loaded=5)
    assert query(lake, "SELECT uri FROM ingested_objects ORDER BY 1") == [(str(a),), (str(b),)]


def test_relative_location_is_recorded_as_an_absolute_uri(tmp_path, lake, monkeypatch):
    """The same folder named as `logs`, `./logs/` or by its absolute path is one
    set of objects: the second run finds everything unchanged."""
    p = ctgen.write_log(tmp_path / "logs", simples(2))
    monkeypatch.chdir(tmp_path)

    first = ingest(lake, ["logs"])
    second = ingest(lake, ["./logs/"])
    third = ingest(lake, [str(tmp_path / "logs")])

    assert counts(first) == expect(files_read=1, records_read=2, records_loaded=2)
    assert counts(second) == expect(files_unchanged=1)
    assert counts(third) == expect(files_unchanged=1)
    assert query(lake, "SELECT DISTINCT source_object FROM cloudtrail_events") == [(str(p),)]


def test_missing_location_is_a_clear_error(tmp_path, lake):
    with pytest.raises(SourceError, match="no such file or directory"):
        ingest(lake, [str(tmp_path / "nope")])


# -- normalized columns ----------------------------------------------------------

COLUMNS = (
    "event_id", "event_time", "event_date", "event_version", "event_source", "event_name", "aws_region",
    "recipient_account_id", "user_type", "user_name", "principal_id", "principal_arn", "account_id",
    "access_key_id", "session_issuer_type", "session_issuer_arn", "session_issuer_user_name",
    "session_mfa_authenticated", "invoked_by", "source_ip_address", "user_agent", "error_code",
    "error_message", "read_only", "management_event", "event_type", "event_category", "request_id",
    "shared_event_id", "vpc_endpoint_id", "user_identity", "request_parameters", "response_elements",
    "additional_event_data", "service_event_details", "resources", "tls_details", "source_object",
)
JSON_COLUMNS = ("user_identity", "request_parameters", "response_elements", "additional_event_data",
                "service_event_details", "resources", "tls_details")


def row(**cols) -> dict:
    """An expected row: every column not named is NULL."""
    unknown = set(cols) - set(COLUMNS)
    assert not unknown, unknown
    return {c: cols.get(c) for c in COLUMNS}


def fetch_rows(lake: Lake) -> dict[str, dict]:
    sel = ", ".join(
        f"CAST({c} AS VARCHAR)" if c in ("event_time", "event_date") or c in JSON_COLUMNS else c for c in COLUMNS
    )
    out = {}
    for r in query(lake, f"SELECT {sel} FROM cloudtrail_events"):
        d = dict(zip(COLUMNS, r))
        for c in JSON_COLUMNS:
            d[c] = None if d[c] is None else json.loads(d[c])
        out[d["event_id"]] = d
    return out


@pytest.mark.parametrize("path_mode", ["whole", "streamed"])
def test_every_normalized_column(tmp_path, lake, path_mode, request):
    if path_mode == "streamed":
        request.getfixturevalue("streamed")
    recs = [ctgen.iam_user(), ctgen.assumed_role(), ctgen.saml_user(), ctgen.aws_service(), ctgen.root_user(),
            ctgen.console_login(), ctgen.access_denied()]
    f = ctgen.write_log(tmp_path / "logs", recs)
    src = str(f)

    stats = ingest(lake, [str(tmp_path / "logs")])
    assert counts(stats) == expect(files_read=1, records_read=7, records_loaded=7)

    got = fetch_rows(lake)
    expected = {
        "0b0a6c1e-0000-4000-8000-000000000001": row(
            event_id="0b0a6c1e-0000-4000-8000-000000000001", event_time="2024-03-01 10:15:30+00",
            event_date="2024-03-01", event_version="1.08", event_source="quicksight.amazonaws.com",
            event_name="DescribeDashboard", aws_region="us-east-1", recipient_account_id="111122223333",
            user_type="IAMUser", user_name="alice", principal_id="AIDAEXAMPLEALICE0001",
            principal_arn="arn:aws:iam::111122223333:user/alice", account_id="111122223333",
            access_key_id="AKIAEXAMPLEKEY00001", source_ip_address="198.51.100.7",
            user_agent="aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64", read_only=True,
            management_event=True, event_type="AwsApiCall", event_category="Management",
            request_id="6f1d2c3b-aaaa-4bbb-8ccc-000000000001",
            user_identity={"type": "IAMUser", "principalId": "AIDAEXAMPLEALICE0001",
                           "arn": "arn:aws:iam::111122223333:user/alice", "accountId": "111122223333",
                           "accessKeyId": "AKIAEXAMPLEKEY00001", "userName": "alice"},
            request_parameters={"awsAccountId": "111122223333", "dashboardId": "d-sales-2024"},
            tls_details={"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                         "clientProvidedHostHeader": "quicksight.us-east-1.amazonaws.com"},
            source_object=src,
        ),
        "0b0a6c1e-0000-4000-8000-000000000002": row(
            event_id="0b0a6c1e-0000-4000-8000-000000000002", event_time="2024-03-01 23:59:59+00",
            event_date="2024-03-01", event_version="1.09", event_source="quicksight.amazonaws.com",
            event_name="GetDashboard", aws_region="eu-west-1", recipient_account_id="111122223333",
            user_type="AssumedRole", user_name="bob@example.com",
            principal_id="AROAEXAMPLEROLE00001:bob@example.com",
            principal_arn="arn:aws:sts::111122223333:assumed-role/BIReaders/bob@example.com",
            account_id="111122223333", access_key_id="ASIAEXAMPLESESSION01", session_issuer_type="Role",
            session_issuer_arn="arn:aws:iam::111122223333:role/BIReaders", session_issuer_user_name="BIReaders",
            session_mfa_authenticated=True, source_ip_address="203.0.113.25",
            user_agent="Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15",
            read_only=True, management_event=True, event_type="AwsServiceEvent", event_category="Management",
            user_identity=ctgen.assumed_role()["userIdentity"],
            service_event_details={
                "eventRequestDetails": {"dashboardId": "arn:aws:quicksight:eu-west-1:111122223333:dashboard/d-sales-2024"},
                "eventResponseDetails": {"dashboardDetails": {"dashboardName": "Sales 2024", "dashboardId": "d-sales-2024"}},
            },
            source_object=src,
        ),
        "0b0a6c1e-0000-4000-8000-000000000003": row(
            # -02:00 offset: stored in UTC, which moves it to the next day
            event_id="0b0a6c1e-0000-4000-8000-000000000003", event_time="2024-03-01 00:05:00+00",
            event_date="2024-03-01", event_version="1.08", event_source="sts.amazonaws.com",
            event_name="AssumeRoleWithSAML", aws_region="us-east-1", recipient_account_id="111122223333",
            user_type="SAMLUser", user_name="carol@example.com", principal_id="EXAMPLEHASH0001=:carol@example.com",
            source_ip_address="192.0.2.44", user_agent="aws-internal/3", read_only=False, management_event=True,
            event_type="AwsApiCall", event_category="Management", request_id="6f1d2c3b-aaaa-4bbb-8ccc-000000000003",
            user_identity={"type": "SAMLUser", "principalId": "EXAMPLEHASH0001=:carol@example.com",
                           "userName": "carol@example.com", "identityProvider": "EXAMPLEHASH0001="},
            request_parameters={"sAMLAssertionID": "_a1b2c3", "roleSessionName": "carol@example.com",
                                "principalArn": "arn:aws:iam::111122223333:saml-provider/Okta",
                                "roleArn": "arn:aws:iam::111122223333:role/BIReaders", "durationSeconds": 3600},
            response_elements=ctgen.saml_user()["responseElements"],
            resources=[
                {"ARN": "arn:aws:iam::111122223333:role/BIReaders", "accountId": "111122223333", "type": "AWS::IAM::Role"},
                {"ARN": "arn:aws:iam::111122223333:saml-provider/Okta", "accountId": "111122223333",
                 "type": "AWS::IAM::SAMLProvider"},
            ],
            source_object=src,
        ),
        "0b0a6c1e-0000-4000-8000-000000000004": row(
            event_id="0b0a6c1e-0000-4000-8000-000000000004", event_time="2024-03-01 00:00:00.123+00",
            event_date="2024-03-01", event_version="1.08", event_source="kms.amazonaws.com", event_name="Decrypt",
            aws_region="us-east-1", recipient_account_id="111122223333", user_type="AWSService",
            invoked_by="quicksight.amazonaws.com", source_ip_address="quicksight.amazonaws.com",
            user_agent="quicksight.amazonaws.com", read_only=True, management_event=True, event_type="AwsApiCall",
            event_category="Management", request_id="6f1d2c3b-aaaa-4bbb-8ccc-000000000004",
            shared_event_id="5a5a5a5a-bbbb-4ccc-8ddd-000000000004",
            user_identity={"type": "AWSService", "invokedBy": "quicksight.amazonaws.com"},
            request_parameters={"encryptionAlgorithm": "SYMMETRIC_DEFAULT"},
            resources=[{"accountId": "111122223333", "type": "AWS::KMS::Key",
                        "ARN": "arn:aws:kms:us-east-1:111122223333:key/k-1"}],
            source_object=src,
        ),
        "0b0a6c1e-0000-4000-8000-000000000005": row(
            event_id="0b0a6c1e-0000-4000-8000-000000000005", event_time="2024-03-01 11:02:03+00",
            event_date="2024-03-01", event_version="1.08", event_source="quicksight.amazonaws.com",
            event_name="UpdateAccountSettings", aws_region="us-east-1", recipient_account_id="111122223333",
            user_type="Root", user_name=None, principal_id="111122223333", principal_arn="arn:aws:iam::111122223333:root",
            account_id="111122223333", access_key_id="ASIAEXAMPLEROOT0001", session_mfa_authenticated=False,
            source_ip_address="198.51.100.99", user_agent="console.amazonaws.com", read_only=False,
            management_event=True, event_type="AwsApiCall", event_category="Management",
            request_id="6f1d2c3b-aaaa-4bbb-8ccc-000000000005", user_identity=ctgen.root_user()["userIdentity"],
            request_parameters={"awsAccountId": "111122223333", "defaultNamespace": "default"},
            response_elements={"status": 200, "requestId": "r-5"},
            source_object=src,
        ),
        "0b0a6c1e-0000-4000-8000-000000000006": row(
            event_id="0b0a6c1e-0000-4000-8000-000000000006", event_time="2024-03-02 07:00:00+00",
            event_date="2024-03-02", event_version="1.08", event_source="signin.amazonaws.com",
            event_name="ConsoleLogin", aws_region="us-east-1", recipient_account_id="111122223333",
            user_type="IAMUser", user_name="dave", principal_id="AIDAEXAMPLEDAVE0001",
            principal_arn="arn:aws:iam::111122223333:user/dave", account_id="111122223333",
            source_ip_address="203.0.113.80",
            user_agent="Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0",
            read_only=False, management_event=True, event_type="AwsConsoleSignIn", event_category="Management",
            user_identity=ctgen.console_login()["userIdentity"],
            response_elements={"ConsoleLogin": "Success"},
            additional_event_data={"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No",
                                   "MFAUsed": "Yes"},
            source_object=src,
        ),
        "0b0a6c1e-0000-4000-8000-000000000007": row(
            event_id="0b0a6c1e-0000-4000-8000-000000000007", event_time="2024-03-01 12:30:00+00",
            event_date="2024-03-01", event_version="1.08", event_source="quicksight.amazonaws.com",
            event_name="DeleteDataSet", aws_region="us-east-1", recipient_account_id="111122223333",
            user_type="AssumedRole", user_name="etl-job", principal_id="AROAEXAMPLEROLE00002:etl-job",
            principal_arn="arn:aws:sts::111122223333:assumed-role/etl/etl-job", account_id="111122223333",
            access_key_id="ASIAEXAMPLEETL00001", session_issuer_type="Role",
            session_issuer_arn="arn:aws:iam::111122223333:role/etl", session_issuer_user_name="etl",
            session_mfa_authenticated=False, source_ip_address="10.0.3.17",
            user_agent="Boto3/1.34.0 md/Botocore#1.34.0", error_code="AccessDenied",
            error_message="User: arn:aws:sts::111122223333:assumed-role/etl/etl-job is not authorized to perform: quicksight:DeleteDataSet",
            read_only=False, management_event=True, event_type="AwsApiCall", event_category="Management",
            request_id="6f1d2c3b-aaaa-4bbb-8ccc-000000000007", vpc_endpoint_id="vpce-0a1b2c3d",
            user_identity=ctgen.access_denied()["userIdentity"],
            request_parameters={"awsAccountId": "111122223333", "dataSetId": "ds-orders"},
            source_object=src,
        ),
    }
    assert sorted(got) == sorted(expected)
    for eid, want in expected.items():
        assert got[eid] == want, eid
    # irregular payloads are JSON-typed columns, times are UTC timestamps
    assert query(lake, "SELECT DISTINCT typeof(request_parameters), typeof(user_identity), typeof(event_time), "
                       "typeof(event_date), typeof(read_only) FROM cloudtrail_events") == [
        ("JSON", "JSON", "TIMESTAMP WITH TIME ZONE", "DATE", "BOOLEAN")
    ]
    # JSON functions work on the payloads (how insights read dashboard ids)
    assert query(lake, "SELECT service_event_details->>'$.eventResponseDetails.dashboardDetails.dashboardName' "
                       "FROM cloudtrail_events WHERE event_name = 'GetDashboard'") == [("Sales 2024",)]


def test_user_name_rule(tmp_path, lake):
    recs = [
        # userName wins over the ARN
        ctgen.iam_user("u1", userIdentity={"type": "IAMUser", "userName": "alice",
                                           "arn": "arn:aws:iam::111122223333:user/path/alice"}),
        # no userName: session name from an assumed-role ARN (any partition)
        ctgen.iam_user("u2", userIdentity={"type": "AssumedRole",
                                           "arn": "arn:aws-us-gov:sts::111122223333:assumed-role/Admin/jane.doe"}),
        # empty userName counts as missing
        ctgen.iam_user("u3", userIdentity={"type": "AssumedRole", "userName": "",
                                           "arn": "arn:aws:sts::111122223333:assumed-role/Reader/sess-1"}),
        # not an assumed role, no userName: NULL
        ctgen.iam_user("u4", userIdentity={"type": "Root", "arn": "arn:aws:iam::111122223333:root"}),
        ctgen.iam_user("u5", userIdentity={"type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"}),
        ctgen.iam_user("u6", userIdentity={"type": "FederatedUser",
                                           "arn": "arn:aws:sts::111122223333:federated-user/Bob"}),
        ctgen.iam_user("u7", userIdentity=None),
    ]
    ctgen.write_log(tmp_path / "logs", recs)
    ingest(lake, [str(tmp_path / "logs")])
    assert query(lake, "SELECT event_id, user_type, user_name FROM cloudtrail_events ORDER BY 1") == [
        ("u1", "IAMUser", "alice"),
        ("u2", "AssumedRole", "jane.doe"),
        ("u3", "AssumedRole", "sess-1"),
        ("u4", "Root", None),
        ("u5", "AWSService", None),
        ("u6", "FederatedUser", None),
        ("u7", None, None),
    ]


@pytest.mark.parametrize("path_mode", ["whole", "streamed"])
def test_schema_drift_in_payloads_and_flags(tmp_path, lake, path_mode, request):
    """requestParameters an object, then a string, then null, an array, a number; flags
    as booleans or strings; a scalar field holding an object. All load."""
    if path_mode == "streamed":
        request.getfixturevalue("streamed")
    f1 = [
        ctgen.iam_user("d1", requestParameters={"dashboardId": "d-1"}, readOnly=True),
        ctgen.iam_user("d2", requestParameters="dashboardId=d-2", readOnly="true"),
        ctgen.iam_user("d3", requestParameters=None, readOnly=False),
    ]
    f2 = [
        ctgen.iam_user("d4", requestParameters=["a", 1], readOnly="false", managementEvent="TRUE"),
        ctgen.iam_user("d5", requestParameters=42, additionalEventData="plain text"),
        ctgen.iam_user("d6", userAgent={"unexpected": "object"}, responseElements={"nested": {"deep": [1, {"x": None}]}}),
    ]
    for r in (f2[1], f2[2]):
        r.pop("readOnly")
    ctgen.write_log(tmp_path / "logs", f1, stamp="1000")
    ctgen.write_log(tmp_path / "logs", f2, stamp="1005")

    stats = ingest(lake, [str(tmp_path / "logs")])

    assert counts(stats) == expect(files_read=2, records_read=6, records_loaded=6)
    rows = query(lake, "SELECT event_id, CAST(request_parameters AS VARCHAR), read_only, management_event, "
                       "CAST(additional_event_data AS VARCHAR), user_agent, CAST(response_elements AS VARCHAR) "
                       "FROM cloudtrail_events ORDER BY 1")
    assert [(r[0], None if r[1] is None else json.loads(r[1]), r[2], r[3]) for r in rows] == [
        ("d1", {"dashboardId": "d-1"}, True, True),
        ("d2", "dashboardId=d-2", True, True),
        ("d3", None, False, True),
        ("d4", ["a", 1], False, True),
        ("d5", 42, None, True),
        ("d6", {"dashboardId": "d-sales-2024", "awsAccountId": ACCOUNT}, None, True),
    ]
    assert json.loads(rows[4][4]) == "plain text"
    assert json.loads(rows[5][5]) == {"unexpected": "object"}
    assert json.loads(rows[5][6]) == {"nested": {"deep": [1, {"x": None}]}}


# -- skipped by rule, empty and non-log files ------------------------------------

def test_digest_and_insight_files_are_skipped_and_counted(tmp_path, lake):
    root = tmp_path / "logs"
    ctgen.write_log(root, simples(2))
    ctgen.write(root, ctgen.digest_key(ACCOUNT, "us-east-1", "2024-03-01"), ctgen.digest_bytes())
    ctgen.write(root, ctgen.digest_key(ACCOUNT, "eu-west-1", "2024-03-01", org=ORG), ctgen.digest_bytes())
    ctgen.write(root, ctgen.insight_key(ACCOUNT, "us-east-1", "2024-03-01"), ctgen.insight_bytes())

    stats = ingest(lake, [str(root)])

    assert counts(stats) == expect(files_read=1, files_skipped=3, records_read=2, records_loaded=2)
    assert stats.skip_reasons == {"digest": 2, "insight": 1}
    assert "3 skipped by rule (2 digest, 1 insight)" in stats.summary()
    assert query(lake, "SELECT files_read, files_skipped, records_loaded FROM ingest_runs") == [(1, 3, 2)]
    assert scalar(lake, "SELECT count(*) FROM quarantine") == 0


def test_digest_file_named_as_location_is_still_skipped(tmp_path, lake):
    p = ctgen.write(tmp_path, ctgen.digest_key(ACCOUNT, "us-east-1", "2024-03-01"), ctgen.digest_bytes())
    stats = ingest(lake, [str(p)])
    assert counts(stats) == expect(files_skipped=1)
    assert stats.skip_reasons == {"digest": 1}


@pytest.mark.parametrize("gz", [True, False])
def test_empty_records_file_counts_as_read(tmp_path, lake, gz):
    p = ctgen.write_log(tmp_path / "logs", [], gz=gz)
    stats = ingest(lake, [str(tmp_path / "logs")])
    assert counts(stats) == expect(files_read=1)
    assert objects(lake) == [(str(p), "loaded", 0, 0, 0, 0)]
    assert scalar(lake, "SELECT count(*) FROM quarantine") == 0
    # and it is not read again
    assert counts(ingest(lake, [str(tmp_path / "logs")])) == expect(files_unchanged=1)


NOT_A_LOG = "no Records array at the top level: not a CloudTrail log file"


@pytest.mark.parametrize(
    "content, gz",
    [
        pytest.param(b'{"eventVersion": "1.08", "eventID": "x"}', True, id="object-without-Records"),
        pytest.param(b"{}", True, id="empty-object"),
        pytest.param(b'{"Records": "not a list"}', True, id="Records-is-a-string"),
        pytest.param(b'{"Records": {"eventID": "x"}}', False, id="Records-is-an-object"),
        pytest.param(b"[]", False, id="top-level-array"),
        pytest.param(b"[1, 2]", True, id="top-level-array-of-numbers"),
        pytest.param(b"", True, id="gzip-of-nothing"),
        pytest.param(b"  \n", False, id="blank-json-file"),
    ],
)
def test_file_that_is_not_a_cloudtrail_log_is_quarantined(tmp_path, lake, content, gz):
    root = tmp_path / "logs"
    bad = ctgen.write(root, ctgen.log_key(ACCOUNT, "us-east-1", "2024-03-01", stamp="1000", gz=gz),
                      gzip.compress(content, mtime=0) if gz else content)
    good = ctgen.write_log(root, simples(2), stamp="1005")

    stats = ingest(lake, [str(root)])

    assert counts(stats) == expect(files_read=2, files_failed=1, records_read=3, records_loaded=2,
                                   records_quarantined=1)
    q = quarantine_rows(lake)
    assert len(q) == 1
    assert q == [("cloudtrail", str(bad), "file", NOT_A_LOG)]
    assert objects(lake) == [(str(bad), "failed", 1, 0, 0, 1), (str(good), "loaded", 2, 2, 0, 0)]


def test_static_fixture_without_records_is_quarantined(tmp_path, lake):
    stats = ingest(lake, [str(DATA / "not_a_trail.json")])
    assert counts(stats) == expect(files_read=1, files_failed=1, records_read=1, records_quarantined=1)
    assert quarantine_rows(lake) == [("cloudtrail", str(DATA / "not_a_trail.json"), "file", NOT_A_LOG)]


# -- damage: quarantined with file, position and reason; the good still loads ------

def _gz(obj) -> bytes:
    return gzip.compress(json.dumps(obj).encode(), mtime=0)


def _cut_json(records: list[dict], keep_complete: int) -> bytes:
    """The JSON text of {"Records": records} cut in the middle of record `keep_complete`."""
    text = json.dumps({"Records": records})
    head = json.dumps({"Records": records[:keep_complete + 1]})
    last = json.dumps(records[keep_complete])
    cut = len(head) - 2 - len(last) // 2  # halfway through that record
    assert text.startswith(head[:cut])
    return text[:cut].encode()


def _no(field: str, **over) -> dict:
    r = ctgen.simple(2)
    r.pop(field)
    r.update(over)
    return r


DAMAGE = {
    # name: (file bytes, quarantine (position, reason), loaded event ids of the damaged file)
    "no-eventTime": (
        _gz({"Records": [*simples(2), _no("eventTime"), *simples(2, start=3)]}),
        [("record 2", "record has no eventTime")],
        ["evt-000000", "evt-000001", "evt-000003", "evt-000004"],
    ),
    "no-eventID": (
        _gz({"Records": [*simples(2), _no("eventID"), *simples(2, start=3)]}),
        [("record 2", "record has no eventID")],
        ["evt-000000", "evt-000001", "evt-000003", "evt-000004"],
    ),
    "empty-eventID": (
        _gz({"Records": [*simples(2), ctgen.simple(2) | {"eventID": ""}, *simples(2, start=3)]}),
        [("record 2", "record has no eventID")],
        ["evt-000000", "evt-000001", "evt-000003", "evt-000004"],
    ),
    "bad-eventTime": (
        _gz({"Records": [*simples(2), ctgen.simple(2) | {"eventTime": "yesterday 10:15"}, *simples(2, start=3)]}),
        [("record 2", "eventTime yesterday 10:15 is not an ISO-8601 timestamp")],
        ["evt-000000", "evt-000001", "evt-000003", "evt-000004"],
    ),
    "impossible-eventTime": (
        _gz({"Records": [*simples(2), ctgen.simple(2) | {"eventTime": "2024-02-30T10:00:00Z"}]}),
        [("record 2", "eventTime 2024-02-30T10:00:00Z is not an ISO-8601 timestamp")],
        ["evt-000000", "evt-000001"],
    ),
    "null-record": (
        _gz({"Records": [*simples(2), None, *simples(2, start=3)]}),
        [("record 2", "record is not a JSON object")],
        ["evt-000000", "evt-000001", "evt-000003", "evt-000004"],
    ),
    "string-record": (
        _gz({"Records": [*simples(2), "oops", *simples(2, start=3)]}),
        [("record 2", "record is a JSON str, not an object")],
        ["evt-000000", "evt-000001", "evt-000003", "evt-000004"],
    ),
    "number-and-later-bad-record": (
        # positions are indexes in the file, counting the non-object record
        _gz({"Records": [ctgen.simple(0), 42, ctgen.simple(2), _no("eventTime"), ctgen.simple(4)]}),
        [("record 1", "record is a JSON int, not an object"), ("record 3", "record has no eventTime")],
        ["evt-000000", "evt-000002", "evt-000004"],
    ),
    "truncated-json": (
        gzip.compress(_cut_json(simples(6), keep_complete=3), mtime=0),
        [("record 3 (after 3 complete records)", "truncated or invalid JSON: ")],
        ["evt-000000", "evt-000001", "evt-000002"],
    ),
    "corrupt-gzip": (
        # a gzip header followed by an invalid deflate block
        _gz({"Records": simples(5)})[:10] + b"\xff" * 64,
        [("record 0 (after 0 complete records)", "corrupt or truncated gzip: ")],
        [],
    ),
    "not-gzip-at-all": (
        b"PK\x03\x04 this is a zip file, not gzip",
        [("record 0 (after 0 complete records)", "truncated or invalid JSON: ")],
        [],
    ),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_damage_is_quarantined_and_good_records_load(tmp_path, lake, case):
    data, want_q, want_loaded = DAMAGE[case]
    root = tmp_path / "logs"
    bad = ctgen.write(root, ctgen.log_key(ACCOUNT, "us-east-1", "2024-03-01", stamp="1000"), data)
    good = ctgen.write_log(root, simples(3, "ok"), stamp="1005")

    stats = ingest(lake, [str(root)])

    q = quarantine_rows(lake)
    assert [(src, pos) for _, src, pos, _ in q] == [(str(bad), pos) for pos, _ in want_q]
    for (_, _, _, reason), (_, want_reason) in zip(q, want_q):
        if want_reason.endswith(": "):
            assert reason.startswith(want_reason) and len(reason) > len(want_reason), reason
        else:
            assert reason == want_reason
    assert event_ids(lake) == sorted(want_loaded + ["ok-000000", "ok-000001", "ok-000002"])
    file_level = "(after" in want_q[0][0]  # the file is damaged, not just a record
    assert counts(stats) == expect(
        files_read=2, files_failed=1 if file_level else 0,
        records_read=len(want_loaded) + 3 + len(want_q), records_loaded=len(want_loaded) + 3,
        records_quarantined=len(want_q),
    )
    assert stats.reconciles()
    assert objects(lake) == [
        (str(bad), "failed" if file_level else "loaded", len(want_loaded) + len(want_q), len(want_loaded), 0, len(want_q)),
        (str(good), "loaded", 3, 3, 0, 0),
    ]
    # the problem lines name the file, the position and the reason
    assert sorted(p.split(": ", 1)[0] for p in stats.problems) == [f"{bad} at {pos}" for pos, _ in want_q]


def test_quarantine_keeps_the_raw_record(tmp_path, lake):
    ctgen.write_log(tmp_path / "logs", [ctgen.simple(0), _no("eventTime", eventID="no-time-1")])
    ingest(lake, [str(tmp_path / "logs")])
    (raw,) = query(lake, "SELECT raw FROM quarantine")[0]
    assert json.loads(raw)["eventID"] == "no-time-1"


def test_truncated_gzip_stream_loads_the_records_before_the_cut(tmp_path, lake):
    records = simples(400)
    for r in records:  # incompressible-ish payload so the cut lands mid-file
        r["requestID"] = hashlib.sha256(r["eventID"].encode()).hexdigest()
    full = _gz({"Records": records})
    root = tmp_path / "logs"
    bad = ctgen.write(root, ctgen.log_key(ACCOUNT, "us-east-1", "2024-03-01", stamp="1000"), full[: len(full) // 2])
    ctgen.write_log(root, simples(3, "ok"), stamp="1005")

    stats = ingest(lake, [str(root)])

    loaded = [e for e in event_ids(lake) if e.startswith("evt-")]
    k = len(loaded)
    assert 50 < k < 400
    assert loaded == [f"evt-{i:06d}" for i in range(k)]  # exactly the records before the damage
    (src, pos, reason), = query(lake, "SELECT source_object, position, reason FROM quarantine")
    assert (src, pos) == (str(bad), f"record {k} (after {k} complete records)")
    assert reason.startswith("corrupt or truncated gzip: ")
    assert counts(stats) == expect(files_read=2, files_failed=1, records_read=k + 1 + 3, records_loaded=k + 3,
                                   records_quarantined=1)


def test_many_bad_records_are_quarantined_quickly_and_messages_capped(tmp_path, lake):
    """5,000 rejected records: all land in the quarantine table (in SQL, not row by row:
    executemany into DuckLake took ~6 s per 2,000 rows), the run keeps only the first
    1,000 messages in memory and the CLI lines end with a count."""
    recs = [_no("eventTime", eventID=f"bad-{i:05d}") for i in range(5000)] + [ctgen.simple(1)]
    p = ctgen.write_log(tmp_path / "logs", recs)

    t0 = time.monotonic()
    stats = ingest(lake, [str(tmp_path / "logs")])
    elapsed = time.monotonic() - t0

    assert counts(stats) == expect(files_read=1, records_read=5001, records_loaded=1, records_quarantined=5000)
    assert elapsed < 30, f"{elapsed:.1f}s"
    assert query(lake, "SELECT count(*), count(DISTINCT position), min(reason), max(reason), "
                       "count(*) FILTER (WHERE raw LIKE '%\"eventID\":\"bad-%') FROM quarantine") == [
        (5000, 5000, "record has no eventTime", "record has no eventTime", 5000)
    ]
    assert len(stats.problems) == 1000
    assert stats.problem_lines(3) == [
        f"{p} at record 0: record has no eventTime",
        f"{p} at record 1: record has no eventTime",
        f"{p} at record 2: record has no eventTime",
        "... and 4,997 more",
    ]


def test_one_bad_file_among_many_in_a_batch(tmp_path, lake):
    root = tmp_path / "logs"
    for i in range(6):
        ctgen.write_log(root, simples(2, f"f{i}"), stamp=f"10{i:02d}")
    ctgen.write(root, ctgen.log_key(ACCOUNT, "us-east-1", "2024-03-01", stamp="1003", rand="BADBADBADBAD0000"),
                gzip.compress(_cut_json(simples(3, "cut"), keep_complete=1), mtime=0))

    stats = ingest(lake, [str(root)])

    assert counts(stats) == expect(files_read=7, files_failed=1, records_read=14, records_loaded=13,
                                   records_quarantined=1)
    assert len(event_ids(lake)) == 13


def test_streamed_file_damage_after_several_chunks(tmp_path, lake, streamed):
    """Streaming commits chunk by chunk: records before the damage load, positions are
    counted across chunks."""
    root = tmp_path / "logs"
    bad = ctgen.write(root, ctgen.log_key(ACCOUNT, "us-east-1", "2024-03-01"),
                      gzip.compress(_cut_json(simples(9), keep_complete=7), mtime=0))

    stats = ingest(lake, [str(root)])

    assert event_ids(lake) == [f"evt-{i:06d}" for i in range(7)]
    assert [r[1:3] for r in quarantine_rows(lake)] == [(str(bad), "record 7 (after 7 complete records)")]
    assert counts(stats) == expect(files_read=1, files_failed=1, records_read=8, records_loaded=7,
                                   records_quarantined=1)
    assert objects(lake) == [(str(bad), "failed", 8, 7, 0, 1)]


@pytest.mark.xfail(strict=True, reason="ijson's yajl2_c backend stops at integers beyond 64 bits ('integer "
                   "overflow'): a streamed file loses the records after one; the whole-file path loads them")
def test_huge_integer_in_a_streamed_file(tmp_path, lake, streamed):
    recs = [ctgen.simple(0), ctgen.simple(1) | {"requestParameters": {"bytes": 2**64}}, ctgen.simple(2)]
    ctgen.write_log(tmp_path / "logs", recs)
    stats = ingest(lake, [str(tmp_path / "logs")])
    assert counts(stats) == expect(files_read=1, records_read=3, records_loaded=3)


# -- CLI: summary and --strict ---------------------------------------------------

def test_cli_summary_and_strict_exit_codes(tmp_path):
    clean = tmp_path / "clean"
    ctgen.write_log(clean, simples(3))
    ctgen.write(clean, ctgen.digest_key(ACCOUNT, "us-east-1", "2024-03-01"), ctgen.digest_bytes())
    damaged = tmp_path / "damaged"
    ctgen.write_log(damaged, [ctgen.simple(10), _no("eventTime")])

    r = cli(tmp_path / "lake1", str(clean), "--strict")
    assert r.exit_code == 0, r.output
    assert ("cloudtrail: files 1 read, 1 skipped by rule (1 digest), 0 failed, 0 unchanged since last run; "
            "records 3 read, 3 loaded, 0 duplicate, 0 quarantined;") in flat(r.output)

    r = cli(tmp_path / "lake2", str(damaged))
    assert r.exit_code == 0, r.output
    assert "records 2 read, 1 loaded, 0 duplicate, 1 quarantined" in flat(r.output)
    assert "at record 1: record has no eventTime" in flat(r.output)

    r = cli(tmp_path / "lake3", str(damaged), "--strict")
    assert r.exit_code == 1, r.output
    # nothing new quarantined on a rerun: --strict passes
    r = cli(tmp_path / "lake3", str(damaged), "--strict")
    assert r.exit_code == 0, r.output
    assert "1 unchanged since last run" in flat(r.output)


def test_console_entry_turns_errors_into_exit_2(tmp_path, monkeypatch, capsys):
    from eventlake.cli import main

    monkeypatch.setattr(sys, "argv", ["eventlake", "--lake", str(tmp_path / "lake"), "ingest", "cloudtrail",
                                      str(tmp_path / "missing")])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = flat(capsys.readouterr().err)
    assert err == f"error: {tmp_path / 'missing'}: no such file or directory"


# -- idempotence -----------------------------------------------------------------

def test_reingest_is_a_noop(tmp_path, lake):
    root = tmp_path / "logs"
    for i in range(3):
        ctgen.write_log(root, simples(4, f"f{i}"), stamp=f"10{i:02d}")
    first = ingest(lake, [str(root)])
    before = query(lake, "SELECT event_id, CAST(ingested_at AS VARCHAR) FROM cloudtrail_events ORDER BY 1")
    n_objects = scalar(lake, "SELECT count(*) FROM ingested_objects")

    second = ingest(lake, [str(root)])

    assert counts(first) == expect(files_read=3, records_read=12, records_loaded=12)
    assert counts(second) == expect(files_unchanged=3)
    assert query(lake, "SELECT event_id, CAST(ingested_at AS VARCHAR) FROM cloudtrail_events ORDER BY 1") == before
    assert scalar(lake, "SELECT count(*) FROM ingested_objects") == n_objects == 3
    assert query(lake, "SELECT files_read, files_unchanged, records_read FROM ingest_runs ORDER BY started_at") == [
        (3, 0, 12), (0, 3, 0)
    ]


def test_only_a_new_file_is_read(tmp_path, lake):
    root = tmp_path / "logs"
    ctgen.write_log(root, simples(4, "old"), stamp="1000")
    ingest(lake, [str(root)])
    new = ctgen.write_log(root, simples(2, "new"), stamp="1100")

    stats = ingest(lake, [str(root)])

    assert counts(stats) == expect(files_read=1, files_unchanged=1, records_read=2, records_loaded=2)
    assert query(lake, "SELECT source_object, count(*) FROM cloudtrail_events WHERE event_id LIKE 'new-%' GROUP BY 1") == [
        (str(new), 2)
    ]
    assert scalar(lake, "SELECT count(*) FROM cloudtrail_events") == 6


def test_same_events_in_org_and_account_trail_load_once_in_one_batch(tmp_path, lake):
    root = tmp_path / "logs"
    events = simples(5, "shared")
    org_copy = ctgen.write_log(root, events, org=ORG)
    acct_copy = ctgen.write_log(root, events)
    ctgen.write_log(root, [ctgen.simple(0, prefix="solo"), ctgen.simple(0, prefix="solo")], stamp="1100")  # dup inside a file

    stats = ingest(lake, [str(root)])

    assert counts(stats) == expect(files_read=3, records_read=12, records_loaded=6, records_duplicate=6)
    assert scalar(lake, "SELECT count(*) FROM cloudtrail_events") == 6
    assert scalar(lake, "SELECT count(DISTINCT event_id) FROM cloudtrail_events") == 6
    # the first copy in URI order wins; the other is counted as duplicates
    assert {r[0]: r[1:] for r in query(lake, "SELECT uri, loaded, duplicates FROM ingested_objects")} == {
        str(acct_copy): (5, 0), str(org_copy): (0, 5), str(root / ctgen.log_key(ACCOUNT, "us-east-1", "2024-03-01", stamp="1100")): (1, 1),
    }


def test_same_events_in_org_and_account_trail_load_once_across_runs(tmp_path, lake):
    events = simples(5, "shared") + [ctgen.simple(0, day="2024-03-05", prefix="late")]
    ctgen.write_log(tmp_path / "org", events, org=ORG)
    ctgen.write_log(tmp_path / "acct", events[2:])

    first = ingest(lake, [str(tmp_path / "org")])
    second = ingest(lake, [str(tmp_path / "acct")])

    assert counts(first) == expect(files_read=1, records_read=6, records_loaded=6)
    assert counts(second) == expect(files_read=1, records_read=4, records_duplicate=4)
    assert scalar(lake, "SELECT count(*) FROM cloudtrail_events") == 6


def test_duplicates_across_batches_of_one_run(tmp_path, lake):
    root = tmp_path / "logs"
    events = simples(4, "x")
    for i in range(4):
        ctgen.write_log(root, events[: i + 1], stamp=f"10{i:02d}")

    # batch_mb=0: every file is its own batch (and its own commit)
    stats = CloudTrailIngest(lake, [str(root)], batch_mb=0).run()

    assert counts(stats) == expect(files_read=4, records_read=10, records_loaded=4, records_duplicate=6)
    assert event_ids(lake) == ["x-000000", "x-000001", "x-000002", "x-000003"]


def test_duplicates_in_streamed_files(tmp_path, lake, streamed):
    root = tmp_path / "logs"
    events = simples(5, "s")
    ctgen.write_log(root, events, org=ORG)
    ctgen.write_log(root, events + simples(1, "s", start=5))

    stats = ingest(lake, [str(root)])

    assert counts(stats) == expect(files_read=2, records_read=11, records_loaded=6, records_duplicate=5)
    assert event_ids(lake) == [f"s-{i:06d}" for i in range(6)]


def test_modified_file_is_reread_without_duplicating(tmp_path, lake):
    root = tmp_path / "logs"
    p = ctgen.write_log(root, simples(3))
    ingest(lake, [str(root)])

    # same content, new mtime: read again, nothing new
    ctgen.touch_later(p)
    again = ingest(lake, [str(root)])
    assert counts(again) == expect(files_read=1, records_read=3, records_duplicate=3)

    # rewritten with two more events
    ctgen.write_log(root, simples(5))
    ctgen.touch_later(p, 20)
    grown = ingest(lake, [str(root)])
    assert counts(grown) == expect(files_read=1, records_read=5, records_loaded=2, records_duplicate=3)
    assert scalar(lake, "SELECT count(*) FROM cloudtrail_events") == 5
    assert scalar(lake, "SELECT count(DISTINCT event_id) FROM cloudtrail_events") == 5
    assert query(lake, "SELECT status, records, loaded, duplicates FROM ingested_objects ORDER BY ingested_at") == [
        ("loaded", 3, 3, 0), ("loaded", 3, 0, 3), ("loaded", 5, 2, 3)
    ]
    # and now it is unchanged
    assert counts(ingest(lake, [str(root)])) == expect(files_unchanged=1)


# -- atomicity: SIGKILL in the middle, then rerun ----------------------------------

KILL_FILES = 40
KILL_PER_FILE = 1500


def _kill_dataset(root: Path) -> None:
    for i in range(KILL_FILES):
        recs = simples(KILL_PER_FILE, prefix=f"k{i:02d}", day=f"2024-03-{1 + i % 5:02d}")
        for r in recs:  # vary content so each file is ~100 KB compressed: one file per 1 MB batch
            r["requestID"] = uuid.uuid4().hex + uuid.uuid4().hex
        ctgen.write_log(root, recs, stamp=f"{i // 60:02d}{i % 60:02d}", region=["us-east-1", "eu-west-1"][i % 2],
                        org=ORG if i % 3 == 0 else None)
    # the org trail also delivered a copy of file 1's events
    ctgen.write_log(root, simples(KILL_PER_FILE, prefix="k01", day="2024-03-02"), stamp="5959", org=ORG,
                    rand="CoPyCoPyCoPy0000")


def _ingest_cmd(lake_path: Path, *args: str) -> list[str]:
    return [sys.executable, "-c", "from eventlake.cli import main; main()", "--lake", str(lake_path),
            "ingest", "cloudtrail", *args]


def _committed_objects(lake: Lake) -> int:
    """Objects committed so far, or -1 while the catalog or its tables do not exist yet."""
    if not lake.catalog_file.exists():
        return -1
    try:
        return scalar(lake, "SELECT count(*) FROM ingested_objects")
    except Exception:  # not initialized yet: reconnect next time
        con = _READERS.pop(lake.path, None)
        if con is not None:
            con.close()
        return -1


@pytest.mark.slow
@pytest.mark.parametrize("extra_delay", [0.0, 0.35])
def test_kill_in_the_middle_then_rerun_gives_exact_counts(tmp_path, extra_delay):
    root = tmp_path / "logs"
    _kill_dataset(root)
    lake_path = tmp_path / "lake"
    lake = Lake(lake_path)
    n_files = KILL_FILES + 1
    n_events = KILL_FILES * KILL_PER_FILE

    proc = subprocess.Popen(_ingest_cmd(lake_path, str(root), "--batch-mb", "1"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    seen = -1
    while time.monotonic() < deadline and proc.poll() is None:
        seen = _committed_objects(lake)
        if seen >= 3:
            break
        time.sleep(0.02)
    time.sleep(extra_delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    killed_mid_way = proc.returncode == -signal.SIGKILL
    partial = max(_committed_objects(lake), 0)
    if killed_mid_way and partial:
        # whatever is visible is whole: every committed object's events are all there
        assert scalar(lake, "SELECT count(*) FROM cloudtrail_events") == scalar(
            lake, "SELECT coalesce(sum(loaded), 0) FROM ingested_objects")

    rerun = subprocess.run(_ingest_cmd(lake_path, str(root), "--batch-mb", "1", "--strict"), capture_output=True,
                           text=True, timeout=300)

    assert rerun.returncode == 0, rerun.stderr
    assert scalar(lake, "SELECT count(*) FROM cloudtrail_events") == n_events
    assert scalar(lake, "SELECT count(DISTINCT event_id) FROM cloudtrail_events") == n_events
    assert query(lake, "SELECT count(*), count(DISTINCT uri), min(status), max(status) FROM ingested_objects") == [
        (n_files, n_files, "loaded", "loaded")
    ]
    assert scalar(lake, "SELECT sum(loaded) FROM ingested_objects") == n_events
    assert scalar(lake, "SELECT count(*) FROM quarantine") == 0
    out = flat(rerun.stdout)
    assert f"files {n_files - partial:,} read" in out
    assert f"{partial:,} unchanged since last run" in out
    # and a third run is a no-op
    third = subprocess.run(_ingest_cmd(lake_path, str(root)), capture_output=True, text=True, timeout=120)
    assert third.returncode == 0, third.stderr
    assert f"files 0 read, 0 skipped by rule, 0 failed, {n_files} unchanged" in flat(third.stdout)


class _CrashOn:
    """A connection that dies (like a SIGKILL would) at the first statement containing `marker`."""

    def __init__(self, con, marker: str):
        self._con, self._marker = con, marker

    def execute(self, sql, *args):
        if self._marker in sql:
            raise KeyboardInterrupt(f"simulated crash at {self._marker}")
        return self._con.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._con, name)


def test_crash_while_creating_tables_leaves_nothing_half_made(tmp_path, monkeypatch):
    """A first run that dies between CREATE TABLE and SET PARTITIONED BY must not
    leave cloudtrail_events unpartitioned for every later run."""
    ctgen.write_log(tmp_path / "logs", simples(2) + simples(1, day="2024-03-02", start=2))
    lake = Lake(tmp_path / "lake")
    real_connect = Lake.connect
    monkeypatch.setattr(Lake, "connect", lambda self, **kw: _CrashOn(real_connect(self, **kw), "SET PARTITIONED BY"))
    with pytest.raises(KeyboardInterrupt):
        ingest(lake, [str(tmp_path / "logs")])
    monkeypatch.setattr(Lake, "connect", real_connect)

    stats = ingest(lake, [str(tmp_path / "logs")])

    assert counts(stats) == expect(files_read=1, records_read=3, records_loaded=3)
    assert partition_dirs(lake) == ["event_date=2024-03-01", "event_date=2024-03-02"]


# -- S3 over HTTP (moto's server on loopback; fixtures in tests/conftest.py) -----

def test_s3_ingest_is_incremental(s3, lake):
    client, bucket, endpoint = s3
    plain1 = ctgen.log_key(ACCOUNT, "us-east-1", "2024-03-01", stamp="1000")
    plain2 = ctgen.log_key(ACCOUNT, "eu-west-1", "2024-03-01", stamp="1005", gz=False)
    org = ctgen.log_key(OTHER_ACCOUNT, "us-east-1", "2024-03-01", stamp="1000", org=ORG)
    client.put_object(Bucket=bucket, Key=plain1, Body=ctgen.log_bytes(simples(3, "p1")))
    client.put_object(Bucket=bucket, Key=plain2, Body=ctgen.log_bytes(simples(2, "p2"), gz=False))
    client.put_object(Bucket=bucket, Key=org, Body=ctgen.log_bytes(simples(4, "org") + simples(1, "p1")))
    client.put_object(Bucket=bucket, Key=ctgen.digest_key(ACCOUNT, "us-east-1", "2024-03-01"), Body=ctgen.digest_bytes())
    client.put_object(Bucket=bucket, Key="other/ignored.json.gz", Body=ctgen.log_bytes(simples(1, "outside")))

    first = ingest(lake, [f"s3://{bucket}/AWSLogs/"], endpoint_url=endpoint)

    assert counts(first) == expect(files_read=3, files_skipped=1, records_read=10, records_loaded=9,
                                   records_duplicate=1)
    assert first.skip_reasons == {"digest": 1}
    assert query(lake, "SELECT source_object, count(*) FROM cloudtrail_events GROUP BY 1 ORDER BY 1") == [
        (f"s3://{bucket}/{plain2}", 2), (f"s3://{bucket}/{plain1}", 3), (f"s3://{bucket}/{org}", 4)
    ]
    assert first.bytes_read == sum(client.head_object(Bucket=bucket, Key=k)["ContentLength"] for k in (plain1, plain2, org))

    second = ingest(lake, [f"s3://{bucket}/AWSLogs/"], endpoint_url=endpoint)
    assert counts(second) == expect(files_skipped=1, files_unchanged=3)

    new = ctgen.log_key(ACCOUNT, "us-east-1", "2024-03-02", stamp="0005")
    client.put_object(Bucket=bucket, Key=new, Body=ctgen.log_bytes(simples(2, "new", day="2024-03-02")))
    third = ingest(lake, [f"s3://{bucket}/AWSLogs/"], endpoint_url=endpoint)
    assert counts(third) == expect(files_read=1, files_skipped=1, files_unchanged=3, records_read=2, records_loaded=2)
    assert query(lake, "SELECT uri FROM ingested_objects WHERE run_id = ?", [third.run_id]) == [(f"s3://{bucket}/{new}",)]
    assert scalar(lake, "SELECT count(*) FROM cloudtrail_events") == 11
    # nothing downloaded is left behind in the lake directory
    assert sorted(p.name for p in lake.path.iterdir() if p.name.startswith("spool-")) == []


def test_s3_damage_and_overwrite(s3, lake):
    """A damaged object is quarantined under its s3:// URI; an overwritten object (new
    ETag) is read again without duplicating."""
    client, bucket, endpoint = s3
    key = ctgen.log_key(ACCOUNT, "us-east-1", "2024-03-01")
    client.put_object(Bucket=bucket, Key=key, Body=gzip.compress(_cut_json(simples(4), keep_complete=2), mtime=0))

    first = ingest(lake, [f"s3://{bucket}"], endpoint_url=endpoint)
    assert counts(first) == expect(files_read=1, files_failed=1, records_read=3, records_loaded=2,
                                   records_quarantined=1)
    assert [r[1:3] for r in quarantine_rows(lake)] == [(f"s3://{bucket}/{key}", "record 2 (after 2 complete records)")]

    client.put_object(Bucket=bucket, Key=key, Body=ctgen.log_bytes(simples(4)))
    second = ingest(lake, [f"s3://{bucket}"], endpoint_url=endpoint)
    assert counts(second) == expect(files_read=1, records_read=4, records_loaded=2, records_duplicate=2)
    assert event_ids(lake) == [f"evt-{i:06d}" for i in range(4)]


def test_s3_cli_with_endpoint_url(s3, tmp_path):
    client, bucket, endpoint = s3
    client.put_object(Bucket=bucket, Key=ctgen.log_key(ACCOUNT, "us-east-1", "2024-03-01", org=ORG),
                      Body=ctgen.log_bytes(simples(3)))
    r = cli(tmp_path / "lake", f"s3://{bucket}/AWSLogs/{ORG}/", "--endpoint-url", endpoint, "--strict")
    assert r.exit_code == 0, r.output
    assert "files 1 read" in flat(r.output) and "records 3 read, 3 loaded" in flat(r.output)


def test_s3_missing_bucket_is_a_clear_error(s3, lake):
    _, _, endpoint = s3
    with pytest.raises(SourceError, match=r"s3://no-such-bucket-[0-9a-f]+/AWSLogs/: cannot list"):
        ingest(lake, [f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/AWSLogs/"], endpoint_url=endpoint)


# -- a large file is streamed with bounded memory ----------------------------------

BIG_RECORDS = 210_000  # ~1.5 KB each: ~320 MB of JSON


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_large_file_is_streamed_with_bounded_memory(tmp_path):
    big = tmp_path / "logs" / ctgen.log_key(ACCOUNT, "us-east-1", "2024-03-01")
    size = ctgen.write_big_log(big, BIG_RECORDS)
    assert size >= 300 << 20
    assert big.stat().st_size < size // 10  # it compresses well, so the test stays quick
    lake_path = tmp_path / "lake"
    wrapper = (
        "import atexit, resource, sys\n"
        "atexit.register(lambda: sys.stderr.write("
        "'PEAK_RSS_KB=%d\\n' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))\n"
        "from eventlake.cli import main\n"
        "main()\n"
    )
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", wrapper, "--lake", str(lake_path), "ingest", "cloudtrail",
                           str(tmp_path / "logs"), "--strict"], capture_output=True, text=True, timeout=280)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr
    peak_kb = int(proc.stderr.rsplit("PEAK_RSS_KB=", 1)[1].split()[0])
    print(f"large file: {size / 2**20:.0f} MiB uncompressed, ingest {elapsed:.1f}s, peak RSS {peak_kb / 1024:.0f} MiB")
    assert peak_kb < 1 << 20, f"peak RSS {peak_kb / 1024:.0f} MiB"
    assert f"records {BIG_RECORDS:,} read, {BIG_RECORDS:,} loaded, 0 duplicate, 0 quarantined" in flat(proc.stdout)
    lake = Lake(lake_path)
    assert query(lake, "SELECT count(*), count(DISTINCT event_id), count(DISTINCT event_date) FROM cloudtrail_events") == [
        (BIG_RECORDS, BIG_RECORDS, 28)
    ]
    assert objects(lake) == [(str(big), "loaded", BIG_RECORDS, BIG_RECORDS, 0, 0)]
