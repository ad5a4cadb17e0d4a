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
from services.reporting.folds import FOLDS, Batch, Keyed
from services.reporting.models import PERSONS, PROVIDER_DELTAS, TRANSITIONS
from shared.events import (
    ActivationRequestedV1,
    AssessmentCompletedV1,
    CaseAssignedV1,
    CaseOpenedV1,
    CaseStatusChangedV1,
    CaseTransferredV1,
    EventData,
    HouseholdMergedV1,
    HouseholdRegisteredV2,
    HouseholdUpdatedV1,
    MatchProposedV1,
    OpportunityClosedV1,
    OpportunityPublishedV1,
    PersonErasedV1,
    PersonMergedV1,
    PlacementCompletedV1,
    PlacementEndedV1,
    PlacementStartedV1,
    ProviderChangedV1,
    ReferralDecidedV1,
    ReferralRequestedV1,
)

# Every event type reporting applies; the rest of its topics' events change no indicator.
APPLIED: tuple[type[EventData], ...] = (
    HouseholdRegisteredV2,
    HouseholdUpdatedV1,
    PersonErasedV1,
    HouseholdMergedV1,
    PersonMergedV1,
    CaseOpenedV1,
    CaseAssignedV1,
    CaseStatusChangedV1,
    CaseTransferredV1,
    AssessmentCompletedV1,
    ReferralRequestedV1,
    ReferralDecidedV1,
    ProviderChangedV1,
    ActivationRequestedV1,
    OpportunityPublishedV1,
    OpportunityClosedV1,
    MatchProposedV1,
    PlacementStartedV1,
    PlacementCompletedV1,
    PlacementEndedV1,
)

assert set(FOLDS) == set(APPLIED)

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
    households: set[uuid.UUID] = set()
    persons: set[uuid.UUID] = set()
    cases: set[uuid.UUID] = set()
    referrals: set[uuid.UUID] = set()
    providers: set[uuid.UUID] = set()
    opportunities: set[uuid.UUID] = set()
    placements: set[uuid.UUID] = set()
    members: set[uuid.UUID] = set()
    for event in events:
        if isinstance(event, HouseholdRegisteredV2 | HouseholdUpdatedV1):
            households.add(event.household_id)
            members.update(m.person_id for m in event.members)
        elif isinstance(event, HouseholdMergedV1):
            households.add(event.merged_household_id)
            persons.update(event.merged_person_ids)
            persons.update(event.merged_person_ids.values())
        elif isinstance(event, PersonErasedV1):
            persons.add(event.person_id)
        elif isinstance(event, PersonMergedV1):
            persons.update((event.merged_person_id, event.survivor_person_id))
        elif isinstance(event, ActivationRequestedV1):
            persons.add(event.person_id)
        elif isinstance(
            event, CaseOpenedV1 | CaseAssignedV1 | CaseStatusChangedV1 | CaseTransferredV1 | AssessmentCompletedV1
        ):
            cases.add(event.case_id)
        elif isinstance(event, ReferralRequestedV1 | ReferralDecidedV1):
            referrals.add(event.referral_id)
        elif isinstance(event, ProviderChangedV1):
            providers.add(event.provider_id)
        elif isinstance(event, OpportunityPublishedV1 | OpportunityClosedV1):
            opportunities.add(event.opportunity_id)
        elif isinstance(event, MatchProposedV1 | PlacementStartedV1 | PlacementCompletedV1 | PlacementEndedV1):
            placements.add(event.placement_id)
    await _load_rows(conn, batch.households, households)
    await _load_rows(conn, batch.marks, persons | members)
    await _load_rows(conn, batch.candidates, persons)
    await _load_rows(conn, batch.cases, cases)
    await _load_rows(conn, batch.referrals, referrals)
    await _load_rows(conn, batch.providers, providers)
    await _load_rows(conn, batch.opportunities, opportunities)
    await _load_rows(conn, batch.placements, placements)
    # Merge chains: the survivors' marks and candidate rows too (a chain is short; a few rounds at most).
    for _ in range(5):
        targets = {m["merged_into"] for m in batch.marks.rows.values() if m and m["merged_into"]}
        missing = [t for t in targets if t not in batch.marks.rows]
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
