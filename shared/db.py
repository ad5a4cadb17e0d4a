"""Async engine and sessions per service database, the plumbing tables every service has, migrations."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    event,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, NotSupportedError, ProgrammingError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.types import TypeDecorator

from shared.sqlite_inline import inline_creator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored with its zone on PostgreSQL and read back as aware UTC on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


AutoId = BigInteger().with_variant(Integer(), "sqlite")


@dataclass(frozen=True)
class PlumbingTables:
    outbox: Table
    processed_events: Table
    web_sessions: Table


def plumbing_tables(metadata: MetaData) -> PlumbingTables:
    """The transactional outbox and the idempotent-consumer ledger, in a service's own metadata."""
    outbox = Table(
        "outbox",
        metadata,
        Column("seq", AutoId, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("topic", String(200), nullable=False),
        Column("key", String(200), nullable=False),
        Column("event_type", String(200), nullable=False),
        Column("headers", JSON, nullable=False),
        Column("payload", Text, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("published_at", UTCDateTime, nullable=True),
        Column("attempts", Integer, nullable=False, server_default="0"),
    )
    Index(
        "ix_outbox_unpublished",
        outbox.c.seq,
        postgresql_where=outbox.c.published_at.is_(None),
        sqlite_where=outbox.c.published_at.is_(None),
    )
    processed = Table(
        "processed_events",
        metadata,
        Column("consumer", String(100), nullable=False),
        Column("event_id", String(64), nullable=False),
        Column("event_type", String(200), nullable=False),
        Column("processed_at", UTCDateTime, nullable=False),
        PrimaryKeyConstraint("consumer", "event_id", name="pk_processed_events"),
    )
    return PlumbingTables(outbox=outbox, processed_events=processed, web_sessions=web_sessions_table(metadata))


def web_sessions_table(metadata: MetaData) -> Table:
    """Page sign-in state (shared.ui.sessions): sign-ins under way (``kind`` 'signin', keyed by a hash of the OIDC
    ``state``) and signed-in sessions (``kind`` 'session', keyed by a hash of the browser's cookie). Ended sessions
    stay, with when and why they ended: the durable record of sign-ins and sign-outs (docs/privacy.md)."""
    return Table(
        "web_sessions",
        metadata,
        Column("id", String(64), primary_key=True),
        Column("kind", String(10), nullable=False),
        Column("sub", String(200), nullable=True, index=True),
        Column("created_at", UTCDateTime, nullable=False),
        Column("last_seen_at", UTCDateTime, nullable=False),
        Column("ended_at", UTCDateTime, nullable=True),
        Column("ended_reason", String(30), nullable=True),
        Column("access_token", Text, nullable=True),
        Column("access_expires_at", UTCDateTime, nullable=True),
        Column("refresh_token", Text, nullable=True),
        Column("id_token", Text, nullable=True),
        Column(
            "signin", JSON, nullable=True
        ),  # a sign-in under way: nonce, PKCE verifier, browser binding, return path
    )


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    if is_sqlite(url):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, echo=echo, async_creator=inline_creator(path))

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=5000")
            cur.execute("PRAGMA mmap_size=268435456")
            cur.execute("PRAGMA wal_autocheckpoint=10000")
            cur.close()

        return engine
    # asyncpg prepares statements; after five runs PostgreSQL may switch one to a generic plan made when a table
    # was young (a seq scan for a lookup by a long IN list, seconds instead of milliseconds once it has grown).
    # Plan each run with its values instead: our statements are small to plan.
    settings = {"server_settings": {"plan_cache_mode": "force_custom_plan"}} if "+asyncpg" in url else {}
    return create_async_engine(url, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True, connect_args=settings)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


_sqlite_locks: weakref.WeakKeyDictionary[Any, asyncio.Lock] = weakref.WeakKeyDictionary()


def transaction_lock(engine: AsyncEngine) -> asyncio.Lock | None:
    """On SQLite, one transaction at a time per engine: SQLite has a single writer, and with inline calls
    a second writer would block the event loop on the first one's lock instead of waiting its turn."""
    if engine.dialect.name != "sqlite":
        return None
    lock = _sqlite_locks.get(engine.sync_engine)
    if lock is None:
        lock = _sqlite_locks[engine.sync_engine] = asyncio.Lock()
    return lock


_in_unit_of_work: ContextVar[bool] = ContextVar("in_unit_of_work", default=False)


def in_unit_of_work() -> bool:
    """Whether this task is inside a unit of work (and so, on SQLite, holds its engine's transaction lock)."""
    return _in_unit_of_work.get()


@asynccontextmanager
async def unit_of_work(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One transaction: commits when the block ends normally, rolls back on any exception.

    Units of work do not nest: on SQLite the inner one would wait forever for the outer one's lock.
    """
    if _in_unit_of_work.get():
        raise RuntimeError("unit_of_work inside unit_of_work: pass the session down instead")
    bind = factory.kw.get("bind")
    lock = transaction_lock(bind) if isinstance(bind, AsyncEngine) else None
    token = _in_unit_of_work.set(True)
    try:
        async with lock if lock is not None else contextlib.nullcontext(), factory() as session, session.begin():
            yield session
    finally:
        _in_unit_of_work.reset(token)


def is_store_unavailable(exc: BaseException) -> bool:
    """The database went away, refused us, is locked or timed out: the infrastructure's trouble, not the
    request's or the event's. Constraint violations and bad SQL are bugs or bad data, never this."""
    if isinstance(exc, IntegrityError | ProgrammingError | DataError | NotSupportedError):
        return False
    return isinstance(exc, DBAPIError | SATimeoutError | OSError | TimeoutError | ConnectionError)


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


def _upgrade(connection: Connection, script_location: Path, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


async def migrate(engine: AsyncEngine, script_location: Path, revision: str = "head") -> None:
    """Apply a service's Alembic migrations over the service's own async engine."""
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Replicas starting together migrate one at a time (the lock ends with the transaction).
            key = zlib.crc32(f"oslonac-migrate-{script_location}".encode()) & 0x7FFFFFFF
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
        await conn.run_sync(_upgrade, script_location, revision)


def migrate_sync(url: str, script_location: Path) -> None:
    async def run() -> None:
        engine = create_engine(url)
        try:
            await migrate(engine, script_location)
        finally:
            await engine.dispose()

    asyncio.run(run())


def run_migrations_online(metadata: MetaData) -> None:
    """Body of every service's ``migrations/env.py``: run on the connection handed over by ``migrate``."""
    from alembic import context

    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through shared.db.migrate (oslonac migrate <service>)")
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
