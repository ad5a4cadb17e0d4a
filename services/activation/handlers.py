"""Activation's event subscribers: candidates from cases, kept current with intake's events; cases' agreements."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.activation import candidates
from shared.events import (
    ActivationRequestedV1,
    AgreementChangedV1,
    Envelope,
    EventData,
    HouseholdMergedV1,
    HouseholdUpdatedV1,
    PersonConsentChangedV1,
    PersonErasedV1,
    PersonMergedV1,
)
from shared.messaging.consumer import Handler
from shared.messaging.outbox import OutboxWriter


def build_handlers(outbox: OutboxWriter) -> dict[type[EventData], Handler]:
    async def activation_requested(session: AsyncSession, event: EventData, _envelope: Envelope) -> None:
        assert isinstance(event, ActivationRequestedV1)
        await candidates.candidate_requested(session=session, event=event)

    async def household_updated(session: AsyncSession, event: EventData, _envelope: Envelope) -> None:
        assert isinstance(event, HouseholdUpdatedV1)
        await candidates.household_changed(session=session, outbox=outbox, event=event)

    async def consent_changed(session: AsyncSession, event: EventData, _envelope: Envelope) -> None:
        assert isinstance(event, PersonConsentChangedV1)
        await candidates.consent_changed(session=session, outbox=outbox, event=event)

    async def person_erased(session: AsyncSession, event: EventData, _envelope: Envelope) -> None:
        assert isinstance(event, PersonErasedV1)
        await candidates.person_erased(session=session, outbox=outbox, event=event)

    async def person_merged(session: AsyncSession, event: EventData, _envelope: Envelope) -> None:
        assert isinstance(event, PersonMergedV1)
        await candidates.person_merged(session=session, outbox=outbox, event=event)

    async def household_merged(session: AsyncSession, event: EventData, _envelope: Envelope) -> None:
        assert isinstance(event, HouseholdMergedV1)
        await candidates.household_merged(session=session, outbox=outbox, event=event)

    async def agreement_changed(session: AsyncSession, event: EventData, _envelope: Envelope) -> None:
        assert isinstance(event, AgreementChangedV1)
        await candidates.agreement_changed(session=session, event=event)

    # Intake's registrations and cases' provider changes are not activation's: the consumer skips them unread.
    return {
        ActivationRequestedV1: activation_requested,
        HouseholdUpdatedV1: household_updated,
        PersonConsentChangedV1: consent_changed,
        PersonErasedV1: person_erased,
        PersonMergedV1: person_merged,
        HouseholdMergedV1: household_merged,
        AgreementChangedV1: agreement_changed,
    }
