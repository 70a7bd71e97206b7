"""Where source objects live: a local folder or an S3 bucket (real S3 API over HTTP,
credentials from the standard AWS chain, any S3-compatible endpoint)."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

from ..errors import SourceError


@dataclass(frozen=True)
class SourceObject:
    """One object to read: its URI as shown to users, size and a version that changes
    whenever its content may have changed (S3 ETag, or size + mtime locally)."""

    uri: str
    key: str  # path relative to the listed root (or the S3 key)
    size: int
    version: str
    store: "Store"

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]


class Store:
    """A place objects are listed from and fetched to local files."""

    def list(self) -> Iterator[SourceObject]:  # pragma: no cover - interface
        raise NotImplementedError

    def fetch(self, obj: SourceObject, spool: Path) -> Path:
        """A local path holding the object's bytes (downloaded into `spool` if remote)."""
        raise NotImplementedError

    def is_local(self) -> bool:
        return False


class LocalStore(Store):
    def __init__(self, root: Path):
        self.root = root

    def is_local(self) -> bool:
        return True

    def list(self) -> Iterator[SourceObject]:
        if not self.root.exists():
            raise SourceError(f"{self.root}: no such file or directory")
        if self.root.is_file():
            st = self.root.stat()
            yield SourceObject(str(self.root), self.root.name, st.st_size, f"{st.st_size}:{st.st_mtime_ns}", self)
            return
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames.sort()
            for fn in sorted(filenames):
                p = Path(dirpath) / fn
                try:
                    st = p.stat()
                except OSError as exc:
                    raise SourceError(f"{p}: cannot stat: {exc}") from None
                yield SourceObject(str(p), p.relative_to(self.root).as_posix(), st.st_size, f"{st.st_size}:{st.st_mtime_ns}", self)

    def fetch(self, obj: SourceObject, spool: Path) -> Path:
        return Path(obj.uri)


class S3Store(Store):
    def __init__(self, uri: str, endpoint_url: str | None = None, region: str | None = None):
        parsed = urlparse(uri)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise SourceError(f"{uri}: not an s3://bucket/prefix URI")
        self.bucket = parsed.netloc
        self.prefix = parsed.path.lstrip("/")
        self.endpoint_url = endpoint_url
        import boto3
        from botocore.config import Config

        if endpoint_url and not urlparse(endpoint_url).scheme.startswith("http"):
            raise SourceError(f"--endpoint-url {endpoint_url!r} must be an http:// or https:// URL")
        session = boto3.session.Session()
        self.client = session.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region or session.region_name or "us-east-1",
            config=Config(retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=16),
        )

    def list(self) -> Iterator[SourceObject]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
            for page in pages:
                for item in page.get("Contents", []):
                    key = item["Key"]
                    if key.endswith("/"):
                        continue
                    yield SourceObject(f"s3://{self.bucket}/{key}", key, int(item["Size"]), item.get("ETag", "").strip('"'), self)
        except (BotoCoreError, ClientError) as exc:
            raise SourceError(f"s3://{self.bucket}/{self.prefix}: cannot list: {exc}") from None

    def fetch(self, obj: SourceObject, spool: Path) -> Path:
        from botocore.exceptions import BotoCoreError, ClientError

        # a neutral local name: object keys may hold glob characters
        suffix = ".json.gz" if obj.name.endswith(".gz") else (".json" if obj.name.endswith(".json") else "")
        fd, name = tempfile.mkstemp(dir=spool, prefix="obj-", suffix=suffix)
        os.close(fd)
        try:
            resp = self.client.get_object(Bucket=self.bucket, Key=obj.key)
            with open(name, "wb") as fh:
                shutil.copyfileobj(resp["Body"], fh, 1 << 20)
        except (BotoCoreError, ClientError) as exc:
            raise SourceError(f"{obj.uri}: cannot read: {exc}") from None
        return Path(name)


def open_store(location: str, endpoint_url: str | None = None) -> Store:
    """A store for a local path or an s3:// URI."""
    if location.startswith("s3://"):
        return S3Store(location, endpoint_url=endpoint_url)
    if "://" in location:
        raise SourceError(f"{location}: only local paths and s3:// URIs are supported")
    # absolute (not resolved: symlinks stay as named) so `logs`, `./logs/` and
    # /abs/logs name the same objects in ingested_objects and source_object
    return LocalStore(Path(os.path.abspath(Path(location).expanduser())))
