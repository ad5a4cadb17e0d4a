"""Intake's event subscribers: what cases says about a household's case, shown on the household page."""

from __future__ import annotations

from services.intake import repository, service
from shared.events import CaseOpenedV1, CaseStatusChangedV1, CaseTransferredV1
from shared.messaging.subscriptions import EventContext, Subscriptions

subscriptions = Subscriptions()


@subscriptions.on(CaseOpenedV1)
async def case_opened(event: CaseOpenedV1, ctx: EventContext) -> None:
    """A new case for the household (the first one, or the receiving office's after a transfer)."""
    await service.record_case_status(
        session=ctx.session, household_id=event.household_id, case_id=event.case_id, status="open"
    )


@subscriptions.on(CaseStatusChangedV1)
async def case_status_changed(event: CaseStatusChangedV1, ctx: EventContext) -> None:
    await repository.set_case_status(ctx.session, event.household_id, case_id=event.case_id, status=event.to_status)


@subscriptions.on(CaseTransferredV1)
async def case_transferred(event: CaseTransferredV1, ctx: EventContext) -> None:
    await repository.set_case_status(ctx.session, event.household_id, case_id=event.case_id, status="transferred")
