"""Database helpers shared by the domains: the engine, transactions, migrations, time."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime

from piccolo.engine.base import Engine
from piccolo.engine.finder import engine_finder
from piccolo.engine.sqlite import SQLiteEngine, TransactionType


def engine() -> Engine:
    found = engine_finder()
    if found is None:  # pragma: no cover - PICCOLO_CONF is set by backend/__init__
        raise RuntimeError("no Piccolo engine configured")
    return found


def is_sqlite() -> bool:
    return isinstance(engine(), SQLiteEngine)


def transaction():  # type: ignore[no-untyped-def]
    """A write transaction. On SQLite take the write lock up front, so two writers queue
    instead of failing halfway with 'database is locked'."""
    db = engine()
    if isinstance(db, SQLiteEngine):
        return db.transaction(transaction_type=TransactionType.immediate)
    return db.transaction()


def utcnow() -> datetime:
    return datetime.now(UTC)


async def prepare_sqlite() -> None:
    """WAL lets readers go on while one request writes; it is a property of the file."""
    db = engine()
    if isinstance(db, SQLiteEngine):
        await db.run_ddl("PRAGMA journal_mode=WAL")


def migrate() -> None:
    """Apply every checked-in migration (the same as `piccolo migrations forwards all`)."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    os.environ.setdefault("PICCOLO_CONF", "backend.piccolo_conf")
    result = asyncio.run(run_forwards(app_name="all"))
    if not result.success:
        print(result.message, file=sys.stderr)
        raise SystemExit(1)
    asyncio.run(prepare_sqlite())
