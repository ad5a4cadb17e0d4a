"""The review queue of likely duplicates, and merging two records of one person (or one household).

A likely duplicate is never merged silently: a supervisor looks at both records and decides.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import privacy, repository, service
from services.intake.models import DuplicateCandidate, Household, Person
from services.intake.schemas import DuplicatePublic, MergeRequest, MergeResult
from shared.auth import Role, User
from shared.db import utcnow
from shared.errors import Conflict, Forbidden, NotFound
from shared.events import HouseholdMergedV1, PersonMergedV1
from shared.messaging.outbox import OutboxWriter


def _require_supervisor(user: User) -> None:
    if not user.has_role(Role.supervisor, Role.admin):
        raise Forbidden("Only a supervisor or an administrator reviews duplicates.")


async def review_queue(
    *, session: AsyncSession, user: User, limit: int, offset: int, action: str
) -> list[DuplicatePublic]:
    _require_supervisor(user)
    pairs = await repository.open_duplicates(session, municipalities=service.scope(user), limit=limit, offset=offset)
    households: dict[uuid.UUID, Household] = {}
    result = []
    today = utcnow().date()
    for pair in pairs:
        people = await repository.persons_by_ids(session, [pair.person_id, pair.other_person_id])
        if len(people) < 2:
            continue
        a, b = people[pair.person_id], people[pair.other_person_id]
        for p in (a, b):
            if p.household_id not in households:
                h = await repository.get_household(session, p.household_id)
                if h is not None:
                    households[p.household_id] = h
        result.append(
            DuplicatePublic(
                id=pair.id,
                status=pair.status,
                reason=pair.reason,
                detected_at=pair.detected_at,
                person=service.person_public(a, today=today),
                person_household_id=a.household_id,
                other=service.person_public(b, today=today),
                other_household_id=b.household_id,
                municipality_code=pair.municipality_code,
            )
        )
    seen = [households[hid] for hid in households]
    await privacy.audit_household_read(session, user=user, action=action, households=seen)
    return result


async def _open_pair(session: AsyncSession, duplicate_id: uuid.UUID, user: User) -> DuplicateCandidate:
    _require_supervisor(user)
    pair = await repository.get_duplicate(session, duplicate_id)
    if pair is None:
        raise NotFound(f"No duplicate review item {duplicate_id}.")
    if pair.status != "open":
        raise Conflict(f"This pair was already {pair.status}.")
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
        raise Conflict("One of the two records no longer exists.")
    keep_h = await service.household_for(
        session=session, household_id=people[keep_id].household_id, user=user, for_update=True
    )
    drop_h = await service.household_for(
        session=session, household_id=people[drop_id].household_id, user=user, for_update=True
    )
    service.refuse_merged(keep_h)
    service.refuse_merged(drop_h)
    survivor = next(p for p in keep_h.members if p.id == keep_id)
    merged = next(p for p in drop_h.members if p.id == drop_id)
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
            service.apply_poverty(drop_h, drop_h.members, lines=lines, on=now.date())
            drop_h.version += 1
            await outbox.add(session, service.updated_event(drop_h, drop_h.members, "merged"))
    service.apply_poverty(keep_h, keep_h.members, lines=lines, on=now.date())
    keep_h.version += 1
    await outbox.add(session, service.updated_event(keep_h, keep_h.members, "merged"))
    await session.flush()
    return MergeResult(
        survivor_person_id=survivor.id,
        merged_person_id=merged.id,
        survivor_household_id=keep_h.id,
        merged_household_id=merged_household_id,
    )
