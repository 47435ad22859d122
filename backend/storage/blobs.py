"""Content-addressed blob stores: the database (default) or S3-compatible object storage.

A blob's name is the SHA-256 of its bytes, so identical content is stored once and a
read is checked against its name: a missing or altered object raises `BlobUnavailable`
and is never served in place of the document that was asked for.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import re
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol, TypeVar

from backend.config import Settings
from backend.database import fetch, utcnow
from backend.errors import AppError
from backend.storage.tables import Blob

logger = logging.getLogger("signlink.storage")
T = TypeVar("T")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BlobUnavailable(AppError):
    """Stored content that cannot be served: missing, altered, or the store unreachable."""


def _missing(sha256: str) -> BlobUnavailable:
    logger.error("blob %s is missing from the store", sha256)
    return BlobUnavailable(
        "document_missing",
        "文件内容暂时无法读取，请稍后重试；如持续出现，请联系发起方。",
        "The document's content cannot be read right now; try again later or contact the sender.",
        503,
    )


def _corrupted(sha256: str, actual: str) -> BlobUnavailable:
    logger.error("blob %s failed its integrity check (content hashes to %s)", sha256, actual)
    return BlobUnavailable(
        "document_corrupted",
        "文件内容校验失败，为防止出示错误的合同已停止读取，请联系发起方。",
        "The stored document failed its integrity check and was not served; contact the sender.",
        503,
    )


def _unreachable(error: Exception) -> BlobUnavailable:
    logger.error("blob store unreachable: %s", type(error).__name__)
    return BlobUnavailable(
        "storage_unavailable",
        "文件存储服务暂时不可用，请稍后重试。",
        "Document storage is temporarily unavailable; try again shortly.",
        503,
    )


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# Hashing a large document (about 2.5 ms per MB here) goes to a thread, off the event loop.
_HASH_IN_THREAD = 1 << 20


async def _hash(data: bytes) -> str:
    if len(data) > _HASH_IN_THREAD:
        return await asyncio.to_thread(content_hash, data)
    return content_hash(data)


async def _checked(sha256: str, data: bytes) -> bytes:
    actual = await _hash(data)
    if actual != sha256:
        raise _corrupted(sha256, actual)
    return data


def _name(sha256: str) -> str:
    if not SHA256.fullmatch(sha256):
        raise ValueError("a blob is named by the lowercase hex SHA-256 of its content")
    return sha256


class BlobStore(Protocol):
    """Where document and image bytes live, by the SHA-256 of their content."""

    kind: str

    async def put(self, data: bytes) -> str:
        """Store `data` (once) and return its SHA-256."""
        ...

    async def get(self, sha256: str) -> bytes:
        """The content named `sha256`, checked against the name; else `BlobUnavailable`."""
        ...

    async def repair(self, data: bytes) -> str:
        """Store `data` even where a blob of that name is held (one that failed its check),
        and return its SHA-256."""
        ...

    async def exists(self, sha256: str) -> bool:
        """Held by this store itself."""
        ...

    def names(self) -> AsyncIterator[str]:
        """Every stored blob's SHA-256 (for copying between stores)."""
        ...


class DatabaseBlobStore:
    """Blobs in the `blob` table, written inside the caller's transaction when there is one."""

    kind = "database"

    async def put(self, data: bytes) -> str:
        sha256 = await _hash(data)
        if not await self.exists(sha256):
            await Blob.insert(
                Blob(sha256=sha256, data=data, size=len(data), created_at=utcnow())
            ).on_conflict(action="DO NOTHING")
        return sha256

    async def repair(self, data: bytes) -> str:
        sha256 = await _hash(data)
        await Blob.insert(
            Blob(sha256=sha256, data=data, size=len(data), created_at=utcnow())
        ).on_conflict(target=Blob.sha256, action="DO UPDATE", values=[Blob.data, Blob.size])
        return sha256

    async def get(self, sha256: str) -> bytes:
        # On the kept read connection (a hot path: every page a signer reads).
        rows = await fetch('SELECT "data" FROM "blob" WHERE "sha256" = {}', _name(sha256))
        if not rows:
            raise _missing(sha256)
        return await _checked(sha256, bytes(rows[0]["data"]))

    async def exists(self, sha256: str) -> bool:
        rows = await fetch('SELECT 1 AS "found" FROM "blob" WHERE "sha256" = {}', _name(sha256))
        return bool(rows)

    async def names(self) -> AsyncIterator[str]:
        after = ""
        while True:
            rows = (
                await Blob.select(Blob.sha256)
                .where(Blob.sha256 > after)
                .order_by(Blob.sha256)
                .limit(500)
            )
            for row in rows:
                yield row["sha256"]
            if len(rows) < 500:
                return
            after = rows[-1]["sha256"]


