"""Every query activation runs."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import String, cast, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.activation import domain, matching
from services.activation.models import (
    Agreement,
    Candidate,
    Forum,
    ForumMember,
    MatchingRun,
    Opportunity,
    Organisation,
    PersonMark,
    Placement,
    PlacementHours,
    ShortlistDigest,
    ShortlistEntry,
)
from shared.db import advisory_xact_lock

# --- organisations and forums ---------------------------------------------------------------------------------


async def get_organisation(session: AsyncSession, organisation_id: str) -> Organisation | None:
    return await session.get(Organisation, organisation_id)


async def list_organisations(session: AsyncSession, *, only: str | None = None) -> Sequence[Organisation]:
    stmt = select(Organisation).order_by(Organisation.name, Organisation.id)
    if only is not None:
        stmt = stmt.where(Organisation.id == only)
    return (await session.execute(stmt)).scalars().all()


async def get_forum(session: AsyncSession, forum_id: uuid.UUID) -> Forum | None:
    return await session.get(Forum, forum_id)


async def list_forums(session: AsyncSession) -> Sequence[Forum]:
    return (await session.execute(select(Forum).order_by(Forum.name, Forum.id))).scalars().all()


async def forum_ids_of(session: AsyncSession, organisation_id: str) -> set[uuid.UUID]:
    stmt = select(ForumMember.forum_id).where(ForumMember.organisation_id == organisation_id)
    return set((await session.execute(stmt)).scalars().all())


async def members_of(session: AsyncSession, forum_id: uuid.UUID) -> list[str]:
    stmt = (
        select(ForumMember.organisation_id)
        .where(ForumMember.forum_id == forum_id)
        .order_by(ForumMember.organisation_id)
    )
    return list((await session.execute(stmt)).scalars().all())


async def is_member(session: AsyncSession, forum_id: uuid.UUID, organisation_id: str) -> bool:
    return await session.get(ForumMember, (forum_id, organisation_id)) is not None


# --- agreements -----------------------------------------------------------------------------------------------


async def work_agreements(session: AsyncSession, on: date) -> list[frozenset[str]]:
    """The municipality sets of the agreements covering work engagement that are valid on ``on``."""
    rows = (await session.execute(select(Agreement).where(Agreement.valid_from <= on))).scalars().all()
    return [
        frozenset(a.municipalities)
        for a in rows
        if "work_engagement" in a.service_types and (a.valid_to is None or a.valid_to >= on)
    ]


# --- opportunities --------------------------------------------------------------------------------------------


async def get_opportunity(
    session: AsyncSession, opportunity_id: uuid.UUID, *, lock: bool = False
) -> Opportunity | None:
    """``lock``: FOR UPDATE on PostgreSQL (SQLite serialises whole transactions already)."""
    return await session.get(Opportunity, opportunity_id, with_for_update=lock or None, populate_existing=lock)


async def list_opportunities(
    session: AsyncSession,
    *,
    municipality_code: str | None = None,
    organisation: str | None = None,
    forum_id: uuid.UUID | None = None,
    status: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> Sequence[Opportunity]:
    stmt = select(Opportunity).order_by(Opportunity.published_at.desc(), Opportunity.id).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    if municipality_code is not None:
        stmt = stmt.where(Opportunity.municipality_code == municipality_code)
    if organisation is not None:
        stmt = stmt.where(Opportunity.organisation == organisation)
    if forum_id is not None:
        stmt = stmt.where(Opportunity.forum_id == forum_id)
    if status is not None:
        stmt = stmt.where(Opportunity.status == status)
    return (await session.execute(stmt)).scalars().all()


async def forum_criteria(session: AsyncSession, forum_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    ids = list(set(forum_ids))
    if not ids:
        return {}
    rows = (await session.execute(select(Forum.id, Forum.criteria).where(Forum.id.in_(ids)))).all()
    return {row.id: dict(row.criteria) for row in rows}


# --- candidates -----------------------------------------------------------------------------------------------


def as_domain(row: Any) -> domain.Candidate:
    """A stored candidate as the matching rule sees it."""
    return domain.Candidate(
        person_id=str(row.person_id),
        municipality_code=row.municipality_code,
        sex=row.sex,
        birth_year=row.birth_year,
        able_to_work=row.able_to_work,
        employment_status=row.employment_status,
        skills=frozenset(row.skills),
        markers=frozenset(row.markers),
        hours_min=row.hours_min,
        hours_max=row.hours_max,
        available_from=row.available_from,
        unemployed_since=row.unemployed_since,
        placed=row.placed,
    )


def _text(column: Any) -> Any:
    """The column as the database's text: no per-row decoding by SQLAlchemy (matching.Pool decodes what it needs)."""
    return cast(column, String)


