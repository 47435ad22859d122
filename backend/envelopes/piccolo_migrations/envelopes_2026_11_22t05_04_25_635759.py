import hashlib
from datetime import UTC, datetime

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.querystring import QueryString

ID = "2026-11-22T05:04:25:635759"
VERSION = "1.38.0"
DESCRIPTION = "Document PDFs and page images move into content-addressed blobs"


async def _query(sql, *args):
    return await engine_finder().run_querystring(QueryString(sql, *args))


async def _store(data) -> str:
    data = bytes(data)
    sha256 = hashlib.sha256(data).hexdigest()
    await _query(
        "INSERT INTO blob (sha256, data, size, created_at) VALUES ({}, {}, {}, {}) "
        "ON CONFLICT (sha256) DO NOTHING",
        sha256,
        data,
        len(data),
        datetime.now(UTC),
    )
    return sha256


async def move_bytes_into_blobs():
    """Each revision's PDF and each page image becomes a blob (one row per distinct
    content), row by row so a large database is never held in memory at once."""
    for row in await _query("SELECT id FROM document_revision"):
        (rev,) = await _query(
            "SELECT sha256, pdf FROM document_revision WHERE id = {}", row["id"]
        )
        if rev["pdf"] is None:
            continue
        stored = await _store(rev["pdf"])
        if stored != rev["sha256"]:
            raise RuntimeError(
                f"document_revision {row['id']}: the stored PDF hashes to {stored}, "
                f"not to its recorded sha256 {rev['sha256']}; restore it before migrating"
            )
    for row in await _query("SELECT id FROM page_image"):
        (image,) = await _query("SELECT image FROM page_image WHERE id = {}", row["id"])
        if image["image"] is None:
            continue
        stored = await _store(image["image"])
        await _query(
            "UPDATE page_image SET image_sha256 = {} WHERE id = {}", stored, row["id"]
        )


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="envelopes", description=DESCRIPTION
    )

    # Raw steps run before the column changes: the bytes are copied, then dropped.
    manager.add_raw(move_bytes_into_blobs)

    manager.drop_column(
        table_class_name="DocumentRevision",
        tablename="document_revision",
        column_name="pdf",
        db_column_name="pdf",
        schema=None,
    )

    manager.drop_column(
        table_class_name="PageImage",
        tablename="page_image",
        column_name="image",
        db_column_name="image",
        schema=None,
    )

    return manager
