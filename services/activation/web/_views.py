"""The pages that show rankings and placements, as views a route renders and a refused form renders again: an
opportunity with its ranking, a candidate with their best opportunities, and the placements a user answers for.

What reaches a template is built here, field by field: an employer's rows never hold a person id or a case id
(only the candidate's code for that opportunity), and their checks carry no details (the API's rule)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.activation import access, domain, proposals, repository, service
from services.activation import opportunities as opportunity_service
from services.activation.domain import OpportunityStatus, PlacementStatus
from services.activation.models import Opportunity, Placement
from services.activation.web import _queries
from services.activation.web._common import is_staff, page, sees_rankings
from shared.auth import User
from shared.ui.forms import Form
from shared.ui.templating import Message

PARTS = ("skills", "distance", "priority", "availability", "unemployed")


@dataclass(frozen=True, slots=True)
class Explained:
    """A score, its five parts (points, weight) and the criteria, met or missed, with their details if shown."""

    score: float | None  # None for employers
    parts: list[tuple[str, float, float]]
    checks: list[tuple[str, bool, tuple[str, tuple[tuple[str, int], ...]] | None]]  # detail: (key, values)


def explained(ranked: domain.Ranked, *, full: bool) -> Explained:
    if full:
        parts = [(name, ranked.breakdown.get(name, 0.0), domain.WEIGHTS[name]) for name in PARTS]
    else:
        shown = access.employer_breakdown(ranked.breakdown)
        parts = [(name, shown[name], weight) for name, weight in access.EMPLOYER_PARTS.items()]
    checks = [
        (c.criterion, c.met, (c.key, c.params) if full else None)
        for c in ranked.checks
        if full or c.criterion not in access.PRIVATE_CHECKS
    ]
    return Explained(ranked.score if full else None, parts, checks)


def employer_only(user: User) -> bool:
    return access.employer_only(user)


@dataclass(frozen=True, slots=True)
class RankedRow:
    rank: int
    code: str
    explanation: Explained
    person_id: uuid.UUID | None  # only for a user who acts for the candidate
    case_id: uuid.UUID | None
    placement_status: str | None
    can_propose: bool


@dataclass(frozen=True, slots=True)
class PlacementRow:
    id: uuid.UUID
    opportunity_id: uuid.UUID
    opportunity_title: str
    code: str
    person_id: uuid.UUID | None  # only for a user who acts for the candidate
    case_id: uuid.UUID | None
    status: str
    score: float | None  # only for staff (an employer would learn priority points from it)
    rank: int | None
    employer_accepted: bool
    candidate_accepted: bool
    declined_by: str | None
    decline_reason: str | None
    end_reason: str | None
    hours_total: int
    hours: list[tuple[str, int]]
    proposed_at: Any
    accepted_at: Any
    started_at: Any
    finished_at: Any
    actions: frozenset[str] = field(default_factory=frozenset)


def allowed_actions(user: User, p: Placement, opportunity: Opportunity | None) -> frozenset[str]:
    """The buttons a user gets on a placement in its state: the employer's and the candidate's side."""
    owner = opportunity is not None and access.owns(user, opportunity)
    for_candidate = access.acts_for_candidates_of(user, p.candidate_municipality_code)
    status = p.status
    actions: set[str] = set()
    if status == PlacementStatus.proposed:
        if owner:
            actions |= {"employer_decline"} | (set() if p.employer_accepted else {"employer_accept"})
        if for_candidate:
            actions |= {"candidate_decline"} | (set() if p.candidate_accepted else {"candidate_accept"})
    elif status == PlacementStatus.accepted:
        actions |= {"start", "employer_decline"} if owner else set()
        actions |= {"candidate_decline"} if for_candidate else set()
    elif status == PlacementStatus.started:
        actions |= {"hours", "complete", "end"} if owner else set()
        actions |= {"end"} if for_candidate else set()
    return frozenset(actions)


async def placement_rows(session: AsyncSession, user: User, placements: Sequence[Placement]) -> list[PlacementRow]:
    opportunities = await _queries.opportunities_by_id(session, [p.opportunity_id for p in placements])
    hours = await _queries.hours_of(session, [p.id for p in placements])
    rows = []
    for p in placements:
        opportunity = opportunities.get(p.opportunity_id)
        mine = access.acts_for_candidates_of(user, p.candidate_municipality_code)
        rows.append(
            PlacementRow(
                id=p.id,
                opportunity_id=p.opportunity_id,
                opportunity_title=opportunity.title if opportunity else "",
                code=access.candidate_code(p.opportunity_id, p.person_id),
                person_id=p.person_id if mine else None,
                case_id=p.case_id if mine else None,
                status=p.status,
                score=None if access.employer_only(user) else p.score,
                rank=p.rank,
                employer_accepted=p.employer_accepted,
                candidate_accepted=p.candidate_accepted,
                declined_by=p.declined_by,
                decline_reason=p.decline_reason,
                end_reason=p.end_reason,
                hours_total=p.hours_total,
                hours=hours.get(p.id, []),
                proposed_at=p.proposed_at,
                accepted_at=p.accepted_at,
                started_at=p.started_at,
                finished_at=p.finished_at,
                actions=allowed_actions(user, p, opportunity),
            )
        )
    return rows


# --- an opportunity and its ranking ---------------------------------------------------------------------------


async def opportunity_view(
    request: Request,
    user: User,
    session: AsyncSession,
    opportunity_id: uuid.UUID,
    *,
    status_code: int = 200,
    messages: list[Message] | None = None,
    hour_forms: dict[str, Form] | None = None,
) -> HTMLResponse:
    found = await opportunity_service.opportunity(session=session, user=user, opportunity_id=opportunity_id)
    ranking: list[RankedRow] = []
    eligible = None
    if sees_rankings(user):
        ranked = await service.shortlist(session=session, user=user, opportunity_id=found.id, limit=50)
        eligible = ranked.eligible
        full = not employer_only(user)
        published = found.status == OpportunityStatus.published
        for m in ranked.matches:
            mine = m.candidate is not None
            ranking.append(
                RankedRow(
                    rank=m.rank,
                    code=m.code,
                    explanation=explained(m.ranked, full=full),
                    person_id=m.candidate.person_id if m.candidate else None,
                    case_id=m.candidate.case_id if m.candidate else None,
                    placement_status=m.placement.status if m.placement else None,
                    can_propose=mine and m.placement is None and published and is_staff(user),
                )
            )
    placements = await proposals.placements_for(session=session, user=user, opportunity_id=found.id)
    forum = await repository.get_forum(session, found.forum_id) if found.forum_id else None
    organisation = await repository.get_organisation(session, found.organisation) if found.organisation else None
    return page(
        request,
        "opportunity.html",
        user,
        nav="opportunities",
        status_code=status_code,
        messages=messages or [],
        o=found,
        forum=forum,
        organisation=organisation,
        owner=access.owns(user, found),
        ranking=ranking,
        eligible=eligible,
        placements=await placement_rows(session, user, placements),
        hour_forms=hour_forms or {},
        back=f"/activation/opportunities/{found.id}",
    )


# --- a candidate and their best opportunities -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpportunityRow:
    opportunity: Opportunity
    explanation: Explained
    placement_status: str | None
    can_propose: bool


async def candidate_view(
    request: Request,
    user: User,
    session: AsyncSession,
    person_id: uuid.UUID,
    *,
    status_code: int = 200,
    messages: list[Message] | None = None,
    hour_forms: dict[str, Form] | None = None,
) -> HTMLResponse:
    candidate, matches = await proposals.best_opportunities(session=session, user=user, person_id=person_id, limit=20)
    placements = await proposals.placements_of_candidate(session=session, user=user, person_id=person_id)
    live = {p.opportunity_id: p.status for p in placements if p.status != PlacementStatus.declined}
    best = [
        OpportunityRow(
            opportunity=m.opportunity,
            explanation=explained(m.ranked, full=True),
            placement_status=live.get(m.opportunity.id),
            can_propose=m.opportunity.id not in live,
        )
        for m in matches
    ]
    return page(
        request,
        "candidate.html",
        user,
        nav="candidates",
        status_code=status_code,
        messages=messages or [],
        c=candidate,
        best=best,
        placements=await placement_rows(session, user, list(reversed(placements))),
        hour_forms=hour_forms or {},
        back=f"/activation/candidates/{candidate.person_id}",
    )


# --- the placements a user answers for ------------------------------------------------------------------------

PLACEMENT_FILTERS = ("waiting", "running", "finished")
_FILTERED = {
    "waiting": (PlacementStatus.proposed, PlacementStatus.accepted),
    "running": (PlacementStatus.started,),
    "finished": (PlacementStatus.completed, PlacementStatus.ended, PlacementStatus.declined),
}


async def placements_view(
    request: Request,
    user: User,
    session: AsyncSession,
    *,
    show: str = "",
    status_code: int = 200,
    messages: list[Message] | None = None,
    hour_forms: dict[str, Form] | None = None,
) -> HTMLResponse:
    show = show if show in PLACEMENT_FILTERS else ""
    found = await _queries.placements_for_user(session, user)
    if show:
        found = [p for p in found if p.status in _FILTERED[show]]
    return page(
        request,
        "placements.html",
        user,
        nav="placements",
        status_code=status_code,
        messages=messages or [],
        placements=await placement_rows(session, user, found),
        show=show,
        filters=PLACEMENT_FILTERS,
        hour_forms=hour_forms or {},
        back="/activation/placements" + (f"?show={show}" if show else ""),
    )