_RAW_COLUMNS = (
    _text(Candidate.person_id),
    Candidate.municipality_code,
    Candidate.sex,
    Candidate.birth_year,
    Candidate.able_to_work,
    Candidate.employment_status,
    _text(Candidate.skills),
    _text(Candidate.markers),
    Candidate.hours_min,
    Candidate.hours_max,
    _text(Candidate.available_from),
    _text(Candidate.unemployed_since),
    Candidate.placed,
)


async def candidate_pool(session: AsyncSession, *, municipalities: Sequence[str] | None = None) -> matching.Pool:
    """Active candidates (consent to activation in force), of ``municipalities`` if given, column by column."""
    stmt = select(*_RAW_COLUMNS).where(Candidate.active.is_(True))
    if municipalities is not None:
        stmt = stmt.where(Candidate.municipality_code.in_(list(municipalities)))
    result = await session.execute(stmt)
    return matching.Pool.from_rows([matching.RawCandidate(*row) for row in result])


async def candidate_rows(session: AsyncSession, *, after: uuid.UUID | None, limit: int) -> list[matching.RawCandidate]:
    """Active candidates in person-id order, ``limit`` at a time after ``after`` (keyset pages)."""
    stmt = select(*_RAW_COLUMNS).where(Candidate.active.is_(True)).order_by(Candidate.person_id).limit(limit)
    if after is not None:
        stmt = stmt.where(Candidate.person_id > after)
    return [matching.RawCandidate(*row) for row in await session.execute(stmt)]


async def get_candidate(session: AsyncSession, person_id: uuid.UUID, *, lock: bool = False) -> Candidate | None:
    return await session.get(Candidate, person_id, with_for_update=lock or None, populate_existing=lock)


async def list_candidates(
    session: AsyncSession, *, municipalities: Sequence[str] | None, limit: int, offset: int
) -> Sequence[Candidate]:
    stmt = (
        select(Candidate)
        .where(Candidate.active.is_(True))
        .order_by(Candidate.requested_at.desc(), Candidate.person_id)
        .limit(limit)
        .offset(offset)
    )
    if municipalities is not None:
        stmt = stmt.where(Candidate.municipality_code.in_(list(municipalities)))
    return (await session.execute(stmt)).scalars().all()


async def active_among(session: AsyncSession, persons: set[uuid.UUID]) -> set[uuid.UUID]:
    found: set[uuid.UUID] = set()
    ids = list(persons)
    for start in range(0, len(ids), 1000):
        stmt = select(Candidate.person_id).where(
            Candidate.person_id.in_(ids[start : start + 1000]), Candidate.active.is_(True)
        )
        found.update((await session.execute(stmt)).scalars())
    return found


async def candidates_by_id(session: AsyncSession, ids: Sequence[uuid.UUID]) -> Sequence[Candidate]:
    if not ids:
        return []
    return (await session.execute(select(Candidate).where(Candidate.person_id.in_(list(ids))))).scalars().all()


async def delete_candidate(session: AsyncSession, person_id: uuid.UUID) -> None:
    """Through the unit of work, so no stale copy stays in the session's identity map."""
    found = await session.get(Candidate, person_id)
    if found is not None:
        await session.delete(found)
        await session.flush()


async def rekey_candidate(session: AsyncSession, merged: uuid.UUID, survivor: uuid.UUID, household: uuid.UUID) -> None:
    await session.execute(
        update(Candidate).where(Candidate.person_id == merged).values(person_id=survivor, household_id=household)
    )


# --- shortlists -----------------------------------------------------------------------------------------------


async def delete_shortlist_entries_of(session: AsyncSession, person_id: uuid.UUID) -> None:
    await session.execute(delete(ShortlistEntry).where(ShortlistEntry.person_id == person_id))


