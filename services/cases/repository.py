"""Every query cases runs."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.models import Case


async def has_case(session: AsyncSession, household_id: uuid.UUID) -> bool:
    stmt = select(Case.id).where(Case.household_id == household_id)
    return (await session.execute(stmt)).first() is not None


async def insert_case(session: AsyncSession, case: Case) -> None:
    """A Core insert: opening cases runs for every registration, without unit-of-work bookkeeping."""
    await session.execute(
        insert(Case),
        {
            "id": case.id,
            "household_id": case.household_id,
            "municipality_code": case.municipality_code,
            "status": case.status,
            "member_count": case.member_count,
            "household_registered_at": case.household_registered_at,
            "opened_at": case.opened_at,
        },
    )


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
