"""Build realistic CloudTrail records and delivery-layout files for tests.

Records follow what CloudTrail writes (field names, nesting, string-typed flags in
sessionContext); files follow the delivery layout:
`AWSLogs/[<org-id>/]<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<stamp>_<rand>.json.gz`.
Nothing here calls eventlake: tests state the expected values themselves."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Iterable

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
ORG = "o-a1b2c3d4e5"


def iam_user(event_id: str = "0b0a6c1e-0000-4000-8000-000000000001", **over) -> dict:
    """An IAMUser calling quicksight:DescribeDashboard with an access key."""
    r = {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLEALICE0001",
            "arn": f"arn:aws:iam::{ACCOUNT}:user/alice",
            "accountId": ACCOUNT,
            "accessKeyId": "AKIAEXAMPLEKEY00001",
            "userName": "alice",
        },
        "eventTime": "2024-03-01T10:15:30Z",
        "eventSource": "quicksight.amazonaws.com",
        "eventName": "DescribeDashboard",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64",
        "requestParameters": {"awsAccountId": ACCOUNT, "dashboardId": "d-sales-2024"},
        "responseElements": None,
        "requestID": "6f1d2c3b-aaaa-4bbb-8ccc-000000000001",
        "eventID": event_id,
        "readOnly": True,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
        "tlsDetails": {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": "quicksight.us-east-1.amazonaws.com",
        },
    }
    r.update(over)
    return r


def assumed_role(event_id: str = "0b0a6c1e-0000-4000-8000-000000000002", **over) -> dict:
    """An AssumedRole session (role BIReaders, session bob@example.com) with MFA,
    viewing a dashboard (QuickSight GetDashboard with serviceEventDetails)."""
    r = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLEROLE00001:bob@example.com",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/BIReaders/bob@example.com",
            "accountId": ACCOUNT,
            "accessKeyId": "ASIAEXAMPLESESSION01",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "AROAEXAMPLEROLE00001",
                    "arn": f"arn:aws:iam::{ACCOUNT}:role/BIReaders",
                    "accountId": ACCOUNT,
                    "userName": "BIReaders",
                },
                "webIdFederationData": {},
                "attributes": {"creationDate": "2024-03-01T09:58:01Z", "mfaAuthenticated": "true"},
            },
        },
        "eventTime": "2024-03-01T23:59:59Z",
        "eventSource": "quicksight.amazonaws.com",
        "eventName": "GetDashboard",
        "awsRegion": "eu-west-1",
        "sourceIPAddress": "203.0.113.25",
        "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15",
        "requestParameters": None,
        "responseElements": None,
        "eventID": event_id,
        "readOnly": "true",
        "eventType": "AwsServiceEvent",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "serviceEventDetails": {
            "eventRequestDetails": {"dashboardId": f"arn:aws:quicksight:eu-west-1:{ACCOUNT}:dashboard/d-sales-2024"},
            "eventResponseDetails": {
                "dashboardDetails": {"dashboardName": "Sales 2024", "dashboardId": "d-sales-2024"}
            },
        },
        "eventCategory": "Management",
    }
    r.update(over)
    return r


def saml_user(event_id: str = "0b0a6c1e-0000-4000-8000-000000000003", **over) -> dict:
    """A federated sign-in: sts:AssumeRoleWithSAML by a SAMLUser."""
    r = {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "SAMLUser",
            "principalId": "EXAMPLEHASH0001=:carol@example.com",
            "userName": "carol@example.com",
            "identityProvider": "EXAMPLEHASH0001=",
        },
        "eventTime": "2024-02-29T22:05:00-02:00",
        "eventSource": "sts.amazonaws.com",
        "eventName": "AssumeRoleWithSAML",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "192.0.2.44",
        "userAgent": "aws-internal/3",
        "requestParameters": {
            "sAMLAssertionID": "_a1b2c3",
            "roleSessionName": "carol@example.com",
            "principalArn": f"arn:aws:iam::{ACCOUNT}:saml-provider/Okta",
            "roleArn": f"arn:aws:iam::{ACCOUNT}:role/BIReaders",
            "durationSeconds": 3600,
        },
        "responseElements": {
            "credentials": {"accessKeyId": "ASIAEXAMPLESAML0001", "expiration": "Mar 1, 2024, 1:05:00 AM"},
            "assumedRoleUser": {
                "assumedRoleId": "AROAEXAMPLEROLE00001:carol@example.com",
                "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/BIReaders/carol@example.com",
            },
            "subject": "carol@example.com",
            "subjectType": "persistent",
        },
        "requestID": "6f1d2c3b-aaaa-4bbb-8ccc-000000000003",
        "eventID": event_id,
        "readOnly": False,
        "resources": [
            {"ARN": f"arn:aws:iam::{ACCOUNT}:role/BIReaders", "accountId": ACCOUNT, "type": "AWS::IAM::Role"},
            {"ARN": f"arn:aws:iam::{ACCOUNT}:saml-provider/Okta", "accountId": ACCOUNT, "type": "AWS::IAM::SAMLProvider"},
        ],
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }
    r.update(over)
    return r


def aws_service(event_id: str = "0b0a6c1e-0000-4000-8000-000000000004", **over) -> dict:
    """A call made by an AWS service on the account's behalf (invokedBy)."""
    r = {
        "eventVersion": "1.08",
        "userIdentity": {"type": "AWSService", "invokedBy": "quicksight.amazonaws.com"},
        "eventTime": "2024-03-01T00:00:00.123Z",
        "eventSource": "kms.amazonaws.com",
        "eventName": "Decrypt",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "quicksight.amazonaws.com",
        "userAgent": "quicksight.amazonaws.com",
        "requestParameters": {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"},
        "responseElements": None,
        "requestID": "6f1d2c3b-aaaa-4bbb-8ccc-000000000004",
        "eventID": event_id,
        "readOnly": True,
        "resources": [{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k-1"}],
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "sharedEventID": "5a5a5a5a-bbbb-4ccc-8ddd-000000000004",
        "eventCategory": "Management",
    }
    r.update(over)
    return r


def root_user(event_id: str = "0b0a6c1e-0000-4000-8000-000000000005", **over) -> dict:
    """The account root user (no userName) updating an account setting."""
    r = {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "Root",
            "principalId": ACCOUNT,
            "arn": f"arn:aws:iam::{ACCOUNT}:root",
            "accountId": ACCOUNT,
            "accessKeyId": "ASIAEXAMPLEROOT0001",
            "sessionContext": {"attributes": {"creationDate": "2024-03-01T11:00:00Z", "mfaAuthenticated": "false"}},
        },
        "eventTime": "2024-03-01T11:02:03Z",
        "eventSource": "quicksight.amazonaws.com",
        "eventName": "UpdateAccountSettings",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.99",
        "userAgent": "console.amazonaws.com",
        "requestParameters": {"awsAccountId": ACCOUNT, "defaultNamespace": "default"},
        "responseElements": {"status": 200, "requestId": "r-5"},
        "requestID": "6f1d2c3b-aaaa-4bbb-8ccc-000000000005",
        "eventID": event_id,
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }
    r.update(over)
    return r


def console_login(event_id: str = "0b0a6c1e-0000-4000-8000-000000000006", **over) -> dict:
    """A console sign-in by an IAM user (additionalEventData, responseElements as strings)."""
    r = {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLEDAVE0001",
            "arn": f"arn:aws:iam::{ACCOUNT}:user/dave",
            "accountId": ACCOUNT,
            "userName": "dave",
        },
        "eventTime": "2024-03-02T08:00:00+01:00",
        "eventSource": "signin.amazonaws.com",
        "eventName": "ConsoleLogin",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.80",
        "userAgent": "Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0",
        "requestParameters": None,
        "responseElements": {"ConsoleLogin": "Success"},
        "additionalEventData": {
            "LoginTo": "https://console.aws.amazon.com/console/home",
            "MobileVersion": "No",
            "MFAUsed": "Yes",
        },
        "eventID": event_id,
        "readOnly": False,
        "eventType": "AwsConsoleSignIn",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }
    r.update(over)
    return r


def access_denied(event_id: str = "0b0a6c1e-0000-4000-8000-000000000007", **over) -> dict:
    """A failed call: errorCode and errorMessage set, responseElements null."""
    r = {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLEROLE00002:etl-job",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/etl/etl-job",
            "accountId": ACCOUNT,
            "accessKeyId": "ASIAEXAMPLEETL00001",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "AROAEXAMPLEROLE00002",
                    "arn": f"arn:aws:iam::{ACCOUNT}:role/etl",
                    "accountId": ACCOUNT,
                    "userName": "etl",
                },
                "attributes": {"creationDate": "2024-03-01T12:00:00Z", "mfaAuthenticated": "false"},
            },
        },
        "eventTime": "2024-03-01T12:30:00Z",
        "eventSource": "quicksight.amazonaws.com",
        "eventName": "DeleteDataSet",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "10.0.3.17",
        "userAgent": "Boto3/1.34.0 md/Botocore#1.34.0",
        "errorCode": "AccessDenied",
        "errorMessage": "User: arn:aws:sts::111122223333:assumed-role/etl/etl-job is not authorized to perform: quicksight:DeleteDataSet",
        "requestParameters": {"awsAccountId": ACCOUNT, "dataSetId": "ds-orders"},
        "responseElements": None,
        "requestID": "6f1d2c3b-aaaa-4bbb-8ccc-000000000007",
        "eventID": event_id,
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "vpcEndpointId": "vpce-0a1b2c3d",
        "eventCategory": "Management",
    }
    r.update(over)
    return r


