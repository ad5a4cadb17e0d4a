"""Intake's event subscribers: what cases says about a household's case, shown on the household page."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import service
from shared.events import CaseOpenedV1, Envelope, EventData
from shared.messaging.consumer import Handler


async def case_opened(session: AsyncSession, event: EventData, _envelope: Envelope) -> None:
    assert isinstance(event, CaseOpenedV1)
    await service.record_case_status(
        session=session, household_id=event.household_id, case_id=event.case_id, status="open"
    )


HANDLERS: dict[type[EventData], Handler] = {CaseOpenedV1: case_opened}
