"""QuickSight metadata extractor: calls the QuickSight API with boto3 (credentials from
the standard AWS chain) and writes one snapshot folder that `eventlake ingest
bi-metadata` loads:

    <out>/<account>/<region>/<YYYYMMDDTHHMMSSZ>/
        manifest.json             {"AccountId", "Region", "Namespace", "SnapshotTime"}
        ListUsers.json ...        list calls, pages merged: {"UserList": [...]}
        DescribeDashboard.json    per-asset calls: [{"Request": {...}, "Response": {...}}]
        errors.json               per-asset calls that failed (e.g. DescribeDataSet on a
                                  file-upload dataset): [{"Api", "Request", "ErrorCode", "Message"}]

Times are written as ISO-8601 UTC strings ending in Z. The folder is written under a
hidden temporary name and renamed into place, with manifest.json written last, so a
reader never sees a half-written snapshot."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..errors import EventlakeError
from ..sources.bi_snapshot import (
    ASSET_KINDS, ERRORS, GROUPS_FILE, MANIFEST, MEMBERSHIPS_FILE, STAMP_FORMAT, USERS_FILE, AssetKind,
)


class ExtractError(EventlakeError):
    """An extraction cannot run: bad arguments, no credentials, access denied."""


# boto3 operations per asset kind: (list, describe or None, describe permissions).
OPERATIONS: dict[str, tuple[str, str | None, str]] = {
    "dashboard": ("list_dashboards", "describe_dashboard", "describe_dashboard_permissions"),
    "analysis": ("list_analyses", "describe_analysis", "describe_analysis_permissions"),
    "dataset": ("list_data_sets", "describe_data_set", "describe_data_set_permissions"),
    "datasource": ("list_data_sources", None, "describe_data_source_permissions"),
}

# Error codes meaning the credentials themselves are wrong: fatal on any call.
_CREDENTIAL_CODES = {
    "UnrecognizedClientException", "InvalidClientTokenId", "ExpiredTokenException", "ExpiredToken",
    "InvalidSignatureException", "SignatureDoesNotMatch", "MissingAuthenticationToken", "AuthFailure",
}
_DENIED_CODES = {"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"}
_METADATA_KEYS = ("ResponseMetadata", "RequestId", "Status")  # top-level response noise
_ACCOUNT_RE = re.compile(r"^\d{12}$")


def make_client(region: str, endpoint_url: str | None = None):
    """A boto3 QuickSight client; credentials come from the standard AWS chain."""
    import boto3
    from botocore.config import Config

    session = boto3.session.Session()
    return session.client(
        "quicksight", region_name=region, endpoint_url=endpoint_url,
        config=Config(retries={"max_attempts": 8, "mode": "standard"}),
    )


def _json_default(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        t = v.replace(tzinfo=dt.timezone.utc) if v.tzinfo is None else v.astimezone(dt.timezone.utc)
        return t.replace(tzinfo=None).isoformat() + "Z"
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, (bytes, bytearray)):
        return v.decode("utf-8", "replace")
    return str(v)


def _write_json(path: Path, data: Any) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, default=_json_default, ensure_ascii=False, indent=1)
        fh.write("\n")


def _clean(response: dict) -> dict:
    return {k: v for k, v in response.items() if k not in _METADATA_KEYS}


def _api(op: str) -> str:
    """list_data_sets -> ListDataSets."""
    return "".join(w.capitalize() for w in op.split("_"))


class _Extractor:
    def __init__(self, client, account_id: str, region: str, namespace: str):
        self.client = client
        self.account_id = account_id
        self.region = region
        self.namespace = namespace
        self.errors: list[dict] = []

    # -- error handling ---------------------------------------------------------
    def _fatal(self, api: str, exc: Exception) -> ExtractError:
        from botocore.exceptions import ClientError, NoCredentialsError, PartialCredentialsError

        where = f"account {self.account_id}, region {self.region}"
        if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
            return ExtractError(
                f"no AWS credentials found for QuickSight {api} ({where}): configure the standard AWS chain "
                "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws/config, SSO, or an instance role)"
            )
        if isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code", "")
            msg = exc.response.get("Error", {}).get("Message", "") or str(exc)
            if code in _DENIED_CODES:
                return ExtractError(
                    f"access denied calling QuickSight {api} ({where}): {msg}. The credentials need the "
                    f"quicksight:{api} permission; user and group calls must go to the account's QuickSight identity region"
                )
            if code in _CREDENTIAL_CODES:
                return ExtractError(f"AWS rejected the credentials calling QuickSight {api} ({where}): {code}: {msg}")
            return ExtractError(f"QuickSight {api} failed ({where}): {code}: {msg}")
        return ExtractError(f"QuickSight {api} failed ({where}): {exc}")

    def _per_item_error(self, api: str, request: dict, exc: Exception) -> None:
        """Record a failed per-asset call in errors.json, or raise if it is fatal."""
        from botocore.exceptions import ClientError

        code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""
        if not isinstance(exc, ClientError) or code in _CREDENTIAL_CODES:
            raise self._fatal(api, exc) from None
        self.errors.append({
            "Api": api, "Request": request, "ErrorCode": code,
            "Message": exc.response.get("Error", {}).get("Message", ""),
        })

    # -- calls --------------------------------------------------------------------
    def pages(self, op: str, key: str, **params) -> list:
        """Every item of a list call, following NextToken (paginator when there is one)."""
        items: list = []
        params = dict(AwsAccountId=self.account_id, **params)
        if self.client.can_paginate(op):
            for page in self.client.get_paginator(op).paginate(**params):
                items.extend(page.get(key, []))
            return items
        token = None
        while True:
            page = getattr(self.client, op)(**params, **({"NextToken": token} if token else {}))
            items.extend(page.get(key, []))
            token = page.get("NextToken")
            if not token:
                return items

    def list_call(self, op: str, key: str, **params) -> list:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.pages(op, key, **params)
        except (BotoCoreError, ClientError) as exc:
            raise self._fatal(_api(op), exc) from None

    def item_call(self, op: str, request: dict) -> dict | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return _clean(getattr(self.client, op)(AwsAccountId=self.account_id, **request))
        except ClientError as exc:
            self._per_item_error(_api(op), request, exc)
        except BotoCoreError as exc:
            raise self._fatal(_api(op), exc) from None
        return None

    # -- the snapshot ---------------------------------------------------------------
    def run(self, folder: Path) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        ns = {"Namespace": self.namespace}
        users = self.list_call("list_users", "UserList", **ns)
        _write_json(folder / USERS_FILE, {"UserList": users})
        groups = self.list_call("list_groups", "GroupList", **ns)
        _write_json(folder / GROUPS_FILE, {"GroupList": groups})
        memberships = []
        for g in groups:
            name = g.get("GroupName")
            if not name:
                continue
            request = {"GroupName": name}
            try:
                members = self.pages("list_group_memberships", "GroupMemberList", **request, **ns)
            except ClientError as exc:
                self._per_item_error("ListGroupMemberships", request, exc)
                continue
            except BotoCoreError as exc:
                raise self._fatal("ListGroupMemberships", exc) from None
            memberships.append({"Request": request, "Response": {"GroupMemberList": members}})
        _write_json(folder / MEMBERSHIPS_FILE, memberships)
        for kind in ASSET_KINDS:
            self._assets(folder, kind)

    def _assets(self, folder: Path, kind: AssetKind) -> None:
        list_op, describe_op, perms_op = OPERATIONS[kind.asset_type]
        items = self.list_call(list_op, kind.list_key)
        _write_json(folder / kind.list_file, {kind.list_key: items})
        ids = list(dict.fromkeys(i[kind.id_field] for i in items if i.get(kind.id_field)))
        if describe_op and kind.describe_file:
            described = []
            for aid in ids:
                request = {kind.id_field: aid}
                resp = self.item_call(describe_op, request)
                if resp is not None:
                    described.append({"Request": request, "Response": resp})
            _write_json(folder / kind.describe_file, described)
        permissions = []
        for aid in ids:
            request = {kind.id_field: aid}
            resp = self.item_call(perms_op, request)
            if resp is not None:
                permissions.append({"Request": request, "Response": resp})
        _write_json(folder / kind.permissions_file, permissions)


def extract_quicksight(
    account_id: str,
    region: str,
    out: Path | str,
    namespace: str = "default",
    endpoint_url: str | None = None,
    client=None,
) -> Path:
    """Write one QuickSight metadata snapshot under `out` and return its folder."""
    account_id = str(account_id).strip()
    if not _ACCOUNT_RE.match(account_id):
        raise ExtractError(f"--account-id {account_id!r} is not a 12-digit AWS account id")
    if not region or not region.strip():
        raise ExtractError("--region is required (the QuickSight region to read, e.g. us-east-1)")
    region = region.strip()
    if client is None:
        from botocore.exceptions import BotoCoreError

        try:
            client = make_client(region, endpoint_url)
        except BotoCoreError as exc:
            raise ExtractError(f"cannot create a QuickSight client for region {region}: {exc}") from None
    started = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    stamp = started.strftime(STAMP_FORMAT)
    parent = Path(out).expanduser() / account_id / region
    final = parent / stamp
    if final.exists():
        raise ExtractError(f"{final} already exists (a snapshot was written in the same second); run again")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{stamp}.", suffix=".tmp", dir=parent))
    except OSError as exc:
        raise ExtractError(f"cannot write to {parent}: {exc}") from None
    try:
        x = _Extractor(client, account_id, region, namespace)
        x.run(tmp)
        _write_json(tmp / ERRORS, x.errors)
        _write_json(tmp / MANIFEST, {
            "AccountId": account_id, "Region": region, "Namespace": namespace,
            "SnapshotTime": started.replace(tzinfo=None).isoformat() + "Z",
        })
        os.chmod(tmp, 0o755)
        os.rename(tmp, final)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ExtractError(f"cannot write the snapshot to {final}: {exc}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def snapshot_counts(folder: Path | str) -> dict[str, int]:
    """Entries per API file of a snapshot folder (for printing), errors.json included."""
    out: dict[str, int] = {}
    for path in sorted(Path(folder).glob("*.json")):
        if path.name == MANIFEST:
            continue
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(doc, list):
            out[path.stem] = len(doc)
        elif isinstance(doc, dict):
            out[path.stem] = sum(len(v) for v in doc.values() if isinstance(v, list))
    return out
