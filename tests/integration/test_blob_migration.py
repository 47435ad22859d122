"""The migration that moves stored PDFs and page images into content-addressed blobs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a process that sees an empty database of the kind under test."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["SIGNLINK_DATA_DIR"] = str(tmp_path)
    url = os.environ.get("DATABASE_URL")
    if not url:
        yield env
        return
    name = f"signlink_blob_migration_{uuid.uuid4().hex[:8]}"
    parts = urlsplit(url)

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    import asyncio

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    env["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
    try:
        yield env
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}"'))


def test_stored_bytes_move_into_blobs(empty_database: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.blob_migration_check"],
        cwd=REPO,
        env=empty_database,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {
        "pdf_served": True,
        "image_served": True,
        "image_sha256": True,
        "revisions": 2,
        "blobs": 2,  # two revisions with the same PDF: its bytes are kept once
    }
