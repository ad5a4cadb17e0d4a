"""Case work: status changes, reassignment, assessment, the individual plan, transfer, the timeline."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases import access, repository
from services.cases.domain import (
    ACTIVE_STATUSES,
    NEED_DOMAINS,
    TRANSITIONS,
    Agreement,
    CaseStatus,
    IllegalTransition,
    check_transition,
    transfer_agreement,
)
from services.cases.models import Assessment, Case, Plan, PlanAction
from services.cases.schemas import (
    ActionPublic,
    AssessmentCreate,
    AssessmentPublic,
    CaseDetail,
    CasePublic,
    MemberPublic,
    PlanCreate,
    PlanPublic,
    ReferralPublic,
    StatusChange,
    TransferRequest,
)
from services.cases.service import open_case, timeline_row
from shared.auth import Role, User
from shared.db import utcnow
from shared.errors import Conflict, Forbidden, Invalid, NotFound, field_error
from shared.events import (
    ActivationRequestedV1,
    AssessmentCompletedV1,
    Availability,
    CaseAssignedV1,
    CaseStatusChangedV1,
    CaseTransferredV1,
    EventData,
    MemberProfile,
    PlanAgreedV1,
)
from shared.messaging.outbox import OutboxWriter
from shared.reference import municipalities


class TransitionConflict(Conflict):
    """409 that lists the states the case may go to."""

    def __init__(self, exc: IllegalTransition) -> None:
        super().__init__(str(exc), details={"status": exc.current, "allowed": [str(a) for a in exc.allowed]})


async def case_for(session: AsyncSession, user: User, case_id: uuid.UUID, *, work: bool = False) -> Case:
    case = await repository.get_case(session, case_id, for_update=work)
    if case is None:
        raise NotFound(f"No case {case_id}.")
    if work:
        access.ensure_can_work(user, case)
    else:
        access.ensure_can_read(user, case)
    return case


def status_event(case: Case, to: CaseStatus, now: datetime, reason: str | None = None) -> CaseStatusChangedV1:
    return CaseStatusChangedV1(
        case_id=case.id,
        household_id=case.household_id,
        municipality_code=case.municipality_code,
        from_status=case.status,
        to_status=to.value,
        reason=reason,
        changed_at=now,
    )


async def _move(
    session: AsyncSession, outbox: OutboxWriter, case: Case, to: CaseStatus, *, actor: str, now: datetime, **extra: Any
) -> EventData:
    """Change the state (already checked), with its timeline entry; returns the event to publish."""
    reason = extra.get("reason")
    was = case.status  # read before the update: it synchronises the loaded case
    event = status_event(case, to, now, reason)
    values: dict[str, Any] = {"status": to.value, "updated_at": now}
    if to is CaseStatus.closed:
        values |= {"closed_at": now, "close_reason": reason, "review_due_since": None, "review_reason": None}
    if to is CaseStatus.open and was == CaseStatus.closed:
        values |= {"closed_at": None, "close_reason": None}
    await repository.update_case(session, case.id, **values)
    details = {"from": was, "to": to.value} | {k: v for k, v in extra.items() if v is not None}
    await repository.add_timeline(session, [timeline_row(case.id, "status_changed", now, actor, **details)])
    case.status = to.value
    return event


async def change_status(
    *, session: AsyncSession, outbox: OutboxWriter, user: User, case_id: uuid.UUID, change: StatusChange
) -> Case:
    case = await case_for(session, user, case_id, work=True)
    current, wanted = CaseStatus(case.status), CaseStatus(change.to)
    try:
        check_transition(current, wanted)
    except IllegalTransition as exc:
        raise TransitionConflict(exc) from exc
    if wanted is CaseStatus.transferred:
        raise Conflict(
            "A case is transferred with POST /cases/api/cases/{id}/transfer, naming the receiving municipality.",
            details={"status": current, "allowed": [str(a) for a in TRANSITIONS[current]]},
        )
    if wanted is CaseStatus.closed and change.reason is None:
        raise Invalid("Say why the case closes.", details=[field_error(["body", "reason"], "A reason is needed.")])
    if wanted is CaseStatus.plan and case.assessed_at is None:
        raise Conflict("Record the assessment first: a plan follows an assessment.", details={"status": current})
    if wanted is CaseStatus.active and await repository.current_plan(session, case.id) is None:
        raise Conflict("Agree the plan first: a case becomes active with a plan.", details={"status": current})
    now = utcnow()
    event = await _move(session, outbox, case, wanted, actor=user.sub, now=now, reason=change.reason)
    await outbox.add(session, event)
    await session.refresh(case)
    return case


async def reassign(*, session: AsyncSession, outbox: OutboxWriter, user: User, case_id: uuid.UUID, worker: str) -> Case:
    case = await case_for(session, user, case_id)
    if not access.is_supervisor_of(user, case.municipality_code):
        raise Forbidden("Only a supervisor of the case's municipality reassigns cases.")
    if case.status not in ACTIVE_STATUSES:
        raise Conflict(f"A case in state '{case.status}' is not worked any more; reopen it first.")
    target = await repository.get_worker(session, worker)
    codes = (await repository.worker_municipalities(session, [worker])).get(worker, [])
    if target is None or case.municipality_code not in codes:
        raise Invalid(
            f"{worker} is not a worker of municipality {case.municipality_code}.",
            details=[field_error(["body", "worker"], "Choose a worker of the case's municipality.")],
        )
    if not target.active:
        raise Conflict(f"{worker} is marked inactive (on leave or gone) and takes no cases.")
    if case.assigned_to == worker:
        return case
    now = utcnow()
    previous = case.assigned_to
    await repository.update_case(session, case.id, assigned_to=worker, assigned_at=now, updated_at=now)
    await repository.add_timeline(
        session, [timeline_row(case.id, "assigned", now, user.sub, worker=worker, previous=previous, by="supervisor")]
    )
    await outbox.add(
        session,
        CaseAssignedV1(
            case_id=case.id,
            household_id=case.household_id,
            municipality_code=case.municipality_code,
            worker=worker,
            previous_worker=previous,
            by="supervisor",
            assigned_at=now,
        ),
    )
    await session.refresh(case)
    return case


# --- assessment -----------------------------------------------------------------------------------------------


async def record_assessment(
    *, session: AsyncSession, outbox: OutboxWriter, user: User, case_id: uuid.UUID, data: AssessmentCreate
) -> Case:
    """Record the needs in all seven domains. The first assessment moves an open case on to the plan."""
    case = await case_for(session, user, case_id, work=True)
    missing = [d for d in NEED_DOMAINS if d not in data.needs]
    if missing:
        raise Invalid(
            "Assess every domain (say 'none' where there is no need).",
            details=[field_error(["body", "needs", d], "This domain is not assessed.") for d in missing],
        )
    if case.status not in ACTIVE_STATUSES:
        raise Conflict(
            f"A case in state '{case.status}' is not assessed; reopen it first.",
            details={"status": case.status, "allowed": [str(a) for a in TRANSITIONS[CaseStatus(case.status)]]},
        )
    now = utcnow()
    assessment_id = uuid.uuid4()
    session.add(
        Assessment(
            id=assessment_id,
            case_id=case.id,
            needs={d: {"level": n.level, "note": n.note} for d, n in data.needs.items()},
            summary=data.summary,
            completed_by=user.sub,
            completed_at=now,
        )
    )
    levels = {d: n.level for d, n in data.needs.items()}
    await repository.add_timeline(
        session, [timeline_row(case.id, "assessment_completed", now, user.sub, assessment_id=str(assessment_id))]
    )
    events: list[EventData] = [
        AssessmentCompletedV1(
            case_id=case.id,
            household_id=case.household_id,
            municipality_code=case.municipality_code,
            assessment_id=assessment_id,
            needs=levels,
            household_registered_at=case.household_registered_at,
            completed_at=now,
        )
    ]
    if case.assessed_at is None:
        await repository.update_case(session, case.id, assessed_at=now, updated_at=now)
    if case.status == CaseStatus.open:  # the worker went straight to the form: the assessment started with it
        events.append(await _move(session, outbox, case, CaseStatus.assessment, actor=user.sub, now=now))
    if case.status == CaseStatus.assessment:
        events.append(await _move(session, outbox, case, CaseStatus.plan, actor=user.sub, now=now))
    await session.flush()
    await outbox.add_many(session, events)
    await session.refresh(case)
    return case


# --- plan -----------------------------------------------------------------------------------------------------


def _action_problems(data: PlanCreate, members: dict[uuid.UUID, Any]) -> list[dict[str, Any]]:
    problems = []
    for i, action in enumerate(data.actions):
        loc: list[str | int] = ["body", "actions", i]
        member = members.get(action.person_id) if action.person_id else None
        if action.person_id is not None and (member is None or not member.present):
            problems.append(field_error([*loc, "person_id"], "This person is not a member of the household."))
            continue
        if member is not None and member.erased:
            problems.append(field_error([*loc, "person_id"], "This person's data was erased."))
        if action.kind == "service" and action.service_type is None:
            problems.append(field_error([*loc, "service_type"], "Say which service."))
        if action.kind != "work_engagement":
            continue
        if member is None:
            problems.append(field_error([*loc, "person_id"], "Work engagement is for one member: choose who."))
            continue
        if member.able_to_work is not True:
            problems.append(field_error([*loc, "person_id"], "Intake does not record this member as able to work."))
        if "activation" not in member.consents:
            problems.append(
                field_error([*loc, "person_id"], "This member has not consented to activation (record it in intake).")
            )
        for name in ("hours_per_week_min", "hours_per_week_max", "available_from"):
            if getattr(action, name) is None:
                problems.append(field_error([*loc, name], "Needed for a work engagement."))
    return problems


async def agree_plan(
    *, session: AsyncSession, outbox: OutboxWriter, user: User, case_id: uuid.UUID, data: PlanCreate
) -> Case:
    """A new version of the plan. The first one makes the case active; a new version is also the review."""
    case = await case_for(session, user, case_id, work=True)
    if case.status not in (CaseStatus.plan, CaseStatus.active):
        raise Conflict(
            f"A plan is agreed in state 'plan' or 'active'; this case is '{case.status}'."
            + (" Record the assessment first." if case.status in (CaseStatus.open, CaseStatus.assessment) else ""),
            details={"status": case.status, "allowed": [str(a) for a in TRANSITIONS[CaseStatus(case.status)]]},
        )
    today = date.today()
    problems = []
    if data.review_date <= today:
        problems.append(field_error(["body", "review_date"], "The review date must be in the future."))
    if any(not g.strip() for g in data.goals):
        problems.append(field_error(["body", "goals"], "A goal cannot be empty."))
    members = {m.person_id: m for m in await repository.members_of(session, case.id, present_only=False)}
    problems += _action_problems(data, members)
    if problems:
        raise Invalid("The plan is not complete.", details=problems)

    now = utcnow()
    previous = await repository.current_plan(session, case.id)
    earlier: dict[tuple[Any, ...], uuid.UUID] = {}
    if previous is not None:
        for a in await repository.actions_of(session, previous.id):
            if a.kind == "work_engagement" and a.activation_request_id is not None:
                key = (a.person_id, a.hours_per_week_min, a.hours_per_week_max, a.available_from)
                earlier[key] = a.activation_request_id
    await repository.retire_plans(session, case.id)
    version = await repository.plan_versions(session, case.id) + 1
    plan = Plan(
        id=uuid.uuid4(),
        case_id=case.id,
        version=version,
        current=True,
        goals=[g.strip() for g in data.goals],
        review_date=data.review_date,
        agreed_by=user.sub,
        agreed_at=now,
    )
    session.add(plan)
    await session.flush()
    events: list[EventData] = [
        PlanAgreedV1(
            case_id=case.id,
            household_id=case.household_id,
            municipality_code=case.municipality_code,
            plan_id=plan.id,
            version=version,
            goals=len(plan.goals),
            actions=len(data.actions),
            review_date=data.review_date,
            agreed_at=now,
        )
    ]
    timeline = [timeline_row(case.id, "plan_agreed", now, user.sub, plan_id=str(plan.id), version=version)]
    for i, item in enumerate(data.actions):
        request_id = None
        if item.kind == "work_engagement":
            key = (item.person_id, item.hours_per_week_min, item.hours_per_week_max, item.available_from)
            request_id = earlier.get(key)
            if request_id is None:
                request_id = uuid.uuid4()
                member = members[item.person_id]  # type: ignore[index]
                events.append(activation_request(case, member, item, request_id, now))
                timeline.append(
                    timeline_row(
                        case.id,
                        "activation_requested",
                        now,
                        user.sub,
                        person_id=str(item.person_id),
                        request_id=str(request_id),
                    )
                )
        session.add(
            PlanAction(
                id=uuid.uuid4(),
                plan_id=plan.id,
                case_id=case.id,
                position=i,
                kind=item.kind,
                description=item.description,
                person_id=item.person_id,
                responsible=item.responsible,
                due_date=item.due_date,
                service_type=item.service_type,
                hours_per_week_min=item.hours_per_week_min,
                hours_per_week_max=item.hours_per_week_max,
                available_from=item.available_from,
                unemployed_since=item.unemployed_since,
                activation_request_id=request_id,
            )
        )
    await repository.add_timeline(session, timeline)
    if case.review_due_since is not None:
        await repository.update_case(session, case.id, review_due_since=None, review_reason=None)
    if case.status == CaseStatus.plan:
        events.append(await _move(session, outbox, case, CaseStatus.active, actor=user.sub, now=now))
    await repository.update_case(session, case.id, updated_at=now)
    await session.flush()
    await outbox.add_many(session, events)
    await session.refresh(case)
    return case


def activation_request(case: Case, member: Any, action: Any, request_id: uuid.UUID, now: datetime) -> EventData:
    """The candidate profile activation matches on: no name, no JMBG, no address, no free text."""
    allowed = {"unemployed_able_to_work", "disability", "single_parent", "roma", "without_documents"}
    return ActivationRequestedV1(
        request_id=request_id,
        person_id=member.person_id,
        household_id=case.household_id,
        case_id=case.id,
        municipality_code=case.municipality_code,
        sex=member.sex,
        birth_year=member.birth_year,
        education=member.education,
        employment_status=member.employment_status,
        skills=list(member.skills),
        markers=[m for m in member.markers if m in allowed],
        below_poverty_line=case.below_poverty_line,
        unemployed_since=action.unemployed_since,
        availability=Availability(
            hours_per_week_min=action.hours_per_week_min,
            hours_per_week_max=action.hours_per_week_max,
            available_from=action.available_from,
        ),
        requested_at=now,
    )


# --- transfer -------------------------------------------------------------------------------------------------


async def transfer(
    *, session: AsyncSession, outbox: OutboxWriter, user: User, case_id: uuid.UUID, data: TransferRequest
) -> Case:
    """Hand the case to another municipality's office under an agreement: the origin keeps the case and its
    history (state 'transferred'); the receiving office gets a new case with only the members' pseudonymous
    facts, the priority and the latest need levels (no notes, no plan, no timeline)."""
    case = await case_for(session, user, case_id, work=True)
    try:
        check_transition(CaseStatus(case.status), CaseStatus.transferred)
    except IllegalTransition as exc:
        raise TransitionConflict(exc) from exc
    destination = data.to_municipality_code
    if municipalities.get(destination) is None:
        raise Invalid(
            f"{destination} is not a municipality code.",
            details=[field_error(["body", "to_municipality_code"], "Unknown municipality.")],
        )
    if destination == case.municipality_code:
        raise Invalid(
            "The case is already in this municipality.",
            details=[field_error(["body", "to_municipality_code"], "Choose another municipality.")],
        )
    today = date.today()
    agreements = [
        (a.id, Agreement(frozenset(a.municipalities), frozenset(a.service_types), a.valid_from, a.valid_to))
        for a in await repository.list_agreements(session)
    ]
    agreement_id = transfer_agreement(
        origin=case.municipality_code, destination=destination, agreements=agreements, on=today
    )
    if agreement_id is None:
        raise Conflict(
            f"No inter-municipal agreement valid on {today.isoformat()} joins {case.municipality_code} and "
            f"{destination}: the case cannot be transferred there."
        )
    assert isinstance(agreement_id, uuid.UUID)
    now = utcnow()
    members = [m for m in await repository.members_of(session, case.id) if not m.erased]
    profiles = [
        MemberProfile(
            person_id=m.person_id,
            sex=m.sex,
            birth_year=m.birth_year,
            relation=m.relation,
            able_to_work=m.able_to_work,
            employment_status=m.employment_status,
            education=m.education,
            skills=list(m.skills),
            markers=list(m.markers),
            consents=list(m.consents),
        )
        for m in members
    ]
    assessments = await repository.assessments_of(session, case.id)
    needs = {d: v["level"] for d, v in assessments[0].needs.items()} if assessments else None
    new = await open_case(
        session=session,
        outbox=outbox,
        household_id=case.household_id,
        municipality_code=destination,
        members=profiles,
        below_poverty_line=case.below_poverty_line,
        household_registered_at=case.household_registered_at,
        household_version=case.household_version,
        transferred_from=case,
        restricted=case.restricted,
        actor=user.sub,
        extra_timeline={"need_levels": needs, "agreement_id": str(agreement_id)},
    )
    # The receiving office inherits the consent notice: a withdrawal does not lapse with the move.
    withdrawn = await repository.case_work_consent_withdrawn_by(session, case.id)
    if withdrawn:
        await repository.add_timeline(
            session,
            [timeline_row(new["id"], "case_work_consent_withdrawn", now, None, person_id=p) for p in withdrawn],
        )
        await repository.update_case(session, new["id"], case_work_consent_withdrawn=True)
    await repository.update_case(
        session, case.id, status=CaseStatus.transferred.value, transferred_to_case_id=new["id"], updated_at=now
    )
    await repository.add_timeline(
        session,
        [
            timeline_row(
                case.id,
                "transferred",
                now,
                user.sub,
                to_case_id=str(new["id"]),
                to_municipality_code=destination,
                agreement_id=str(agreement_id),
            )
        ],
    )
    await outbox.add(
        session,
        CaseTransferredV1(
            case_id=case.id,
            household_id=case.household_id,
            municipality_code=case.municipality_code,
            to_case_id=new["id"],
            to_municipality_code=destination,
            agreement_id=agreement_id,
            transferred_at=now,
        ),
    )
    await session.refresh(case)
    return case


# --- reading --------------------------------------------------------------------------------------------------


async def case_detail(session: AsyncSession, case: Case) -> CaseDetail:
    """A case with everything a worker reads on its page: members, assessments, the current plan, referrals."""
    plan = await repository.current_plan(session, case.id)
    plan_public = None
    if plan is not None:
        actions = await repository.actions_of(session, plan.id)
        plan_public = PlanPublic.model_validate(plan).model_copy(
            update={
                "actions": [ActionPublic.model_validate(a) for a in actions],
                "overdue": plan.review_date < date.today() and case.status == CaseStatus.active,
            }
        )
    return CaseDetail(
        case=CasePublic.model_validate(case),
        members=[
            MemberPublic.model_validate(m) for m in await repository.members_of(session, case.id, present_only=False)
        ],
        assessments=[AssessmentPublic.model_validate(a) for a in await repository.assessments_of(session, case.id)],
        plan=plan_public,
        referrals=[ReferralPublic.model_validate(r) for r in await repository.referrals_of_case(session, case.id)],
        allowed_next=sorted(TRANSITIONS[CaseStatus(case.status)]),
    )


async def visible_cases(
    *,
    session: AsyncSession,
    user: User,
    household_id: uuid.UUID | None = None,
    status: str | None = None,
    priority: str | None = None,
    mine: bool = False,
    unassigned: bool = False,
    municipality: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Sequence[Case]:
    scope = access.case_scope(user)
    if municipality is not None:
        if scope is not None and municipality not in scope:
            raise Forbidden(f"Municipality {municipality} is not among the municipalities you work for.")
        scope = frozenset({municipality})
    return await repository.list_cases(
        session,
        municipalities=scope,
        viewer=access.restricted_viewer(user),
        household_id=household_id,
        status=status,
        priority=priority,
        assigned_to=user.sub if mine else None,
        unassigned=unassigned,
        limit=limit,
        offset=offset,
    )


async def reviews_due(
    *, session: AsyncSession, user: User, municipality: str | None, limit: int = 200
) -> list[tuple[Case, date | None, int | None]]:
    if not user.has_role(Role.case_worker, Role.supervisor, Role.admin):
        raise Forbidden("This needs one of the roles: admin, case_worker, supervisor.")
    scope = access.case_scope(user)
    if municipality is not None:
        if scope is not None and municipality not in scope:
            raise Forbidden(f"Municipality {municipality} is not among the municipalities you work for.")
        scope = frozenset({municipality})
    today = date.today()
    rows = await repository.cases_up_for_review(
        session, municipalities=scope, viewer=access.restricted_viewer(user), today=today, limit=limit
    )
    return [(c, d, (today - d).days if d is not None and d < today else None) for c, d in rows]
