"""The employer's organisation: registering (or correcting) it and joining the forums it takes part in."""

from __future__ import annotations

import functools
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.activation import forums as forum_service
from services.activation import repository
from services.activation.schemas import OrganisationIn
from services.activation.web import _forms, _queries
from services.activation.web._common import EmployerPage, done_message, page, refusal, submit
from shared.auth import User
from shared.errors import DomainError
from shared.ui.forms import Form
from shared.ui.i18n import N_, language_for
from shared.ui.places import all_municipalities
from shared.ui.templating import Message, translator
from shared.web import SessionDep

router = APIRouter(include_in_schema=False)


async def organisation_view(
    request: Request,
    user: User,
    session: Any,
    *,
    form: Form | None = None,
    status_code: int = 200,
    messages: list[Message] | None = None,
) -> HTMLResponse:
    found = await _queries.own_organisation(session, user)
    if form is None:
        values = {"name": "", "kind": "", "municipality_code": ""}
        if found is not None:
            values = {"name": found.name, "kind": found.kind, "municipality_code": found.municipality_code}
        elif len(user.municipalities) == 1:
            values["municipality_code"] = next(iter(user.municipalities))
        form = Form(values)
    member_of = await repository.forum_ids_of(session, found.id) if found else set()
    return page(
        request,
        "organisation.html",
        user,
        nav="organisation",
        status_code=status_code,
        messages=messages or [],
        organisation=found,
        organisation_id=user.organisation,
        form=form,
        forums=await repository.list_forums(session),
        member_of=member_of,
        all_municipalities=all_municipalities(language_for(request)),
    )


@router.get("/organisation", response_class=HTMLResponse)
async def organisation_page(request: Request, user: EmployerPage, session: SessionDep, done: str = "") -> HTMLResponse:
    return await organisation_view(request, user, session, messages=done_message(request, done))


@router.post("/organisation", response_class=HTMLResponse)
async def register_organisation_page(request: Request, user: EmployerPage, session: SessionDep) -> Response:
    form = _forms.read_organisation(await request.form())

    async def register(data: OrganisationIn) -> str:
        await forum_service.register_organisation(
            session=session, user=user, organisation_id=user.organisation or "", data=data
        )
        return "/activation/organisation?done=registered"

    data = _forms.organisation(form, translator(request))
    render = functools.partial(organisation_view, request, user, session)
    not_done = N_("The organisation is not registered: see the marked fields.")
    return await submit(request, session, form, data, not_done=not_done, render=render, command=register)


@router.post("/forums/{forum_id}/join", response_class=HTMLResponse)
async def join_forum_page(request: Request, forum_id: uuid.UUID, user: EmployerPage, session: SessionDep) -> Response:
    try:
        async with session.begin_nested():
            await forum_service.join_forum(
                session=session, user=user, forum_id=forum_id, organisation_id=user.organisation or ""
            )
    except DomainError as exc:
        return await organisation_view(
            request, user, session, status_code=exc.status_code, messages=[refusal(request, exc)]
        )
    return RedirectResponse("/activation/organisation?done=joined", status_code=303)
