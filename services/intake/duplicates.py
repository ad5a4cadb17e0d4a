"""The review queue of likely duplicates, and merging two records of one person (or one household).

A likely duplicate is never merged silently: a supervisor looks at both records and decides.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import access, audit, records, repository, service
from services.intake.models import DuplicateCandidate, Person
from services.intake.schemas import DuplicatePublic, MergeRequest, MergeResult, ReviewedPerson
from shared.auth import User
from shared.db import utcnow
from shared.errors import Conflict, NotFound
from shared.events import HouseholdMergedV1, PersonMergedV1
from shared.messaging.outbox import OutboxWriter


async def review_queue(
    *, session: AsyncSession, user: User, limit: int, offset: int, action: str
) -> list[DuplicatePublic]:
    access.ensure_supervisor(user, "Only a supervisor or an administrator reviews duplicates.")
    # A pair shows when either side is in the user's municipalities (a pair can cross a border).
    pairs = await repository.open_duplicates(session, municipalities=access.scope(user), limit=limit, offset=offset)
    people = await repository.persons_by_ids(
        session, [i for pair in pairs for i in (pair.person_id, pair.other_person_id)]
    )
    codes = await repository.household_municipalities(session, {p.household_id for p in people.values()})
    result: list[tuple[DuplicatePublic, list[tuple[Person, str]]]] = []
    today = utcnow().date()
    for pair in pairs:
        a, b = people.get(pair.person_id), people.get(pair.other_person_id)
        if a is None or b is None:
            continue
        visible = {p.id: user.can_see_municipality(codes.get(p.household_id, "")) for p in (a, b)}
        if not any(visible.values()):
            continue
        item = DuplicatePublic(
            id=pair.id,
            status=pair.status,
            reason=pair.reason,
            detected_at=pair.detected_at,
            person=_shown(a, visible[a.id], today),
            person_household_id=a.household_id if visible[a.id] else None,
            other=_shown(b, visible[b.id], today),
            other_household_id=b.household_id if visible[b.id] else None,
            municipality_code=pair.municipality_code,
            other_municipality=not all(visible.values()),
        )
        result.append((item, [(p, codes[p.household_id]) for p in (a, b) if visible[p.id]]))
    reads = [read for _, pair_reads in result for read in pair_reads]
    await audit.person_reads(session, user=user, action=action, persons=reads)
    return [item for item, _ in result]


def _shown(person: Person, visible: bool, today: date) -> ReviewedPerson:
    """The person as the reviewer may see them: a record of another municipality shows no personal data
    (its office decides about it; the pair is merged by a supervisor who sees both)."""
    public = ReviewedPerson(**service.person_public(person, today=today).model_dump())
    if visible:
        return public
    return ReviewedPerson(
        id=person.id,
        given_name=None,
        family_name=None,
        birth_date=None,
        sex="",
        jmbg=None,
        missing_jmbg_reason=None,
        relation=None,
        education=None,
        employment_status=None,
        able_to_work=None,
        skills=[],
        phone=None,
        markers=[],
        consents=[],
        redacted=True,
    )


async def _open_pair(session: AsyncSession, duplicate_id: uuid.UUID, user: User) -> DuplicateCandidate:
    access.ensure_supervisor(user, "Only a supervisor or an administrator reviews duplicates.")
    pair = await repository.get_duplicate(session, duplicate_id)
    if pair is None:
        raise NotFound(f"No duplicate review item {duplicate_id}.", reason="duplicate_not_found")
    if pair.status != "open":
        raise Conflict(f"This pair was already {pair.status}.", reason="pair_resolved", params={"status": pair.status})
    return pair


async def dismiss(*, session: AsyncSession, duplicate_id: uuid.UUID, user: User) -> None:
    """Two different people who happen to share a name and a birth date."""
    pair = await _open_pair(session, duplicate_id, user)
    for person_id in (pair.person_id, pair.other_person_id):
        person = await repository.get_person(session, person_id)
        if person is not None:
            await service.household_for(session=session, household_id=person.household_id, user=user)
    pair.status, pair.resolved_by, pair.resolved_at = "dismissed", user.sub, utcnow()
    await session.flush()


def _absorb(survivor: Person, merged: Person) -> None:
    """What the survivor lacks, it takes from the merged record; lists are united. (The JMBG moves after the
    merged record is deleted: it is unique.)"""
    for name in ("phone", "education", "employment_status", "able_to_work", "relation"):
        if getattr(survivor, name) is None and getattr(merged, name) is not None:
            setattr(survivor, name, getattr(merged, name))
    survivor.skills = list(dict.fromkeys([*(survivor.skills or []), *(merged.skills or [])]))
    survivor.consents = sorted({*(survivor.consents or []), *(merged.consents or [])})
    markers = {*(survivor.markers or []), *(merged.markers or [])}
    if "ethnicity" not in survivor.consents:
        markers.discard("roma")
    survivor.markers = sorted(markers)


async def merge(
    *, session: AsyncSession, outbox: OutboxWriter, duplicate_id: uuid.UUID, request: MergeRequest, user: User
) -> MergeResult:
    pair = await _open_pair(session, duplicate_id, user)
    keep_id, drop_id = (
        (pair.person_id, pair.other_person_id) if request.keep == "person" else (pair.other_person_id, pair.person_id)
    )
    people = await repository.persons_by_ids(session, [keep_id, drop_id])
    if len(people) < 2:
        raise Conflict("One of the two records no longer exists.", reason="record_gone")
    keep_h = await service.household_for(
        session=session, household_id=people[keep_id].household_id, user=user, for_update=True
    )
    drop_h = await service.household_for(
        session=session, household_id=people[drop_id].household_id, user=user, for_update=True
    )
    service.refuse_merged(keep_h)
    service.refuse_merged(drop_h)
    found_survivor = next((p for p in keep_h.members if p.id == keep_id), None)
    found_merged = next((p for p in drop_h.members if p.id == drop_id), None)
    if found_survivor is None or found_merged is None:
        raise Conflict("One of the two records changed meanwhile; open the review queue again.", reason="pair_changed")
    survivor, merged = found_survivor, found_merged
    if survivor.jmbg and merged.jmbg and survivor.jmbg != merged.jmbg:
        raise Conflict(
            "The two records have different JMBGs: they are two people. Dismiss the pair instead.",
            reason="different_jmbgs",
        )
    now = utcnow()

    jmbg = merged.jmbg
    _absorb(survivor, merged)
    drop_h.members.remove(merged)
    await session.delete(merged)
    await session.flush()  # the merged record (and its JMBG) is gone before the survivor takes the JMBG
    if survivor.jmbg is None and jmbg is not None:
        survivor.jmbg, survivor.missing_jmbg_reason = jmbg, None
    await repository.close_duplicates_of(session, merged.id, status="merged", by=user.sub, at=now)
    pair.status, pair.resolved_by, pair.resolved_at = "merged", user.sub, now

    lines = await repository.poverty_lines(session)
    whole = request.whole_household or not drop_h.members
    merged_household_id: uuid.UUID | None = None
    if whole and drop_h.id != keep_h.id:
        moved = list(drop_h.members)
        for person in moved:
            person.position = len(keep_h.members)
            if person.relation == "head":
                person.relation = "other_relative"
            keep_h.members.append(person)  # the back-reference takes it out of the merged household
        keep_h.incomes = (
            [*(keep_h.incomes or []), *(drop_h.incomes or [])] if request.whole_household else keep_h.incomes
        )
        keep_h.monthly_income = round(sum(i["monthly_amount"] for i in keep_h.incomes or []), 2)
        drop_h.merged_into = keep_h.id
        drop_h.version += 1
        merged_household_id = drop_h.id
        await outbox.add(
            session,
            HouseholdMergedV1(
                survivor_household_id=keep_h.id,
                merged_household_id=drop_h.id,
                moved_person_ids=[p.id for p in moved],
                merged_person_ids={merged.id: survivor.id},
                merged_at=now,
            ),
        )
    else:
        await outbox.add(
            session,
            PersonMergedV1(
                survivor_person_id=survivor.id,
                survivor_household_id=keep_h.id,
                merged_person_id=merged.id,
                merged_household_id=drop_h.id,
                merged_at=now,
            ),
        )
        if drop_h.id != keep_h.id:
            records.apply_poverty(drop_h, drop_h.members, lines=lines, on=now.date())
            drop_h.version += 1
            await outbox.add(session, records.updated_event(drop_h, drop_h.members, "merged"))
    records.apply_poverty(keep_h, keep_h.members, lines=lines, on=now.date())
    keep_h.version += 1
    await outbox.add(session, records.updated_event(keep_h, keep_h.members, "merged"))
    await session.flush()
    return MergeResult(
        survivor_person_id=survivor.id,
        merged_person_id=merged.id,
        survivor_household_id=keep_h.id,
        merged_household_id=merged_household_id,
    )
