"""Cases' event subscribers: decode (done by the consumer), then call the service layer."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases import service
from shared.events import Envelope, EventData, HouseholdRegisteredV2
from shared.messaging.consumer import Handler
from shared.messaging.outbox import OutboxWriter


def build_handlers(outbox: OutboxWriter) -> dict[type[EventData], Handler]:
    async def household_registered(session: AsyncSession, event: EventData, _envelope: Envelope) -> None:
        assert isinstance(event, HouseholdRegisteredV2)
        await service.open_case_for_household(session=session, outbox=outbox, event=event)

    return {HouseholdRegisteredV2: household_registered}
