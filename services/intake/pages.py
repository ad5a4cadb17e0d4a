"""Intake's pages for case workers: search, register a household, household detail. Thin: the same service
calls as the API, rendered with Jinja2 + htmx. Imports, duplicates, poverty lines and the audit log are in
``ui_admin``."""

from __future__ import annotations

import secrets
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from services.intake import domain, privacy, service, ui_admin, ui_forms, ui_imports
from services.intake import ui_labels as labels
from services.intake.schemas import ConsentChange
from services.intake.ui_common import WorkerPage, action, page
from shared.db import utcnow
from shared.errors import Conflict, Invalid
from shared.events.intake import Purpose
from shared.ui.templating import Message, translator
from shared.web import RuntimeDep, SessionDep

router = APIRouter(include_in_schema=False)


# --- search ---------------------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
async def search_page(
    request: Request, user: WorkerPage, session: SessionDep, q: str = "", municipality: str = "", offset: int = 0
) -> HTMLResponse:
    code = municipality or None
    results = await service.search(
        session=session,
        user=user,
        query=q[:200],
        municipality=code,
        limit=25,
        offset=max(offset, 0),
        action=action(request),
    )
    return page(request, "search.html", user, q=q, municipality=municipality, results=results, offset=offset)


# --- register -------------------------------------------------------------------------------------------------


def _new_token() -> str:
    return secrets.token_hex(3)


@router.get("/households/new", response_class=HTMLResponse)
async def new_household_page(request: Request, user: WorkerPage) -> HTMLResponse:
    first = ui_forms.empty_member(_new_token())
    first["relation"] = "head"
    codes = sorted(user.municipalities)
    form = ui_forms.HouseholdForm(
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
    member = ui_forms.empty_member(_new_token())
    return page(request, "_member.html", user, member=member, errors={}, number=None)


@router.post("/households/check-jmbg", response_class=HTMLResponse)
async def check_jmbg(request: Request, user: WorkerPage) -> HTMLResponse:
    """Inline validation of one member's JMBG against the birth date and sex typed so far."""
    form = await request.form()
    token = str(form.get("token", ""))
    jmbg = str(form.get(f"members-{token}-jmbg", "")).strip()
    birth = ui_forms.parse_date(str(form.get(f"members-{token}-birth_date", "")))
    sex = str(form.get(f"members-{token}-sex", ""))
    gettext = translator(request)
    message = ""
    if jmbg and not (len(jmbg) == 13 and jmbg.isascii() and jmbg.isdigit()):
        message = labels.error_text("jmbg_length", gettext)
    elif jmbg:
        if birth is None or sex not in {"F", "M"}:
            problem = domain.check_jmbg(jmbg, birth_date=domain.jmbg_birth_date(jmbg) or utcnow().date(), sex="F")
            if problem is not None and problem.code in {"length", "check_digit", "date"}:
                message = labels.error_text(f"jmbg_{problem.code}", gettext)
        else:
            from datetime import date

            problem = domain.check_jmbg(jmbg, birth_date=date.fromisoformat(birth), sex=sex)  # type: ignore[arg-type]
            if problem is not None:
                message = labels.error_text(f"jmbg_{problem.code}", gettext, dict(problem.params))
    return HTMLResponse(f'<p class="field__error">{_escape(message)}</p>' if message else "")


def _escape(text: str) -> str:
    from html import escape

    return escape(text)


@router.post("/households/new", response_class=HTMLResponse)
async def register_household_page(
    request: Request, user: WorkerPage, session: SessionDep, runtime: RuntimeDep
) -> Response:
    gettext = translator(request)
    form = ui_forms.read_form(await request.form())
    payload = ui_forms.to_payload(form, gettext)
    data = ui_forms.validate(form, payload, gettext) if payload is not None else None
    if data is not None:
        try:
            registered = await service.register_household(session=session, outbox=runtime.outbox, data=data, user=user)
        except Invalid as exc:
            await session.rollback()
            for problem in exc.details or []:
                kind = problem.get("type", "invalid")
                if problem.get("msg", "").startswith("unknown municipality"):
                    kind = "unknown_municipality"
                place_params = problem.get("ctx", {})
                ui_forms.place_error(form, list(problem.get("loc", [])), kind, gettext, place_params)
            if not exc.details:
                form.form_errors.append(exc.message)
        except Conflict as exc:
            await session.rollback()
            existing = (exc.details or {}).get("existing_household_id")
            form.form_errors.append(gettext("A person with this JMBG is already registered."))
            if existing:
                form.values["existing_household_id"] = existing
        except HTTPException as exc:
            await session.rollback()
            if exc.status_code != 403:
                raise
            form.errors["municipality_code"] = gettext("You do not work for this municipality.")
        else:
            return RedirectResponse(f"/intake/households/{registered.household.id}?registered=1", status_code=303)
    return page(request, "household_form.html", user, status_code=422, form=form)


# --- household detail -----------------------------------------------------------------------------------------


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


router.include_router(ui_admin.router)
router.include_router(ui_imports.router)
