"""Placements: proposed by the case worker → accepted by the employer and by the candidate → started → hours
recorded monthly → completed or ended early with a reason. Every step is an event on ``activation.placement``;
an illegal step is a 409 that lists the allowed ones."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.activation import access, repository
from services.activation.domain import IllegalPlacementStep, PlacementStatus, after_acceptance, check_placement_step
from services.activation.models import Opportunity, Placement
from shared.auth import User
from shared.db import utcnow
from shared.errors import Conflict, Forbidden, Invalid, NotFound, field_error
from shared.events import (
    EventData,
    PlacementAcceptedV1,
    PlacementCompletedV1,
    PlacementDeclinedV1,
    PlacementEndedV1,
    PlacementHoursRecordedV1,
    PlacementStartedV1,
)
from shared.messaging.outbox import OutboxWriter


def _base(p: Placement) -> dict[str, Any]:
    return {
        "placement_id": p.id,
        "opportunity_id": p.opportunity_id,
        "person_id": p.person_id,
        "case_id": p.case_id,
        "municipality_code": p.candidate_municipality_code,
    }


def _step(p: Placement, wanted: PlacementStatus) -> None:
    try:
        check_placement_step(PlacementStatus(p.status), wanted)
    except IllegalPlacementStep as exc:
        raise Conflict(
            str(exc),
            reason="illegal_step",
            params={"current": str(exc.current), "wanted": str(exc.wanted)},
            details={"status": p.status, "allowed": [str(s) for s in exc.allowed]},
        ) from exc


async def load(
    session: AsyncSession, user: User, placement_id: uuid.UUID, *, lock: bool = False
) -> tuple[Placement, Opportunity]:
    """The placement and its opportunity if the user deals with it. ``lock``: both rows locked for this
    transaction (PostgreSQL; SQLite runs one transaction at a time), so two answers at once cannot interleave."""
    placement = await repository.get_placement(session, placement_id, lock=lock)
    if placement is None:
        raise NotFound(f"No placement {placement_id}.", reason="no_placement")
    opportunity = await repository.get_opportunity(session, placement.opportunity_id, lock=lock)
    assert opportunity is not None  # a foreign key
    if not (
        access.owns(user, opportunity) or access.acts_for_candidates_of(user, placement.candidate_municipality_code)
    ):
        raise NotFound(f"No placement {placement_id}.", reason="no_placement")
    return placement, opportunity


def _party_allowed(user: User, party: str, placement: Placement, opportunity: Opportunity) -> None:
    if party == "employer" and not access.owns(user, opportunity):
        raise Forbidden(
            "Only the organisation that posted the opportunity answers for the employer.", reason="not_owner"
        )
    if party == "candidate" and not access.acts_for_candidates_of(user, placement.candidate_municipality_code):
        raise Forbidden(
            "The candidate's answer is recorded by a case worker of the candidate's municipality.",
            reason="candidate_answer_not_allowed",
        )


async def accept(
    *, session: AsyncSession, outbox: OutboxWriter, user: User, placement_id: uuid.UUID, party: str
) -> Placement:
    placement, opportunity = await load(session, user, placement_id, lock=True)
    _party_allowed(user, party, placement, opportunity)
    if placement.status != PlacementStatus.proposed:
        _step(placement, PlacementStatus.accepted)  # raises: only a proposal waits for answers
    already = placement.employer_accepted if party == "employer" else placement.candidate_accepted
    if already:
        raise Conflict(
            f"The {party} has already accepted this placement.",
            reason="already_accepted",
            params={"party": party},
            details={"status": placement.status},
        )
    employer = placement.employer_accepted or party == "employer"
    candidate = placement.candidate_accepted or party == "candidate"
    status = after_acceptance(employer=employer, candidate=candidate)
    if (
        status == PlacementStatus.accepted
        and await repository.filled_positions(session, opportunity.id) >= opportunity.positions
    ):
        raise Conflict(
            f"All {opportunity.positions} positions of this opportunity are taken.",
            reason="positions_filled",
            params={"positions": opportunity.positions},
            details={"reason": "positions_filled", "positions": opportunity.positions},
        )
    now = utcnow()
    placement.employer_accepted, placement.candidate_accepted, placement.status = employer, candidate, status
    if status == PlacementStatus.accepted:
        placement.accepted_at = now
    await session.flush()
    await outbox.add(
        session,
        PlacementAcceptedV1(**_base(placement), party=party, both=status == PlacementStatus.accepted, accepted_at=now),
    )
    return placement


async def decline(
    *, session: AsyncSession, outbox: OutboxWriter, user: User, placement_id: uuid.UUID, party: str, reason: str
) -> Placement:
    placement, opportunity = await load(session, user, placement_id, lock=True)
    _party_allowed(user, party, placement, opportunity)
    _step(placement, PlacementStatus.declined)
    await _decline(session, outbox, placement, party, reason)
    return placement


async def _decline(session: AsyncSession, outbox: OutboxWriter, placement: Placement, party: str, reason: str) -> None:
    now = utcnow()
    placement.status, placement.declined_by, placement.decline_reason = PlacementStatus.declined, party, reason
    placement.finished_at = now
    await session.flush()
    await outbox.add(
        session,
        PlacementDeclinedV1(**_base(placement), party=party, reason=reason, declined_at=now),
    )


async def decline_waiting(*, session: AsyncSession, outbox: OutboxWriter, person_id: uuid.UUID) -> None:
    """The candidate withdrew consent or was erased: proposals still waiting for answers are declined for them."""
    for placement in await repository.placements_of_person(session, person_id, lock=True):
        if placement.status in (PlacementStatus.proposed, PlacementStatus.accepted):
            await _decline(session, outbox, placement, "candidate", "candidate_unavailable")


async def decline_duplicates(
    *, session: AsyncSession, outbox: OutboxWriter, merged: uuid.UUID, survivor: uuid.UUID
) -> None:
    """Before ``merged``'s placements move to ``survivor`` (one person, one live placement per opportunity): where
    both have one in the same opportunity, a waiting proposal gives way to a placement that started; of two
    waiting proposals the merged person's goes; of two that started, the merged person's stays as a count under a
    fresh id, the one that does not run."""
    waiting = (PlacementStatus.proposed, PlacementStatus.accepted)
    kept = {
        p.opportunity_id: p
        for p in await repository.placements_of_person(session, survivor)
        if p.status != PlacementStatus.declined
    }
    for placement in await repository.placements_of_person(session, merged):
        other = kept.get(placement.opportunity_id)
        if other is None or placement.status == PlacementStatus.declined:
            continue
        if placement.status in waiting:
            await _decline(session, outbox, placement, "candidate", "other")
        elif other.status in waiting:
            await _decline(session, outbox, other, "candidate", "other")
        elif other.status == PlacementStatus.started:
            placement.person_id = uuid.uuid4()  # both began: the survivor's running one stays theirs
        else:
            other.person_id = uuid.uuid4()  # the merged person's may be the one that runs: it moves to the survivor
    await session.flush()


async def refresh_placed(session: AsyncSession, person_id: uuid.UUID) -> None:
    """A candidate is placed while any placement of theirs runs (started, not finished)."""
    candidate = await repository.get_candidate(session, person_id)
    if candidate is None:
        return
    placed = bool(await repository.running_placements(session, person_id))
    if candidate.placed != placed:
        candidate.placed, candidate.updated_at = placed, utcnow()
        await session.flush()


async def _excludes_placed(session: AsyncSession, opportunity: Opportunity) -> bool:
    if opportunity.forum_id is None:
        return True
    stored = (await repository.forum_criteria(session, [opportunity.forum_id])).get(opportunity.forum_id, {})
    return bool(stored.get("exclude_placed", True))


async def start(
    *, session: AsyncSession, outbox: OutboxWriter, user: User, placement_id: uuid.UUID, on: date | None = None
) -> Placement:
    placement, opportunity = await load(session, user, placement_id, lock=True)
    access.require_owner(user, opportunity)
    _step(placement, PlacementStatus.started)
    # One person, one start at a time (two employers starting them together would both see nothing running).
    await repository.get_candidate(session, placement.person_id, lock=True)
    running = await repository.running_placements(session, placement.person_id)
    if running and await _excludes_placed(session, opportunity):
        raise Conflict(
            "The candidate is already in a placement that runs, and this forum takes only people not placed.",
            reason="already_placed",
            details={"reason": "already_placed", "status": placement.status},
        )
    now = utcnow()
    placement.status, placement.started_at = PlacementStatus.started, now
    await session.flush()
    await refresh_placed(session, placement.person_id)
    await outbox.add(session, PlacementStartedV1(**_base(placement), started_at=now))
    return placement


async def record_hours(
    *, session: AsyncSession, outbox: OutboxWriter, user: User, placement_id: uuid.UUID, month: str, hours: int
) -> Placement:
    placement, opportunity = await load(session, user, placement_id, lock=True)
    access.require_owner(user, opportunity)
    if placement.status != PlacementStatus.started:
        raise Conflict(
            f"Hours are recorded while a placement runs; this one is '{placement.status}'.",
            reason="hours_not_running",
            params={"current": placement.status},
            details={"status": placement.status, "needs": PlacementStatus.started.value},
        )
    assert placement.started_at is not None
    started_month = placement.started_at.strftime("%Y-%m")
    this_month = utcnow().strftime("%Y-%m")
    if not started_month <= month <= this_month:
        months = {"first": started_month, "last": this_month}
        raise Invalid(
            f"Hours are recorded for a month from the start ({started_month}) to this month ({this_month}).",
            reason="month_out_of_range",
            params=months,
            details=[
                field_error(
                    ["body", "month"],
                    f"Between {started_month} and {this_month}.",
                    "month_outside_placement",
                    params=months,
                )
            ],
        )
    now = utcnow()
    placement.hours_total = await repository.record_month(session, placement.id, month, hours, by=user.sub, at=now)
    await session.flush()
    await outbox.add(
        session,
        PlacementHoursRecordedV1(
            **_base(placement), month=month, hours=hours, hours_total=placement.hours_total, recorded_at=now
        ),
    )
    return placement


async def finish(
    *,
    session: AsyncSession,
    outbox: OutboxWriter,
    user: User,
    placement_id: uuid.UUID,
    completed: bool,
    reason: str | None = None,
) -> Placement:
    """Completed (by the employer), or ended early with a reason (by the employer or the candidate's case
    worker: the person found other work, fell ill...)."""
    placement, opportunity = await load(session, user, placement_id, lock=True)
    if completed:
        access.require_owner(user, opportunity)
    wanted = PlacementStatus.completed if completed else PlacementStatus.ended
    _step(placement, wanted)
    now = utcnow()
    placement.status, placement.finished_at = wanted, now
    event: EventData
    if completed:
        event = PlacementCompletedV1(**_base(placement), hours_worked=placement.hours_total, completed_at=now)
    else:
        if reason is None:
            raise Invalid(
                "Say why the placement ended early.",
                reason="end_reason_missing",
                details=[field_error(["body", "reason"], "A reason is needed.", "reason_missing")],
            )
        placement.end_reason = reason
        event = PlacementEndedV1(**_base(placement), reason=reason, hours_worked=placement.hours_total, ended_at=now)
    await session.flush()
    await refresh_placed(session, placement.person_id)
    await outbox.add(session, event)
    return placement
