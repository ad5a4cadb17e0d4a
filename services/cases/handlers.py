"""Cases' event subscribers: each one calls the service layer with the typed event."""

from __future__ import annotations

from services.cases import placements, service
from shared.events import (
    HouseholdMergedV1,
    HouseholdRegisteredV2,
    HouseholdUpdatedV1,
    PersonConsentChangedV1,
    PersonErasedV1,
    PersonMergedV1,
)
from shared.messaging.subscriptions import EventContext, Subscriptions

subscriptions = Subscriptions()


@subscriptions.on(HouseholdRegisteredV2)
async def household_registered(event: HouseholdRegisteredV2, ctx: EventContext) -> None:
    await service.open_case_for_household(session=ctx.session, outbox=ctx.outbox, event=event)


@subscriptions.on(HouseholdUpdatedV1)
async def household_updated(event: HouseholdUpdatedV1, ctx: EventContext) -> None:
    await service.follow_household(session=ctx.session, outbox=ctx.outbox, event=event)


@subscriptions.on(PersonConsentChangedV1)
async def consent_changed(event: PersonConsentChangedV1, ctx: EventContext) -> None:
    await service.consent_changed(session=ctx.session, event=event)


@subscriptions.on(PersonErasedV1)
async def person_erased(event: PersonErasedV1, ctx: EventContext) -> None:
    await service.person_erased(session=ctx.session, event=event)


@subscriptions.on(HouseholdMergedV1)
async def household_merged(event: HouseholdMergedV1, ctx: EventContext) -> None:
    await service.household_merged(session=ctx.session, event=event)


@subscriptions.on(PersonMergedV1)
async def person_merged(event: PersonMergedV1, ctx: EventContext) -> None:
    await service.person_merged(session=ctx.session, event=event)


@subscriptions.on(*placements.PLACEMENT_EVENTS)
async def placement(event: placements.PlacementEvent, ctx: EventContext) -> None:
    await placements.placement_changed(session=ctx.session, event=event)
