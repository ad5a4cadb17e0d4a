"""Proposals, the case worker's side of matching: the opportunities a candidate is eligible for, best first; proposing
a candidate (eligible now, not proposed already); and the placements of an opportunity or a candidate they see."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from services.activation import access, domain, repository
from services.activation.candidates import visible_candidate
from services.activation.domain import OpportunityStatus, PlacementStatus
from services.activation.forums import criteria_for, criteria_of
from services.activation.geography import geography
from services.activation.models import Candidate, Opportunity, Placement
from services.activation.opportunities import as_domain, opportunity
from shared.auth import User
from shared.db import utcnow
from shared.errors import Conflict
from shared.events import MatchProposedV1
from shared.messaging.outbox import OutboxWriter


@dataclass(frozen=True, slots=True)
class OpportunityMatch:
    opportunity: Opportunity
    ranked: domain.Ranked


async def best_opportunities(
    *, session: AsyncSession, user: User, person_id: uuid.UUID, limit: int
) -> tuple[Candidate, list[OpportunityMatch]]:
    """The published opportunities the candidate is eligible for, best score first (ties: the opportunity id)."""
    found = await visible_candidate(session, user, person_id)
    if not found.active:
        return found, []
    candidate = repository.as_domain(found)
    on = date.today()
    geo = await geography(session, on)
    published = await repository.list_opportunities(session, status=OpportunityStatus.published)
    criteria = {
        k: criteria_of(v)
        for k, v in (await repository.forum_criteria(session, [o.forum_id for o in published if o.forum_id])).items()
    }
    found_matches = []
    for o in published:
        crit = criteria.get(o.forum_id, domain.Criteria()) if o.forum_id else domain.Criteria()
        target = as_domain(o)
        checks = domain.eligibility(candidate, target, crit, reachable=geo.reachable, on=on)
        if not all(c.met for c in checks):
            continue
        parts = domain.score(candidate, target, crit, distance_km=geo.distance_km, on=on)
        found_matches.append(OpportunityMatch(o, domain.Ranked(candidate, domain.total(parts), parts, tuple(checks))))
    found_matches.sort(key=lambda m: (-m.ranked.score, str(m.opportunity.id)))
    return found, found_matches[:limit]


async def propose(
    *, session: AsyncSession, outbox: OutboxWriter, user: User, opportunity_id: uuid.UUID, person_id: uuid.UUID
) -> Placement:
    """A case worker proposes their candidate: the candidate must be eligible now, and not already proposed."""
    found = await opportunity(session=session, user=user, opportunity_id=opportunity_id)
    candidate = await visible_candidate(session, user, person_id)
    await repository.get_opportunity(session, found.id, lock=True)  # proposals for one opportunity, one at a time
    if found.status != OpportunityStatus.published:
        raise Conflict(
            "This opportunity is closed.", reason="opportunity_closed", details={"reason": "opportunity_closed"}
        )
    if not candidate.active:
        raise Conflict(
            "The candidate's consent to activation is withdrawn.",
            reason="consent_withdrawn",
            details={"reason": "consent_withdrawn"},
        )
    if await repository.live_placement(session, found.id, person_id) is not None:
        raise Conflict(
            "This candidate is already proposed for this opportunity.",
            reason="already_proposed",
            details={"reason": "already_proposed"},
        )
    criteria = await criteria_for(session, found)
    on = date.today()
    geo = await geography(session, on)
    profile, target = repository.as_domain(candidate), as_domain(found)
    checks = domain.eligibility(profile, target, criteria, reachable=geo.reachable, on=on)
    missed = [c for c in checks if not c.met]
    if missed:
        raise Conflict(
            "The candidate does not meet the forum's criteria: " + "; ".join(c.detail for c in missed) + ".",
            reason="not_eligible",
            params={"missed": [c.criterion for c in missed]},
            details={"reason": "not_eligible", "missed": [c.criterion for c in missed]},
        )
    score = domain.total(domain.score(profile, target, criteria, distance_km=geo.distance_km, on=on))
    now = utcnow()
    placement = Placement(
        id=uuid.uuid4(),
        opportunity_id=found.id,
        person_id=person_id,
        case_id=candidate.case_id,
        candidate_municipality_code=candidate.municipality_code,
        status=PlacementStatus.proposed,
        score=score,
        rank=await repository.shortlist_rank(session, found.id, person_id),
        woman=candidate.sex == "F",
        roma="roma" in candidate.markers,
        disability="disability" in candidate.markers,
        employer_accepted=False,
        candidate_accepted=False,
        hours_total=0,
        proposed_by=user.sub,
        proposed_at=now,
    )
    session.add(placement)
    await session.flush()
    await outbox.add(
        session,
        MatchProposedV1(
            placement_id=placement.id,
            opportunity_id=found.id,
            person_id=person_id,
            case_id=candidate.case_id,
            municipality_code=candidate.municipality_code,
            opportunity_municipality_code=found.municipality_code,
            opportunity_type=found.type,
            score=score,
            rank=placement.rank,
            proposed_at=now,
        ),
    )
    return placement


async def placements_for(*, session: AsyncSession, user: User, opportunity_id: uuid.UUID) -> Sequence[Placement]:
    found = await opportunity(session=session, user=user, opportunity_id=opportunity_id)
    rows = await repository.placements_of(session, [found.id])
    if access.owns(user, found):
        return rows
    return [p for p in rows if access.acts_for_candidates_of(user, p.candidate_municipality_code)]


async def placements_of_candidate(*, session: AsyncSession, user: User, person_id: uuid.UUID) -> Sequence[Placement]:
    await visible_candidate(session, user, person_id)
    return await repository.placements_of_person(session, person_id)
