"""Every query cases runs."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.models import Case


async def case_for_household(session: AsyncSession, household_id: uuid.UUID) -> Case | None:
    return (await session.execute(select(Case).where(Case.household_id == household_id))).scalar_one_or_none()


async def list_cases(
    session: AsyncSession,
    *,
    municipalities: Collection[str] | None,
    household_id: uuid.UUID | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Sequence[Case]:
    stmt = select(Case).order_by(Case.opened_at.desc(), Case.id).limit(limit).offset(offset)
    if municipalities is not None:
        stmt = stmt.where(Case.municipality_code.in_(list(municipalities)))
    if household_id is not None:
        stmt = stmt.where(Case.household_id == household_id)
    return (await session.execute(stmt)).scalars().all()
