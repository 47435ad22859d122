"""Test set-up: a throwaway data dir (SQLite, CA, SMS outbox) per session, migrated once.

With DATABASE_URL set, the same tests run against that PostgreSQL database instead.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_DATA = Path(tempfile.mkdtemp(prefix="signlink-test-"))
os.environ["SIGNLINK_DATA_DIR"] = str(_DATA)
os.environ.setdefault("SIGNLINK_LOG_FORMAT", "text")
os.environ.setdefault("SIGNLINK_LOG_LEVEL", "WARNING")
os.environ["PICCOLO_CONF"] = "backend.piccolo_conf"

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


def pytest_report_header() -> list[str]:
    db = (os.environ.get("DATABASE_URL") and "postgresql") or f"sqlite under {_DATA}"
    return [f"signlink test database: {db}"]
