"""Activation's HTTP API. Who may do what is in services/activation/access.py (and docs/activation.md's table);
every refusal says why."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status

from services.activation import (
    access,
    candidates,
    domain,
    forums,
    opportunities,
    placements,
    proposals,
    repository,
    service,
)
from services.activation import fairness as fairness_report
from services.activation.models import Candidate, Opportunity, Placement
from services.activation.schemas import (
    AnswerIn,
    CandidatePublic,
    CheckOut,
    CriteriaIn,
    DeclineIn,
    EndIn,
    Explanation,
    ForumCreate,
    ForumPublic,
    HoursIn,
    JoinForum,
    MatchingRunOut,
    MatchOut,
    OpportunityCreate,
    OpportunityMatchOut,
    OpportunityPublic,
    OrganisationIn,
    OrganisationPublic,
    PlacementPublic,
    ProposeIn,
    ShortlistOut,
)
from shared.auth import CurrentUser, Role, User, require_role
from shared.errors import NotFound
from shared.web import Offset, RuntimeDep, SessionDep

router = APIRouter(prefix="/api", tags=["activation"])

Employer = Annotated[User, Depends(require_role(Role.employer, Role.admin))]
Coordinator = Annotated[User, Depends(require_role(Role.coordinator, Role.admin))]
Staff = Annotated[User, Depends(require_role(Role.case_worker, Role.supervisor, Role.admin))]
Matcher = Annotated[
    User, Depends(require_role(Role.employer, Role.case_worker, Role.supervisor, Role.coordinator, Role.admin))
]
Party = Annotated[User, Depends(require_role(Role.employer, Role.case_worker, Role.supervisor, Role.admin))]
Figures = Annotated[User, Depends(require_role(Role.coordinator, Role.supervisor, Role.analyst, Role.admin))]
OrganisationId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")]


def explanation(ranked: domain.Ranked, *, full: bool) -> Explanation:
    """``full`` for staff; an employer's has no check details, no accessibility check, and only the parts of the
    score about the work, without the total (see access.EMPLOYER_PARTS)."""
    checks = [
        CheckOut(criterion=c.criterion, met=c.met, detail=c.detail if full else None)
        for c in ranked.checks
        if full or c.criterion not in access.PRIVATE_CHECKS
    ]
    if full:
        return Explanation(score=ranked.score, breakdown=dict(ranked.breakdown), checks=checks)
    return Explanation(score=None, breakdown=access.employer_breakdown(ranked.breakdown), checks=checks)


def placement_out(p: Placement, user: User) -> PlacementPublic:
    out = PlacementPublic.model_validate(p)
    out.code = access.candidate_code(p.opportunity_id, p.person_id)
    if not access.acts_for_candidates_of(user, p.candidate_municipality_code):
        out.person_id = out.case_id = None
    if access.employer_only(user):
        out.score = None
    return out


# --- organisations and forums ---------------------------------------------------------------------------------


async def _organisation_out(session: SessionDep, org: Any) -> OrganisationPublic:
    out = OrganisationPublic.model_validate(org)
    out.forums = sorted(await forums.forum_ids_of(session, org.id), key=str)
    return out


@router.put("/organisations/{organisation_id}", response_model=OrganisationPublic)
async def register_organisation(
    organisation_id: OrganisationId, body: OrganisationIn, user: Employer, session: SessionDep
) -> OrganisationPublic:
    """An employer registers (or corrects) their own organisation: the id is their account's organisation."""
    org = await forums.register_organisation(session=session, user=user, organisation_id=organisation_id, data=body)
    return await _organisation_out(session, org)


@router.get("/organisations", response_model=list[OrganisationPublic])
async def list_organisations(user: CurrentUser, session: SessionDep) -> list[OrganisationPublic]:
    return [await _organisation_out(session, o) for o in await forums.organisations(session=session, user=user)]


@router.get("/organisations/{organisation_id}", response_model=OrganisationPublic)
async def get_organisation(
    organisation_id: OrganisationId, user: CurrentUser, session: SessionDep
) -> OrganisationPublic:
    for org in await forums.organisations(session=session, user=user):
        if org.id == organisation_id:
            return await _organisation_out(session, org)
    raise NotFound(f"No organisation {organisation_id}.", reason="no_organisation")


async def _forum_out(session: SessionDep, forum: Any, user: User) -> ForumPublic:
    out = ForumPublic.model_validate(forum)
    out.members = access.visible_members(user, await repository.members_of(session, forum.id))
    return out


@router.post("/forums", status_code=status.HTTP_201_CREATED, response_model=ForumPublic)
async def create_forum(body: ForumCreate, user: Coordinator, session: SessionDep) -> ForumPublic:
    return await _forum_out(session, await forums.create_forum(session=session, user=user, data=body), user)


@router.get("/forums", response_model=list[ForumPublic])
async def list_forums(user: CurrentUser, session: SessionDep) -> list[ForumPublic]:
    return [await _forum_out(session, f, user) for f in await repository.list_forums(session)]


