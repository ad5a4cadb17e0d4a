"""Activation's event subscribers: candidates from cases, kept current with intake's events; cases' agreements.

Intake's registrations and cases' provider changes are not activation's: the applier skips them unread."""

from __future__ import annotations

from services.activation import candidates
from shared.events import (
    ActivationRequestedV1,
    AgreementChangedV1,
    HouseholdMergedV1,
    HouseholdUpdatedV1,
    PersonConsentChangedV1,
    PersonErasedV1,
    PersonMergedV1,
)
from shared.messaging.subscriptions import EventContext, Subscriptions

subscriptions = Subscriptions()


@subscriptions.on(ActivationRequestedV1)
async def activation_requested(event: ActivationRequestedV1, ctx: EventContext) -> None:
    await candidates.candidate_requested(session=ctx.session, event=event)


@subscriptions.on(HouseholdUpdatedV1)
async def household_updated(event: HouseholdUpdatedV1, ctx: EventContext) -> None:
    await candidates.household_changed(session=ctx.session, outbox=ctx.outbox, event=event)


@subscriptions.on(PersonConsentChangedV1)
async def consent_changed(event: PersonConsentChangedV1, ctx: EventContext) -> None:
    await candidates.consent_changed(session=ctx.session, outbox=ctx.outbox, event=event)


@subscriptions.on(PersonErasedV1)
async def person_erased(event: PersonErasedV1, ctx: EventContext) -> None:
    await candidates.person_erased(session=ctx.session, outbox=ctx.outbox, event=event)


@subscriptions.on(PersonMergedV1)
async def person_merged(event: PersonMergedV1, ctx: EventContext) -> None:
    await candidates.person_merged(session=ctx.session, outbox=ctx.outbox, event=event)


@subscriptions.on(HouseholdMergedV1)
async def household_merged(event: HouseholdMergedV1, ctx: EventContext) -> None:
    await candidates.household_merged(session=ctx.session, outbox=ctx.outbox, event=event)


@subscriptions.on(AgreementChangedV1)
async def agreement_changed(event: AgreementChangedV1, ctx: EventContext) -> None:
    await candidates.agreement_changed(session=ctx.session, event=event)
