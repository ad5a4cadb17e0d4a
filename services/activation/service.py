"""Activation's use cases."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.activation import repository
from services.activation.domain import OpportunityStatus
from services.activation.models import Opportunity
from services.activation.schemas import OpportunityCreate
from shared.auth import User
from shared.db import utcnow
from shared.errors import Invalid, NotFound, field_error
from shared.events import OpportunityPublishedV1
from shared.messaging.outbox import OutboxWriter
from shared.reference import municipalities


async def publish_opportunity(
    *, session: AsyncSession, outbox: OutboxWriter, data: OpportunityCreate, user: User
) -> Opportunity:
    if not municipalities.is_known(data.municipality_code):
        raise Invalid(
            f"Unknown municipality code {data.municipality_code}.",
            details=[field_error(["body", "municipality_code"], "unknown municipality code")],
        )
    opportunity = Opportunity(
        id=uuid.uuid4(),
        title=data.title,
        municipality_code=data.municipality_code,
        positions=data.positions,
        status=OpportunityStatus.published,
        organisation=user.organisation,
        published_by=user.sub,
        published_at=utcnow(),
    )
    session.add(opportunity)
    await session.flush()
    await outbox.add(
        session,
        OpportunityPublishedV1(
            opportunity_id=opportunity.id,
            municipality_code=opportunity.municipality_code,
            title=opportunity.title,
            positions=opportunity.positions,
            published_at=opportunity.published_at,
        ),
    )
    return opportunity


async def opportunity(*, session: AsyncSession, opportunity_id: uuid.UUID) -> Opportunity:
    found = await repository.get_opportunity(session, opportunity_id)
    if found is None:
        raise NotFound(f"No opportunity {opportunity_id}.")
    return found


async def opportunities(
    *, session: AsyncSession, municipality_code: str | None, limit: int, offset: int
) -> Sequence[Opportunity]:
    return await repository.list_opportunities(session, municipality_code=municipality_code, limit=limit, offset=offset)