def simple(i: int, day: str = "2024-03-01", prefix: str = "evt") -> dict:
    """A small ordinary event with id `<prefix>-<i>` on `day` (second = i mod 60)."""
    return iam_user(
        event_id=f"{prefix}-{i:06d}",
        eventTime=f"{day}T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}Z",
        requestParameters={"awsAccountId": ACCOUNT, "dashboardId": f"d-{i % 7}"},
    )


# -- files in the delivery layout -------------------------------------------------

def log_key(account: str, region: str, day: str, stamp: str = "1015", rand: str = "AbCdEfGh12345678",
            org: str | None = None, gz: bool = True) -> str:
    """The key CloudTrail delivers a log file under (day as YYYY-MM-DD, stamp HHMM)."""
    y, m, d = day.split("-")
    prefix = f"AWSLogs/{org}/{account}" if org else f"AWSLogs/{account}"
    name = f"{account}_CloudTrail_{region}_{y}{m}{d}T{stamp}Z_{rand}.json" + (".gz" if gz else "")
    return f"{prefix}/CloudTrail/{region}/{y}/{m}/{d}/{name}"


def digest_key(account: str, region: str, day: str, org: str | None = None) -> str:
    y, m, d = day.split("-")
    prefix = f"AWSLogs/{org}/{account}" if org else f"AWSLogs/{account}"
    return (f"{prefix}/CloudTrail-Digest/{region}/{y}/{m}/{d}/"
            f"{account}_CloudTrail-Digest_{region}_management-trail_{region}_{y}{m}{d}T101500Z.json.gz")


