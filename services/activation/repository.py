"""Every query activation runs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.activation.models import Opportunity


async def get_opportunity(session: AsyncSession, opportunity_id: uuid.UUID) -> Opportunity | None:
    return await session.get(Opportunity, opportunity_id)


async def list_opportunities(
    session: AsyncSession, *, municipality_code: str | None, limit: int, offset: int
) -> Sequence[Opportunity]:
    stmt = select(Opportunity).order_by(Opportunity.published_at.desc(), Opportunity.id).limit(limit).offset(offset)
    if municipality_code is not None:
        stmt = stmt.where(Opportunity.municipality_code == municipality_code)
    return (await session.execute(stmt)).scalars().all()
