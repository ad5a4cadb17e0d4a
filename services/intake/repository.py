"""Every query intake runs."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.intake.models import Household, Person


async def existing_jmbgs(session: AsyncSession, jmbgs: Iterable[str]) -> dict[str, tuple[uuid.UUID, str]]:
    """JMBG → (household id, its municipality), for those already registered."""
    wanted = list(jmbgs)
    if not wanted:
        return {}
    rows = await session.execute(
        select(Person.jmbg, Person.household_id, Household.municipality_code)
        .join(Household, Household.id == Person.household_id)
        .where(Person.jmbg.in_(wanted))
    )
    return {jmbg: (household_id, code) for jmbg, household_id, code in rows if jmbg is not None}


async def get_household(session: AsyncSession, household_id: uuid.UUID) -> Household | None:
    result = await session.execute(
        select(Household).where(Household.id == household_id).options(selectinload(Household.members))
    )
    return result.scalar_one_or_none()


async def insert_household(session: AsyncSession, household: Household, members: list[Person]) -> None:
    """Insert with two Core statements (no unit-of-work bookkeeping: registration is the hot path)."""
    await session.execute(
        insert(Household).values(
            id=household.id,
            municipality_code=household.municipality_code,
            registered_by=household.registered_by,
            registered_at=household.registered_at,
        )
    )
    await session.execute(
        insert(Person),
        [
            {
                "id": p.id,
                "household_id": p.household_id,
                "position": p.position,
                "given_name": p.given_name,
                "family_name": p.family_name,
                "birth_date": p.birth_date,
                "sex": p.sex,
                "jmbg": p.jmbg,
            }
            for p in members
        ],
    )
