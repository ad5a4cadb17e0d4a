"""Case work on a case's page: its status, the assessment and the reassignment."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from services.cases import casework
from services.cases.schemas import AssessmentCreate, Reassignment, StatusChange
from services.cases.web import _forms
from services.cases.web._case_view import CaseWorkDep
from shared.ui.i18n import N_
from shared.ui.templating import translator

router = APIRouter(include_in_schema=False)


@router.post("/cases/{case_id}/status", response_class=HTMLResponse)
async def change_status_page(
    case_id: uuid.UUID,
    work: CaseWorkDep,
    to: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    if to == "transferred":
        return RedirectResponse(f"/cases/cases/{case_id}/transfer", status_code=303)
    change: StatusChange | None
    try:
        change = StatusChange.model_validate({"to": to, "reason": reason or None, "note": note or None})
    except ValidationError:
        change = None
    return await work.post(
        change,
        lambda data: casework.change_status(**work.by, case_id=case_id, change=data),
        done="status",
        not_done=N_("Choose a state and, to close the case, a reason from the list."),
    )


@router.post("/cases/{case_id}/assessment", response_class=HTMLResponse)
async def assessment_page(request: Request, case_id: uuid.UUID, work: CaseWorkDep) -> Response:
    form = _forms.read_assessment(await request.form())
    data: AssessmentCreate | None = _forms.assessment(form, translator(request))
    return await work.post(
        data,
        lambda data: casework.record_assessment(**work.by, case_id=case_id, data=data),
        done="assessment",
        not_done=N_("The assessment is not recorded: see the marked fields."),
        form=form,
        anchor="#assessment",
    )


@router.post("/cases/{case_id}/assignment", response_class=HTMLResponse)
async def reassign_page(case_id: uuid.UUID, work: CaseWorkDep, worker: Annotated[str, Form()] = "") -> Response:
    # The posted worker as it came (not checked here): the service layer says whom the case may go to.
    return await work.post(
        Reassignment.model_construct(worker=worker),
        lambda data: casework.reassign(**work.by, case_id=case_id, worker=data.worker),
        done="assigned",
    )
