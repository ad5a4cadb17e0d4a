"""Intake's event subscribers: what cases says about a household's case, shown on the household page."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import repository, service
from shared.events import CaseOpenedV1, CaseStatusChangedV1, CaseTransferredV1, Envelope, EventData
from shared.messaging.consumer import Handler


async def case_opened(session: AsyncSession, event: EventData, _envelope: Envelope) -> None:
    """A new case for the household (the first one, or the receiving office's after a transfer)."""
    assert isinstance(event, CaseOpenedV1)
    await service.record_case_status(
        session=session, household_id=event.household_id, case_id=event.case_id, status="open"
    )


async def case_status_changed(session: AsyncSession, event: EventData, _envelope: Envelope) -> None:
    assert isinstance(event, CaseStatusChangedV1)
    await repository.set_case_status(session, event.household_id, case_id=event.case_id, status=event.to_status)


async def case_transferred(session: AsyncSession, event: EventData, _envelope: Envelope) -> None:
    assert isinstance(event, CaseTransferredV1)
    await repository.set_case_status(session, event.household_id, case_id=event.case_id, status="transferred")


HANDLERS: dict[type[EventData], Handler] = {
    CaseOpenedV1: case_opened,
    CaseStatusChangedV1: case_status_changed,
    CaseTransferredV1: case_transferred,
}
