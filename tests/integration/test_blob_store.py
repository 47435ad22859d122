"""Content-addressed blob stores: the database table and an S3-compatible bucket."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
from botocore.exceptions import ClientError

from backend.config import get_settings
from backend.envelopes.tables import DocumentRevision, PageImage
from backend.storage import (
    BlobUnavailable,
    DatabaseBlobStore,
    S3BlobStore,
    copy_blobs,
    from_settings,
)
from backend.storage.tables import Blob
from tests.integration.journey import car_purchase_body, fresh_phones, wait_for_sms
from tests.integration.s3_server import BUCKET, PREFIX, S3Server, running_s3


def _content(label: str) -> bytes:
    return f"%PDF-1.7 {label} {os.urandom(8).hex()}".encode()


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with running_s3() as server:
        yield server


def s3_store(server: S3Server, **overrides: str) -> S3BlobStore:
    store = from_settings(server.settings(get_settings(), **overrides))
    assert isinstance(store, S3BlobStore)
    return store


# ---------------------------------------------------------------- database


async def test_database_store_keeps_identical_content_once(migrated):
    store = DatabaseBlobStore()
    data = _content("once")
    first = await store.put(data)
    second = await store.put(data)
    assert first == second == hashlib.sha256(data).hexdigest()
    assert await Blob.count().where(Blob.sha256 == first) == 1
    assert await store.exists(first)
    assert await store.get(first) == data


async def test_database_store_refuses_altered_and_missing_content(migrated):
    store = DatabaseBlobStore()
    sha = await store.put(_content("original"))
    await Blob.update({Blob.data: _content("tampered")}).where(Blob.sha256 == sha)
    with pytest.raises(BlobUnavailable) as corrupted:
        await store.get(sha)
    assert corrupted.value.code == "document_corrupted"
    assert corrupted.value.status_code == 503
    assert "校验失败" in corrupted.value.message

    await Blob.delete().where(Blob.sha256 == sha)

    absent = hashlib.sha256(b"never stored").hexdigest()
    assert not await store.exists(absent)
    with pytest.raises(BlobUnavailable) as missing:
        await store.get(absent)
    assert missing.value.code == "document_missing"


async def test_an_altered_pdf_is_never_downloaded(client, auth, migrated):
    """The API answers with a clear error instead of serving bytes that are not the
    document the envelope records."""
    buyer, dealer = fresh_phones()
    created = await client.post(
        "/api/v1/envelopes", json=car_purchase_body(buyer, dealer), headers=auth
    )
    assert created.status_code == 201, created.text
    envelope_id = created.json()["id"]
    good = await client.get(f"/api/v1/envelopes/{envelope_id}/pdf", headers=auth)
    assert good.status_code == 200
    sha = hashlib.sha256(good.content).hexdigest()

    await Blob.update({Blob.data: good.content.replace(b"%PDF", b"%XXX", 1)}).where(
        Blob.sha256 == sha
    )
    try:
        bad = await client.get(f"/api/v1/envelopes/{envelope_id}/pdf", headers=auth)
        assert bad.status_code == 503
        assert bad.json()["error"]["code"] == "document_corrupted"
        assert bad.json()["error"]["message"].startswith("文件内容校验失败")
        assert b"%XXX" not in bad.content
    finally:
        await Blob.update({Blob.data: good.content}).where(Blob.sha256 == sha)


async def test_an_altered_page_image_is_rendered_again(client, auth, outbox, migrated):
    """A cached page image that fails its check is a rendering, not the document: the
    signer still sees the page, rendered again from the checked PDF, and the cache heals."""
    buyer, dealer = fresh_phones()
    created = await client.post(
        "/api/v1/envelopes", json=car_purchase_body(buyer, dealer), headers=auth
    )
    assert created.status_code == 201, created.text
    await wait_for_sms(outbox, buyer)
    page = f"{outbox.link_for(buyer)}/pages/0"
    first = await client.get(page)
    assert first.status_code == 200 and first.headers["content-type"] == "image/webp"
    image_sha = hashlib.sha256(first.content).hexdigest()
    assert await PageImage.exists().where(PageImage.image_sha256 == image_sha)

    await Blob.update({Blob.data: b"not a page"}).where(Blob.sha256 == image_sha)
    again = await client.get(page)
    assert again.status_code == 200
    assert again.content[:4] == b"RIFF" and again.content[8:12] == b"WEBP"
    assert b"not a page" not in again.content
    envelope_id = uuid.UUID(created.json()["id"])
    document = await DocumentRevision.select(DocumentRevision.sha256).where(
        DocumentRevision.envelope == envelope_id
    )
    healed = await PageImage.select(PageImage.image_sha256).where(
        (PageImage.sha256 == document[0]["sha256"]) & (PageImage.page == 0)
    )
    assert len(healed) == 1  # the broken row was replaced, not added to
    assert await DatabaseBlobStore().get(healed[0]["image_sha256"]) == again.content


def test_bad_store_configuration_stops_start_up():
    base = get_settings()
    with pytest.raises(ValueError, match="SIGNLINK_S3_BUCKET"):
        from_settings(replace(base, blob_store="s3", s3_bucket=""))
    with pytest.raises(ValueError, match="'database' or 's3'"):
        from_settings(replace(base, blob_store="ftp"))


# ---------------------------------------------------------------- S3-compatible


async def test_s3_store_round_trip_with_signed_requests(s3, migrated):
    store = s3_store(s3)
    data = _content("s3")
    sha = await store.put(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert await store.put(data) == sha  # identical content: still one object
    assert await store.exists(sha)
    assert await store.get(sha) == data

    # What an operator sees in the bucket: one object named by the content hash.
    bucket = s3.client()
    listed = bucket.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX)["Contents"]
    assert [o["Key"] for o in listed].count(f"{PREFIX}{sha}") == 1
    assert bucket.get_object(Bucket=BUCKET, Key=f"{PREFIX}{sha}")["Body"].read() == data
    # The bytes never went to the database.
    assert not await Blob.exists().where(Blob.sha256 == sha)
    assert sha in [name async for name in store.names()]


async def test_s3_server_checks_the_signature(s3, migrated):
    wrong = s3_store(s3, s3_secret_access_key="not-the-secret")
    with pytest.raises(BlobUnavailable) as refused:
        await wrong.put(_content("unsigned"))
    assert refused.value.code == "storage_unavailable"
    # The server itself refused: a request signed with the wrong secret does not match.
    with pytest.raises(ClientError) as raw:
        s3.client(secret="not-the-secret").list_objects_v2(Bucket=BUCKET)
    assert raw.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


async def test_s3_missing_object_is_reported_not_invented(s3, migrated):
    store = s3_store(s3)
    absent = hashlib.sha256(b"not in the bucket").hexdigest()
    assert not await store.exists(absent)
    with pytest.raises(BlobUnavailable) as missing:
        await store.get(absent)
    assert missing.value.code == "document_missing"


async def test_s3_altered_object_is_refused(s3, migrated):
    store = s3_store(s3)
    data = _content("contract")
    sha = await store.put(data)
    # Someone (or a faulty replica) replaces the object with other bytes.
    s3.client().put_object(Bucket=BUCKET, Key=f"{PREFIX}{sha}", Body=_content("forged"))
    with pytest.raises(BlobUnavailable) as corrupted:
        await store.get(sha)
    assert corrupted.value.code == "document_corrupted"
    # Whoever holds the real content again can put it back; a plain put would skip it.
    assert await store.put(data) == sha
    with pytest.raises(BlobUnavailable):
        await store.get(sha)
    assert await store.repair(data) == sha
    assert await store.get(sha) == data


async def test_s3_unreachable_is_a_clear_error(migrated):
    store = S3BlobStore(
        bucket=BUCKET,
        endpoint_url="http://127.0.0.1:9",  # discard port: nothing listens
        access_key_id="x",
        secret_access_key="y",
        addressing_style="path",
    )
    with pytest.raises(BlobUnavailable) as down:
        await store.get(hashlib.sha256(b"x").hexdigest())
    assert down.value.code == "storage_unavailable"
    assert down.value.message_en.startswith("Document storage is temporarily unavailable")


async def test_switching_to_s3_keeps_earlier_documents(s3, migrated):
    """Content stored in the database before the switch is still served, and can be
    copied into the bucket."""
    database = DatabaseBlobStore()
    earlier = _content("before the switch")
    sha = await database.put(earlier)
    store = s3_store(s3)
    assert not await store.exists(sha)
    assert await store.get(sha) == earlier  # read from the database

    # One stored blob has been altered since: it is reported, never copied.
    altered = await database.put(_content("altered later"))
    await Blob.update({Blob.data: _content("forged")}).where(Blob.sha256 == altered)

    copied, present, refused = await copy_blobs(database, store)
    assert copied >= 1
    assert refused == [altered]
    assert not await store.exists(altered)
    assert await store.exists(sha)
    assert s3.client().get_object(Bucket=BUCKET, Key=f"{PREFIX}{sha}")["Body"].read() == earlier
    again, present_now, _ = await copy_blobs(database, store)
    assert again == 0 and present_now == present + copied
    await Blob.delete().where(Blob.sha256 == altered)


async def test_operator_copies_database_blobs_into_the_bucket(s3, migrated):
    sha = await DatabaseBlobStore().put(_content("stored before object storage"))
    env = {
        **os.environ,
        "SIGNLINK_BLOB_STORE": "s3",
        "SIGNLINK_S3_ENDPOINT_URL": s3.url,
        "SIGNLINK_S3_BUCKET": BUCKET,
        "SIGNLINK_S3_ACCESS_KEY_ID": s3.access_key_id,
        "SIGNLINK_S3_SECRET_ACCESS_KEY": s3.secret_access_key,
        "SIGNLINK_S3_PREFIX": PREFIX,
        "SIGNLINK_S3_ADDRESSING_STYLE": "path",
    }
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "backend.manage", "blobs-to-store"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert " copied, " in done.stdout
    assert s3.client().head_object(Bucket=BUCKET, Key=f"{PREFIX}{sha}")["ContentLength"] > 0