class S3BlobStore:
    """Blobs as objects `<prefix><sha256>` in an S3-compatible bucket (AWS S3, Aliyun OSS,
    MinIO), with SigV4-signed requests from boto3 run in worker threads.

    `fallback` is read when an object is not in the bucket: the database store keeps
    serving what was stored before object storage was configured."""

    kind = "s3"

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str = "",
        region: str = "us-east-1",
        access_key_id: str = "",
        secret_access_key: str = "",
        prefix: str = "",
        addressing_style: str = "auto",
        fallback: BlobStore | None = None,
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix
        self.fallback = fallback
        # One client for all threads (boto3 clients are thread-safe; sessions are not).
        self._client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region,
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": addressing_style},
                connect_timeout=5,
                read_timeout=30,
                retries={"max_attempts": 3, "mode": "standard"},
                # Content is checked by its SHA-256 on read and by Content-MD5 on upload;
                # the newer default CRC checksums are not implemented by every S3-compatible
                # service (OSS, older MinIO).
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )

    def _key(self, sha256: str) -> str:
        return f"{self.prefix}{_name(sha256)}"

    async def _call(self, fn: Callable[..., T], **kwargs: Any) -> T:
        from botocore.exceptions import BotoCoreError

        try:
            return await asyncio.to_thread(fn, **kwargs)
        except BotoCoreError as error:  # connection refused, timeouts, bad endpoint
            raise _unreachable(error) from error

    @staticmethod
    def _is_missing(error: Exception) -> bool:
        from botocore.exceptions import ClientError

        if not isinstance(error, ClientError):
            return False
        code = str(error.response.get("Error", {}).get("Code", ""))
        return code in {"404", "NoSuchKey", "NotFound"}

    async def put(self, data: bytes) -> str:
        sha256 = await _hash(data)
        if await self.exists(sha256):
            return sha256
        return await self._upload(sha256, data)

    async def repair(self, data: bytes) -> str:
        return await self._upload(await _hash(data), data)

    async def _upload(self, sha256: str, data: bytes) -> str:
        def upload() -> None:  # in a thread: the MD5 of a large document too
            md5 = hashlib.md5(data, usedforsecurity=False).digest()
            self._client.put_object(
                Bucket=self.bucket,
                Key=self._key(sha256),
                Body=data,
                ContentMD5=base64.b64encode(md5).decode(),
                ContentType="application/octet-stream",
                Metadata={"sha256": sha256},
            )

        try:
            await self._call(upload)
        except BlobUnavailable:
            raise
        except Exception as error:
            raise _unreachable(error) from error
        return sha256

    async def get(self, sha256: str) -> bytes:
        try:
            obj = await self._call(
                self._client.get_object, Bucket=self.bucket, Key=self._key(sha256)
            )
            data = await asyncio.to_thread(obj["Body"].read)
        except BlobUnavailable:
            raise
        except Exception as error:
            if not self._is_missing(error):
                raise _unreachable(error) from error
            if self.fallback is not None and await self.fallback.exists(sha256):
                return await self.fallback.get(sha256)
            raise _missing(sha256) from None
        return await _checked(sha256, data)

    async def exists(self, sha256: str) -> bool:
        """In the bucket itself (the fallback is for reading only)."""
        try:
            await self._call(self._client.head_object, Bucket=self.bucket, Key=self._key(sha256))
            return True
        except BlobUnavailable:
            raise
        except Exception as error:
            if not self._is_missing(error):
                raise _unreachable(error) from error
        return False

    async def names(self) -> AsyncIterator[str]:
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self.prefix}
            if token:
                kwargs["ContinuationToken"] = token
            page = await self._call(self._client.list_objects_v2, **kwargs)
            for item in page.get("Contents", []):
                name = item["Key"][len(self.prefix) :]
                if SHA256.fullmatch(name):
                    yield name
            token = page.get("NextContinuationToken")
            if not token:
                return


def from_settings(settings: Settings) -> BlobStore:
    """The store named by `SIGNLINK_BLOB_STORE`; a bad configuration stops start-up."""
    if settings.blob_store == "database":
        return DatabaseBlobStore()
    if settings.blob_store == "s3":
        if not settings.s3_bucket:
            raise ValueError("SIGNLINK_BLOB_STORE=s3 needs SIGNLINK_S3_BUCKET")
        if settings.s3_addressing_style not in {"auto", "path", "virtual"}:
            raise ValueError("SIGNLINK_S3_ADDRESSING_STYLE must be auto, path or virtual")
        return S3BlobStore(
            bucket=settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
            prefix=settings.s3_prefix,
            addressing_style=settings.s3_addressing_style,
            fallback=DatabaseBlobStore(),
        )
    raise ValueError(f"SIGNLINK_BLOB_STORE must be 'database' or 's3', not {settings.blob_store!r}")


_active: BlobStore | None = None


def configure(settings: Settings) -> BlobStore:
    """Make the configured store the one `blobs()` returns (called by create_app)."""
    global _active
    _active = from_settings(settings)
    return _active


def use(store: BlobStore | None) -> BlobStore | None:
    """Swap the active store (None: back to the settings'); returns the previous one."""
    global _active
    previous, _active = _active, store
    return previous


def blobs() -> BlobStore:
    """The active blob store; built from the environment's settings on first use
    (a standalone worker process never calls create_app)."""
    if _active is None:
        from backend.config import get_settings

        return configure(get_settings())
    return _active


async def copy_blobs(source: BlobStore, target: BlobStore) -> tuple[int, int, list[str]]:
    """Copy every blob of `source` that `target` lacks, each checked against its hash on
    the way. Returns (copied, already there, names that failed the check and were not
    copied). Used to move to object storage and back."""
    copied = present = 0
    refused: list[str] = []
    async for sha256 in source.names():
        if await target.exists(sha256):
            present += 1
            continue
        try:
            data = await source.get(sha256)
        except BlobUnavailable as error:
            if error.code == "storage_unavailable":
                raise
            refused.append(sha256)
            continue
        await target.put(data)
        copied += 1
    return copied, present, refused


async def copy_database_blobs(settings: Settings) -> tuple[int, int, list[str]]:
    """After switching to object storage: copy what the database holds into the bucket
    (`python -m backend.manage blobs-to-store`). Reads keep working without it."""
    target = from_settings(settings)
    if target.kind == "database":
        return 0, 0, []
    return await copy_blobs(DatabaseBlobStore(), target)