def insight_key(account: str, region: str, day: str, org: str | None = None) -> str:
    y, m, d = day.split("-")
    prefix = f"AWSLogs/{org}/{account}" if org else f"AWSLogs/{account}"
    return (f"{prefix}/CloudTrail-Insight/{region}/{y}/{m}/{d}/"
            f"{account}_CloudTrail-Insight_{region}_{y}{m}{d}T1015Z_InSiGhT12345678.json.gz")


def log_bytes(records: Iterable, gz: bool = True) -> bytes:
    data = json.dumps({"Records": list(records)}).encode()
    return gzip.compress(data, mtime=0) if gz else data


def write(root: Path, key: str, data: bytes) -> Path:
    p = root / key
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


def write_log(root: Path, records: Iterable, *, account: str = ACCOUNT, region: str = "us-east-1",
              day: str = "2024-03-01", stamp: str = "1015", rand: str = "AbCdEfGh12345678",
              org: str | None = None, gz: bool = True) -> Path:
    """Write a CloudTrail log file of `records` under root in the delivery layout."""
    return write(root, log_key(account, region, day, stamp, rand, org, gz), log_bytes(records, gz))


def digest_bytes(account: str = ACCOUNT, region: str = "us-east-1") -> bytes:
    """A digest file: it has no Records, only hashes of the log files."""
    body = {
        "awsAccountId": account,
        "digestStartTime": "2024-03-01T09:15:00Z",
        "digestEndTime": "2024-03-01T10:15:00Z",
        "digestS3Bucket": "trail-bucket",
        "digestS3Object": f"AWSLogs/{account}/CloudTrail-Digest/{region}/2024/03/01/x.json.gz",
        "digestPublicKeyFingerprint": "0123456789abcdef",
        "digestSignatureAlgorithm": "SHA256withRSA",
        "newestEventTime": "2024-03-01T10:14:00Z",
        "oldestEventTime": "2024-03-01T09:15:00Z",
        "previousDigestS3Bucket": "trail-bucket",
        "previousDigestHashValue": "ab" * 32,
        "previousDigestHashAlgorithm": "SHA-256",
        "previousDigestSignature": "cd" * 64,
        "logFiles": [{"s3Bucket": "trail-bucket", "s3Object": "x.json.gz", "hashValue": "ef" * 32,
                      "hashAlgorithm": "SHA-256", "newestEventTime": "2024-03-01T10:14:00Z",
                      "oldestEventTime": "2024-03-01T09:15:00Z"}],
    }
    return gzip.compress(json.dumps(body).encode(), mtime=0)


