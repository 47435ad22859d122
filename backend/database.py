"""Database helpers shared by the domains: the engine, transactions, migrations, time."""

from __future__ import annotations

import asyncio
import functools
import os
import sqlite3
import sys
import weakref
from datetime import UTC, datetime
from typing import Any

import aiosqlite
import asyncpg
from piccolo.engine.base import Engine
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType, dict_factory
from piccolo.querystring import QueryString


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


# ---------------------------------------------------------------- hot read path

# Piccolo opens a new connection for every query outside a transaction (and on SQLite a
# new thread as well). Hot read-only paths (the signer's landing page) use connections
# kept per event loop instead: one read-only connection on SQLite -- in WAL mode every
# statement still sees the latest committed data -- or a small pool on PostgreSQL.
# Per loop, because tests run the app in one loop and call services from another, and a
# connection belongs to the loop that opened it (so Piccolo's engine-wide pool cannot be
# used here).
_readers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiosqlite.Connection] = (
    weakref.WeakKeyDictionary()
)
_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncpg.Pool] = (
    weakref.WeakKeyDictionary()
)


async def _sqlite_reader(db: SQLiteEngine) -> aiosqlite.Connection:
    loop = asyncio.get_running_loop()
    conn = _readers.get(loop)
    if conn is None:
        pending = aiosqlite.connect(**db.connection_kwargs)
        # A reader kept for an event loop that ended without closing it (a test loop, a
        # worker stopped by a signal) must not keep the process alive at exit.
        thread = getattr(pending, "_thread", None)
        if thread is not None:
            thread.daemon = True
        conn = await pending
        conn.row_factory = dict_factory  # type: ignore[assignment]
        await conn.execute("PRAGMA query_only = 1")
        if (raced := _readers.get(loop)) is not None:
            await conn.close()
            return raced
        _readers[loop] = conn
    return conn


async def _keep_session(connection: asyncpg.Connection) -> None:
    """The read pool's connections only ever run single read-only statements (no
    advisory locks, LISTEN, cursors or SET), so there is no session state to reset: skip
    asyncpg's default reset, a second round trip to the server for every query."""


async def _pg_pool(db: PostgresEngine) -> asyncpg.Pool:
    loop = asyncio.get_running_loop()
    pool = _pools.get(loop)
    if pool is None:
        pool = await asyncpg.create_pool(**db.config, min_size=1, max_size=8, reset=_keep_session)
        if (raced := _pools.get(loop)) is not None:
            await pool.close()
            return raced
        _pools[loop] = pool
    return pool


async def fetch(sql: str, *args: Any) -> list[dict[str, Any]]:
    """Rows of one read-only query (``{}`` placeholders, as in Piccolo's ``raw``).

    Outside a transaction it runs on this loop's kept connection(s); inside one, through
    the engine, so that it sees the transaction's own writes."""
    db = engine()
    query = QueryString(sql, *args)
    if db.current_transaction.get() is None:  # type: ignore[attr-defined]
        compiled, values = query.compile_string(engine_type=db.engine_type)
        if isinstance(db, SQLiteEngine):
            conn = await _sqlite_reader(db)
            try:
                async with conn.execute(compiled, values) as cursor:
                    return list(await cursor.fetchall())  # type: ignore[arg-type]
            except (aiosqlite.Error, ValueError):
                # A broken handle (file replaced, closed): drop it, answer through the engine.
                if _readers.get(loop := asyncio.get_running_loop()) is conn:
                    del _readers[loop]
                    await conn.close()
        elif isinstance(db, PostgresEngine):
            pool = await _pg_pool(db)
            async with pool.acquire() as pg:
                return [dict(r) for r in await pg.fetch(compiled, *values)]
    return list(db.transform_response_to_dicts(await db.run_querystring(query)))


_point_readers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, sqlite3.Connection] = (
    weakref.WeakKeyDictionary()
)


def _sqlite_point_reader(db: SQLiteEngine) -> sqlite3.Connection:
    loop = asyncio.get_running_loop()
    conn = _point_readers.get(loop)
    if conn is None:
        conn = _point_readers[loop] = _quick_reader(db.connection_kwargs)
        conn.row_factory = dict_factory
    return conn


def _quick_reader(connection_kwargs: dict[str, Any]) -> sqlite3.Connection:
    conn = sqlite3.connect(**connection_kwargs)
    conn.execute("PRAGMA query_only = 1")
    # WAL readers do not wait for writers; should SQLite still answer busy (a checkpoint
    # restarting the log), give up at once and read the slow way.
    conn.execute("PRAGMA busy_timeout = 0")
    return conn


