"""Every query reporting runs."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.models import HouseholdFact, MunicipalityIndicators

COUNTERS = (
    "households",
    "persons_female",
    "persons_male",
    "open_cases",
    "opportunities_published",
    "placements_proposed",
    "placements_started",
    "placements_completed",
    "placements_ended",
    "placement_hours_worked",
)


INDICATORS = cast(Table, MunicipalityIndicators.__table__)
FACTS = cast(Table, HouseholdFact.__table__)
_INSERT_FACT = FACTS.insert()


@functools.cache
def _upsert(dialect: str, counters: frozenset[str]) -> Any:
    """The upsert that adds to ``counters``, built once per dialect and set of counters (building one costs more
    than running it, and it runs for every event)."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(INDICATORS).values(
        municipality_code=bindparam("municipality_code"),
        updated_at=bindparam("updated_at"),
        **{name: bindparam(name) for name in COUNTERS},
    )
    return stmt.on_conflict_do_update(
        index_elements=[INDICATORS.c.municipality_code],
        set_={
            **{name: INDICATORS.c[name] + stmt.excluded[name] for name in sorted(counters)},
            "updated_at": stmt.excluded.updated_at,
        },
    )


async def add_to_indicators(session: AsyncSession, municipality_code: str, at: datetime, **deltas: int) -> None:
    """Add ``deltas`` to one municipality's counters, creating its row on first use."""
    unknown = set(deltas) - set(COUNTERS)
    if unknown:
        raise ValueError(f"unknown counters {unknown}")
    conn = await session.connection()
    stmt = _upsert(conn.dialect.name, frozenset(deltas))
    values = {name: deltas.get(name, 0) for name in COUNTERS}
    await conn.execute(stmt, {"municipality_code": municipality_code, "updated_at": at, **values})


async def add_household_fact(session: AsyncSession, fact: dict[str, Any]) -> None:
    """A Core insert: one per registered household, no unit-of-work bookkeeping."""
    await (await session.connection()).execute(_INSERT_FACT, fact)


async def indicators_for(session: AsyncSession, municipality_code: str) -> MunicipalityIndicators | None:
    return await session.get(MunicipalityIndicators, municipality_code)


async def all_indicators(session: AsyncSession) -> Sequence[MunicipalityIndicators]:
    stmt = select(MunicipalityIndicators).order_by(MunicipalityIndicators.municipality_code)
    return (await session.execute(stmt)).scalars().all()


async def totals(session: AsyncSession) -> dict[str, int]:
    table = MunicipalityIndicators.__table__
    row = (await session.execute(select(*[func.coalesce(func.sum(table.c[n]), 0).label(n) for n in COUNTERS]))).one()
    return {n: int(getattr(row, n)) for n in COUNTERS}


async def projection_times(session: AsyncSession, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    if not ids:
        return {}
    stmt = select(HouseholdFact.household_id, HouseholdFact.projected_at).where(
        HouseholdFact.household_id.in_(list(ids))
    )
    return {hid: at for hid, at in (await session.execute(stmt)).all()}
