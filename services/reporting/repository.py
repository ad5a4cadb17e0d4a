"""Every query reporting runs."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import Table, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.models import HouseholdFact, MunicipalityIndicators

COUNTERS = ("households", "persons_female", "persons_male", "open_cases", "opportunities_published")


async def add_to_indicators(session: AsyncSession, municipality_code: str, at: datetime, **deltas: int) -> None:
    """Add ``deltas`` to one municipality's counters, creating its row on first use."""
    unknown = set(deltas) - set(COUNTERS)
    if unknown:
        raise ValueError(f"unknown counters {unknown}")
    table = MunicipalityIndicators.__table__
    assert isinstance(table, Table)
    values = {name: deltas.get(name, 0) for name in COUNTERS}
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(table).values(municipality_code=municipality_code, updated_at=at, **values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.municipality_code],
        set_={
            **{name: table.c[name] + stmt.excluded[name] for name in deltas},
            "updated_at": stmt.excluded.updated_at,
        },
    )
    await session.execute(stmt)


def add_household_fact(session: AsyncSession, fact: HouseholdFact) -> None:
    session.add(fact)


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