@router.get("/forums/{forum_id}", response_model=ForumPublic)
async def get_forum(forum_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> ForumPublic:
    return await _forum_out(session, await forums.forum(session=session, forum_id=forum_id), user)


@router.put("/forums/{forum_id}/criteria", response_model=ForumPublic)
async def set_criteria(forum_id: uuid.UUID, body: CriteriaIn, user: Coordinator, session: SessionDep) -> ForumPublic:
    return await _forum_out(
        session, await forums.set_criteria(session=session, user=user, forum_id=forum_id, data=body), user
    )


@router.post("/forums/{forum_id}/members", response_model=ForumPublic)
async def join_forum(forum_id: uuid.UUID, body: JoinForum, user: Employer, session: SessionDep) -> ForumPublic:
    forum = await forums.join_forum(session=session, user=user, forum_id=forum_id, organisation_id=body.organisation_id)
    return await _forum_out(session, forum, user)


@router.get("/forums/{forum_id}/fairness")
async def fairness(
    forum_id: uuid.UUID, user: Figures, session: SessionDep, opportunity_id: uuid.UUID | None = None
) -> dict[str, Any]:
    """Shares of women, Roma and persons with disability among eligible, shortlisted, proposed and placed
    candidates, per forum and per opportunity, with the disparity ratio against the eligible."""
    return await fairness_report.fairness(session=session, user=user, forum_id=forum_id, opportunity_id=opportunity_id)


# --- opportunities --------------------------------------------------------------------------------------------


@router.post("/opportunities", status_code=status.HTTP_201_CREATED, response_model=OpportunityPublic)
async def publish_opportunity(
    body: OpportunityCreate, user: Employer, session: SessionDep, runtime: RuntimeDep
) -> Opportunity:
    return await opportunities.publish_opportunity(session=session, outbox=runtime.outbox, data=body, user=user)


@router.get("/opportunities", response_model=list[OpportunityPublic])
async def list_opportunities(
    user: CurrentUser,
    session: SessionDep,
    municipality_code: Annotated[str | None, Query(pattern=r"^[0-9]{5}$")] = None,
    forum_id: uuid.UUID | None = None,
    status_: Annotated[str | None, Query(alias="status", pattern=r"^(published|closed)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
) -> list[Opportunity]:
    return list(
        await opportunities.opportunities(
            session=session,
            user=user,
            municipality_code=municipality_code,
            forum_id=forum_id,
            status=status_,
            limit=limit,
            offset=offset,
        )
    )


@router.get("/opportunities/{opportunity_id}", response_model=OpportunityPublic)
async def get_opportunity(opportunity_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Opportunity:
    return await opportunities.opportunity(session=session, user=user, opportunity_id=opportunity_id)


@router.post("/opportunities/{opportunity_id}/close", response_model=OpportunityPublic)
async def close_opportunity(
    opportunity_id: uuid.UUID, user: Employer, session: SessionDep, runtime: RuntimeDep
) -> Opportunity:
    return await opportunities.close_opportunity(
        session=session, outbox=runtime.outbox, user=user, opportunity_id=opportunity_id
    )


@router.get("/opportunities/{opportunity_id}/shortlist", response_model=ShortlistOut)
async def shortlist(
    opportunity_id: uuid.UUID,
    user: Matcher,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ShortlistOut:
    """The ranked candidates, computed now: hard criteria first, then the score, each with its explanation."""
    found = await service.shortlist(session=session, user=user, opportunity_id=opportunity_id, limit=limit)
    return ShortlistOut(
        opportunity_id=found.opportunity.id,
        eligible=found.eligible,
        computed_in_ms=found.computed_in_ms,
        matches=[
            MatchOut(
                rank=m.rank,
                code=m.code,
                person_id=m.candidate.person_id if m.candidate else None,
                case_id=m.candidate.case_id if m.candidate else None,
                explanation=explanation(m.ranked, full=not access.employer_only(user)),
                placement_id=m.placement.id if m.placement else None,
                placement_status=m.placement.status if m.placement else None,
            )
            for m in found.matches
        ],
    )


@router.post(
    "/opportunities/{opportunity_id}/proposals", status_code=status.HTTP_201_CREATED, response_model=PlacementPublic
)
async def propose(
    opportunity_id: uuid.UUID, body: ProposeIn, user: Staff, session: SessionDep, runtime: RuntimeDep
) -> PlacementPublic:
    """A case worker proposes their candidate (activation.match.proposed); the placement waits for both answers."""
    placement = await proposals.propose(
        session=session, outbox=runtime.outbox, user=user, opportunity_id=opportunity_id, person_id=body.person_id
    )
    return placement_out(placement, user)


@router.get("/opportunities/{opportunity_id}/placements", response_model=list[PlacementPublic])
async def opportunity_placements(opportunity_id: uuid.UUID, user: Party, session: SessionDep) -> list[PlacementPublic]:
    rows = await proposals.placements_for(session=session, user=user, opportunity_id=opportunity_id)
    return [placement_out(p, user) for p in rows]


# --- candidates -----------------------------------------------------------------------------------------------


@router.get("/candidates", response_model=list[CandidatePublic])
async def list_candidates(
    user: Staff,
    session: SessionDep,
    municipality_code: Annotated[str | None, Query(pattern=r"^[0-9]{5}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
) -> list[Candidate]:
    return list(
        await candidates.candidates(
            session=session, user=user, municipality_code=municipality_code, limit=limit, offset=offset
        )
    )


@router.get("/candidates/{person_id}", response_model=CandidatePublic)
async def get_candidate(person_id: uuid.UUID, user: Staff, session: SessionDep) -> Candidate:
    return await candidates.visible_candidate(session, user, person_id)


@router.get("/candidates/{person_id}/opportunities", response_model=list[OpportunityMatchOut])
async def best_opportunities(
    person_id: uuid.UUID,
    user: Staff,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[OpportunityMatchOut]:
    """The published opportunities the candidate is eligible for, best first, each with its explanation."""
    _, found = await proposals.best_opportunities(session=session, user=user, person_id=person_id, limit=limit)
    return [
        OpportunityMatchOut(
            opportunity=OpportunityPublic.model_validate(m.opportunity), explanation=explanation(m.ranked, full=True)
        )
        for m in found
    ]


@router.get("/candidates/{person_id}/placements", response_model=list[PlacementPublic])
async def candidate_placements(person_id: uuid.UUID, user: Staff, session: SessionDep) -> list[PlacementPublic]:
    rows = await proposals.placements_of_candidate(session=session, user=user, person_id=person_id)
    return [placement_out(p, user) for p in rows]


# --- placements -----------------------------------------------------------------------------------------------


@router.get("/placements/{placement_id}", response_model=PlacementPublic)
async def get_placement(placement_id: uuid.UUID, user: Party, session: SessionDep) -> PlacementPublic:
    placement, _ = await placements.load(session, user, placement_id)
    return placement_out(placement, user)


@router.post("/placements/{placement_id}/accept", response_model=PlacementPublic)
async def accept(
    placement_id: uuid.UUID, body: AnswerIn, user: Party, session: SessionDep, runtime: RuntimeDep
) -> PlacementPublic:
    """The employer's or (recorded by their case worker) the candidate's yes; with both it is accepted."""
    placement = await placements.accept(
        session=session, outbox=runtime.outbox, user=user, placement_id=placement_id, party=body.party
    )
    return placement_out(placement, user)


@router.post("/placements/{placement_id}/decline", response_model=PlacementPublic)
async def decline(
    placement_id: uuid.UUID, body: DeclineIn, user: Party, session: SessionDep, runtime: RuntimeDep
) -> PlacementPublic:
    placement = await placements.decline(
        session=session,
        outbox=runtime.outbox,
        user=user,
        placement_id=placement_id,
        party=body.party,
        reason=body.reason,
    )
    return placement_out(placement, user)


@router.post("/placements/{placement_id}/start", response_model=PlacementPublic)
async def start(placement_id: uuid.UUID, user: Employer, session: SessionDep, runtime: RuntimeDep) -> PlacementPublic:
    placement = await placements.start(session=session, outbox=runtime.outbox, user=user, placement_id=placement_id)
    return placement_out(placement, user)


@router.post("/placements/{placement_id}/hours", response_model=PlacementPublic)
async def record_hours(
    placement_id: uuid.UUID, body: HoursIn, user: Employer, session: SessionDep, runtime: RuntimeDep
) -> PlacementPublic:
    """The hours worked in one month (recording a month again corrects it)."""
    placement = await placements.record_hours(
        session=session, outbox=runtime.outbox, user=user, placement_id=placement_id, month=body.month, hours=body.hours
    )
    return placement_out(placement, user)


@router.post("/placements/{placement_id}/complete", response_model=PlacementPublic)
async def complete(
    placement_id: uuid.UUID, user: Employer, session: SessionDep, runtime: RuntimeDep
) -> PlacementPublic:
    placement = await placements.finish(
        session=session, outbox=runtime.outbox, user=user, placement_id=placement_id, completed=True
    )
    return placement_out(placement, user)


@router.post("/placements/{placement_id}/end", response_model=PlacementPublic)
async def end(
    placement_id: uuid.UUID, body: EndIn, user: Party, session: SessionDep, runtime: RuntimeDep
) -> PlacementPublic:
    """Ended early with a reason, by the employer or by the candidate's case worker."""
    placement = await placements.finish(
        session=session,
        outbox=runtime.outbox,
        user=user,
        placement_id=placement_id,
        completed=False,
        reason=body.reason,
    )
    return placement_out(placement, user)


# --- stored shortlists ----------------------------------------------------------------------------------------


@router.post("/shortlists/recompute", response_model=MatchingRunOut)
async def recompute(_user: Coordinator, runtime: RuntimeDep) -> Any:
    """Every published opportunity's top 50 from one snapshot of the candidates (the fairness report's
    "shortlisted"); it also runs by itself when candidates or opportunities changed."""
    return await service.recompute_shortlists(runtime.sessions)


@router.get("/shortlists/status", response_model=MatchingRunOut | None)
async def shortlists_status(_user: Figures, session: SessionDep) -> Any:
    return await repository.last_run(session)
