"""shared.db's lock and retry helpers: the retry with a recorded clock, the advisory locks on real PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import (
    Backoff,
    advisory_lock,
    advisory_lock_key,
    advisory_xact_lock,
    create_engine,
    retry_until_available,
)
from shared.observability.outage import Outage

ADMIN = os.environ.get("OSLONAC_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _unavailable() -> OperationalError:
    return OperationalError("SELECT 1", {}, ConnectionRefusedError("the database went away"))


def test_backoff_doubles_up_to_its_ceiling_and_starts_over_after_a_success() -> None:
    backoff = Backoff(first_s=0.5, max_s=3.0)
    assert [backoff.next() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    backoff.reset()
    assert backoff.next() == 0.5


async def test_an_outage_is_waited_out_and_the_result_returned() -> None:
    calls, waits = 0, []

    async def attempt() -> str:
        nonlocal calls
        calls += 1
        if calls <= 3:
            raise _unavailable()
        return "stored"

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    lines: list[tuple[str, dict[str, Any]]] = []

    class Logger:
        def warning(self, event: str, **kw: Any) -> None:
            lines.append((event, kw))

        def info(self, event: str, **kw: Any) -> None:
            lines.append((event, kw))

    outage = Outage("test.store", logger=Logger())
    result = await retry_until_available(attempt, backoff=Backoff(0.1, 0.3), sleep=sleep, outage=outage)
    assert (result, calls, waits) == ("stored", 4, [0.1, 0.2, 0.3])
    assert [event for event, _ in lines] == ["test.store_unavailable", "test.store_recovered"]
    assert lines[1][1]["failures"] == 3


async def test_any_other_error_goes_to_the_caller_at_once() -> None:
    calls = 0

    async def attempt() -> None:
        nonlocal calls
        calls += 1
        raise IntegrityError("INSERT", {}, ValueError("duplicate key"))

    async def sleep(seconds: float) -> None:
        raise AssertionError("no wait for a conflict")

    with pytest.raises(IntegrityError):
        await retry_until_available(attempt, sleep=sleep)
    assert calls == 1


def test_lock_keys_are_stable_and_fit_a_bigint() -> None:
    assert advisory_lock_key("oslonac-import-x") == advisory_lock_key("oslonac-import-x")
    assert advisory_lock_key("a") != advisory_lock_key("b")
    assert 0 <= advisory_lock_key(str(uuid.uuid4())) < 2**32


async def _postgres() -> bool:
    try:
        conn = await asyncio.wait_for(asyncpg.connect(ADMIN), timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


@pytest.fixture
async def pg() -> AsyncIterator[AsyncEngine]:
    if not await _postgres():
        pytest.skip("PostgreSQL is not reachable")
    engine = create_engine(ADMIN.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        yield engine
    finally:
        await engine.dispose()


async def test_a_lock_held_elsewhere_is_not_taken_and_is_free_after_the_block(pg: AsyncEngine) -> None:
    name = f"test-{uuid.uuid4()}"
    async with advisory_lock(pg, name) as first, advisory_lock(pg, name) as second:
        assert (first, second) == (True, False)
    async with advisory_lock(pg, name) as again:
        assert again


async def test_a_transaction_lock_makes_the_second_wait_until_the_first_commits(pg: AsyncEngine) -> None:
    name = f"test-{uuid.uuid4()}"
    order: list[str] = []
    first_holds = asyncio.Event()

    async def first() -> None:
        async with pg.begin() as conn:
            await advisory_xact_lock(conn, name)
            order.append("first locked")
            first_holds.set()
            await asyncio.sleep(0.3)
            order.append("first commits")

    async def second() -> None:
        await first_holds.wait()
        async with pg.begin() as conn:
            await advisory_xact_lock(conn, name)
            order.append("second locked")

    await asyncio.gather(first(), second())
    assert order == ["first locked", "first commits", "second locked"]
    async with advisory_lock(pg, name) as free:  # released with the transaction
        assert free


async def test_on_sqlite_the_lock_is_always_held_and_the_transaction_lock_a_no_op(tmp_path: Any) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}")
    try:
        async with advisory_lock(engine, "x") as held:
            assert held
        async with engine.begin() as conn:
            await advisory_xact_lock(conn, "x")
    finally:
        await engine.dispose()
