"""The signing journey with documents and page images in an S3-compatible bucket."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Iterator

import pytest
from cryptography import x509

from backend import signing, storage
from backend.config import get_settings
from backend.envelopes.tables import DocumentRevision, PageImage
from backend.storage.tables import Blob
from tests.integration.journey import car_purchase_body, fresh_phones, sign_as, wait_for_sms
from tests.integration.s3_server import BUCKET, PREFIX, S3Server, running_s3
from tests.integration.test_journey import wait_for_long_term


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with running_s3() as server:
        yield server


@pytest.fixture
async def s3_configured(s3: S3Server, migrated: None):
    """The app's blob store is the bucket, as with SIGNLINK_BLOB_STORE=s3."""
    store = storage.from_settings(s3.settings(get_settings()))
    previous = storage.use(store)
    try:
        yield store
    finally:
        storage.use(previous)
        # The rest of this test run reads from the database again: bring back what the
        # bucket received (background jobs of other envelopes may have written there too).
        _, _, refused = await storage.copy_blobs(store, storage.blobs())
        assert refused == []


async def test_signing_journey_with_blobs_in_s3(client, auth, outbox, s3, s3_configured):
    buyer, dealer = fresh_phones()
    created = await client.post(
        "/api/v1/envelopes", json=car_purchase_body(buyer, dealer), headers=auth
    )
    assert created.status_code == 201, created.text
    envelope_id = created.json()["id"]
    await wait_for_sms(outbox, buyer)
    await sign_as(client, outbox, outbox.link_for(buyer), buyer)
    await wait_for_sms(outbox, dealer)
    # The dealer's invitation goes out just before the worker marks them notified.
    for _ in range(100):
        status = (await client.get(f"/api/v1/envelopes/{envelope_id}", headers=auth)).json()
        if status["signers"][1]["status"] != "waiting":
            break
        await asyncio.sleep(0.05)
    await sign_as(client, outbox, outbox.link_for(dealer), dealer)
    await wait_for_long_term(envelope_id)

    pdf = await client.get(f"/api/v1/envelopes/{envelope_id}/pdf", headers=auth)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert (await client.get(f"{outbox.link_for(buyer)}/download")).content == pdf.content
    root = x509.load_pem_x509_certificate((await client.get("/pki/root.pem")).content)
    report = signing.validate_pdf(pdf.content, [root])
    assert [s.signer_name for s in report.signatures] == ["张三", "李经理"]
    assert report.all_valid, report

    # Every revision (rendered, two signatures, long-term) and every page image the
    # signers read is an object in the bucket named by its hash, and not in the database.
    bucket = s3.client()
    revisions = await DocumentRevision.select(DocumentRevision.sha256).where(
        DocumentRevision.envelope == uuid.UUID(envelope_id)
    )
    assert len(revisions) == 4
    assert hashlib.sha256(pdf.content).hexdigest() in {r["sha256"] for r in revisions}
    shas = [r["sha256"] for r in revisions]
    images = await PageImage.select(PageImage.image_sha256).where(PageImage.sha256.is_in(shas))
    assert len(images) >= 4  # both signers read both pages
    for sha in [*shas, *(i["image_sha256"] for i in images)]:
        body = bucket.get_object(Bucket=BUCKET, Key=f"{PREFIX}{sha}")["Body"].read()
        assert hashlib.sha256(body).hexdigest() == sha
    assert not await Blob.exists().where(Blob.sha256.is_in(shas))
