"""Reporting's event subscribers."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting import service
from shared.events import (
    CaseOpenedV1,
    Envelope,
    EventData,
    HouseholdRegisteredV2,
    MatchProposedV1,
    OpportunityPublishedV1,
    PlacementCompletedV1,
    PlacementEndedV1,
    PlacementStartedV1,
)
from shared.messaging.consumer import Handler


async def household_registered(session: AsyncSession, event: EventData, _envelope: Envelope) -> None:
    assert isinstance(event, HouseholdRegisteredV2)
    await service.project_household_registered(session=session, event=event)


async def case_opened(session: AsyncSession, event: EventData, _envelope: Envelope) -> None:
    assert isinstance(event, CaseOpenedV1)
    await service.project_case_opened(session=session, event=event)


async def opportunity_published(session: AsyncSession, event: EventData, _envelope: Envelope) -> None:
    assert isinstance(event, OpportunityPublishedV1)
    await service.project_opportunity_published(session=session, event=event)


async def placement(session: AsyncSession, event: EventData, _envelope: Envelope) -> None:
    assert isinstance(event, MatchProposedV1 | PlacementStartedV1 | PlacementCompletedV1 | PlacementEndedV1)
    await service.project_placement(session=session, event=event)


HANDLERS: dict[type[EventData], Handler] = {
    HouseholdRegisteredV2: household_registered,
    CaseOpenedV1: case_opened,
    OpportunityPublishedV1: opportunity_published,
    MatchProposedV1: placement,
    PlacementStartedV1: placement,
    PlacementCompletedV1: placement,
    PlacementEndedV1: placement,
}
