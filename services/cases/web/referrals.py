"""Referrals: sent and cancelled from a case's page, answered in the inbox of the providers' municipalities."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from services.cases import referrals, registries
from services.cases.schemas import ReferralCreate, ReferralDecision
from services.cases.web import _forms
from services.cases.web._case_view import CaseWorkDep
from services.cases.web._pages import StaffPage, done_message, page, refusals
from shared.auth import Role, User
from shared.ui import forms, vocabularies
from shared.ui.i18n import N_
from shared.ui.templating import Message, translator
from shared.web import RuntimeDep, SessionDep

router = APIRouter(include_in_schema=False)


# --- from the case --------------------------------------------------------------------------------------------


@router.post("/cases/{case_id}/referrals", response_class=HTMLResponse)
async def refer_page(request: Request, case_id: uuid.UUID, work: CaseWorkDep) -> Response:
    form = _forms.read_referral(await request.form())
    data: ReferralCreate | None = _forms.referral(form, translator(request))
    return await work.post(
        data,
        lambda data: referrals.refer(**work.by, case_id=case_id, data=data),
        done="referral",
        not_done=N_("The referral is not sent: see the marked fields."),
        form=form,
        anchor="#referrals",
    )


@router.post("/cases/{case_id}/referrals/{referral_id}/cancel", response_class=HTMLResponse)
async def cancel_referral_page(referral_id: uuid.UUID, work: CaseWorkDep) -> Response:
    return await work.post(
        ReferralDecision(decision="cancelled"),
        lambda data: referrals.decide(**work.by, referral_id=referral_id, data=data),
        done="cancelled",
        anchor="#referrals",
    )


# --- the providers' side --------------------------------------------------------------------------------------


async def _inbox_view(
    request: Request,
    user: User,
    session: Any,
    *,
    status: str = "",
    status_code: int = 200,
    messages: list[Message] | None = None,
) -> HTMLResponse:
    known = status if status in vocabularies.REFERRAL_STATUSES else ""
    rows = await referrals.inbox(session=session, user=user, status=known or None)
    registry = await registries.providers(session=session, municipality=None, service_type=None, include_inactive=True)
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
    messages = done_message(request, done, {"decided": N_("The answer is recorded.")})
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
    data: ReferralDecision | None
    try:
        data = ReferralDecision.model_validate({"decision": decision, "reason": reason.strip() or None})
    except ValidationError:
        data = None

    async def render(*, form: forms.Form, status_code: int, messages: list[Message]) -> Response:
        return await _inbox_view(request, user, session, status_code=status_code, messages=messages)

    async def answer(data: ReferralDecision) -> str:
        await referrals.decide(session=session, outbox=runtime.outbox, user=user, referral_id=referral_id, data=data)
        return "/cases/referrals?done=decided"

    return await forms.post_form(
        request,
        session,
        forms.Form({}),
        data,
        command=answer,
        render=render,
        refusals=refusals(request),
        not_done=N_("Choose an answer from the list."),
    )
