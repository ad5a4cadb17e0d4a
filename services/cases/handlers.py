"""Cases' event subscribers: decode (done by the consumer), then call the service layer."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases import placements, service
from shared.events import (
    Envelope,
    EventData,
    HouseholdMergedV1,
    HouseholdRegisteredV2,
    HouseholdUpdatedV1,
    PersonConsentChangedV1,
    PersonErasedV1,
    PersonMergedV1,
)
from shared.messaging.consumer import Handler
from shared.messaging.outbox import OutboxWriter


def build_handlers(outbox: OutboxWriter) -> dict[type[EventData], Handler]:
    async def household_registered(session: AsyncSession, event: EventData, _envelope: Envelope) -> None:
        assert isinstance(event, HouseholdRegisteredV2)
        await service.open_case_for_household(session=session, outbox=outbox, event=event)

    async def household_updated(session: AsyncSession, event: EventData, _envelope: Envelope) -> None:
        assert isinstance(event, HouseholdUpdatedV1)
        await service.follow_household(session=session, outbox=outbox, event=event)

    async def consent_changed(session: AsyncSession, event: EventData, _envelope: Envelope) -> None:
        assert isinstance(event, PersonConsentChangedV1)
        await service.consent_changed(session=session, event=event)

    async def person_erased(session: AsyncSession, event: EventData, _envelope: Envelope) -> None:
        assert isinstance(event, PersonErasedV1)
        await service.person_erased(session=session, event=event)

    async def household_merged(session: AsyncSession, event: EventData, _envelope: Envelope) -> None:
        assert isinstance(event, HouseholdMergedV1)
        await service.household_merged(session=session, event=event)

    async def person_merged(session: AsyncSession, event: EventData, _envelope: Envelope) -> None:
        assert isinstance(event, PersonMergedV1)
        await service.person_merged(session=session, event=event)

    async def placement(session: AsyncSession, event: EventData, _envelope: Envelope) -> None:
        assert isinstance(event, placements.PLACEMENT_EVENTS)
        await placements.placement_changed(session=session, event=event)

    return {
        HouseholdRegisteredV2: household_registered,
        HouseholdUpdatedV1: household_updated,
        PersonConsentChangedV1: consent_changed,
        PersonErasedV1: person_erased,
        HouseholdMergedV1: household_merged,
        PersonMergedV1: person_merged,
        **dict.fromkeys(placements.PLACEMENT_EVENTS, placement),
    }
