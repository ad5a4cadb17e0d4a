"""Every query activation runs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.activation.models import Candidate, Opportunity


async def get_opportunity(session: AsyncSession, opportunity_id: uuid.UUID) -> Opportunity | None:
    return await session.get(Opportunity, opportunity_id)


async def list_opportunities(
    session: AsyncSession, *, municipality_code: str | None, limit: int, offset: int
) -> Sequence[Opportunity]:
    stmt = select(Opportunity).order_by(Opportunity.published_at.desc(), Opportunity.id).limit(limit).offset(offset)
    if municipality_code is not None:
        stmt = stmt.where(Opportunity.municipality_code == municipality_code)
    return (await session.execute(stmt)).scalars().all()


# --- candidates -----------------------------------------------------------------------------------------------


async def get_candidate(session: AsyncSession, person_id: uuid.UUID) -> Candidate | None:
    return await session.get(Candidate, person_id)


async def candidates_of_household(session: AsyncSession, household_id: uuid.UUID) -> Sequence[Candidate]:
    stmt = select(Candidate).where(Candidate.household_id == household_id)
    return (await session.execute(stmt)).scalars().all()


async def delete_candidate(session: AsyncSession, person_id: uuid.UUID) -> None:
    """Through the unit of work, so no stale copy stays in the session's identity map."""
    found = await session.get(Candidate, person_id)
    if found is not None:
        await session.delete(found)
        await session.flush()


async def active_candidates(session: AsyncSession, *, municipality_code: str | None = None) -> Sequence[Candidate]:
    stmt = select(Candidate).where(Candidate.active.is_(True)).order_by(Candidate.person_id)
    if municipality_code is not None:
        stmt = stmt.where(Candidate.municipality_code == municipality_code)
    return (await session.execute(stmt)).scalars().all()


async def rekey_candidate(session: AsyncSession, merged: uuid.UUID, survivor: uuid.UUID, household: uuid.UUID) -> None:
    await session.execute(
        update(Candidate).where(Candidate.person_id == merged).values(person_id=survivor, household_id=household)
    )
