"""What activation's placements leave in a case: each step of a placement (proposed, accepted or declined by a
party, started, hours recorded, completed, ended) is an entry in the timeline of the placed person's case, and a
completed or ended placement puts the case up for review.

Entries hold ids and codes only (opportunity, party, reason code, month, hours): nothing more about the person.
A redelivered event adds nothing: the ledger row commits with the entry (shared/messaging/applier.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases import repository
from services.cases.domain import ACTIVE_STATUSES
from services.cases.models import Case
from services.cases.service import timeline_row
from shared.db import utcnow
from shared.events import (
    MatchProposedV1,
    PlacementAcceptedV1,
    PlacementCompletedV1,
    PlacementDeclinedV1,
    PlacementEndedV1,
    PlacementHoursRecordedV1,
    PlacementStartedV1,
)

PlacementEvent = (
    MatchProposedV1
    | PlacementAcceptedV1
    | PlacementDeclinedV1
    | PlacementStartedV1
    | PlacementHoursRecordedV1
    | PlacementCompletedV1
    | PlacementEndedV1
)
PLACEMENT_EVENTS: tuple[type[PlacementEvent], ...] = (
    MatchProposedV1,
    PlacementAcceptedV1,
    PlacementDeclinedV1,
    PlacementStartedV1,
    PlacementHoursRecordedV1,
    PlacementCompletedV1,
    PlacementEndedV1,
)
# The steps after which the case worker looks at the case again.
PUT_UP_FOR_REVIEW = ("placement_completed", "placement_ended")


def timeline_entry(event: PlacementEvent) -> tuple[str, datetime, dict[str, Any]]:
    """The timeline kind of a placement step, when it happened and its details beyond the placement's ids."""
    details: dict[str, Any]
    match event:
        case MatchProposedV1():
            details = {
                "opportunity_type": event.opportunity_type,
                "opportunity_municipality_code": event.opportunity_municipality_code,
            }
            return "match_proposed", event.proposed_at, details
        case PlacementAcceptedV1():
            return "placement_accepted", event.accepted_at, {"party": event.party, "both": event.both}
        case PlacementDeclinedV1():
            return "placement_declined", event.declined_at, {"party": event.party, "reason": event.reason}
        case PlacementStartedV1():
            return "placement_started", event.started_at, {}
        case PlacementHoursRecordedV1():
            details = {"month": event.month, "hours": event.hours, "hours_total": event.hours_total}
            return "placement_hours", event.recorded_at, details
        case PlacementCompletedV1():
            return "placement_completed", event.completed_at, {"hours_worked": event.hours_worked}
        case PlacementEndedV1():
            return "placement_ended", event.ended_at, {"hours_worked": event.hours_worked, "reason": event.reason}


async def _case_of(session: AsyncSession, event: PlacementEvent) -> Case | None:
    """The case that asked for the engagement (where a transfer or a merge took it), else the person's active
    case."""
    case = await repository.get_case(session, event.case_id) if event.case_id else None
    for _ in range(20):  # a chain of transfers and merges, never a cycle in practice
        if case is None:
            break
        # Asked for before a transfer or a merge: the receiving office's case, or the kept one, is worked now.
        onward = case.transferred_to_case_id or case.merged_into_case_id
        if onward is None:
            break
        case = await repository.get_case(session, onward)
    if case is None:
        cases = await repository.cases_with_person(session, event.person_id)
        case = next((c for c in cases if c.status in ACTIVE_STATUSES), cases[0] if cases else None)
    return case


async def placement_changed(*, session: AsyncSession, event: PlacementEvent) -> None:
    """A placement step appears in the case's timeline; a completed or ended placement puts the case up for review."""
    case = await _case_of(session, event)
    if case is None:
        return  # a person no case here knows (e.g. a placement made before cases existed)
    kind, at, details = timeline_entry(event)
    base = {
        "placement_id": str(event.placement_id),
        "opportunity_id": str(event.opportunity_id),
        "person_id": str(event.person_id),
    }
    rows = [timeline_row(case.id, kind, at, None, **base, **details)]
    if kind in PUT_UP_FOR_REVIEW:
        rows.append(timeline_row(case.id, "review_requested", at, None, reason=kind))
    await repository.add_timeline(session, rows)
    if kind in PUT_UP_FOR_REVIEW and case.status in ACTIVE_STATUSES:
        await repository.update_case(session, case.id, review_due_since=at, review_reason=kind, updated_at=utcnow())
