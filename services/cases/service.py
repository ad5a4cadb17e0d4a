"""Cases' use cases driven by intake's events: a case opens for every registered household, follows the household
as intake changes it, honours consent, erasure and merges. Activation's placements are in placements.py."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases import repository
from services.cases.domain import ACTIVE_STATUSES, CaseStatus, MemberFacts, Priority, case_priority, choose_worker
from services.cases.models import Case, plumbing
from shared.db import utcnow
from shared.errors import Invalid, field_error
from shared.events import (
    CaseOpenedV1,
    CasePriorityChangedV1,
    HouseholdMergedV1,
    HouseholdState,
    MemberProfile,
    PersonConsentChangedV1,
    PersonErasedV1,
    PersonMergedV1,
)
from shared.idempotency import redact_answers_mentioning
from shared.messaging.outbox import OutboxWriter
from shared.reference import municipalities

VIOLENCE = "victim_of_violence"
KEPT_MEMBER_COLUMNS = (
    "case_id",
    "person_id",
    "sex",
    "birth_year",
    "relation",
    "able_to_work",
    "employment_status",
    "education",
    "skills",
    "markers",
    "consents",
    "erased",
)


def member_rows(case_id: uuid.UUID, members: list[MemberProfile]) -> list[dict[str, Any]]:
    return [
        {
            "case_id": case_id,
            "person_id": m.person_id,
            "sex": m.sex,
            "birth_year": m.birth_year,
            "relation": m.relation,
            "able_to_work": m.able_to_work,
            "employment_status": m.employment_status,
            "education": m.education,
            "skills": list(m.skills),
            "markers": list(m.markers),
            "consents": list(m.consents),
            "erased": False,
            "present": True,
        }
        for m in members
    ]


def household_priority(members: list[MemberProfile], below_poverty_line: bool | None, on: date) -> Priority:
    facts = [MemberFacts(birth_year=m.birth_year, markers=frozenset(m.markers)) for m in members]
    return case_priority(members=facts, below_poverty_line=below_poverty_line, on=on)


def timeline_row(
    case_id: uuid.UUID, kind: str, at: datetime, actor: str | None = None, **details: Any
) -> dict[str, Any]:
    """One timeline entry. ``details`` hold ids, codes and dates only: no free text about a person."""
    return {"case_id": case_id, "at": at, "kind": kind, "actor": actor, "details": details}


async def assign_by_rule(session: AsyncSession, municipality_code: str) -> str | None:
    """The worker of the municipality with the lowest active caseload (None when it has no worker)."""
    return choose_worker(await repository.worker_loads(session, municipality_code))


async def open_case(
    *,
    session: AsyncSession,
    outbox: OutboxWriter,
    household_id: uuid.UUID,
    municipality_code: str,
    members: list[MemberProfile],
    below_poverty_line: bool | None,
    household_registered_at: datetime,
    household_version: int,
    transferred_from: Case | None = None,
    restricted: bool = False,
    actor: str | None = None,
    extra_timeline: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Open a case, assign it by the caseload rule and announce both. Returns the case's values.

    ``restricted``: the case is restricted even if no member is (now) recorded as a victim of violence (a transfer
    of a restricted case)."""
    now = utcnow()
    priority = (
        Priority(transferred_from.priority)
        if transferred_from is not None
        else household_priority(members, below_poverty_line, now.date())
    )
    restricted = restricted or any(VIOLENCE in m.markers for m in members)
    case: dict[str, Any] = {
        "id": uuid.uuid4(),
        "household_id": household_id,
        "municipality_code": municipality_code,
        "status": CaseStatus.open.value,
        "priority": priority.value,
        "restricted": restricted,
        "below_poverty_line": below_poverty_line,
        "member_count": len(members),
        "household_version": household_version,
        "household_registered_at": household_registered_at,
        "opened_at": now,
        "updated_at": now,
        "case_work_consent_withdrawn": False,
        "transferred_from_case_id": transferred_from.id if transferred_from is not None else None,
    }
    worker = await assign_by_rule(session, municipality_code)
    case["assigned_to"] = worker
    case["assigned_at"] = now if worker else None
    await repository.insert_case(session, case)
    await repository.insert_members(session, member_rows(case["id"], members))
    opened_details: dict[str, Any] = {"priority": priority.value, "restricted": restricted}
    if transferred_from is not None:
        opened_details |= {
            "transferred_from_case_id": str(transferred_from.id),
            "from_municipality_code": transferred_from.municipality_code,
        }
    if extra_timeline:
        opened_details |= extra_timeline
    await repository.add_timeline(
        session,
        [
            timeline_row(case["id"], "opened", now, actor, **opened_details),
            timeline_row(case["id"], "assigned", now, actor, worker=worker, by="rule"),
        ],
    )
    opened = CaseOpenedV1(
        case_id=case["id"],
        household_id=household_id,
        municipality_code=municipality_code,
        opened_at=now,
        household_registered_at=household_registered_at,
        priority=priority.value,
        restricted=restricted,
        transferred_from_case_id=case["transferred_from_case_id"],
        assigned_to=worker,
    )
    # One event for both: the assignment by the rule is part of opening (reassignments have their own event).
    await outbox.add(session, opened)
    return case


