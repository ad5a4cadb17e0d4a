"""Opportunities: the list (an employer's own, everyone's for staff), posting one in a forum, one opportunity with
its ranking and placements, and closing it."""

from __future__ import annotations

import functools
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.activation import opportunities as opportunity_service
from services.activation import repository
from services.activation.schemas import OpportunityCreate
from services.activation.web import _forms, _queries
from services.activation.web._common import (
    AnyPage,
    EmployerPage,
    done_message,
    is_employer,
    is_staff,
    page,
    refusal,
    refused_page,
    shown_or_refused,
    submit,
)
from services.activation.web._views import opportunity_view
from shared.auth import Role, User
from shared.errors import DomainError
from shared.ui.forms import Form
from shared.ui.i18n import N_, language_for
from shared.ui.places import all_municipalities, municipality_name
from shared.ui.templating import Message, translator
from shared.web import RuntimeDep, SessionDep

router = APIRouter(include_in_schema=False)


async def opportunities_view(
    request: Request,
    user: User,
    session: Any,
    *,
    status: str = "",
    municipality: str = "",
    status_code: int = 200,
    messages: list[Message] | None = None,
) -> HTMLResponse:
    status = status if status in {"published", "closed"} else ""
    municipality = municipality if len(municipality) == 5 and municipality.isdigit() else ""
    found = await opportunity_service.opportunities(
        session=session,
        user=user,
        municipality_code=municipality or None,
        forum_id=None,
        status=status or None,
        limit=200,
        offset=0,
    )
    placements = await repository.placements_of(session, [o.id for o in found])
    taken: dict[uuid.UUID, int] = {}
    for p in placements:
        if p.status in ("accepted", "started", "completed"):
            taken[p.opportunity_id] = taken.get(p.opportunity_id, 0) + 1
    return page(
        request,
        "opportunities.html",
        user,
        nav="opportunities",
        status_code=status_code,
        messages=messages or [],
        opportunities=found,
        taken=taken,
        organisation_names=await _queries.organisation_names(session, user),
        status=status,
        municipality=municipality,
        all_municipalities=all_municipalities(language_for(request)),
        own_only=is_employer(user) and not is_staff(user) and not user.has_role(Role.coordinator, Role.analyst),
    )


@router.get("/opportunities", response_class=HTMLResponse)
async def opportunities_page(
    request: Request, user: AnyPage, session: SessionDep, status: str = "", municipality: str = "", done: str = ""
) -> HTMLResponse:
    return await opportunities_view(
        request, user, session, status=status, municipality=municipality, messages=done_message(request, done)
    )


async def _opportunity_form_view(
    request: Request,
    user: User,
    session: Any,
    *,
    form: Form | None = None,
    status_code: int = 200,
    messages: list[Message] | None = None,
) -> HTMLResponse:
    forums = list(await repository.list_forums(session))
    if not user.has_role(Role.admin):
        member_of = await repository.forum_ids_of(session, user.organisation) if user.organisation else set()
        forums = [f for f in forums if f.id in member_of]
    form = form or _forms.empty_opportunity()
    if not form.values["forum_id"] and len(forums) == 1:
        form.values["forum_id"] = str(forums[0].id)
    codes = sorted({code for f in forums for code in f.municipalities})
    if not form.values["municipality_code"] and len(codes) == 1:
        form.values["municipality_code"] = codes[0]
    return page(
        request,
        "opportunity_form.html",
        user,
        nav="new",
        status_code=status_code,
        messages=messages or [],
        form=form,
        forums=forums,
        forum_options=[(str(f.id), f.name) for f in forums],
        forum_municipality_options=[(code, municipality_name(code, language_for(request))) for code in codes],
        registered=await _queries.own_organisation(session, user) is not None,
    )


@router.get("/opportunities/new", response_class=HTMLResponse)
async def new_opportunity_page(request: Request, user: EmployerPage, session: SessionDep) -> HTMLResponse:
    return await _opportunity_form_view(request, user, session)


@router.post("/opportunities", response_class=HTMLResponse)
async def publish_opportunity_page(
    request: Request, user: EmployerPage, session: SessionDep, runtime: RuntimeDep
) -> Response:
    form = _forms.read_opportunity(await request.form())

    async def publish(data: OpportunityCreate) -> str:
        found = await opportunity_service.publish_opportunity(
            session=session, outbox=runtime.outbox, data=data, user=user
        )
        return f"/activation/opportunities/{found.id}?done=published"

    data = _forms.opportunity(form, translator(request))
    render = functools.partial(_opportunity_form_view, request, user, session)
    not_done = N_("The opportunity is not published: see the marked fields.")
    return await submit(request, session, form, data, not_done=not_done, render=render, command=publish)


@router.get("/opportunities/{opportunity_id}", response_class=HTMLResponse)
async def opportunity_page(
    request: Request, opportunity_id: uuid.UUID, user: AnyPage, session: SessionDep, done: str = ""
) -> HTMLResponse:
    view = opportunity_view(request, user, session, opportunity_id, messages=done_message(request, done))
    return await shown_or_refused(request, user, view)


@router.post("/opportunities/{opportunity_id}/close", response_class=HTMLResponse)
async def close_opportunity_page(
    request: Request, opportunity_id: uuid.UUID, user: EmployerPage, session: SessionDep, runtime: RuntimeDep
) -> Response:
    try:
        async with session.begin_nested():
            await opportunity_service.close_opportunity(
                session=session, outbox=runtime.outbox, user=user, opportunity_id=opportunity_id
            )
    except DomainError as exc:
        try:
            return await opportunity_view(
                request, user, session, opportunity_id, status_code=exc.status_code, messages=[refusal(request, exc)]
            )
        except DomainError:
            return refused_page(request, user, exc)
    return RedirectResponse(f"/activation/opportunities/{opportunity_id}?done=closed", status_code=303)
