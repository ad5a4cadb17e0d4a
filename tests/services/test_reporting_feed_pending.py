"""A change that lands while an announcement round is running is announced by the next round, never dropped."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.reporting import feed
from shared.db import create_engine
from tests.fixtures.databases import DatabaseFactory

CELL = ("80012", 202609)  # Ada, September 2026


async def pending(engine: AsyncEngine) -> set[tuple[str, int]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(feed.PENDING.c.municipality_code, feed.PENDING.c.ym))).all()
    return {(m, int(ym)) for m, ym in rows}


async def test_a_cell_marked_while_a_round_holds_it_stays_pending_after_the_round(databases: DatabaseFactory):
    if databases.backend != "postgresql":
        pytest.skip(
            "SQLite: shared.db.unit_of_work runs a service's transactions one at a time,"
            " so a batch cannot land inside a round"
        )
    engine = create_engine(await databases.url_for("reporting"))
    try:
        async with engine.begin() as conn:
            await conn.execute(feed.PENDING.insert(), [{"municipality_code": CELL[0], "ym": CELL[1]}])

        # The round takes the cell (on PostgreSQL: FOR UPDATE SKIP LOCKED) and has read its figures...
        round_session = engine.connect()
        conn = await round_session.__aenter__()
        round_tx = await conn.begin()
        stmt = select(feed.PENDING.c.municipality_code, feed.PENDING.c.ym).with_for_update(skip_locked=True)
        taken = (await conn.execute(stmt)).all()
        assert [(m, int(ym)) for m, ym in taken] == [CELL]

        # ...while a batch that changes the same cell marks it again and tries to commit.
        async def batch() -> None:
            async with AsyncSession(engine) as session, session.begin():
                await feed.mark_pending(session, [CELL])

        marking = asyncio.create_task(batch())
        await asyncio.sleep(0.3)
        # The batch waits for the round: committing first would let the round clear its mark below.
        assert not marking.done()
        await conn.execute(feed.PENDING.delete().where(feed.PENDING.c.municipality_code == CELL[0]))
        await round_tx.commit()
        await round_session.__aexit__(None, None, None)
        await asyncio.wait_for(marking, timeout=10)

        # The next round sees the cell, so the batch's change is announced.
        assert await pending(engine) == {CELL}
    finally:
        await engine.dispose()