def insight_bytes() -> bytes:
    """An Insights file: Records of insight events (no eventID), never to be loaded."""
    rec = {
        "eventVersion": "1.08",
        "eventTime": "2024-03-01T10:00:00Z",
        "awsRegion": "us-east-1",
        "eventType": "AwsCloudTrailInsight",
        "recipientAccountId": ACCOUNT,
        "sharedEventID": "12345678-aaaa-4bbb-8ccc-1234567890ab",
        "insightDetails": {"state": "Start", "eventSource": "quicksight.amazonaws.com",
                           "eventName": "GetDashboard", "insightType": "ApiCallRateInsight"},
        "eventCategory": "Insight",
    }
    return gzip.compress(json.dumps({"Records": [rec]}).encode(), mtime=0)


def write_big_log(path: Path, n_records: int, *, prefix: str = "big", pad: int = 600) -> int:
    """Stream a gzipped CloudTrail file of n_records to disk (never all in memory);
    each record carries `pad` bytes of filler so the file is large uncompressed but
    compresses well. Returns the uncompressed size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    filler = "x" * pad
    total = 0
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as gz:
        head = b'{"Records":['
        gz.write(head)
        total += len(head)
        buf: list[bytes] = []
        for i in range(n_records):
            rec = simple(i, day=f"2024-03-{1 + i % 28:02d}", prefix=prefix)
            rec["additionalEventData"] = {"filler": filler}
            line = (b"," if i else b"") + json.dumps(rec, separators=(",", ":")).encode()
            buf.append(line)
            total += len(line)
            if len(buf) >= 2000:
                gz.write(b"".join(buf))
                buf.clear()
        gz.write(b"".join(buf))
        tail = b"]}"
        gz.write(tail)
        total += len(tail)
    return total


def touch_later(path: Path, seconds: int = 10) -> None:
    """Move a file's mtime forward so its version changes even if its size does not."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + seconds * 1_000_000_000))
