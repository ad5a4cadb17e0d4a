"""Activation's start page: each role starts where its work is."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.activation.web import _queries
from services.activation.web import candidates as candidate_pages
from services.activation.web import forums as forum_pages
from services.activation.web._common import AnyPage, done_message
from services.activation.web.opportunities import opportunities_view
from services.activation.web.organisation import organisation_view
from shared.auth import Role
from shared.web import SessionDep

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def start_page(request: Request, user: AnyPage, session: SessionDep, done: str = "") -> Response:
    """Each role starts where its work is: employers at their opportunities (or registering the organisation),
    case workers at their candidates, coordinators and analysts at the forums."""
    messages = done_message(request, done)
    if Role.employer in user.roles and not user.has_role(Role.admin):
        if await _queries.own_organisation(session, user) is None:
            return await organisation_view(request, user, session, messages=messages)
        return await opportunities_view(request, user, session, messages=messages)
    if user.has_role(Role.case_worker, Role.supervisor):
        return await candidate_pages.candidates_view(request, user, session, messages=messages)
    return await forum_pages.forums_view(request, user, session, messages=messages)
