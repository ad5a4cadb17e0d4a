"""A case's transfer to another municipality's office: the form and its post."""

from __future__ import annotations

import functools
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Form as Field
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from services.cases import casework, repository, transfers
from services.cases.schemas import TransferRequest
from services.cases.web._case_view import back_to_case
from services.cases.web._pages import StaffPage, page, refusals
from shared.auth import User
from shared.errors import NotFound
from shared.ui.forms import Form, post_form
from shared.ui.i18n import N_, language_for
from shared.ui.places import all_municipalities, municipality_name
from shared.ui.templating import Message, translator
from shared.web import RuntimeDep, SessionDep

router = APIRouter(include_in_schema=False)


async def _transfer_view(
    request: Request,
    user: User,
    session: Any,
    case_id: uuid.UUID,
    *,
    form: Form,
    status_code: int = 200,
    messages: list[Message] | None = None,
) -> HTMLResponse:
    case = await casework.case_for(session, user, case_id)
    language = language_for(request)
    choices = [(code, name) for code, name in all_municipalities(language) if code != case.municipality_code]
    agreements = await repository.list_agreements(session)
    partners = sorted(
        {code for a in agreements if case.municipality_code in a.municipalities for code in a.municipalities}
    )
    return page(
        request,
        "transfer.html",
        user,
        status_code=status_code,
        messages=messages or [],
        c=case,
        form=form,
        choices=choices,
        partners=[code for code in partners if code != case.municipality_code],
        partner_names=[municipality_name(code, language) for code in partners if code != case.municipality_code],
    )


@router.get("/cases/{case_id}/transfer", response_class=HTMLResponse)
async def transfer_form_page(
    request: Request, case_id: uuid.UUID, user: StaffPage, session: SessionDep
) -> HTMLResponse:
    form = Form({"to_municipality_code": "", "note": ""})
    return await _transfer_view(request, user, session, case_id, form=form)


@router.post("/cases/{case_id}/transfer", response_class=HTMLResponse)
async def transfer_page(
    request: Request,
    case_id: uuid.UUID,
    user: StaffPage,
    session: SessionDep,
    runtime: RuntimeDep,
    to_municipality_code: Annotated[str, Field()] = "",
    note: Annotated[str, Field()] = "",
) -> Response:
    form = Form({"to_municipality_code": to_municipality_code, "note": note})
    try:
        data = TransferRequest.model_validate({"to_municipality_code": to_municipality_code, "note": note or None})
    except ValidationError:  # the field is marked; the page has no line on top
        form.errors["to_municipality_code"] = translator(request)(N_("Choose a municipality from the list."))
        return await _transfer_view(request, user, session, case_id, form=form, status_code=422)

    async def hand_over(data: TransferRequest) -> str:
        await transfers.transfer(session=session, outbox=runtime.outbox, user=user, case_id=case_id, data=data)
        return back_to_case(case_id, "transferred")

    return await post_form(
        request,
        session,
        form,
        data,
        command=hand_over,
        render=functools.partial(_transfer_view, request, user, session, case_id),
        refusals=refusals(request),
        not_done="",
        reraise=(NotFound,),
    )
