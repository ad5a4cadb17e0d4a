"""A fresh PostgreSQL database for one benchmark phase, dropped afterwards."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


class Unreachable(Exception):
    """No PostgreSQL answered: the phase is skipped, and the report says why."""


async def server_version(dsn: str) -> str:
    """The server's ``server_version``; ``Unreachable`` when it does not answer within 3 s."""
    try:
        conn = await asyncio.wait_for(asyncpg.connect(dsn), timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        raise Unreachable(f"PostgreSQL at {dsn.split('@')[-1]} is not reachable ({type(exc).__name__})") from exc
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def async_url(dsn: str, database: str) -> str:
    """SQLAlchemy's asyncpg URL of ``database`` on the server of ``dsn``."""
    return dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{database}"


@asynccontextmanager
async def fresh_postgres(dsn: str, prefix: str) -> AsyncIterator[tuple[str, str]]:
    """A new database named ``prefix`` and a random suffix: (SQLAlchemy URL, plain DSN); dropped (forcibly, so a
    session a cancelled phase left behind does not keep it) when the block ends."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield async_url(dsn, name), dsn.rsplit("/", 1)[0] + f"/{name}"
    finally:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