async def open_case_for_household(*, session: AsyncSession, outbox: OutboxWriter, event: HouseholdState) -> bool:
    """The one case a registered household gets; False when it already has one (a redelivery or a replay)."""
    if await repository.first_case_of_household(session, event.household_id) is not None:
        return False
    await open_case(
        session=session,
        outbox=outbox,
        household_id=event.household_id,
        municipality_code=event.municipality_code,
        members=event.members,
        below_poverty_line=event.below_poverty_line,
        household_registered_at=event.registered_at,
        household_version=event.version,
    )
    return True


async def follow_household(*, session: AsyncSession, outbox: OutboxWriter, event: HouseholdState) -> None:
    """Intake changed the household: refresh the members, poverty status, priority and the violence flag."""
    now = utcnow()
    cases = await repository.cases_of_household(session, event.household_id)
    if not cases:
        # The registration has not been applied (parked, replayed later): the update is the household's newest
        # state, so the case opens from it; the registration, when it comes, finds the case and changes nothing.
        await open_case_for_household(session=session, outbox=outbox, event=event)
        return
    for case in cases:
        if case.status not in ACTIVE_STATUSES and case.status != CaseStatus.closed:
            continue  # transferred: the receiving office's case follows the household from now on
        if event.version <= case.household_version:
            continue  # an older state than the one applied (replays, a merge's re-keying)
        old = {m.person_id: m for m in await repository.members_of(session, case.id, present_only=False)}
        await repository.delete_members(session, case.id)
        rows = member_rows(case.id, event.members)
        current = {r["person_id"] for r in rows}
        for pid, m in old.items():
            if pid in current:
                continue
            rows.append(  # left the household: kept, so plans and referrals still name a member
                {c: getattr(m, c) for c in KEPT_MEMBER_COLUMNS} | {"present": False}
            )
        for r in rows:
            if old.get(r["person_id"]) is not None and old[r["person_id"]].erased:
                # Intake keeps relation and education after an erasure; cases removed them (docs/privacy.md).
                r |= {"erased": True, "skills": [], "markers": [], "consents": [], "relation": None, "education": None}
        await repository.insert_members(session, rows)
        priority = household_priority(event.members, event.below_poverty_line, now.date())
        # Once flagged for violence a case stays restricted: lifting it is not something an edit should do.
        restricted = any(VIOLENCE in m.markers for m in event.members) or case.restricted
        values: dict[str, Any] = {
            "member_count": len(event.members),
            "below_poverty_line": event.below_poverty_line,
            "household_version": event.version,
            "updated_at": now,
        }
        if priority.value != case.priority or restricted != case.restricted:
            values |= {"priority": priority.value, "restricted": restricted}
            await repository.add_timeline(
                session,
                [
                    timeline_row(
                        case.id,
                        "priority_changed",
                        now,
                        None,
                        priority=priority.value,
                        was=case.priority,
                        restricted=restricted,
                    )
                ],
            )
            await outbox.add(
                session,
                CasePriorityChangedV1(
                    case_id=case.id,
                    household_id=case.household_id,
                    municipality_code=case.municipality_code,
                    priority=priority.value,
                    restricted=restricted,
                    changed_at=now,
                ),
            )
        await repository.update_case(session, case.id, **values)


