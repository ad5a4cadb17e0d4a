"""Applying events to reporting's facts, a batch at a time.

One batch is applied in three steps: the rows the batch's events touch are loaded (one query per table), the
events are folded over them in order in memory, and the resulting rows are written back with a few bulk
statements. The live consumer hands over what it fetched together; the rebuild hands over thousands of events
at once. Both go through this same code, which is why a rebuild gives the live figures.

How each event changes the facts is services/reporting/folds.py; here are the statements that read the rows a
batch needs and write them back. The result says which (municipality, month) cells changed, for the feed of
indicator changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.reporting.domain import Cell
from services.reporting.folds import APPLIED as APPLIED  # handlers subscribe to what projection applies
from services.reporting.folds import Batch, Keyed
from services.reporting.models import PERSONS, PROVIDER_DELTAS, TRANSITIONS
from shared.events import EventData

_CHUNK = 500  # ids per IN (...) list


async def _load_rows(conn: AsyncConnection, keyed: Keyed, keys: Iterable[uuid.UUID]) -> None:
    """The rows of ``keys`` not loaded yet (None for an id the table does not hold)."""
    wanted = [k for k in set(keys) if k not in keyed.rows]
    column = keyed.table.c[keyed.key]
    for i in range(0, len(wanted), _CHUNK):
        chunk = wanted[i : i + _CHUNK]
        for row in (await conn.execute(select(keyed.table).where(column.in_(chunk)))).mappings():
            keyed.rows[row[keyed.key]] = dict(row)
    for k in wanted:
        keyed.rows.setdefault(k, None)


async def _flush_rows(conn: AsyncConnection, keyed: Keyed) -> None:
    """The dirty rows written back: deleted by id, then inserted (a row set to None stays deleted)."""
    if not keyed.dirty:
        return
    keys = list(keyed.dirty)
    column = keyed.table.c[keyed.key]
    for i in range(0, len(keys), _CHUNK):
        await conn.execute(delete(keyed.table).where(column.in_(keys[i : i + _CHUNK])))
    rows = [row for k in keys if (row := keyed.rows[k]) is not None]
    if rows:
        await conn.execute(insert(keyed.table), rows)


async def _load(conn: AsyncConnection, batch: Batch, events: Sequence[EventData]) -> None:
    """Every row the events will read or change, one query per table (and a few for merge chains)."""
    for keyed, ids in batch.wanted(events):
        await _load_rows(conn, keyed, ids)
    # Merge chains: the survivors' marks and candidate rows too (a chain is short; a few rounds at most).
    for _ in range(5):
        missing = batch.survivors_missing()
        if not missing:
            break
        await _load_rows(conn, batch.marks, missing)
        await _load_rows(conn, batch.candidates, missing)


async def _flush(conn: AsyncConnection, batch: Batch) -> None:
    """What the batch changed, written back with a few bulk statements."""
    for keyed in batch.keyed:
        await _flush_rows(conn, keyed)
    replaced = list(batch.members)
    gone = list(batch.merged_households)
    incoming = [p for persons in batch.members.values() for p in persons]
    by_person = list(batch.removed_persons)
    for ids, column in ((replaced + gone, PERSONS.c.household_id), (by_person, PERSONS.c.person_id)):
        for i in range(0, len(ids), _CHUNK):
            await conn.execute(delete(PERSONS).where(column.in_(ids[i : i + _CHUNK])))
    if incoming:
        await conn.execute(insert(PERSONS), incoming)
    if batch.transitions:
        await conn.execute(insert(TRANSITIONS), batch.transitions)
    if batch.provider_deltas:
        await conn.execute(insert(PROVIDER_DELTAS), batch.provider_deltas)


async def apply(session: AsyncSession, events: Sequence[EventData], *, projected_at: datetime) -> set[Cell]:
    """Apply ``events`` (in the order given) to the facts in the session's transaction; the (municipality, month)
    cells they changed."""
    conn = await session.connection()
    batch = Batch(projected_at)
    await _load(conn, batch, events)
    for event in events:
        batch.apply(event)
    await _flush(conn, batch)
    return batch.cells
