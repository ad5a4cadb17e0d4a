"""Registering a household (the form, its member rows, the inline JMBG check), the household's page, and the
consent and erasure buttons on it."""

from __future__ import annotations

import secrets
import uuid
from datetime import date
from html import escape
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.intake import domain, privacy, service
from services.intake.access import WorkerPage
from services.intake.schemas import ConsentChange, HouseholdCreate
from services.intake.web import _forms
from services.intake.web import _labels as labels
from services.intake.web._common import action, page
from shared.db import utcnow
from shared.errors import Conflict, Forbidden
from shared.events.intake import Purpose
from shared.ui.formats import parse_date
from shared.ui.forms import Form as PageForm
from shared.ui.forms import form_text, post_form
from shared.ui.templating import Message, translator
from shared.web import RuntimeDep, SessionDep

router = APIRouter()


def _new_token() -> str:
    return secrets.token_hex(3)


@router.get("/households/new", response_class=HTMLResponse)
async def new_household_page(request: Request, user: WorkerPage) -> HTMLResponse:
    first = _forms.empty_member(_new_token())
    first["relation"] = "head"
    codes = sorted(user.municipalities)
    form = _forms.HouseholdForm(
        values={
            "municipality_code": codes[0] if len(codes) == 1 else "",
            "settlement": "",
            "address": "",
            "housing_type": "",
            "housing_problems": [],
            "incomes": {},
        },
        members=[first],
    )
    return page(request, "household_form.html", user, form=form)


@router.get("/households/member-row", response_class=HTMLResponse)
async def member_row(request: Request, user: WorkerPage) -> HTMLResponse:
    """One more member fieldset for the registration form (htmx appends it)."""
    member = _forms.empty_member(_new_token())
    return page(request, "_member.html", user, member=member, errors={}, number=None)


@router.post("/households/check-jmbg", response_class=HTMLResponse)
async def check_jmbg(request: Request, user: WorkerPage) -> HTMLResponse:
    """Inline validation of one member's JMBG against the birth date and sex typed so far."""
    data = await request.form()
    token = str(data.get("token", ""))
    jmbg = form_text(data, f"members-{token}-jmbg")
    birth = parse_date(str(data.get(f"members-{token}-birth_date", "")))
    sex = str(data.get(f"members-{token}-sex", ""))
    translate = translator(request)
    message = ""
    if jmbg and not (len(jmbg) == 13 and jmbg.isascii() and jmbg.isdigit()):
        message = labels.REFUSALS.say("jmbg_length", None, translate)
    elif jmbg:
        if birth is None or sex not in {"F", "M"}:
            problem = domain.check_jmbg(jmbg, birth_date=domain.jmbg_birth_date(jmbg) or utcnow().date(), sex="F")
            if problem is not None and problem.code in {"length", "check_digit", "date"}:
                message = labels.REFUSALS.say(f"jmbg_{problem.code}", None, translate)
        else:
            problem = domain.check_jmbg(jmbg, birth_date=date.fromisoformat(birth), sex=sex)  # type: ignore[arg-type]
            if problem is not None:
                message = labels.REFUSALS.say(f"jmbg_{problem.code}", dict(problem.params), translate)
    return HTMLResponse(f'<p class="field__error">{escape(message)}</p>' if message else "")


@router.post("/households/new", response_class=HTMLResponse)
async def register_household_page(
    request: Request, user: WorkerPage, session: SessionDep, runtime: RuntimeDep
) -> Response:
    translate = translator(request)
    form = _forms.read_form(await request.form())
    payload = _forms.to_payload(form, translate)
    data = _forms.validate(form, payload, translate) if payload is not None else None

    async def register(data: HouseholdCreate) -> str:
        try:
            registered = await service.register_household(session=session, outbox=runtime.outbox, data=data, user=user)
        except Conflict as exc:
            if existing := (exc.details or {}).get("existing_household_id"):
                form.values["existing_household_id"] = existing
            raise
        except Forbidden as exc:
            if exc.reason == "municipality_not_yours":
                form.errors["municipality_code"] = labels.REFUSALS.error_text(exc, translate)
            raise
        return f"/intake/households/{registered.household.id}?registered=1"

    async def render(*, form: PageForm, status_code: int, messages: list[Message]) -> Response:
        assert isinstance(form, _forms.HouseholdForm)
        _forms.place_refusal_fields(form)
        if not (form.errors or form.form_errors):  # a refusal of no field: said above the form
            form.form_errors.extend(m.text for m in messages)
        return page(request, "household_form.html", user, status_code=422, form=form)

    return await post_form(
        request,
        session,
        form,
        data,
        command=register,
        render=render,
        refusals=labels.REFUSALS,
        not_done=labels.NOT_REGISTERED,
    )


@router.get("/households/{household_id}", response_class=HTMLResponse)
async def household_page(
    request: Request, household_id: uuid.UUID, user: WorkerPage, session: SessionDep, registered: int = 0
) -> HTMLResponse:
    household = await service.read_household(
        session=session, household_id=household_id, user=user, action=action(request)
    )
    gettext = translator(request)
    messages = [Message(gettext("The household is registered."), "success")] if registered else []
    return page(request, "household.html", user, household=household, messages=messages)


@router.post("/persons/{person_id}/consents")
async def change_consent_page(
    person_id: uuid.UUID,
    user: WorkerPage,
    session: SessionDep,
    runtime: RuntimeDep,
    purpose: Annotated[Purpose, Form()],
    granted: Annotated[Literal["yes", "no"], Form()],
) -> Response:
    change = ConsentChange(purpose=purpose, granted=granted == "yes")
    person = await privacy.change_consent(
        session=session, outbox=runtime.outbox, person_id=person_id, change=change, user=user
    )
    return RedirectResponse(f"/intake/households/{person.household_id}#person-{person.id}", status_code=303)


@router.post("/persons/{person_id}/erasure")
async def erase_person_page(
    person_id: uuid.UUID, user: WorkerPage, session: SessionDep, runtime: RuntimeDep
) -> Response:
    person = await privacy.erase_person(session=session, outbox=runtime.outbox, person_id=person_id, user=user)
    return RedirectResponse(f"/intake/households/{person.household_id}", status_code=303)