async def consent_changed(*, session: AsyncSession, event: PersonConsentChangedV1) -> None:
    """Only ``case_work`` matters here: the case stays, the worker sees a notice (docs/privacy.md).

    The notice stays while any member's latest word is a withdrawal: another member granting does not lift it.
    """
    if event.purpose != "case_work":
        return
    for case in await repository.cases_of_household(session, event.household_id):
        kind = "case_work_consent_granted" if event.granted else "case_work_consent_withdrawn"
        await repository.add_timeline(
            session, [timeline_row(case.id, kind, event.changed_at, None, person_id=str(event.person_id))]
        )
        withdrawn = bool(await repository.case_work_consent_withdrawn_by(session, case.id))
        await repository.update_case(session, case.id, case_work_consent_withdrawn=withdrawn)


async def person_erased(*, session: AsyncSession, event: PersonErasedV1) -> None:
    """Free text may name the person, and cases cannot tell which does: the person's plan actions and referrals
    lose theirs, and so do the household-level texts of their cases (assessment notes and summaries, plan goals).
    Need levels, dates, states and the timeline's codes stay."""
    cases = await repository.cases_with_person(session, event.person_id)
    await repository.erase_person(session, event.person_id)
    await repository.redact_case_texts(session, [c.id for c in cases])
    # Stored Idempotency-Key answers (assessments, plans, referrals) would keep those texts until they expire.
    for needle in (event.person_id, *(c.id for c in cases)):
        await redact_answers_mentioning(session, plumbing.idempotency_keys, str(needle))
    await repository.add_timeline(
        session,
        [timeline_row(c.id, "person_erased", event.erased_at, None, person_id=str(event.person_id)) for c in cases],
    )


async def household_merged(*, session: AsyncSession, event: HouseholdMergedV1) -> None:
    """Intake found two records of one household: the merged one's case goes to the survivor household.

    When both have a case, the older one stays the household's case and the other is linked to it (a supervisor
    closes it with reason 'merged'); members follow the person mapping intake sent.
    """
    now = event.merged_at
    gone = await repository.first_case_of_household(session, event.merged_household_id)
    survivor = await repository.first_case_of_household(session, event.survivor_household_id)
    for merged, kept in event.merged_person_ids.items():
        await repository.rekey_person(session, merged, kept)
    # The household's other cases (a transfer's receiving case, one set aside by an earlier merge) go along too:
    # after a transfer the receiving office's case is the one that must follow the household.
    for other in await repository.cases_of_household(session, event.merged_household_id):
        if other.id != gone:
            await repository.update_case(
                session, other.id, household_id=event.survivor_household_id, household_version=0, updated_at=now
            )
    if gone is None:
        return
    if survivor is None:
        # Version 0: the survivor's next update (which follows the merge) applies whatever its version.
        await repository.update_case(
            session, gone, household_id=event.survivor_household_id, household_version=0, updated_at=now
        )
        await repository.add_timeline(
            session,
            [timeline_row(gone, "household_merged", now, None, from_household_id=str(event.merged_household_id))],
        )
        return
    cases = {c.id: c for c in await repository.cases_of_household(session, event.merged_household_id)}
    cases |= {c.id: c for c in await repository.cases_of_household(session, event.survivor_household_id)}
    older, newer = sorted((cases[gone], cases[survivor]), key=lambda c: (c.opened_at, str(c.id)))
    await repository.update_case(
        session, newer.id, merged_into_case_id=older.id, household_id=event.survivor_household_id, updated_at=now
    )
    await repository.update_case(
        session, older.id, household_id=event.survivor_household_id, household_version=0, updated_at=now
    )
    await repository.add_timeline(
        session,
        [
            timeline_row(older.id, "household_merged", now, None, linked_case_id=str(newer.id)),
            timeline_row(newer.id, "merged_into", now, None, kept_case_id=str(older.id)),
        ],
    )


async def person_merged(*, session: AsyncSession, event: PersonMergedV1) -> None:
    await repository.rekey_person(session, event.merged_person_id, event.survivor_person_id)


def ensure_known_municipality(code: str, loc: list[str | int]) -> None:
    """A municipality code from a request must be one of the reference list's; ``loc`` is its field."""
    if municipalities.get(code) is None:
        raise Invalid(
            f"{code} is not a municipality code.",
            reason="unknown_municipality",
            params={"code": code},
            details=[field_error(loc, "Unknown municipality.", "unknown_municipality", params={"code": code})],
        )
