"""The individual plan on a case's page: its form, with actions added in the browser."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.cases import casework, plans, repository
from services.cases.schemas import PlanCreate
from services.cases.web import _forms
from services.cases.web._case_view import CaseWorkDep
from services.cases.web._pages import StaffPage, page
from shared.ui.i18n import N_
from shared.ui.templating import translator
from shared.web import SessionDep

router = APIRouter(include_in_schema=False)


@router.get("/plan-action-row", response_class=HTMLResponse)
async def plan_action_row(request: Request, user: StaffPage, session: SessionDep, case_id: uuid.UUID) -> HTMLResponse:
    """One more action for the plan form (htmx appends it)."""
    case = await casework.case_for(session, user, case_id)
    members = await repository.members_of(session, case.id)
    return page(
        request,
        "_action.html",
        user,
        action=_forms.empty_action(_forms.new_token(), user.sub),
        index=None,
        errors={},
        members=members,
        member_number={m.person_id: i + 1 for i, m in enumerate(members)},
    )


@router.post("/cases/{case_id}/plan", response_class=HTMLResponse)
async def plan_page(request: Request, case_id: uuid.UUID, work: CaseWorkDep) -> Response:
    form = _forms.read_plan(await request.form())
    data: PlanCreate | None = _forms.plan(form, translator(request))
    return await work.post(
        data,
        lambda data: plans.agree_plan(**work.by, case_id=case_id, data=data),
        done="plan",
        not_done=N_("The plan is not agreed: see the marked fields."),
        form=form,
        anchor="#plan",
    )
