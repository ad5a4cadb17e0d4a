"""Candidates: who case workers engaged for work (cases.activation.requested), kept current with intake's events.

Docs/privacy.md: a withdrawn consent to activation takes the candidate off every shortlist at once (``active``
False, their shortlist entries deleted, a proposal waiting for answers declined); an erasure deletes the candidate
and cuts their placements' link to the person; a merge re-keys them to the surviving person.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.activation import access, placements, repository
from services.activation.models import Agreement, Candidate, plumbing
from shared.auth import Role, User
from shared.db import utcnow
from shared.errors import Forbidden, NotFound
from shared.events import (
    ActivationRequestedV1,
    AgreementChangedV1,
    HouseholdMergedV1,
    HouseholdState,
    PersonConsentChangedV1,
    PersonErasedV1,
    PersonMergedV1,
)
from shared.idempotency import redact_answers_mentioning
from shared.messaging.outbox import OutboxWriter

# The markers activation's priority groups use (cases never sends victim_of_violence; intake's updates might).
MATCHING_MARKERS = frozenset({"unemployed_able_to_work", "disability", "single_parent", "roma", "without_documents"})


async def candidate_requested(*, session: AsyncSession, event: ActivationRequestedV1) -> None:
    """A new candidate, or a newer request for one already known (the latest request's profile wins).

    Cases' and intake's topics are not ordered with each other, and cases' copy of a person can lag behind
    intake's; ``person_marks`` remembers what intake said so a late request respects it: after an erasure it is
    ignored; while consent to activation is withdrawn (until intake says it is given again) the candidate stays off
    every list; for a person merged into another it applies to the survivor."""
    person_id, household_id = await resolve(session, event.person_id, event.household_id)
    mark = await repository.get_mark(session, person_id)
    if mark is not None and mark.erased_at is not None:
        return
    found = await repository.get_candidate(session, person_id)
    if found is not None and found.requested_at > event.requested_at:
        return  # an older request arriving late
    withdrawn = mark is not None and mark.withdrawn_at is not None
    profile = candidate_profile(event, household_id=household_id, active=not withdrawn, now=utcnow())
    if found is None:
        session.add(Candidate(person_id=person_id, placed=False, **profile))
    else:
        for key, value in profile.items():
            setattr(found, key, value)
    await session.flush()


def candidate_profile(
    event: ActivationRequestedV1, *, household_id: uuid.UUID, active: bool, now: datetime
) -> dict[str, Any]:
    """The columns a request writes for its candidate (all but the person's id and ``placed``)."""
    return {
        "household_id": household_id,
        "case_id": event.case_id,
        "request_id": event.request_id,
        "municipality_code": event.municipality_code,
        "sex": event.sex,
        "birth_year": event.birth_year,
        "education": event.education,
        "employment_status": event.employment_status,
        "skills": sorted(event.skills),
        "markers": sorted(set(event.markers) & MATCHING_MARKERS),
        "below_poverty_line": event.below_poverty_line,
        "unemployed_since": event.unemployed_since,
        "hours_min": event.availability.hours_per_week_min,
        "hours_max": event.availability.hours_per_week_max,
        "available_from": event.availability.available_from,
        "requested_at": event.requested_at,
        "able_to_work": True,  # cases engages only members able to work
        "active": active,
        "updated_at": now,
    }


async def resolve(session: AsyncSession, person_id: uuid.UUID, household_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    """The person (and household) a pseudonymous id stands for now, following merges."""
    for _ in range(20):
        mark = await repository.get_mark(session, person_id)
        if mark is None or mark.merged_into is None:
            break
        person_id, household_id = mark.merged_into, mark.merged_household or household_id
    return person_id, household_id


# Employment statuses under which time unemployed stops counting (the request's "unemployed since" is then stale).
NOT_UNEMPLOYED = frozenset({"employed", "retired", "pupil_student"})


async def household_changed(*, session: AsyncSession, outbox: OutboxWriter, event: HouseholdState) -> None:
    """Profile updates from intake: skills, markers, education, employment, ability to work, municipality,
    household and consent to activation. Candidates are found by the members' ids (a merge may not have reached
    activation yet, so their stored household id can be an old one)."""
    members = {m.person_id: m for m in event.members}
    for candidate in await repository.candidates_by_id(session, list(members)):
        member = members[candidate.person_id]
        candidate.household_id = event.household_id
        candidate.municipality_code = event.municipality_code
        candidate.sex = member.sex
        candidate.birth_year = member.birth_year
        candidate.education = member.education
        candidate.employment_status = member.employment_status
        if member.employment_status in NOT_UNEMPLOYED:
            candidate.unemployed_since = None
        candidate.able_to_work = member.able_to_work is not False
        candidate.skills = sorted(member.skills)
        candidate.markers = sorted(set(member.markers) & MATCHING_MARKERS)
        candidate.below_poverty_line = event.below_poverty_line
        candidate.updated_at = utcnow()
        consented = "activation" in member.consents
        # Intake's household state is ordered with its consent events (one topic, one key): it is the truth.
        await repository.mark_withdrawn(session, candidate.person_id, None if consented else utcnow())
        if candidate.active and not consented:
            await _withdraw(session, outbox, candidate)
        elif not candidate.active and consented:
            candidate.active = True
    await session.flush()


async def consent_changed(*, session: AsyncSession, outbox: OutboxWriter, event: PersonConsentChangedV1) -> None:
    if event.purpose != "activation":
        return
    await repository.mark_withdrawn(session, event.person_id, None if event.granted else event.changed_at)
    candidate = await repository.get_candidate(session, event.person_id)
    if candidate is None:
        return
    candidate.updated_at = utcnow()
    if event.granted:
        candidate.active = True
    elif candidate.active:
        await _withdraw(session, outbox, candidate)
    await session.flush()


async def _withdraw(session: AsyncSession, outbox: OutboxWriter, candidate: Candidate) -> None:
    """Off every shortlist now; a proposal still waiting for answers is declined for the candidate."""
    candidate.active = False
    await repository.delete_shortlist_entries_of(session, candidate.person_id)
    await placements.decline_waiting(session=session, outbox=outbox, person_id=candidate.person_id)


async def person_erased(*, session: AsyncSession, outbox: OutboxWriter, event: PersonErasedV1) -> None:
    await repository.mark_erased(session, event.person_id, event.erased_at)
    await repository.delete_shortlist_entries_of(session, event.person_id)
    await placements.decline_waiting(session=session, outbox=outbox, person_id=event.person_id)
    await repository.unlink_placements(session, event.person_id)
    await repository.delete_candidate(session, event.person_id)
    # A stored Idempotency-Key answer (a proposal) would link the person to the placement until it expires.
    await redact_answers_mentioning(session, plumbing.idempotency_keys, str(event.person_id))


async def agreement_changed(*, session: AsyncSession, event: AgreementChangedV1) -> None:
    """Cases' register of inter-municipal agreements, as of the newest event."""
    found = await session.get(Agreement, event.agreement_id)
    if found is not None and found.changed_at > event.changed_at:
        return
    values = {
        "municipalities": sorted(event.municipalities),
        "service_types": sorted(event.service_types),
        "valid_from": event.valid_from,
        "valid_to": event.valid_to,
        "changed_at": event.changed_at,
        "stored_at": utcnow(),
    }
    if found is None:
        session.add(Agreement(id=event.agreement_id, **values))
    else:
        for key, value in values.items():
            setattr(found, key, value)
    await session.flush()


async def rekey(
    *, session: AsyncSession, outbox: OutboxWriter, merged: uuid.UUID, survivor: uuid.UUID, household: uuid.UUID
) -> None:
    """``merged`` was ``survivor`` all along: keep the newer of the two profiles, under the survivor's id. Where
    both were proposed for the same opportunity, the merged person's proposal is declined (one person, one
    placement per opportunity)."""
    await repository.mark_merged(session, merged, survivor, household)
    survivor, household = await resolve(session, survivor, household)  # the survivor may have been merged since
    gone = await repository.get_candidate(session, merged)
    if gone is None:
        return
    await placements.decline_duplicates(session=session, outbox=outbox, merged=merged, survivor=survivor)
    kept = await repository.get_candidate(session, survivor)
    await repository.delete_shortlist_entries_of(session, merged)
    await repository.rekey_placements(session, merged, survivor)
    if kept is not None and kept.requested_at >= gone.requested_at:
        await repository.delete_candidate(session, merged)
    else:
        if kept is not None:
            await repository.delete_candidate(session, survivor)
        await session.flush()
        session.expunge(gone)  # its key changes under it: a Core update from here
        await repository.rekey_candidate(session, merged, survivor, household)
    # Both persons' placements now follow the survivor: placed while any of them runs.
    await placements.refresh_placed(session, survivor)


async def person_merged(*, session: AsyncSession, outbox: OutboxWriter, event: PersonMergedV1) -> None:
    await rekey(
        session=session,
        outbox=outbox,
        merged=event.merged_person_id,
        survivor=event.survivor_person_id,
        household=event.survivor_household_id,
    )


async def household_merged(*, session: AsyncSession, outbox: OutboxWriter, event: HouseholdMergedV1) -> None:
    for merged, survivor in event.merged_person_ids.items():
        await rekey(
            session=session, outbox=outbox, merged=merged, survivor=survivor, household=event.survivor_household_id
        )
    for moved in event.moved_person_ids:
        candidate = await repository.get_candidate(session, moved)
        if candidate is not None:
            candidate.household_id = event.survivor_household_id
    await session.flush()


async def visible_candidate(session: AsyncSession, user: User, person_id: uuid.UUID) -> Candidate:
    found = await repository.get_candidate(session, person_id)
    if found is None or not access.acts_for_candidates_of(user, found.municipality_code):
        raise NotFound(f"No candidate {person_id}.", reason="no_candidate")
    return found


async def candidates(
    *, session: AsyncSession, user: User, municipality_code: str | None, limit: int, offset: int
) -> Sequence[Candidate]:
    if not user.has_role(Role.admin, Role.case_worker, Role.supervisor):
        raise Forbidden(
            "Candidates are seen by case workers and supervisors of their municipality.", reason="candidates_staff_only"
        )
    codes: list[str] | None = None if access.is_admin(user) else sorted(user.municipalities)
    if municipality_code is not None:
        if codes is not None and municipality_code not in codes:
            return []
        codes = [municipality_code]
    return await repository.list_candidates(session, municipalities=codes, limit=limit, offset=offset)
