"""Reporting's event subscribers: every batch the consumer fetched goes to the projection in one go, and the
cells it changed are left for the next announcement round (services/reporting/feed.py), same transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting import feed, projection
from shared.db import utcnow
from shared.events import Envelope, EventData
from shared.messaging.consumer import BatchHandler, Handler


def build_batch_handler(*, announce: bool) -> BatchHandler:
    """The live handler leaves the cells it changed for the next announcement round; the rebuild announces
    nothing."""

    async def handle(session: AsyncSession, items: Sequence[tuple[EventData, Envelope]]) -> None:
        now = utcnow()
        cells = await projection.apply(session, [event for event, _envelope in items], projected_at=now)
        if announce and cells:
            await feed.mark_pending(session, cells)

    return handle


def build_handlers(batch: BatchHandler) -> dict[type[EventData], Handler]:
    """The per-event form the consumer routes by type; each applies its event as a batch of one."""

    async def one(session: AsyncSession, event: EventData, envelope: Envelope) -> None:
        await batch(session, [(event, envelope)])

    return dict.fromkeys(projection.APPLIED, one)
