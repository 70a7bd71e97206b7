"""The BI metadata snapshot format (QuickSight API shaped) and reading one snapshot.

A snapshot is a folder holding `manifest.json` (AccountId, Region, Namespace,
SnapshotTime) and one JSON file per API call: list calls with their pages merged
(`{"UserList": [...]}`) and per-asset calls as `[{"Request": {...}, "Response": {...}}]`.
`eventlake extract quicksight` writes it; the `bi-metadata` source loads it.

SnapshotReader turns the files into rows of `users`, `assets`, `asset_permissions` and
`dataset_usage`. A record is one API entry (a user, a group, a group member, a list or
describe entry, one permission); every record is counted once as loaded, duplicate
(same id twice in a file) or quarantined with its file, position and reason. An
unparsable file or a file of the wrong shape is one quarantined record; a missing file
counts as nothing."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import orjson

from .base import Quarantined
from .stores import SourceObject

MANIFEST = "manifest.json"
ERRORS = "errors.json"  # describe calls that failed during extraction (kept, not loaded)
USERS_FILE = "ListUsers.json"
GROUPS_FILE = "ListGroups.json"
MEMBERSHIPS_FILE = "ListGroupMemberships.json"
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class AssetKind:
    """One kind of BI asset and the files that describe it."""

    asset_type: str  # the value of assets.asset_type
    id_field: str  # DashboardId, AnalysisId, ...
    list_file: str
    list_key: str
    describe_file: str | None  # a JSON array of {"Request": ..., "Response": {describe_key: ...}}
    describe_key: str | None
    permissions_file: str


ASSET_KINDS: tuple[AssetKind, ...] = (
    AssetKind("dashboard", "DashboardId", "ListDashboards.json", "DashboardSummaryList",
              "DescribeDashboard.json", "Dashboard", "DescribeDashboardPermissions.json"),
    AssetKind("analysis", "AnalysisId", "ListAnalyses.json", "AnalysisSummaryList",
              "DescribeAnalysis.json", "Analysis", "DescribeAnalysisPermissions.json"),
    AssetKind("dataset", "DataSetId", "ListDataSets.json", "DataSetSummaries",
              "DescribeDataSet.json", "DataSet", "DescribeDataSetPermissions.json"),
    AssetKind("datasource", "DataSourceId", "ListDataSources.json", "DataSources",
              None, None, "DescribeDataSourcePermissions.json"),
)

SNAPSHOT_FILES: frozenset[str] = frozenset(
    {MANIFEST, ERRORS, USERS_FILE, GROUPS_FILE, MEMBERSHIPS_FILE}
    | {k.list_file for k in ASSET_KINDS}
    | {k.describe_file for k in ASSET_KINDS if k.describe_file}
    | {k.permissions_file for k in ASSET_KINDS}
)

_ACCOUNT_RE = re.compile(r"^\d{12}$")
_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


# -- values -----------------------------------------------------------------------
class _Bad(Exception):
    """An entry is unusable; the message is the quarantine reason."""


def _kind(v: Any) -> str:
    if isinstance(v, dict):
        return "object"
    if isinstance(v, list):
        return "array"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    return "string" if isinstance(v, str) else "null"


def _text(e: dict, key: str, required: bool = False, where: str = "") -> str | None:
    v = e.get(key)
    if v is None or v == "":
        if required:
            raise _Bad(f"entry has no {where}{key}")
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return str(v)
    raise _Bad(f"{where}{key} is a JSON {_kind(v)}, not a string")


def parse_time(v: Any) -> dt.datetime | None:
    """A UTC datetime from an ISO-8601 string (no zone means UTC) or epoch seconds;
    None when the value is not a timestamp."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        try:
            return dt.datetime.fromtimestamp(v, dt.timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(v, str):
        return None
    try:
        t = dt.datetime.fromisoformat(v.strip())
    except ValueError:
        return None
    return t.replace(tzinfo=dt.timezone.utc) if t.tzinfo is None else t.astimezone(dt.timezone.utc)


def _time(e: dict, key: str) -> dt.datetime | None:
    v = e.get(key)
    if v is None or v == "":
        return None
    t = parse_time(v)
    if t is None:
        raise _Bad(f"{key} {v!r} is not an ISO-8601 timestamp")
    return t


def _int(e: dict, key: str) -> int | None:
    v = e.get(key)
    if v is None:
        return None
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and v.strip().lstrip("-").isdigit():
        return int(v)
    raise _Bad(f"{key} {v!r} is not an integer")


def _bool(e: dict, key: str) -> bool | None:
    v = e.get(key)
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    raise _Bad(f"{key} {v!r} is not true or false")


def _obj(e: dict, key: str, where: str = "") -> dict:
    v = e.get(key)
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise _Bad(f"{where}{key} is a JSON {_kind(v)}, not an object")
    return v


def _str_list(e: dict, key: str, where: str = "") -> list[str]:
    v = e.get(key)
    if v is None:
        return []
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise _Bad(f"{where}{key} is not an array of strings")
    return list(v)


def principal_parts(arn: str) -> tuple[str, str | None]:
    """(principal_type, principal_name) of a permission's principal ARN:
    `...:user/<namespace>/<name>` -> ('user', name) (the name may hold '/'), likewise
    'group'; `...:namespace/<ns>` -> ('namespace', ns); anything else -> ('other', the
    ARN's resource part, or the whole string when it is not an ARN)."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and parts[2] == "quicksight":
        head, _, rest = parts[5].partition("/")
        if head in ("user", "group"):
            _ns, sep, name = rest.partition("/")
            if sep and name:
                return head, name
        if head == "namespace" and rest:
            return "namespace", rest
    return "other", parts[5] if len(parts) == 6 else arn


def _namespace_of(arn: str | None) -> str | None:
    if not arn:
        return None
    parts = arn.split(":", 5)
    if len(parts) == 6:
        head, _, rest = parts[5].partition("/")
        ns, sep, _name = rest.partition("/")
        if head in ("user", "group") and sep and ns:
            return ns
    return None


def _dataset_id(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


# -- reading one snapshot ---------------------------------------------------------
@dataclass
class Identity:
    account_id: str
    region: str
    namespace: str
    snapshot_time: dt.datetime

    @property
    def mark_uri(self) -> str:
        """The identity's own entry in ingested_objects."""
        t = self.snapshot_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return f"bi-metadata-snapshot:{self.account_id}/{self.region}/{t}"


@dataclass
class SnapshotRows:
    users: list[dict] = field(default_factory=list)
    assets: list[dict] = field(default_factory=list)
    permissions: list[dict] = field(default_factory=list)
    usage: list[dict] = field(default_factory=list)


class SnapshotReader:
    """Parses one snapshot folder's files (name -> (object, local path)) into rows,
    counting every record of every file and collecting quarantine entries."""

    def __init__(self, files: dict[str, tuple[SourceObject, Path]]):
        self.files = files
        self.counts: dict[str, list[int]] = {n: [0, 0, 0, 0] for n in files}  # records, loaded, duplicates, quarantined
        self.quarantined: list[Quarantined] = []
        self.failed: set[str] = set()
        self.namespace = "default"

    # counting
    def _count(self, name: str, slot: int) -> None:
        c = self.counts[name]
        c[0] += 1
        c[slot] += 1

    def ok(self, name: str) -> None:
        self._count(name, 1)

    def dup(self, name: str) -> None:
        self._count(name, 2)

    def bad(self, name: str, position: str, reason: str, raw: Any = None) -> None:
        self._count(name, 3)
        if raw is not None and not isinstance(raw, str):
            raw = orjson.dumps(raw).decode()
        self.quarantined.append(Quarantined(self.files[name][0].uri, position, reason, raw))

    # files
    def document(self, name: str) -> Any | None:
        """The parsed file, or None when absent or unparsable (then quarantined)."""
        if name not in self.files:
            return None
        path = self.files[name][1]
        try:
            data = path.read_bytes()
        except OSError as exc:
            self.failed.add(name)
            self.bad(name, "file", f"cannot read: {exc}")
            return None
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            self.failed.add(name)
            self.bad(name, "file", f"not valid JSON: {exc}", data[:200].decode("utf-8", "replace"))
            return None

    def entries(self, name: str, key: str | None = None) -> Iterator[tuple[str, dict]]:
        """(position, entry) of each object in the file's `key` array (or the file's
        top-level array); other entries and a wrong file shape are quarantined."""
        doc = self.document(name)
        if doc is None:
            return
        if key is not None:
            if not isinstance(doc, dict) or not isinstance(doc.get(key), list):
                self.failed.add(name)
                self.bad(name, "file", f"expected a JSON object with a {key} array, got a JSON {_kind(doc)}"
                         + (f" without {key}" if isinstance(doc, dict) else ""))
                return
            items, prefix = doc[key], key
        else:
            if not isinstance(doc, list):
                self.failed.add(name)
                self.bad(name, "file", f"expected a JSON array of Request/Response entries, got a JSON {_kind(doc)}")
                return
            items, prefix = doc, ""
        for i, item in enumerate(items):
            pos = f"{prefix}[{i}]"
            if isinstance(item, dict):
                yield pos, item
            else:
                self.bad(name, pos, f"entry is a JSON {_kind(item)}, not an object", item)

    # manifest
    def identity(self) -> Identity | None:
        """The snapshot's identity from manifest.json; a missing or invalid field is
        quarantined and taken from the folder path (<account>/<region>/<stamp>) when it
        names it; None when the snapshot cannot be identified at all."""
        obj, path = self.files[MANIFEST]
        problems: list[str] = []
        fields: list[str] = []
        doc: Any = None
        try:
            doc = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            problems.append(f"not valid JSON: {exc}")
            fields.append("file")
            self.failed.add(MANIFEST)
        if doc is not None and not isinstance(doc, dict):
            problems.append(f"expected a JSON object, got a JSON {_kind(doc)}")
            fields.append("file")
            self.failed.add(MANIFEST)
            doc = None
        doc = doc or {}
        folder = obj.uri.rsplit("/", 1)[0].split("/")
        from_path = {
            "AccountId": folder[-3] if len(folder) >= 3 and _ACCOUNT_RE.match(folder[-3]) else None,
            "Region": folder[-2] if len(folder) >= 2 and _REGION_RE.match(folder[-2]) else None,
            "SnapshotTime": _stamp_time(folder[-1]),
        }
        values: dict[str, Any] = {}
        for key, check in (("AccountId", _ACCOUNT_RE), ("Region", _REGION_RE), ("SnapshotTime", None)):
            v = doc.get(key) if doc else None
            good = parse_time(v) if check is None else (v if isinstance(v, str) and check.match(v) else None)
            if good is None:
                if "file" not in fields:
                    fields.append(key)
                    problems.append(f"{key} is missing" if v in (None, "") else f"{key} {v!r} is not valid")
                good = from_path[key]
            values[key] = good
        ns = doc.get("Namespace") if doc else None
        self.namespace = ns if isinstance(ns, str) and ns else "default"
        ok = all(v is not None for v in values.values())
        if problems:
            if ok:
                used = f"{values['AccountId']}/{values['Region']} at {values['SnapshotTime']:%Y-%m-%dT%H:%M:%SZ}"
                tail = f"; took {used} from the folder path"
            else:
                tail = "; the folder path does not name it either (expected <account>/<region>/<YYYYMMDDTHHMMSSZ>/): snapshot not loaded"
            self.bad(MANIFEST, ", ".join(fields), "; ".join(problems) + tail)
        if not ok:
            return None
        return Identity(values["AccountId"], values["Region"], self.namespace, values["SnapshotTime"])

    # tables
    def read(self) -> SnapshotRows:
        rows = SnapshotRows()
        memberships = self._memberships()
        self._groups()
        rows.users = self._users(memberships)
        for kind in ASSET_KINDS:
            assets, usage = self._assets(kind)
            rows.assets += assets
            rows.usage += usage
        for kind in ASSET_KINDS:
            rows.permissions += self._permissions(kind)
        return rows

    def _uri(self, name: str) -> str:
        return self.files[name][0].uri

    def _memberships(self) -> list[tuple[str, str | None, str | None]]:
        out: list[tuple[str, str | None, str | None]] = []
        seen: set[tuple] = set()
        name = MEMBERSHIPS_FILE
        for pos, e in self.entries(name):
            try:
                group = _text(_obj(e, "Request"), "GroupName", required=True, where="Request.")
                members = _obj(e, "Response").get("GroupMemberList")
                if not isinstance(members, list):
                    raise _Bad("Response.GroupMemberList is missing or not an array")
            except _Bad as exc:
                self.bad(name, pos, str(exc), e)
                continue
            for j, m in enumerate(members):
                mpos = f"{pos}.Response.GroupMemberList[{j}]"
                try:
                    if not isinstance(m, dict):
                        raise _Bad(f"member is a JSON {_kind(m)}, not an object")
                    member, arn = _text(m, "MemberName"), _text(m, "Arn")
                    if member is None and arn is None:
                        raise _Bad("member has neither MemberName nor Arn")
                except _Bad as exc:
                    self.bad(name, mpos, str(exc), m)
                    continue
                if (group, member, arn) in seen:
                    self.dup(name)
                    continue
                seen.add((group, member, arn))
                out.append((group, member, arn))
                self.ok(name)
        return out

    def _groups(self) -> None:
        seen: set[str] = set()
        for pos, e in self.entries(GROUPS_FILE, "GroupList"):
            try:
                group = _text(e, "GroupName", required=True)
            except _Bad as exc:
                self.bad(GROUPS_FILE, pos, str(exc), e)
                continue
            if group in seen:
                self.dup(GROUPS_FILE)
            else:
                seen.add(group)
                self.ok(GROUPS_FILE)

    def _users(self, memberships: list[tuple[str, str | None, str | None]]) -> list[dict]:
        rows: list[dict] = []
        seen: set[str] = set()
        for pos, e in self.entries(USERS_FILE, "UserList"):
            try:
                user = _text(e, "UserName", required=True)
                arn = _text(e, "Arn")
                row = dict(
                    namespace=_namespace_of(arn) or self.namespace, user_name=user, principal_id=_text(e, "PrincipalId"),
                    arn=arn, email=_text(e, "Email"), role=_text(e, "Role"), identity_type=_text(e, "IdentityType"),
                    active=_bool(e, "Active"), source_object=self._uri(USERS_FILE),
                )
            except _Bad as exc:
                self.bad(USERS_FILE, pos, str(exc), e)
                continue
            if user in seen:
                self.dup(USERS_FILE)
                continue
            seen.add(user)
            # A user is in a group when a member's MemberName equals the UserName or
            # the member's Arn equals the user's Arn.
            row["groups"] = sorted(
                {g for g, m, a in memberships if (m is not None and m == user) or (a is not None and a == arn)}
            )
            rows.append(row)
            self.ok(USERS_FILE)
        return rows

    def _asset_fields(self, kind: AssetKind, e: dict, described: bool) -> dict:
        f = dict(
            name=_text(e, "Name"), arn=_text(e, "Arn"), created_time=_time(e, "CreatedTime"),
            updated_time=_time(e, "LastUpdatedTime"),
        )
        if kind.asset_type == "dashboard":
            f["last_published_time"] = _time(e, "LastPublishedTime")
            if described:
                f["status"] = _text(_obj(e, "Version"), "Status", where="Version.")
        else:
            f["status"] = _text(e, "Status")
        if kind.asset_type == "dataset":
            f["import_mode"] = _text(e, "ImportMode")
            if described:
                f["spice_bytes"] = _int(e, "ConsumedSpiceCapacityInBytes")
        if kind.asset_type == "datasource":
            f["datasource_type"] = _text(e, "Type")
        return f

    def _assets(self, kind: AssetKind) -> tuple[list[dict], list[dict]]:
        """Asset rows (list entry merged with describe entry, describe wins) and the
        dataset usage of dashboards and analyses."""
        listed: dict[str, dict] = {}
        for pos, e in self.entries(kind.list_file, kind.list_key):
            try:
                aid = _text(e, kind.id_field, required=True)
                fields = self._asset_fields(kind, e, described=False)
            except _Bad as exc:
                self.bad(kind.list_file, pos, str(exc), e)
                continue
            if aid in listed:
                self.dup(kind.list_file)
                continue
            listed[aid] = dict(fields, source_object=self._uri(kind.list_file))
            self.ok(kind.list_file)
        described: dict[str, dict] = {}
        used: dict[str, list[str]] = {}
        if kind.describe_file:
            for pos, e in self.entries(kind.describe_file):
                try:
                    body = _obj(_obj(e, "Response"), kind.describe_key, where="Response.")
                    if not body:
                        raise _Bad(f"entry has no Response.{kind.describe_key}")
                    aid = _text(body, kind.id_field) or _text(_obj(e, "Request"), kind.id_field, required=True, where="Request.")
                    fields = self._asset_fields(kind, body, described=True)
                    if kind.asset_type == "dashboard":
                        arns = _str_list(_obj(body, "Version"), "DataSetArns", where="Version.")
                    elif kind.asset_type == "analysis":
                        arns = _str_list(body, "DataSetArns")
                    else:
                        arns = []
                except _Bad as exc:
                    self.bad(kind.describe_file, pos, str(exc), e)
                    continue
                if aid in described:
                    self.dup(kind.describe_file)
                    continue
                described[aid] = dict(fields, source_object=self._uri(kind.describe_file))
                used[aid] = list(dict.fromkeys(arns))
                self.ok(kind.describe_file)
        assets = []
        for aid in list(listed) + [a for a in described if a not in listed]:
            row = dict(asset_type=kind.asset_type, asset_id=aid)
            row.update(listed.get(aid, {}))
            row.update({k: v for k, v in described.get(aid, {}).items() if v is not None and k != "source_object"})
            row.setdefault("source_object", described.get(aid, {}).get("source_object"))
            assets.append(row)
        usage = [
            dict(asset_type=kind.asset_type, asset_id=aid, dataset_id=_dataset_id(arn), dataset_arn=arn,
                 source_object=self._uri(kind.describe_file))
            for aid, arns in used.items()
            for arn in arns
        ]
        return assets, usage

    def _permissions(self, kind: AssetKind) -> list[dict]:
        name = kind.permissions_file
        rows: list[dict] = []
        seen: set[tuple[str, str]] = set()
        for pos, e in self.entries(name):
            try:
                resp = _obj(e, "Response", where="")
                aid = _text(resp, kind.id_field) or _text(_obj(e, "Request"), kind.id_field, required=True, where="Request.")
                perms = resp.get("Permissions")
                if not isinstance(perms, list):
                    raise _Bad("Response.Permissions is missing or not an array")
            except _Bad as exc:
                self.bad(name, pos, str(exc), e)
                continue
            for j, p in enumerate(perms):
                ppos = f"{pos}.Response.Permissions[{j}]"
                try:
                    if not isinstance(p, dict):
                        raise _Bad(f"permission is a JSON {_kind(p)}, not an object")
                    principal = _text(p, "Principal", required=True)
                    actions = _str_list(p, "Actions")
                except _Bad as exc:
                    self.bad(name, ppos, str(exc), p)
                    continue
                if (aid, principal) in seen:
                    self.dup(name)
                    continue
                seen.add((aid, principal))
                ptype, pname = principal_parts(principal)
                rows.append(dict(
                    asset_type=kind.asset_type, asset_id=aid, principal_arn=principal, principal_type=ptype,
                    principal_name=pname, actions=actions, source_object=self._uri(name),
                ))
                self.ok(name)
        return rows


def _stamp_time(name: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(name, STAMP_FORMAT).replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return None
