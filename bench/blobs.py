"""`python -m bench.blobs`: reading a document through the blob store, against one Piccolo
SELECT of the same bytes (how PDFs and page images were read before blobs: a new SQLite
connection per query), measured in the same run.

On a throwaway SQLite data dir: `DatabaseBlobStore.get` (a SELECT plus the SHA-256 check)
and the cached page-image path (metadata row, then the blob), for a 400 kB "PDF" and a
60 kB "page image"; then `S3BlobStore.get` against moto's S3 server on loopback (SigV4
signing, one HTTP round trip, the check) when moto is installed.

    python -m bench.blobs [--rounds 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import uuid

from bench.timing import measure

os.environ.setdefault("SIGNLINK_DATA_DIR", tempfile.mkdtemp(prefix="signlink-bench-blobs-"))
os.environ.setdefault("SIGNLINK_LOG_LEVEL", "WARNING")
os.environ["PICCOLO_CONF"] = "backend.piccolo_conf"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    rounds = parser.parse_args().rounds

    from backend.database import migrate

    migrate()

    from backend.envelopes.services import rendered_page
    from backend.envelopes.tables import PageImage
    from backend.storage import DatabaseBlobStore
    from backend.storage.tables import Blob

    loop = asyncio.new_event_loop()
    run = loop.run_until_complete
    store = DatabaseBlobStore()
    sizes = {"pdf 400 kB": os.urandom(400_000), "page image 60 kB": os.urandom(60_000)}
    names = {label: run(store.put(data)) for label, data in sizes.items()}
    page_key = uuid.uuid4().hex
    run(
        PageImage.insert(
            PageImage(
                id=uuid.uuid4(),
                sha256=page_key,
                page=0,
                width=1080,
                image_sha256=names["page image 60 kB"],
                content_type="image/webp",
            )
        )
    )

    async def plain_select(sha: str) -> bytes:
        row = await Blob.select(Blob.data).where(Blob.sha256 == sha).first()
        assert row is not None
        return bytes(row["data"])

    async def page_path() -> bytes:
        # The signer's page route on a cache hit: the page_image row, then its blob.
        return await rendered_page(uuid.uuid4(), page_key, 0, width=1080, format="webp")

    print(f"blob reads, median of {rounds} (SQLite, one process)")
    for label, sha in names.items():
        base = measure(lambda sha=sha: run(plain_select(sha)), rounds)
        got = measure(lambda sha=sha: run(store.get(sha)), rounds)
        print(
            f"  {label}: Piccolo SELECT {base:.3f} ms,",
            f"store.get {got:.3f} ms, ratio {got / base:.2f}",
        )
    base = measure(lambda: run(plain_select(names["page image 60 kB"])), rounds)
    page = measure(lambda: run(page_path()), rounds)
    print(
        f"  cached page image (row + blob): {page:.3f} ms,",
        f"ratio {page / base:.2f} to one Piccolo SELECT",
    )

    try:
        from tests.integration.s3_server import running_s3
    except ImportError:
        print("  S3: moto not installed, skipped")
        return
    from dataclasses import replace

    from backend.config import get_settings
    from backend.storage import from_settings

    with running_s3() as server:
        s3 = from_settings(server.settings(replace(get_settings())))
        for label, data in sizes.items():
            sha = run(s3.put(data))
            base = measure(lambda sha=sha: run(store.get(sha)), rounds)
            got = measure(lambda sha=sha: run(s3.get(sha)), rounds)
            print(
                f"  {label}: database {base:.3f} ms, S3 on loopback (moto) {got:.3f} ms, "
                f"ratio {got / base:.2f}"
            )
    loop.close()


if __name__ == "__main__":
    main()
