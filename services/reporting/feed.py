"""The feed of indicator changes: what reporting announces on ``reporting.indicators`` and streams over SSE.

The transaction that applies a batch of events also records the (municipality, month) cells it touched in
``feed_pending``. Once a second (``OSLONAC_FEED_INTERVAL_S``) one round takes the pending cells, recomputes their
headline counts and, where what a reader would see differs from the cell's last announcement, writes a
``FeedEntry`` row (the SSE log; ``seq`` is the event id) and an ``IndicatorsUpdatedV1`` outbox row, and clears
them, in one transaction. So no change goes unannounced (even across a crash), none is announced before its
figures are served, and a busy cell is announced once a round rather than once per event.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting import domain
from services.reporting.models import FeedEntry, FeedPending
from services.reporting.projection import CASES, HOUSEHOLDS, OPPORTUNITIES, PERSONS, PLACEMENTS, REFERRALS, Cell
from shared.events import EventData, IndicatorsUpdatedV1
from shared.messaging.outbox import OutboxWriter
from shared.reference import municipalities

FEED = cast(Table, FeedEntry.__table__)
PENDING = cast(Table, FeedPending.__table__)
SUPPRESSED = "<5"
_CHUNK = 300

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


async def headline(session: AsyncSession, cells: Collection[Cell]) -> dict[Cell, dict[str, int]]:
    """The headline counts of ``cells``: one grouped query per table for all of them."""
    wanted = sorted(cells)
    out = {cell: dict.fromkeys(HEADLINE, 0) for cell in wanted}
    for name, (table, month_column, where) in HEADLINE.items():
        month = table.c[month_column]
        for i in range(0, len(wanted), _CHUNK):
            stmt = (
                select(table.c.municipality_code, month, func.count())
                .where(tuple_(table.c.municipality_code, month).in_(wanted[i : i + _CHUNK]), *where)
                .group_by(table.c.municipality_code, month)
            )
            for municipality, ym, n in await session.execute(stmt):
                out[municipality, int(ym)][name] = int(n)
    return out


async def _last_announced(session: AsyncSession, labels: Collection[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    wanted = sorted(labels)
    found: dict[tuple[str, str], Any] = {}
    for i in range(0, len(wanted), _CHUNK):
        newest = (
            select(func.max(FEED.c.seq))
            .where(tuple_(FEED.c.municipality_code, FEED.c.month).in_(wanted[i : i + _CHUNK]))
            .group_by(FEED.c.municipality_code, FEED.c.month)
        )
        stmt = select(FEED.c.municipality_code, FEED.c.month, FEED.c.data).where(FEED.c.seq.in_(newest))
        for municipality, month, data in await session.execute(stmt):
            found[municipality, month] = data
    return found


async def mark_pending(session: AsyncSession, cells: Collection[Cell]) -> None:
    """Remember ``cells`` for the next announcement round (in the caller's transaction)."""
    if not cells:
        return
    conn = await session.connection()
    rows = [{"municipality_code": m, "ym": ym} for m, ym in sorted(cells)]
    if conn.dialect.name == "postgresql":
        # Not DO NOTHING: a round may have taken the cell (FOR UPDATE) and counted it without this batch's facts.
        # Updating the row waits for that round; its delete then makes this a fresh insert, left for the next one.
        stmt = pg_insert(PENDING)
        await conn.execute(
            stmt.on_conflict_do_update(index_elements=list(PENDING.primary_key), set_={"ym": stmt.excluded.ym}), rows
        )
    else:  # one transaction at a time: no round runs meanwhile
        await conn.execute(sqlite_insert(PENDING).on_conflict_do_nothing(), rows)


async def announce_pending(session: AsyncSession, outbox: OutboxWriter, at: datetime, *, limit: int = 2000) -> int:
    """One round: announce up to ``limit`` pending cells and clear them. Replicas on PostgreSQL skip each other's
    cells."""
    conn = await session.connection()
    stmt = select(PENDING.c.municipality_code, PENDING.c.ym).order_by(PENDING.c.ym).limit(limit)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    cells = [(m, int(ym)) for m, ym in (await session.execute(stmt)).all()]
    if not cells:
        return 0
    announced = await announce(session, outbox, cells, at)
    for i in range(0, len(cells), _CHUNK):
        chunk = cells[i : i + _CHUNK]
        await conn.execute(delete(PENDING).where(tuple_(PENDING.c.municipality_code, PENDING.c.ym).in_(chunk)))
    return announced


async def announce(session: AsyncSession, outbox: OutboxWriter, cells: Collection[Cell], at: datetime) -> int:
    """Announce the cells whose visible figures changed; returns how many were announced."""
    counts = await headline(session, cells)
    labels = {cell: (cell[0], domain.period_of(cell[1], "month")) for cell in counts}
    last = await _last_announced(session, set(labels.values()))
    rows: list[dict[str, Any]] = []
    events: list[EventData] = []
    for cell, values in counts.items():
        shown = {name: suppress(v) for name, v in values.items()}
        municipality, label = labels[cell]
        previous = last.get((municipality, label))
        if previous is not None and previous.get("indicators") == shown:
            continue
        found = municipalities.get(municipality)
        event = IndicatorsUpdatedV1(
            municipality_code=municipality,
            district=found.district if found else "",
            month=label,
            indicators=shown,
            updated_at=at,
        )
        rows.append({"municipality_code": municipality, "month": label, "at": at, "data": event.to_data()})
        events.append(event)
    if rows:
        await (await session.connection()).execute(insert(FEED), rows)
        await outbox.add_many(session, events)
    return len(rows)


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
