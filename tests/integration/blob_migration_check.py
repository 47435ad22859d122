"""Run in its own process on an empty database (SQLite data dir or DATABASE_URL):
migrate to the schema that kept bytes in rows, store a document and a page image the
old way, migrate the rest, and print what the blob store then serves (JSON)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import uuid
from datetime import UTC, datetime

os.environ["PICCOLO_CONF"] = "backend.piccolo_conf"

from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.engine.finder import engine_finder
from piccolo.querystring import QueryString

# The last envelopes migration whose document_revision.pdf / page_image.image held bytes.
BYTES_IN_ROWS = "2026-11-22T05:04:20:295821"


async def query(sql: str, *args: object) -> list[dict[str, object]]:
    return await engine_finder().run_querystring(QueryString(sql, *args))  # type: ignore[union-attr]


async def main() -> None:
    for app in ("orgs", "storage"):
        assert (await run_forwards(app_name=app)).success
    assert (await run_forwards(app_name="envelopes", migration_id=BYTES_IN_ROWS)).success

    pdf = b"%PDF-1.7 stored in the row " + os.urandom(16)
    image = b"RIFF....WEBP page image " + os.urandom(16)
    pdf_sha = hashlib.sha256(pdf).hexdigest()
    now = datetime.now(UTC)
    # Two revisions with the same bytes (as after a no-op step) and one page image.
    for seq in (1, 2):
        await query(
            "INSERT INTO document_revision (id, seq, sha256, pdf, page_count, reason, "
            "created_at) VALUES ({}, {}, {}, {}, {}, {}, {})",
            uuid.uuid4(),
            seq,
            pdf_sha,
            pdf,
            1,
            "rendered",
            now,
        )
    await query(
        "INSERT INTO page_image (id, sha256, page, width, image, content_type) "
        "VALUES ({}, {}, {}, {}, {}, {})",
        uuid.uuid4(),
        pdf_sha,
        0,
        1080,
        image,
        "image/webp",
    )

    assert (await run_forwards(app_name="all")).success

    from backend.envelopes.tables import DocumentRevision, PageImage
    from backend.storage import DatabaseBlobStore
    from backend.storage.tables import Blob

    store = DatabaseBlobStore()
    row = await PageImage.select(PageImage.image_sha256).first()
    assert row is not None
    revisions = await DocumentRevision.select(DocumentRevision.sha256)
    print(
        json.dumps(
            {
                "pdf_served": await store.get(pdf_sha) == pdf,
                "image_served": await store.get(str(row["image_sha256"])) == image,
                "image_sha256": row["image_sha256"] == hashlib.sha256(image).hexdigest(),
                "revisions": len(revisions),
                "blobs": await Blob.count(),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
