"""Every query intake runs."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.intake.models import Household, Person


async def existing_jmbgs(session: AsyncSession, jmbgs: Iterable[str]) -> dict[str, uuid.UUID]:
    """JMBG → household id, for those already registered."""
    wanted = list(jmbgs)
    if not wanted:
        return {}
    rows = await session.execute(select(Person.jmbg, Person.household_id).where(Person.jmbg.in_(wanted)))
    return {jmbg: household_id for jmbg, household_id in rows if jmbg is not None}


async def get_household(session: AsyncSession, household_id: uuid.UUID) -> Household | None:
    result = await session.execute(
        select(Household).where(Household.id == household_id).options(selectinload(Household.members))
    )
    return result.scalar_one_or_none()


def add_household(session: AsyncSession, household: Household, members: list[Person]) -> None:
    session.add(household)
    session.add_all(members)
