"""Reporting's event subscriber: every batch the consumer fetched goes to the projection in one go, and the cells it
changed are left for the next announcement round (services/reporting/feed.py), same transaction. A replay into a
fresh store (the rebuild) announces nothing."""

from __future__ import annotations

from collections.abc import Sequence

from services.reporting import feed, projection
from shared.db import utcnow
from shared.messaging.subscriptions import BatchContext, Delivered, Subscriptions

subscriptions = Subscriptions()


@subscriptions.batch(*projection.APPLIED)
async def project(items: Sequence[Delivered], ctx: BatchContext) -> None:
    cells = await projection.apply(ctx.session, [event for event, _envelope in items], projected_at=utcnow())
    if cells and not ctx.replay:
        await feed.mark_pending(ctx.session, cells)
