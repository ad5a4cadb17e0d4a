"""The individual plan: goals, actions, review date; work engagements go to activation."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases import repository
from services.cases.casework import case_for, move_case
from services.cases.domain import ACTIVATION_MARKERS, TRANSITIONS, CaseStatus
from services.cases.models import Case, Plan, PlanAction
from services.cases.schemas import PlanCreate
from services.cases.service import timeline_row
from shared.auth import User
from shared.db import utcnow
from shared.errors import Conflict, Invalid, field_error
from shared.events import ActivationRequestedV1, Availability, EventData, PlanAgreedV1
from shared.messaging.outbox import OutboxWriter


def _action_problems(data: PlanCreate, members: dict[uuid.UUID, Any]) -> list[dict[str, Any]]:
    problems = []
    for i, action in enumerate(data.actions):
        loc: list[str | int] = ["body", "actions", i]
        member = members.get(action.person_id) if action.person_id else None
        if action.person_id is not None and (member is None or not member.present):
            problems.append(
                field_error([*loc, "person_id"], "This person is not a member of the household.", "not_a_member")
            )
            continue
        if member is not None and member.erased:
            problems.append(field_error([*loc, "person_id"], "This person's data was erased.", "person_erased"))
        if action.kind == "service" and action.service_type is None:
            problems.append(field_error([*loc, "service_type"], "Say which service.", "service_missing"))
        if action.kind != "work_engagement":
            continue
        if member is None:
            problems.append(
                field_error(
                    [*loc, "person_id"], "Work engagement is for one member: choose who.", "engagement_needs_member"
                )
            )
            continue
        if member.able_to_work is not True:
            problems.append(
                field_error(
                    [*loc, "person_id"], "Intake does not record this member as able to work.", "not_able_to_work"
                )
            )
        if "activation" not in member.consents:
            problems.append(
                field_error(
                    [*loc, "person_id"],
                    "This member has not consented to activation (record it in intake).",
                    "no_activation_consent",
                )
            )
        for name in ("hours_per_week_min", "hours_per_week_max", "available_from"):
            if getattr(action, name) is None:
                problems.append(field_error([*loc, name], "Needed for a work engagement.", "needed_for_engagement"))
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
            reason="plan_needs_assessment",
            params={"current": case.status},
            details={"status": case.status, "allowed": [str(a) for a in TRANSITIONS[CaseStatus(case.status)]]},
        )
    today = date.today()
    problems = []
    if data.review_date <= today:
        problems.append(
            field_error(["body", "review_date"], "The review date must be in the future.", "review_date_not_future")
        )
    if any(not g.strip() for g in data.goals):
        problems.append(field_error(["body", "goals"], "A goal cannot be empty.", "empty_goal"))
    members = {m.person_id: m for m in await repository.members_of(session, case.id, present_only=False)}
    problems += _action_problems(data, members)
    if problems:
        raise Invalid("The plan is not complete.", reason="plan_incomplete", details=problems)

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
        events.append(await move_case(session, outbox, case, CaseStatus.active, actor=user.sub, now=now))
    await repository.update_case(session, case.id, updated_at=now)
    await session.flush()
    await outbox.add_many(session, events)
    await session.refresh(case)
    return case


def activation_request(case: Case, member: Any, action: Any, request_id: uuid.UUID, now: datetime) -> EventData:
    """The candidate profile activation matches on: no name, no JMBG, no address, no free text."""
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
        markers=[m for m in member.markers if m in ACTIVATION_MARKERS],
        below_poverty_line=case.below_poverty_line,
        unemployed_since=action.unemployed_since,
        availability=Availability(
            hours_per_week_min=action.hours_per_week_min,
            hours_per_week_max=action.hours_per_week_max,
            available_from=action.available_from,
        ),
        requested_at=now,
    )
