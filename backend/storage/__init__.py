"""Document and image bytes as content-addressed blobs: in the database by default, or in
S3-compatible object storage (`SIGNLINK_BLOB_STORE=s3`) so app processes stay stateless."""

from backend.storage.blobs import (
    BlobStore,
    BlobUnavailable,
    DatabaseBlobStore,
    S3BlobStore,
    blobs,
    configure,
    content_hash,
    copy_blobs,
    copy_database_blobs,
    from_settings,
    use,
)

__all__ = [
    "BlobStore",
    "BlobUnavailable",
    "DatabaseBlobStore",
    "S3BlobStore",
    "blobs",
    "configure",
    "content_hash",
    "copy_blobs",
    "copy_database_blobs",
    "from_settings",
    "use",
]
