"""Cases' HTTP API. Who may do what is in services/cases/access.py; every refusal says why."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request, status

from services.cases import caseload, casework, plans, referrals, registries, repository, transfers
from services.cases.access import case_scope
from services.cases.schemas import (
    AgreementCreate,
    AgreementPublic,
    AssessmentCreate,
    CaseDetail,
    Caseload,
    CasePublic,
    PlanCreate,
    ProviderCreate,
    ProviderPublic,
    ProviderUpdate,
    Reassignment,
    ReferralCreate,
    ReferralDecision,
    ReferralPublic,
    ReviewDue,
    StatusChange,
    TimelineEntryPublic,
    TransferRequest,
    WorkerPublic,
    WorkerUpsert,
)
from shared.auth import Role, User, require_role
from shared.disclosure import SUPPRESSED, disclosed, is_small
from shared.events.cases import CaseStatusName, PriorityName, ServiceType
from shared.web import Offset, RuntimeDep, SessionDep

router = APIRouter(prefix="/api", tags=["cases"])
Staff = Annotated[User, Depends(require_role(Role.case_worker, Role.supervisor, Role.admin))]
Registry = Annotated[User, Depends(require_role(Role.case_worker, Role.supervisor, Role.admin, Role.analyst))]
Keeper = Annotated[User, Depends(require_role(Role.supervisor, Role.admin))]
Limit = Annotated[int, Query(ge=1, le=500)]
Municipality = Annotated[str | None, Query(pattern=r"^[0-9]{5}$")]


async def enrolled(request: Request, user: Staff, session: SessionDep) -> User:
    """Staff, and a case worker seen for the first time joins the workers of their municipalities."""
    await caseload.enrol_once(state=request.app.state, session=session, user=user)
    return user


Worker = Annotated[User, Depends(enrolled)]


# --- cases ----------------------------------------------------------------------------------------------------


@router.get("/cases", response_model=list[CasePublic])
async def list_cases(
    user: Worker,
    session: SessionDep,
    household_id: uuid.UUID | None = None,
    status_: Annotated[CaseStatusName | None, Query(alias="status")] = None,
    priority: PriorityName | None = None,
    mine: bool = False,
    unassigned: bool = False,
    municipality: Municipality = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[CasePublic]:
    """Cases the user may see, most urgent first. Restricted (violence) cases only to their worker and supervisors."""
    cases = await casework.visible_cases(
        session=session,
        user=user,
        household_id=household_id,
        status=status_,
        priority=priority,
        mine=mine,
        unassigned=unassigned,
        municipality=municipality,
        limit=limit,
        offset=offset,
    )
    return [CasePublic.model_validate(c) for c in cases]


@router.get("/cases/{case_id}", response_model=CaseDetail)
async def get_case(case_id: uuid.UUID, user: Worker, session: SessionDep) -> CaseDetail:
    case = await casework.case_for(session, user, case_id)
    return await casework.case_detail(session, case)


@router.get("/cases/{case_id}/timeline", response_model=list[TimelineEntryPublic])
async def timeline(case_id: uuid.UUID, user: Worker, session: SessionDep) -> list[TimelineEntryPublic]:
    """Everything that happened to the case, oldest first."""
    case = await casework.case_for(session, user, case_id)
    return [TimelineEntryPublic.model_validate(t) for t in await repository.timeline(session, case.id)]


@router.post("/cases/{case_id}/status", response_model=CaseDetail)
async def change_status(
    case_id: uuid.UUID, body: StatusChange, user: Worker, session: SessionDep, runtime: RuntimeDep
) -> CaseDetail:
    """Move the case on (open → assessment → plan → active), close it with a reason, or reopen it.
    An illegal step is a 409 whose ``details.allowed`` lists the states allowed next."""
    case = await casework.change_status(session=session, outbox=runtime.outbox, user=user, case_id=case_id, change=body)
    return await casework.case_detail(session, case)


@router.post("/cases/{case_id}/assignment", response_model=CasePublic)
async def reassign(
    case_id: uuid.UUID, body: Reassignment, user: Worker, session: SessionDep, runtime: RuntimeDep
) -> CasePublic:
    case = await casework.reassign(
        session=session, outbox=runtime.outbox, user=user, case_id=case_id, worker=body.worker
    )
    return CasePublic.model_validate(case)


@router.post("/cases/{case_id}/assessments", status_code=status.HTTP_201_CREATED, response_model=CaseDetail)
async def record_assessment(
    case_id: uuid.UUID, body: AssessmentCreate, user: Worker, session: SessionDep, runtime: RuntimeDep
) -> CaseDetail:
    case = await casework.record_assessment(
        session=session, outbox=runtime.outbox, user=user, case_id=case_id, data=body
    )
    return await casework.case_detail(session, case)


@router.post("/cases/{case_id}/plans", status_code=status.HTTP_201_CREATED, response_model=CaseDetail)
async def agree_plan(
    case_id: uuid.UUID, body: PlanCreate, user: Worker, session: SessionDep, runtime: RuntimeDep
) -> CaseDetail:
    """A new version of the individual plan. A work-engagement action for a member who can work (and consented
    to activation) sends activation the candidate's pseudonymous profile."""
    case = await plans.agree_plan(session=session, outbox=runtime.outbox, user=user, case_id=case_id, data=body)
    return await casework.case_detail(session, case)


