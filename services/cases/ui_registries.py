"""Cases' pages beyond one case: the supervisor's caseload, reviews due, the provider and agreement registries and
the referrals that reach the providers of the user's municipalities."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from services.cases import caseload, casework, referrals, repository, ui_forms
from services.cases.schemas import ReferralDecision
from services.cases.ui_common import (
    RegistryPage,
    StaffPage,
    SupervisorPage,
    all_municipalities,
    field_errors,
    page,
    refusal,
)
from shared.auth import Role, User
from shared.errors import DomainError
from shared.ui.i18n import language_for
from shared.ui.templating import Message, translator
from shared.web import RuntimeDep, SessionDep

router = APIRouter(include_in_schema=False)


def _municipality(code: str) -> str | None:
    return code if len(code) == 5 and code.isdigit() else None


# --- caseload -------------------------------------------------------------------------------------------------


@router.get("/caseload", response_class=HTMLResponse)
async def caseload_page(
    request: Request, user: SupervisorPage, session: SessionDep, runtime: RuntimeDep, municipality: str = ""
) -> HTMLResponse:
    messages: list[Message] = []
    try:
        view = await caseload.caseload(
            session=session, user=user, municipality=_municipality(municipality), norm=runtime.settings.caseload_norm
        )
    except DomainError as exc:
        messages.append(refusal(request, exc))
        view = await caseload.caseload(
            session=session, user=user, municipality=None, norm=runtime.settings.caseload_norm
        )
        municipality = ""
    return page(
        request,
        "caseload.html",
        user,
        nav="caseload",
        status_code=403 if messages else 200,
        view=view,
        municipality=municipality,
        messages=messages,
    )


# --- reviews --------------------------------------------------------------------------------------------------


@router.get("/reviews", response_class=HTMLResponse)
async def reviews_page(request: Request, user: StaffPage, session: SessionDep, municipality: str = "") -> HTMLResponse:
    messages: list[Message] = []
    rows: list[Any] = []
    try:
        rows = await casework.reviews_due(session=session, user=user, municipality=_municipality(municipality))
    except DomainError as exc:
        messages.append(refusal(request, exc))
    return page(
        request,
        "reviews.html",
        user,
        nav="reviews",
        status_code=403 if messages else 200,
        rows=rows,
        municipality=municipality,
        messages=messages,
    )


# --- providers ------------------------------------------------------------------------------------------------


def _empty_provider(user: User) -> ui_forms.Form:
    codes = sorted(user.municipalities)
    return ui_forms.Form(
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
    form: ui_forms.Form | None = None,
    status_code: int = 200,
    messages: list[Message] | None = None,
) -> HTMLResponse:
    rows = await referrals.providers(
        session=session, municipality=_municipality(municipality), service_type=None, include_inactive=True
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
    gettext = translator(request)
    messages = [Message(gettext("The provider is registered."), "success")] if done == "registered" else []
    return await _providers_view(request, user, session, municipality=municipality, messages=messages)


@router.post("/providers", response_class=HTMLResponse)
async def register_provider_page(
    request: Request, user: SupervisorPage, session: SessionDep, runtime: RuntimeDep
) -> Response:
    gettext = translator(request)
    form = ui_forms.read_provider(await request.form())
    data = ui_forms.provider(form, gettext)
    if data is not None:
        try:
            async with session.begin_nested():  # a refusal undoes only this, the page still reads
                await referrals.register_provider(session=session, outbox=runtime.outbox, user=user, data=data)
        except DomainError as exc:
            form.errors.update(field_errors(exc, gettext, language_for(request)))
            return await _providers_view(
                request, user, session, form=form, status_code=exc.status_code, messages=[refusal(request, exc)]
            )
        return RedirectResponse("/cases/providers?done=registered", status_code=303)
    message = Message(gettext("The provider is not registered: see the marked fields."), "error")
    return await _providers_view(request, user, session, form=form, status_code=422, messages=[message])


# --- agreements -----------------------------------------------------------------------------------------------


async def _agreements_view(
    request: Request,
    user: User,
    session: Any,
    *,
    form: ui_forms.Form | None = None,
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
        form=form or ui_forms.Form(empty),
        can_keep=user.has_role(Role.supervisor, Role.admin),
        all_municipalities=all_municipalities(language_for(request)),
    )


@router.get("/agreements", response_class=HTMLResponse)
async def agreements_page(request: Request, user: RegistryPage, session: SessionDep, done: str = "") -> HTMLResponse:
    gettext = translator(request)
    messages = [Message(gettext("The agreement is recorded."), "success")] if done == "recorded" else []
    return await _agreements_view(request, user, session, messages=messages)


@router.post("/agreements", response_class=HTMLResponse)
async def conclude_agreement_page(
    request: Request, user: SupervisorPage, session: SessionDep, runtime: RuntimeDep
) -> Response:
    gettext = translator(request)
    form = ui_forms.read_agreement(await request.form())
    data = ui_forms.agreement(form, gettext)
    if data is not None:
        try:
            async with session.begin_nested():  # a refusal undoes only this, the page still reads
                await referrals.conclude_agreement(session=session, outbox=runtime.outbox, user=user, data=data)
        except DomainError as exc:
            form.errors.update(field_errors(exc, gettext, language_for(request)))
            return await _agreements_view(
                request, user, session, form=form, status_code=exc.status_code, messages=[refusal(request, exc)]
            )
        return RedirectResponse("/cases/agreements?done=recorded", status_code=303)
    message = Message(gettext("The agreement is not recorded: see the marked fields."), "error")
    return await _agreements_view(request, user, session, form=form, status_code=422, messages=[message])


# --- incoming referrals ---------------------------------------------------------------------------------------


async def _inbox_view(
    request: Request,
    user: User,
    session: Any,
    *,
    status: str = "",
    status_code: int = 200,
    messages: list[Message] | None = None,
) -> HTMLResponse:
    known = status if status in {"requested", "accepted", "declined", "ended", "cancelled"} else ""
    rows = await referrals.inbox(session=session, user=user, status=known or None)
    registry = await referrals.providers(session=session, municipality=None, service_type=None, include_inactive=True)
    return page(
        request,
        "referrals.html",
        user,
        nav="referrals",
        status_code=status_code,
        messages=messages or [],
        referrals=rows,
        status=known,
        providers={p.id: p for p in registry},
        can_answer=user.has_role(Role.case_worker, Role.supervisor),
    )


@router.get("/referrals", response_class=HTMLResponse)
async def referrals_page(
    request: Request, user: StaffPage, session: SessionDep, status: str = "", done: str = ""
) -> HTMLResponse:
    gettext = translator(request)
    messages = [Message(gettext("The answer is recorded."), "success")] if done == "decided" else []
    return await _inbox_view(request, user, session, status=status, messages=messages)


@router.post("/referrals/{referral_id}/decision", response_class=HTMLResponse)
async def decide_referral_page(
    request: Request,
    referral_id: uuid.UUID,
    user: StaffPage,
    session: SessionDep,
    runtime: RuntimeDep,
    decision: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    gettext = translator(request)
    try:
        data = ReferralDecision.model_validate({"decision": decision, "reason": reason.strip() or None})
    except ValidationError:
        message = Message(gettext("Choose an answer from the list."), "error")
        return await _inbox_view(request, user, session, status_code=422, messages=[message])
    try:
        async with session.begin_nested():  # a refusal undoes only this, the page still reads
            await referrals.decide(
                session=session, outbox=runtime.outbox, user=user, referral_id=referral_id, data=data
            )
    except DomainError as exc:
        return await _inbox_view(request, user, session, status_code=exc.status_code, messages=[refusal(request, exc)])
    return RedirectResponse("/cases/referrals?done=decided", status_code=303)
