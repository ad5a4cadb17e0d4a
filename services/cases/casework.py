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
    CaseStatus,
    IllegalTransition,
    check_transition,
)
from services.cases.models import Assessment, Case
from services.cases.schemas import (
    ActionPublic,
    AssessmentCreate,
    AssessmentPublic,
    CaseDetail,
    CasePublic,
    MemberPublic,
    PlanPublic,
    ReferralPublic,
    StatusChange,
)
from services.cases.service import timeline_row
from shared.auth import Role, User
from shared.db import utcnow
from shared.errors import Conflict, Forbidden, Invalid, NotFound, field_error
from shared.events import AssessmentCompletedV1, CaseAssignedV1, CaseStatusChangedV1, EventData
from shared.messaging.outbox import OutboxWriter


class TransitionConflict(Conflict):
    """409 that lists the states the case may go to."""

    def __init__(self, exc: IllegalTransition) -> None:
        super().__init__(
            str(exc),
            reason="transition_not_allowed",
            params={"current": str(exc.current), "wanted": str(exc.wanted)},
            details={"status": exc.current, "allowed": [str(a) for a in exc.allowed]},
        )


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


async def move_case(
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
            reason="transfer_on_its_own",
            details={"status": current, "allowed": [str(a) for a in TRANSITIONS[current]]},
        )
    if wanted is CaseStatus.closed and change.reason is None:
        raise Invalid(
            "Say why the case closes.",
            reason="close_reason_missing",
            details=[field_error(["body", "reason"], "A reason is needed.", "close_reason_missing")],
        )
    if wanted is CaseStatus.plan and case.assessed_at is None:
        raise Conflict(
            "Record the assessment first: a plan follows an assessment.",
            reason="assessment_first",
            details={"status": current},
        )
    if wanted is CaseStatus.active and await repository.current_plan(session, case.id) is None:
        raise Conflict(
            "Agree the plan first: a case becomes active with a plan.", reason="plan_first", details={"status": current}
        )
    now = utcnow()
    event = await move_case(
        session, outbox, case, wanted, actor=user.sub, now=now, reason=change.reason, note=change.note or None
    )
    await outbox.add(session, event)
    await session.refresh(case)
    return case


async def reassign(*, session: AsyncSession, outbox: OutboxWriter, user: User, case_id: uuid.UUID, worker: str) -> Case:
    case = await case_for(session, user, case_id)
    if not access.is_supervisor_of(user, case.municipality_code):
        raise Forbidden(
            "Only a supervisor of the case's municipality reassigns cases.", reason="reassigned_by_supervisor"
        )
    if case.status not in ACTIVE_STATUSES:
        raise Conflict(
            f"A case in state '{case.status}' is not worked any more; reopen it first.",
            reason="case_not_worked",
            params={"current": case.status},
        )
    target = await repository.get_worker(session, worker)
    codes = (await repository.worker_municipalities(session, [worker])).get(worker, [])
    if target is None or case.municipality_code not in codes:
        raise Invalid(
            f"{worker} is not a worker of municipality {case.municipality_code}.",
            reason="not_a_worker_here",
            params={"worker": worker, "from": case.municipality_code},
            details=[
                field_error(["body", "worker"], "Choose a worker of the case's municipality.", "choose_worker_here")
            ],
        )
    if not target.active:
        raise Conflict(
            f"{worker} is marked inactive (on leave or gone) and takes no cases.",
            reason="worker_inactive",
            params={"worker": worker},
        )
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
            reason="domains_not_assessed",
            details=[
                field_error(["body", "needs", d], "This domain is not assessed.", "domain_not_assessed")
                for d in missing
            ],
        )
    if case.status not in ACTIVE_STATUSES:
        raise Conflict(
            f"A case in state '{case.status}' is not assessed; reopen it first.",
            reason="case_not_worked",
            params={"current": case.status},
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
        events.append(await move_case(session, outbox, case, CaseStatus.assessment, actor=user.sub, now=now))
    if case.status == CaseStatus.assessment:
        events.append(await move_case(session, outbox, case, CaseStatus.plan, actor=user.sub, now=now))
    await session.flush()
    await outbox.add_many(session, events)
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
    scope = access.narrowed(access.case_scope(user), municipality)
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
    scope = access.narrowed(access.case_scope(user), municipality)
    today = date.today()
    rows = await repository.cases_up_for_review(
        session, municipalities=scope, viewer=access.restricted_viewer(user), today=today, limit=limit
    )
    return [(c, d, (today - d).days if d is not None and d < today else None) for c, d in rows]