@router.post("/cases/{case_id}/transfer", response_model=CaseDetail)
async def transfer(
    case_id: uuid.UUID, body: TransferRequest, user: Worker, session: SessionDep, runtime: RuntimeDep
) -> CaseDetail:
    case = await transfers.transfer(session=session, outbox=runtime.outbox, user=user, case_id=case_id, data=body)
    return await casework.case_detail(session, case)


@router.post("/cases/{case_id}/referrals", status_code=status.HTTP_201_CREATED, response_model=ReferralPublic)
async def refer(
    case_id: uuid.UUID, body: ReferralCreate, user: Worker, session: SessionDep, runtime: RuntimeDep
) -> ReferralPublic:
    referral = await referrals.refer(session=session, outbox=runtime.outbox, user=user, case_id=case_id, data=body)
    return ReferralPublic.model_validate(referral)


@router.get("/reviews", response_model=list[ReviewDue])
async def reviews_due(user: Worker, session: SessionDep, municipality: Municipality = None) -> list[ReviewDue]:
    """Active cases whose plan's review date passed, or that a placement's end put up for review."""
    rows = await casework.reviews_due(session=session, user=user, municipality=municipality)
    return [ReviewDue(case=CasePublic.model_validate(c), review_date=d, days_overdue=n) for c, d, n in rows]


# --- referrals: the provider's side ---------------------------------------------------------------------------


@router.get("/referrals", response_model=list[ReferralPublic])
async def referral_inbox(
    user: Worker,
    session: SessionDep,
    status_: Annotated[str | None, Query(alias="status")] = None,
    limit: Limit = 200,
) -> list[ReferralPublic]:
    """Referrals to providers in the user's municipalities."""
    rows = await referrals.inbox(session=session, user=user, status=status_, limit=limit)
    return [ReferralPublic.model_validate(r) for r in rows]


@router.post("/referrals/{referral_id}/decision", response_model=ReferralPublic)
async def decide_referral(
    referral_id: uuid.UUID, body: ReferralDecision, user: Worker, session: SessionDep, runtime: RuntimeDep
) -> ReferralPublic:
    referral = await referrals.decide(
        session=session, outbox=runtime.outbox, user=user, referral_id=referral_id, data=body
    )
    return ReferralPublic.model_validate(referral)


# --- registries -----------------------------------------------------------------------------------------------


@router.get("/providers", response_model=list[ProviderPublic])
async def list_providers(
    user: Registry,
    session: SessionDep,
    municipality: Municipality = None,
    service_type: ServiceType | None = None,
    include_inactive: bool = False,
) -> list[ProviderPublic]:
    rows = await registries.providers(
        session=session, municipality=municipality, service_type=service_type, include_inactive=include_inactive
    )
    return [ProviderPublic.model_validate(p) for p in rows]


@router.post("/providers", status_code=status.HTTP_201_CREATED, response_model=ProviderPublic)
async def register_provider(
    body: ProviderCreate, user: Keeper, session: SessionDep, runtime: RuntimeDep
) -> ProviderPublic:
    provider = await registries.register_provider(session=session, outbox=runtime.outbox, user=user, data=body)
    return ProviderPublic.model_validate(provider)