async def replace_shortlists(
    session: AsyncSession,
    opportunity_ids: Sequence[uuid.UUID],
    rows: list[dict[str, Any]],
    digests: dict[uuid.UUID, str] | None = None,
) -> None:
    # Two recomputes (two replicas, or a click during the background one) write one after the other.
    await advisory_xact_lock(session, "oslonac.activation.shortlists")
    for start in range(0, len(opportunity_ids), 500):
        chunk = list(opportunity_ids[start : start + 500])
        await session.execute(delete(ShortlistEntry).where(ShortlistEntry.opportunity_id.in_(chunk)))
        await session.execute(delete(ShortlistDigest).where(ShortlistDigest.opportunity_id.in_(chunk)))
    for start in range(0, len(rows), 5000):
        await session.execute(insert(ShortlistEntry), rows[start : start + 5000])
    if digests:
        await session.execute(insert(ShortlistDigest), [{"opportunity_id": o, "digest": d} for o, d in digests.items()])


async def shortlist_digests(session: AsyncSession) -> dict[uuid.UUID, str]:
    stmt = select(ShortlistDigest.opportunity_id, ShortlistDigest.digest)
    return {opportunity_id: value for opportunity_id, value in await session.execute(stmt)}


async def shortlist_rank(session: AsyncSession, opportunity_id: uuid.UUID, person_id: uuid.UUID) -> int | None:
    entry = await session.get(ShortlistEntry, (opportunity_id, person_id))
    return entry.rank if entry is not None else None


async def shortlisted(session: AsyncSession, opportunity_ids: Sequence[uuid.UUID]) -> list[tuple[uuid.UUID, Any]]:
    """(opportunity, candidate row with sex and markers) for every stored shortlist entry of the opportunities."""
    if not opportunity_ids:
        return []
    stmt = (
        select(ShortlistEntry.opportunity_id, Candidate.person_id, Candidate.sex, Candidate.markers)
        .join(Candidate, Candidate.person_id == ShortlistEntry.person_id)
        .where(ShortlistEntry.opportunity_id.in_(list(opportunity_ids)))
    )
    return [(row.opportunity_id, row) for row in await session.execute(stmt)]


async def last_run(session: AsyncSession) -> MatchingRun | None:
    stmt = select(MatchingRun).order_by(MatchingRun.id.desc()).limit(1)
    return (await session.execute(stmt)).scalars().first()


async def inputs_changed_since(session: AsyncSession, since: datetime | None) -> bool:
    """Whether anything a ranking depends on changed after ``since``: candidates, opportunities (published or
    closed), forums' criteria, agreements (when activation stored them), erasures and withdrawals."""
    for latest_of in (
        select(func.max(Candidate.updated_at)),
        select(func.max(func.coalesce(Opportunity.closed_at, Opportunity.published_at))),
        select(func.max(Forum.criteria_changed_at)),
        select(func.max(Agreement.stored_at)),
        select(func.max(PersonMark.marked_at)),  # an erasure deletes the candidate: its mark is the trace
    ):
        latest = (await session.execute(latest_of)).scalar()
        if latest is not None and (since is None or latest > since):
            return True
    return False


# --- placements -----------------------------------------------------------------------------------------------


async def get_placement(session: AsyncSession, placement_id: uuid.UUID, *, lock: bool = False) -> Placement | None:
    return await session.get(Placement, placement_id, with_for_update=lock or None, populate_existing=lock)


async def running_placements(session: AsyncSession, person_id: uuid.UUID) -> list[uuid.UUID]:
    stmt = select(Placement.id).where(
        Placement.person_id == person_id, Placement.status == domain.PlacementStatus.started
    )
    return list((await session.execute(stmt)).scalars())


async def live_placement(session: AsyncSession, opportunity_id: uuid.UUID, person_id: uuid.UUID) -> Placement | None:
    stmt = select(Placement).where(
        Placement.opportunity_id == opportunity_id,
        Placement.person_id == person_id,
        Placement.status != domain.PlacementStatus.declined,
    )
    return (await session.execute(stmt)).scalars().first()


async def placements_of_person(
    session: AsyncSession, person_id: uuid.UUID, *, lock: bool = False
) -> Sequence[Placement]:
    """``lock``: the rows locked for this transaction and read afresh (PostgreSQL), so an employer's start at the
    same moment waits instead of being overwritten."""
    stmt = select(Placement).where(Placement.person_id == person_id).order_by(Placement.proposed_at)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalars().all()


async def placements_of(session: AsyncSession, opportunity_ids: Sequence[uuid.UUID]) -> Sequence[Placement]:
    if not opportunity_ids:
        return []
    stmt = (
        select(Placement)
        .where(Placement.opportunity_id.in_(list(opportunity_ids)))
        .order_by(Placement.proposed_at, Placement.id)
    )
    return (await session.execute(stmt)).scalars().all()


