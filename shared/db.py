"""Async engine and sessions per service database, the plumbing tables every service has, migrations."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

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
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.types import TypeDecorator

from shared.observability.outage import Outage
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
    idempotency_keys: Table
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
    return PlumbingTables(
        outbox=outbox,
        processed_events=processed,
        idempotency_keys=idempotency_keys_table(metadata),
        web_sessions=web_sessions_table(metadata),
    )


def idempotency_keys_table(metadata: MetaData) -> Table:
    """Idempotency-Key rows (shared/idempotency.py): a key per user and operation, the request's digest and, once
    the request's transaction commits, its answer."""
    keys = Table(
        "idempotency_keys",
        metadata,
        Column("principal", String(200), nullable=False),
        Column("operation", String(200), nullable=False),
        Column("key", String(255), nullable=False),
        Column("fingerprint", String(64), nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("expires_at", UTCDateTime, nullable=False),
        Column("status_code", Integer, nullable=True),
        Column("headers", JSON, nullable=True),
        Column("body", Text, nullable=True),
        PrimaryKeyConstraint("principal", "operation", "key", name="pk_idempotency_keys"),
    )
    Index("ix_idempotency_keys_expires_at", keys.c.expires_at)
    return keys


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


class TransactionHook(Protocol):
    """Joins the first unit of work of a request (shared/idempotency.py: an Idempotency-Key's claim)."""

    def wants(self) -> bool:
        """True once: for the first unit of work opened in this context."""

    async def began(self, session: AsyncSession) -> None:
        """First thing in the transaction; an exception rolls it back."""

    def keep_open(self, transaction: AsyncExitStack) -> None:
        """The block ended normally: the hook commits (``aclose``) or rolls back the transaction itself, later."""


transaction_hook: ContextVar[TransactionHook | None] = ContextVar("transaction_hook", default=None)


def in_unit_of_work() -> bool:
    """Whether this task is inside a unit of work (and so, on SQLite, holds its engine's transaction lock)."""
    return _in_unit_of_work.get()


@asynccontextmanager
async def unit_of_work(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One transaction: commits when the block ends normally, rolls back on any exception.

    A ``transaction_hook`` set in the context (an idempotent request) joins the first one and commits it itself,
    once the answer is known and stored in it.

    Units of work do not nest: on SQLite the inner one would wait forever for the outer one's lock.
    """
    if _in_unit_of_work.get():
        raise RuntimeError("unit_of_work inside unit_of_work: pass the session down instead")
    bind = factory.kw.get("bind")
    lock = transaction_lock(bind) if isinstance(bind, AsyncEngine) else None
    hook = transaction_hook.get()
    if hook is not None and not hook.wants():
        hook = None
    token = _in_unit_of_work.set(True)
    try:
        async with AsyncExitStack() as transaction:
            if lock is not None:
                await transaction.enter_async_context(lock)
            session = await transaction.enter_async_context(factory())
            await transaction.enter_async_context(session.begin())
            if hook is not None:
                await hook.began(session)
            yield session
            if hook is not None:
                hook.keep_open(transaction.pop_all())
    finally:
        _in_unit_of_work.reset(token)


def is_store_unavailable(exc: BaseException) -> bool:
    """The database went away, refused us, is locked or timed out: the infrastructure's trouble, not the
    request's or the event's. Constraint violations and bad SQL are bugs or bad data, never this."""
    if isinstance(exc, IntegrityError | ProgrammingError | DataError | NotSupportedError):
        return False
    return isinstance(exc, DBAPIError | SATimeoutError | OSError | TimeoutError | ConnectionError)


T = TypeVar("T")


@dataclass
class Backoff:
    """Waits that double after each failure, from ``first_s`` up to ``max_s``; ``reset`` after a success."""

    first_s: float = 0.5
    max_s: float = 10.0
    _next_s: float | None = None

    def next(self) -> float:
        wait = self.first_s if self._next_s is None else self._next_s
        self._next_s = min(wait * 2, self.max_s)
        return wait

    def reset(self) -> None:
        self._next_s = None


async def retry_until_available(
    attempt: Callable[[], Awaitable[T]],
    *,
    backoff: Backoff | None = None,
    outage: Outage | None = None,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    unavailable: Callable[[BaseException], bool] = is_store_unavailable,
) -> T:
    """``await attempt()`` until it succeeds, waiting out an outage of the store: a failure ``unavailable`` says
    is the infrastructure's (``is_store_unavailable``) is followed by a wait from ``backoff`` and another attempt,
    for as long as it takes; any other exception goes to the caller at once. ``outage`` (if given) logs the
    first failure and the recovery, once each."""
    waits = backoff or Backoff()
    while True:
        try:
            result = await attempt()
        except Exception as exc:
            if not unavailable(exc):
                raise
            wait = waits.next()
            if outage is not None:
                outage.failed(exc, retry_in=wait)
            await sleep(wait)
            continue
        if outage is not None:
            outage.recovered()
        return result


def advisory_lock_key(name: str) -> int:
    """The PostgreSQL advisory lock key of ``name`` (its CRC-32: stable across processes and versions)."""
    return zlib.crc32(name.encode())


async def advisory_xact_lock(bind: AsyncSession | AsyncConnection, name: str) -> None:
    """Wait for the advisory lock ``name`` in ``bind``'s transaction; PostgreSQL releases it when the transaction
    ends. Elsewhere (SQLite: one writer, one process) there is nothing to wait for."""
    connection = await bind.connection() if isinstance(bind, AsyncSession) else bind
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": advisory_lock_key(name)})


@asynccontextmanager
async def advisory_lock(engine: AsyncEngine, name: str) -> AsyncIterator[bool]:
    """Try for the advisory lock ``name`` for as long as the block runs, without waiting: yields whether this
    process holds it. The lock lives on a connection of its own, so it outlasts the block's transactions and goes
    with the connection if the process dies. On SQLite (one process) it is always held."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    key = advisory_lock_key(name)
    conn = await engine.connect()
    try:
        held = bool((await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})).scalar())
        await conn.commit()
        try:
            yield held
        finally:
            if held:
                with contextlib.suppress(Exception):  # a lost connection released it already
                    await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    await conn.commit()
    finally:
        await conn.close()


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
        # Replicas starting together migrate one at a time (the lock ends with the transaction).
        await advisory_xact_lock(conn, f"oslonac-migrate-{script_location}")
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
