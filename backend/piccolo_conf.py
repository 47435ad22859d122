"""Piccolo engine: a SQLite file under the data dir, or PostgreSQL when DATABASE_URL is set."""

from __future__ import annotations

from piccolo.conf.apps import AppRegistry
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from backend.config import get_settings


def _engine() -> Engine:
    settings = get_settings()
    if settings.database_url:
        return PostgresEngine(config={"dsn": settings.database_url})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # A generous busy timeout: several requests may write at once on one machine.
    return SQLiteEngine(path=str(settings.sqlite_path), timeout=30)


DB = _engine()

APP_REGISTRY = AppRegistry(
    apps=[
        "backend.orgs.piccolo_app",
        "backend.storage.piccolo_app",
        "backend.envelopes.piccolo_app",
        "backend.identity.piccolo_app",
        "backend.evidence.piccolo_app",
        "backend.jobs.piccolo_app",
        "backend.webhooks.piccolo_app",
        "backend.idempotency.piccolo_app",
        "backend.revocation.piccolo_app",
        "backend.wechat.piccolo_app",
    ]
)