@router.patch("/providers/{provider_id}", response_model=ProviderPublic)
async def update_provider(
    provider_id: uuid.UUID, body: ProviderUpdate, user: Keeper, session: SessionDep, runtime: RuntimeDep
) -> ProviderPublic:
    provider = await registries.update_provider(
        session=session, outbox=runtime.outbox, user=user, provider_id=provider_id, data=body
    )
    return ProviderPublic.model_validate(provider)


@router.get("/agreements", response_model=list[AgreementPublic])
async def list_agreements(user: Registry, session: SessionDep) -> list[AgreementPublic]:
    return [AgreementPublic.model_validate(a) for a in await repository.list_agreements(session)]


@router.post("/agreements", status_code=status.HTTP_201_CREATED, response_model=AgreementPublic)
async def conclude_agreement(
    body: AgreementCreate, user: Keeper, session: SessionDep, runtime: RuntimeDep
) -> AgreementPublic:
    agreement = await registries.conclude_agreement(session=session, outbox=runtime.outbox, user=user, data=body)
    return AgreementPublic.model_validate(agreement)


@router.post("/agreements/{agreement_id}/end", response_model=AgreementPublic)
async def end_agreement(
    agreement_id: uuid.UUID,
    user: Keeper,
    session: SessionDep,
    runtime: RuntimeDep,
    valid_to: Annotated[date, Body(embed=True)],
) -> AgreementPublic:
    agreement = await registries.end_agreement(
        session=session, outbox=runtime.outbox, user=user, agreement_id=agreement_id, valid_to=valid_to
    )
    return AgreementPublic.model_validate(agreement)


@router.get("/workers", response_model=list[WorkerPublic])
async def list_workers(
    user: Worker, session: SessionDep, runtime: RuntimeDep, municipality: Municipality = None
) -> list[WorkerPublic]:
    return await caseload.list_workers(
        session=session, user=user, municipality=municipality, norm=runtime.settings.caseload_norm
    )


@router.put("/workers/{sub}", response_model=WorkerPublic)
async def upsert_worker(
    sub: Annotated[str, Path(min_length=1, max_length=200)],
    body: WorkerUpsert,
    user: Keeper,
    session: SessionDep,
    runtime: RuntimeDep,
) -> WorkerPublic:
    """Register a worker or change their municipalities or availability (inactive workers get no new cases)."""
    return await caseload.upsert_worker(
        session=session, user=user, sub=sub, data=body, norm=runtime.settings.caseload_norm
    )


@router.get("/caseload", response_model=Caseload)
async def caseload_view(
    user: Keeper, session: SessionDep, runtime: RuntimeDep, municipality: Municipality = None
) -> Caseload:
    """Per worker active cases against the norm, cases up for review, unassigned cases, and the median days
    from registration to assessment."""
    return await caseload.caseload(
        session=session, user=user, municipality=municipality, norm=runtime.settings.caseload_norm
    )


@router.get("/statistics")
async def statistics(
    user: Annotated[User, Depends(require_role(Role.supervisor, Role.admin, Role.analyst))], session: SessionDep
) -> list[dict[str, Any]]:
    """Cases per municipality and state. Cells under 5 are '<5' for analysts. For everyone, a violence count under 5
    is '<5', and so is the case count of its cell ('5+' when larger): next to an exact total, the few violence cases
    could be counted by anyone who knows the others (secondary suppression)."""
    scope = None if user.has_role(Role.admin, Role.analyst) else case_scope(user)
    rows = await repository.status_counts(session, municipalities=scope)
    cells: dict[tuple[str, str], dict[str, int]] = {}
    for code, state, restricted, n in rows:
        cell = cells.setdefault((code, state), {"cases": 0, "violence": 0})
        cell["cases"] += n
        cell["violence"] += n if restricted else 0
    out = []
    exact = not user.has_role(Role.analyst) or user.has_role(Role.admin, Role.supervisor)
    for (code, state), cell in sorted(cells.items()):
        out.append(
            {
                "municipality_code": code,
                "status": state,
                "cases": cell["cases"] if exact and not cell["violence"] else _cell_cases(cell),
                "violence_cases": disclosed(cell["violence"]),
            }
        )
    return out


def _cell_cases(cell: dict[str, int]) -> int | str:
    """The case count of a cell shown under the small-cell rule; hidden altogether beside a few violence cases."""
    if is_small(cell["violence"]):
        return SUPPRESSED if is_small(cell["cases"]) else "5+"
    return disclosed(cell["cases"])