async def filled_positions(session: AsyncSession, opportunity_id: uuid.UUID) -> int:
    taken = (domain.PlacementStatus.accepted, domain.PlacementStatus.started, domain.PlacementStatus.completed)
    stmt = select(func.count()).where(Placement.opportunity_id == opportunity_id, Placement.status.in_(taken))
    return int((await session.execute(stmt)).scalar_one())


async def unlink_placements(session: AsyncSession, person_id: uuid.UUID) -> None:
    """An erased person's placements stay as counts under one random id (still one person in the fairness
    report); nothing links them to the person any more."""
    stand_in = uuid.uuid4()
    for placement in await placements_of_person(session, person_id):
        placement.person_id = stand_in
        placement.case_id = None


# --- what arrived before the candidate ------------------------------------------------------------------------


async def get_mark(session: AsyncSession, person_id: uuid.UUID) -> PersonMark | None:
    return await session.get(PersonMark, person_id)


async def _mark(session: AsyncSession, person_id: uuid.UUID) -> PersonMark:
    mark = await session.get(PersonMark, person_id)
    if mark is None:
        mark = PersonMark(person_id=person_id)
        session.add(mark)
    mark.marked_at = datetime.now(UTC)
    return mark


async def mark_withdrawn(session: AsyncSession, person_id: uuid.UUID, at: datetime | None) -> None:
    """Consent to activation withdrawn at ``at`` (None: given again)."""
    mark = await session.get(PersonMark, person_id)
    if mark is None and at is None:
        return
    mark = await _mark(session, person_id)
    if at is None or mark.withdrawn_at is None or at > mark.withdrawn_at:
        mark.withdrawn_at = at
    await session.flush()


async def mark_merged(session: AsyncSession, person_id: uuid.UUID, survivor: uuid.UUID, household: uuid.UUID) -> None:
    if person_id == survivor:
        return
    mark = await _mark(session, person_id)
    mark.merged_into, mark.merged_household = survivor, household
    await session.flush()


async def mark_erased(session: AsyncSession, person_id: uuid.UUID, at: datetime) -> None:
    mark = await _mark(session, person_id)
    mark.erased_at = at
    await session.flush()


async def rekey_placements(session: AsyncSession, merged: uuid.UUID, survivor: uuid.UUID) -> None:
    await session.execute(update(Placement).where(Placement.person_id == merged).values(person_id=survivor))


# --- what the pages list --------------------------------------------------------------------------------------


async def opportunities_by_id(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Opportunity]:
    if not ids:
        return {}
    stmt = select(Opportunity).where(Opportunity.id.in_(list(set(ids))))
    return {o.id: o for o in (await session.execute(stmt)).scalars()}


async def recent_placements(
    session: AsyncSession, *, limit: int, candidate_municipalities: Sequence[str] | None = None
) -> Sequence[Placement]:
    """Newest first; of candidates of ``candidate_municipalities`` if given."""
    stmt = select(Placement).order_by(Placement.proposed_at.desc(), Placement.id).limit(limit)
    if candidate_municipalities is not None:
        stmt = stmt.where(Placement.candidate_municipality_code.in_(list(candidate_municipalities)))
    return (await session.execute(stmt)).scalars().all()


async def hours_of(session: AsyncSession, placement_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[tuple[str, int]]]:
    """(month, hours) recorded per placement, oldest month first."""
    if not placement_ids:
        return {}
    stmt = (
        select(PlacementHours.placement_id, PlacementHours.month, PlacementHours.hours)
        .where(PlacementHours.placement_id.in_(list(placement_ids)))
        .order_by(PlacementHours.month)
    )
    out: dict[uuid.UUID, list[tuple[str, int]]] = {}
    for row in await session.execute(stmt):
        out.setdefault(row.placement_id, []).append((row.month, row.hours))
    return out


async def record_month(
    session: AsyncSession, placement_id: uuid.UUID, month: str, hours: int, *, by: str, at: datetime
) -> int:
    """The hours of one month of a placement, recorded (or corrected); the placement's total hours after it."""
    row = await session.get(PlacementHours, (placement_id, month))
    if row is None:
        session.add(PlacementHours(placement_id=placement_id, month=month, hours=hours, recorded_by=by, recorded_at=at))
    else:
        row.hours, row.recorded_by, row.recorded_at = hours, by, at
    await session.flush()
    found = await session.execute(select(PlacementHours.hours).where(PlacementHours.placement_id == placement_id))
    return int(sum(found.scalars()))
