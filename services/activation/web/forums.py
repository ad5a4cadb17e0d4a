"""Activation's pages for forum coordinators: the forums with their municipalities, members and criteria, setting
one up, changing its criteria, recomputing the stored shortlists, and the fairness report per forum and per
opportunity (supervisors and analysts read it too)."""

from __future__ import annotations

import functools
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.activation import access, fairness, repository, service
from services.activation import forums as forum_service
from services.activation.schemas import CriteriaIn, ForumCreate
from services.activation.web import _forms, _queries
from services.activation.web._common import (
    CoordinatorPage,
    FiguresPage,
    ForumsPage,
    done_message,
    page,
    refused_page,
    shown_or_refused,
    submit,
)
from shared.auth import User
from shared.errors import DomainError
from shared.ui.forms import Form
from shared.ui.i18n import N_, language_for
from shared.ui.places import all_municipalities
from shared.ui.templating import Message, translator
from shared.web import RuntimeDep, SessionDep

router = APIRouter(include_in_schema=False)

# Under this a group's share at a stage, over its share among the eligible, is the usual warning line.
DISPARITY_WARNING = 0.8


def _empty_forum(user: User) -> Form:
    return Form({"name": "", "municipalities": sorted(user.municipalities), "criteria": _forms.criteria_values({})})


async def forums_view(
    request: Request,
    user: User,
    session: Any,
    *,
    form: Form | None = None,
    status_code: int = 200,
    messages: list[Message] | None = None,
) -> HTMLResponse:
    forums = list(await repository.list_forums(session))
    members = {f.id: access.visible_members(user, await repository.members_of(session, f.id)) for f in forums}
    return page(
        request,
        "forums.html",
        user,
        nav="forums",
        status_code=status_code,
        messages=messages or [],
        forums=forums,
        members=members,
        may_coordinate={f.id for f in forums if access.coordinates(user, f.municipalities)},
        may_see_figures={f.id for f in forums if access.may_see_forum_figures(user, f)},
        last_run=await repository.last_run(session),
        form=form or _empty_forum(user),
        all_municipalities=all_municipalities(language_for(request)),
    )


@router.get("/forums", response_class=HTMLResponse)
async def forums_page(request: Request, user: ForumsPage, session: SessionDep, done: str = "") -> HTMLResponse:
    return await forums_view(request, user, session, messages=done_message(request, done))


@router.post("/forums", response_class=HTMLResponse)
async def create_forum_page(request: Request, user: CoordinatorPage, session: SessionDep) -> Response:
    form = _forms.read_forum(await request.form())

    async def create(data: ForumCreate) -> str:
        found = await forum_service.create_forum(session=session, user=user, data=data)
        return f"/activation/forums/{found.id}?done=forum"

    data = _forms.forum(form, translator(request))
    render = functools.partial(forums_view, request, user, session)
    not_done = N_("The forum is not set up: see the marked fields.")
    return await submit(request, session, form, data, not_done=not_done, render=render, command=create)


@router.post("/shortlists/recompute", response_class=HTMLResponse)
async def recompute_page(user: CoordinatorPage, runtime: RuntimeDep) -> Response:
    await service.recompute_shortlists(runtime.sessions)
    return RedirectResponse("/activation/forums?done=recomputed", status_code=303)


# --- one forum ------------------------------------------------------------------------------------------------


async def _forum_view(
    request: Request,
    user: User,
    session: Any,
    forum_id: uuid.UUID,
    *,
    form: Form | None = None,
    status_code: int = 200,
    messages: list[Message] | None = None,
) -> HTMLResponse:
    found = await forum_service.forum(session=session, forum_id=forum_id)
    names = await _queries.organisation_names(session, user)
    opportunities = [
        o
        for o in await repository.list_opportunities(session, forum_id=found.id, limit=200)
        if access.may_see_opportunity(user, o)
    ]
    return page(
        request,
        "forum.html",
        user,
        nav="forums",
        status_code=status_code,
        messages=messages or [],
        forum=found,
        members=access.visible_members(user, await repository.members_of(session, found.id)),
        organisation_names=names,
        opportunities=opportunities,
        criteria=_forms.criteria_values(found.criteria),
        form=form or Form({"criteria": _forms.criteria_values(found.criteria)}),
        may_coordinate=access.coordinates(user, found.municipalities),
        may_see_figures=access.may_see_forum_figures(user, found),
    )


@router.get("/forums/{forum_id}", response_class=HTMLResponse)
async def forum_page(
    request: Request, forum_id: uuid.UUID, user: ForumsPage, session: SessionDep, done: str = ""
) -> HTMLResponse:
    view = _forum_view(request, user, session, forum_id, messages=done_message(request, done))
    return await shown_or_refused(request, user, view)


@router.post("/forums/{forum_id}/criteria", response_class=HTMLResponse)
async def criteria_page(request: Request, forum_id: uuid.UUID, user: CoordinatorPage, session: SessionDep) -> Response:
    form = Form({"criteria": _forms.read_criteria(await request.form())})

    async def save(data: CriteriaIn) -> str:
        await forum_service.set_criteria(session=session, user=user, forum_id=forum_id, data=data)
        return f"/activation/forums/{forum_id}?done=criteria"

    data = _forms.criteria(form, translator(request))
    try:
        render = functools.partial(_forum_view, request, user, session, forum_id)
        not_done = N_("The criteria are not saved: see the marked fields.")
        # The service names the criteria's own fields; the form nests them under "criteria.".
        return await submit(
            request, session, form, data, not_done=not_done, render=render, command=save, error_prefix="criteria."
        )
    except DomainError as exc:  # no such forum
        return refused_page(request, user, exc)


# --- fairness -------------------------------------------------------------------------------------------------


@router.get("/forums/{forum_id}/fairness", response_class=HTMLResponse)
async def fairness_page(
    request: Request, forum_id: uuid.UUID, user: FiguresPage, session: SessionDep, opportunity: str = ""
) -> HTMLResponse:
    try:
        chosen = uuid.UUID(opportunity) if opportunity else None
    except ValueError:
        chosen = None
    try:
        report = await fairness.fairness(session=session, user=user, forum_id=forum_id, opportunity_id=chosen)
    except DomainError as exc:
        return refused_page(request, user, exc)
    return page(
        request,
        "fairness.html",
        user,
        nav="forums",
        report=report,
        forum_id=forum_id,
        chosen=chosen,
        warning=DISPARITY_WARNING,
    )
