"""The registries cases keep: service providers and inter-municipal agreements."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from services.cases import registries, repository
from services.cases.web import _forms
from services.cases.web._pages import RegistryPage, SupervisorPage, done_message, municipality_code, page, refusals
from shared.auth import Role, User
from shared.ui.forms import Form, Render, post_form
from shared.ui.i18n import N_, language_for
from shared.ui.places import all_municipalities
from shared.ui.templating import Message, translator
from shared.web import RuntimeDep, SessionDep

router = APIRouter(include_in_schema=False)
M = TypeVar("M", bound=BaseModel)


async def _keep(
    request: Request,
    session: Any,
    form: Form,
    data: M | None,
    command: Callable[[M], Awaitable[object]],
    *,
    render: Render,
    done: str,
    not_done: str,
) -> Response:
    """A registry's form post: to ``done`` when kept, else the registry's page with the form as posted."""

    async def keep(parsed: M) -> str:
        await command(parsed)
        return done

    return await post_form(
        request, session, form, data, command=keep, render=render, refusals=refusals(request), not_done=not_done
    )


# --- providers ------------------------------------------------------------------------------------------------


def _empty_provider(user: User) -> Form:
    codes = sorted(user.municipalities)
    return Form(
        {
            "name": "",
            "service_type": "",
            "municipality_code": codes[0] if len(codes) == 1 else "",
            "capacity": "",
            "occupancy": "0",
            "accessible": False,
            "residential": False,
        }
    )


async def _providers_view(
    request: Request,
    user: User,
    session: Any,
    *,
    municipality: str = "",
    form: Form | None = None,
    status_code: int = 200,
    messages: list[Message] | None = None,
) -> HTMLResponse:
    rows = await registries.providers(
        session=session, municipality=municipality_code(municipality), service_type=None, include_inactive=True
    )
    return page(
        request,
        "providers.html",
        user,
        nav="providers",
        status_code=status_code,
        messages=messages or [],
        providers=rows,
        municipality=municipality,
        form=form or _empty_provider(user),
        can_keep=user.has_role(Role.supervisor, Role.admin),
        all_municipalities=all_municipalities(language_for(request)),
    )


@router.get("/providers", response_class=HTMLResponse)
async def providers_page(
    request: Request, user: RegistryPage, session: SessionDep, municipality: str = "", done: str = ""
) -> HTMLResponse:
    messages = done_message(request, done, {"registered": N_("The provider is registered.")})
    return await _providers_view(request, user, session, municipality=municipality, messages=messages)


@router.post("/providers", response_class=HTMLResponse)
async def register_provider_page(
    request: Request, user: SupervisorPage, session: SessionDep, runtime: RuntimeDep
) -> Response:
    form = _forms.read_provider(await request.form())
    return await _keep(
        request,
        session,
        form,
        _forms.provider(form, translator(request)),
        lambda data: registries.register_provider(session=session, outbox=runtime.outbox, user=user, data=data),
        render=functools.partial(_providers_view, request, user, session),
        done="/cases/providers?done=registered",
        not_done=N_("The provider is not registered: see the marked fields."),
    )


# --- agreements -----------------------------------------------------------------------------------------------


async def _agreements_view(
    request: Request,
    user: User,
    session: Any,
    *,
    form: Form | None = None,
    status_code: int = 200,
    messages: list[Message] | None = None,
) -> HTMLResponse:
    empty = {"name": "", "valid_from": "", "valid_to": "", "municipalities": [], "service_types": []}
    return page(
        request,
        "agreements.html",
        user,
        nav="agreements",
        status_code=status_code,
        messages=messages or [],
        agreements=await repository.list_agreements(session),
        form=form or Form(empty),
        can_keep=user.has_role(Role.supervisor, Role.admin),
        all_municipalities=all_municipalities(language_for(request)),
    )


@router.get("/agreements", response_class=HTMLResponse)
async def agreements_page(request: Request, user: RegistryPage, session: SessionDep, done: str = "") -> HTMLResponse:
    messages = done_message(request, done, {"recorded": N_("The agreement is recorded.")})
    return await _agreements_view(request, user, session, messages=messages)


@router.post("/agreements", response_class=HTMLResponse)
async def conclude_agreement_page(
    request: Request, user: SupervisorPage, session: SessionDep, runtime: RuntimeDep
) -> Response:
    form = _forms.read_agreement(await request.form())
    return await _keep(
        request,
        session,
        form,
        _forms.agreement(form, translator(request)),
        lambda data: registries.conclude_agreement(session=session, outbox=runtime.outbox, user=user, data=data),
        render=functools.partial(_agreements_view, request, user, session),
        done="/cases/agreements?done=recorded",
        not_done=N_("The agreement is not recorded: see the marked fields."),
    )