async def fetch_point(sql: str, *args: Any) -> list[dict[str, Any]]:
    """:func:`fetch` for an indexed look-up of a few small rows (the signer's link, an API
    key, one envelope). On SQLite it runs right here on the event loop's thread: such a
    query takes ~40 us, less than handing it to aiosqlite's thread and back (two thread
    switches per statement, ~20 % of a signer page). Anything that may scan or return
    large values (blobs, lists) goes through :func:`fetch`."""
    db = engine()
    if isinstance(db, SQLiteEngine) and db.current_transaction.get() is None:
        compiled, values = QueryString(sql, *args).compile_string(engine_type=db.engine_type)
        try:
            return _sqlite_point_reader(db).execute(compiled, values).fetchall()
        except sqlite3.Error:
            if (loop := asyncio.get_running_loop()) in _point_readers:
                _point_readers.pop(loop).close()  # fresh next time; this once, the slow way
    return await fetch(sql, *args)


_raw_readers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, sqlite3.Connection] = (
    weakref.WeakKeyDictionary()
)


def fetch_point_raw(sql: str, *args: Any) -> tuple[list[str], list[tuple[Any, ...]]] | None:
    """:func:`fetch_point` on SQLite with the values as stored (no type conversion):
    column names and row tuples, or None where it does not apply (PostgreSQL, inside a
    transaction, a busy database) -- then use :func:`fetch_point`. Comparing stored
    values is about 3x cheaper than converting them; :func:`convert_stored` gives the
    converted row from the same values."""
    db = engine()
    if not isinstance(db, SQLiteEngine) or db.current_transaction.get() is not None:
        return None
    loop = asyncio.get_running_loop()
    conn = _raw_readers.get(loop)
    if conn is None:
        kwargs = {k: v for k, v in db.connection_kwargs.items() if k != "detect_types"}
        conn = _raw_readers[loop] = _quick_reader(kwargs)
    try:
        cursor = conn.execute(_sqlite_sql(sql, len(args)), args)
        return [d[0] for d in cursor.description], cursor.fetchall()
    except sqlite3.Error:
        _raw_readers.pop(loop, None)
        conn.close()
        return None


@functools.cache
def _sqlite_sql(sql: str, count: int) -> str:
    """``{}`` placeholders as SQLite's ``?`` (what Piccolo's QueryString compiles them
    to for plain values), worked out once per statement."""
    return str(QueryString(sql, *([None] * count)).compile_string(engine_type="sqlite")[0])


def stored_converters(table: str) -> dict[str, Any]:
    """Per column of ``table``: the converter SQLite's ``PARSE_DECLTYPES`` applies to it
    (Piccolo registers them by declared type), for the columns that have one."""
    found = _converters.get(table)
    if found is None:
        db = engine()
        assert isinstance(db, SQLiteEngine)
        conn = sqlite3.connect(db.connection_kwargs["database"])
        try:
            info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
        finally:
            conn.close()
        found = {}
        for _, name, declared, *_ in info:
            base = str(declared or "").split("(")[0].split(" ")[0].upper()
            if base in sqlite3.converters:
                found[name] = sqlite3.converters[base]
        _converters[table] = found
    return found


_converters: dict[str, dict[str, Any]] = {}


def convert_stored(value: Any, converter: Any) -> Any:
    """One stored value as ``PARSE_DECLTYPES`` returns it: NULL stays None, anything
    else reaches the converter as its text bytes."""
    if value is None or converter is None:
        return value
    if isinstance(value, str):
        return converter(value.encode())
    if isinstance(value, bytes):
        return converter(value)
    return converter(str(value).encode())


async def open_connections() -> None:
    """At start-up (SQLite): write-ahead logging, so readers go on while one request writes."""
    await prepare_sqlite()


async def close_connections() -> None:
    """At shutdown: this loop's kept connections."""
    loop = asyncio.get_running_loop()
    conn = _readers.pop(loop, None)
    if conn is not None:
        await conn.close()
    for kept in (_point_readers, _raw_readers):
        point = kept.pop(loop, None)
        if point is not None:
            point.close()
    pool = _pools.pop(loop, None)
    if pool is not None:
        try:
            await asyncio.wait_for(pool.close(), 5)
        except TimeoutError:
            pool.terminate()


def migrate() -> None:
    """Apply every checked-in migration (the same as `piccolo migrations forwards all`)."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    os.environ.setdefault("PICCOLO_CONF", "backend.piccolo_conf")
    result = asyncio.run(run_forwards(app_name="all"))
    if not result.success:
        print(result.message, file=sys.stderr)
        raise SystemExit(1)
    asyncio.run(prepare_sqlite())
