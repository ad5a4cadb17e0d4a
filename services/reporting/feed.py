"""The feed of indicator changes: what reporting announces on ``reporting.indicators`` and streams over SSE.

After a batch of events is applied, each (municipality, month) it touched gets its headline counts recomputed;
where what a reader would see differs from the last announcement of that cell, a ``FeedEntry`` row (the SSE
log, ``seq`` is the event id) and an ``IndicatorsUpdatedV1`` outbox row are written in the same transaction as
the facts. So an announcement is never lost and never precedes the figures it announces.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting import domain
from services.reporting.models import FeedEntry
from services.reporting.projection import CASES, HOUSEHOLDS, OPPORTUNITIES, PERSONS, PLACEMENTS, REFERRALS, Cell
from shared.events import IndicatorsUpdatedV1
from shared.messaging.outbox import OutboxWriter
from shared.reference import municipalities

FEED = cast(Table, FeedEntry.__table__)
SUPPRESSED = "<5"

# Headline counts of one municipality and month: independent figures (none is another's part), so suppressing
# each on its own lets none be derived.
HEADLINE: dict[str, tuple[Table, str, tuple[Any, ...]]] = {
    "households_registered": (HOUSEHOLDS, "registered_ym", (HOUSEHOLDS.c.active.is_(True),)),
    "persons_registered": (PERSONS, "registered_ym", ()),
    "cases_opened": (CASES, "opened_ym", ()),
    "assessments_completed": (CASES, "assessed_ym", ()),
    "referrals": (REFERRALS, "requested_ym", ()),
    "opportunities_published": (OPPORTUNITIES, "published_ym", ()),
    "placements_started": (PLACEMENTS, "started_ym", ()),
}


def suppress(value: int) -> int | str:
    return SUPPRESSED if 1 <= value <= 4 else value


async def headline(session: AsyncSession, municipality: str, month: int) -> dict[str, int]:
    """The headline counts of one cell, in one round trip."""
    columns = []
    for name, (table, month_column, where) in HEADLINE.items():
        sub = (
            select(func.count())
            .select_from(table)
            .where(table.c.municipality_code == municipality, table.c[month_column] == month, *where)
            .scalar_subquery()
        )
        columns.append(sub.label(name))
    row = (await session.execute(select(*columns))).one()
    return {name: int(getattr(row, name)) for name in HEADLINE}


async def announce(session: AsyncSession, outbox: OutboxWriter, cells: Iterable[Cell], at: datetime) -> int:
    """Announce the cells whose visible figures changed; returns how many were announced."""
    announced = 0
    for municipality, month in sorted(cells):
        values = {name: suppress(v) for name, v in (await headline(session, municipality, month)).items()}
        label = domain.period_of(month, "month")
        last = await session.scalar(
            select(FEED.c.data)
            .where(FEED.c.municipality_code == municipality, FEED.c.month == label)
            .order_by(FEED.c.seq.desc())
            .limit(1)
        )
        if last is not None and last.get("indicators") == values:
            continue
        found = municipalities.get(municipality)
        event = IndicatorsUpdatedV1(
            municipality_code=municipality,
            district=found.district if found else "",
            month=label,
            indicators=values,
            updated_at=at,
        )
        data = event.to_data()
        await (await session.connection()).execute(
            insert(FEED), {"municipality_code": municipality, "month": label, "at": at, "data": data}
        )
        await outbox.add(session, event)
        announced += 1
    return announced


async def entries_after(
    session: AsyncSession, seq: int, *, limit: int = 500, municipalities_: frozenset[str] | None = None
) -> list[tuple[int, dict[str, Any]]]:
    stmt = select(FEED.c.seq, FEED.c.data).where(FEED.c.seq > seq).order_by(FEED.c.seq).limit(limit)
    if municipalities_:
        stmt = stmt.where(FEED.c.municipality_code.in_(sorted(municipalities_)))
    return [(int(s), dict(d)) for s, d in (await session.execute(stmt)).all()]


async def oldest_seq(session: AsyncSession) -> int | None:
    value = await session.scalar(select(func.min(FEED.c.seq)))
    return int(value) if value is not None else None


async def latest_seq(session: AsyncSession) -> int:
    value = await session.scalar(select(func.max(FEED.c.seq)))
    return int(value or 0)


async def prune(session: AsyncSession, *, now: datetime, keep: timedelta) -> int:
    """Forget announcements older than ``keep`` (a client resuming from before them is told to reload)."""
    result = await (await session.connection()).execute(delete(FEED).where(FEED.c.at < now - keep))
    return int(getattr(result, "rowcount", 0) or 0)
