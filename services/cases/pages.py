"""Cases' pages for case workers and supervisors: the case list and a case's page with its case work (status,
assessment, plan, referrals, transfer, reassignment). Thin: the same service calls as the API, rendered with
Jinja2 + htmx; a refusal of the service layer is shown on the page as a message. The supervisor's caseload,
reviews, the registries and the referral inbox are in ``ui_registries``."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from services.cases import access, caseload, casework, plans, referrals, repository, transfers, ui_forms, ui_registries
from services.cases.domain import ACTIVE_STATUSES
from services.cases.models import Case
from services.cases.schemas import ReferralDecision, StatusChange, TransferRequest
from services.cases.ui_common import StaffPage, all_municipalities, field_errors, municipality_name, page, refusal
from shared.auth import Role, User
from shared.errors import DomainError, NotFound
from shared.ui.i18n import language_for
from shared.ui.templating import Message, translator
from shared.web import RuntimeDep, SessionDep

T = TypeVar("T")
router = APIRouter(include_in_schema=False)

STATUS_FILTERS = ("open", "assessment", "plan", "active", "closed", "transferred")
PRIORITY_FILTERS = ("urgent", "high", "medium", "low")


def _done_message(request: Request, done: str) -> list[Message]:
    gettext = translator(request)
    texts = {
        "status": gettext("The case's status was changed."),
        "assessment": gettext("The assessment is recorded."),
        "plan": gettext("The plan is agreed."),
        "referral": gettext("The referral is sent to the provider."),
        "cancelled": gettext("The referral is cancelled."),
        "assigned": gettext("The case is reassigned."),
        "transferred": gettext("The case is transferred; the receiving office has a new case."),
    }
    return [Message(texts[done], "success")] if done in texts else []


# --- the list -------------------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
async def case_list_page(
    request: Request,
    user: StaffPage,
    session: SessionDep,
    runtime: RuntimeDep,
    scope: str = "",
    status: str = "",
    priority: str = "",
    municipality: str = "",
    unassigned: str = "",
) -> HTMLResponse:
    """The worker's own cases by default; supervisors and administrators see all they may by default."""
    scope = scope if scope in {"mine", "all"} else ("mine" if Role.case_worker in user.roles else "all")
    filters = {
        "scope": scope,
        "status": status if status in STATUS_FILTERS else "",
        "priority": priority if priority in PRIORITY_FILTERS else "",
        "municipality": municipality,
        "unassigned": "yes" if unassigned == "yes" else "",
    }
    messages: list[Message] = []
    cases: list[Case] = []
    try:
        cases = list(
            await casework.visible_cases(
                session=session,
                user=user,
                status=filters["status"] or None,
                priority=filters["priority"] or None,
                mine=scope == "mine" and not filters["unassigned"],
                unassigned=bool(filters["unassigned"]),
                municipality=municipality or None,
                limit=200,
            )
        )
    except DomainError as exc:  # a municipality the user does not work for
        messages.append(refusal(request, exc))
    names = await _worker_names(session, user, runtime.settings.caseload_norm)
    up_for_review = {c.id for c, _, _ in await casework.reviews_due(session=session, user=user, municipality=None)}
    return page(
        request,
        "cases.html",
        user,
        status_code=403 if messages else 200,
        cases=cases,
        filters=filters,
        worker_names=names,
        up_for_review=up_for_review,
        messages=messages,
    )


async def _worker_names(session: Any, user: User, norm: int) -> dict[str, str]:
    return {
        w.sub: w.display_name
        for w in await caseload.list_workers(session=session, user=user, municipality=None, norm=norm)
    }


# --- one case -------------------------------------------------------------------------------------------------


def _can_work(user: User, case: Case) -> bool:
    try:
        access.ensure_can_work(user, case)
    except DomainError:
        return False
    return True


def _assessment_values(detail: Any) -> dict[str, Any]:
    latest = detail.assessments[0] if detail.assessments else None
    needs = {
        d: {"level": latest.needs[d].level if latest and d in latest.needs else "", "note": ""}
        for d in ("income", "employment", "housing", "health", "education", "care", "safety")
    }
    if latest is not None:
        for d, need in latest.needs.items():
            needs[d]["note"] = need.note or ""
    return {"needs": needs, "summary": ""}


def _plan_values(detail: Any, user: User) -> dict[str, Any]:
    plan = detail.plan
    if plan is None:
        return {"goals": "", "review_date": "", "actions": [ui_forms.empty_action(ui_forms.new_token(), user.sub)]}
    actions = []
    for a in plan.actions:
        action = {name: "" if getattr(a, name) is None else str(getattr(a, name)) for name in ui_forms.ACTION_FIELDS}
        actions.append({"token": ui_forms.new_token(), **action})
    return {"goals": "\n".join(plan.goals), "review_date": plan.review_date.isoformat(), "actions": actions}


async def case_view(
    request: Request,
    user: User,
    session: Any,
    norm: int,
    case_id: uuid.UUID,
    *,
    status_code: int = 200,
    messages: list[Message] | None = None,
    forms: dict[str, ui_forms.Form] | None = None,
) -> HTMLResponse:
    """The case's page: everything the API's case detail holds, the timeline and the forms of case work."""
    case = await casework.case_for(session, user, case_id)
    detail = await casework.case_detail(session, case)
    timeline = await repository.timeline(session, case.id)
    registry = await referrals.providers(session=session, municipality=None, service_type=None, include_inactive=True)
    workers = []
    if access.is_supervisor_of(user, case.municipality_code) and case.status in ACTIVE_STATUSES:
        workers = await caseload.list_workers(
            session=session, user=user, municipality=case.municipality_code, norm=norm
        )
    forms = dict(forms or {})
    forms.setdefault("assessment", ui_forms.Form(_assessment_values(detail)))
    forms.setdefault("plan", ui_forms.Form(_plan_values(detail, user)))
    forms.setdefault("referral", ui_forms.Form(dict.fromkeys(("provider_id", "person_id", "note", "legal_basis"), "")))
    return page(
        request,
        "case.html",
        user,
        status_code=status_code,
        messages=messages or [],
        detail=detail,
        c=detail.case,
        timeline=timeline,
        providers={p.id: p for p in registry},
        local_providers=[p for p in registry if p.active and p.municipality_code == case.municipality_code],
        other_providers=[p for p in registry if p.active and p.municipality_code != case.municipality_code],
        member_number={m.person_id: i + 1 for i, m in enumerate(detail.members)},
        worker_options=[(w.sub, f"{w.display_name} ({w.active_cases}/{w.norm})") for w in workers if w.active],
        can_work=_can_work(user, case),
        can_reassign=bool(workers),
        case_forms=forms,
    )


@router.get("/cases/{case_id}", response_class=HTMLResponse)
async def case_page(
    request: Request, case_id: uuid.UUID, user: StaffPage, session: SessionDep, runtime: RuntimeDep, done: str = ""
) -> HTMLResponse:
    return await case_view(
        request, user, session, runtime.settings.caseload_norm, case_id, messages=_done_message(request, done)
    )


def _back(case_id: uuid.UUID, done: str, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/cases/cases/{case_id}?done={done}{anchor}", status_code=303)


async def _refused(
    request: Request,
    exc: DomainError,
    user: User,
    session: Any,
    norm: int,
    case_id: uuid.UUID,
    forms: dict[str, ui_forms.Form] | None = None,
) -> HTMLResponse:
    """The case's page again with the refusal on top (and on the fields it names), in the refusal's status."""
    if isinstance(exc, NotFound):
        raise exc
    gettext = translator(request)
    for form in (forms or {}).values():
        for path, text in field_errors(exc, gettext, language_for(request)).items():
            form.errors.setdefault(path, text)
    return await case_view(
        request,
        user,
        session,
        norm,
        case_id,
        status_code=exc.status_code,
        messages=[refusal(request, exc)],
        forms=forms,
    )


async def _attempt(
    request: Request,
    user: User,
    session: Any,
    norm: int,
    case_id: uuid.UUID,
    command: Callable[[], Awaitable[object]],
    *,
    done: str,
    anchor: str = "",
    forms: dict[str, ui_forms.Form] | None = None,
) -> Response:
    """Run a form's command; back to the case on success, the case's page with the refusal otherwise. A savepoint
    lets a refusal undo only the command, so the page can still be read in the same transaction."""
    try:
        async with session.begin_nested():
            await command()
    except DomainError as exc:
        return await _refused(request, exc, user, session, norm, case_id, forms)
    return _back(case_id, done, anchor)


async def _submit(
    request: Request,
    user: User,
    session: Any,
    norm: int,
    case_id: uuid.UUID,
    *,
    name: str,
    form: ui_forms.Form,
    data: T | None,
    not_done: str,
    command: Callable[[T], Awaitable[object]],
    anchor: str,
) -> Response:
    """A case form: the case's page with the marked fields (422) when the form does not parse, else its command."""
    if data is None:
        message = Message(not_done, "error")
        return await case_view(
            request, user, session, norm, case_id, status_code=422, messages=[message], forms={name: form}
        )
    parsed = data
    return await _attempt(
        request, user, session, norm, case_id, lambda: command(parsed), done=name, anchor=anchor, forms={name: form}
    )


@router.post("/cases/{case_id}/status", response_class=HTMLResponse)
async def change_status_page(
    request: Request,
    case_id: uuid.UUID,
    user: StaffPage,
    session: SessionDep,
    runtime: RuntimeDep,
    to: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    norm = runtime.settings.caseload_norm
    if to == "transferred":
        return RedirectResponse(f"/cases/cases/{case_id}/transfer", status_code=303)
    try:
        change = StatusChange.model_validate({"to": to, "reason": reason or None, "note": note or None})
    except ValidationError:
        gettext = translator(request)
        message = Message(gettext("Choose a state and, to close the case, a reason from the list."), "error")
        return await case_view(request, user, session, norm, case_id, status_code=422, messages=[message])
    return await _attempt(
        request,
        user,
        session,
        norm,
        case_id,
        lambda: casework.change_status(
            session=session, outbox=runtime.outbox, user=user, case_id=case_id, change=change
        ),
        done="status",
    )


@router.post("/cases/{case_id}/assessment", response_class=HTMLResponse)
async def assessment_page(
    request: Request, case_id: uuid.UUID, user: StaffPage, session: SessionDep, runtime: RuntimeDep
) -> Response:
    gettext = translator(request)
    form = ui_forms.read_assessment(await request.form())
    return await _submit(
        request,
        user,
        session,
        runtime.settings.caseload_norm,
        case_id,
        name="assessment",
        form=form,
        data=ui_forms.assessment(form, gettext),
        not_done=gettext("The assessment is not recorded: see the marked fields."),
        command=lambda data: casework.record_assessment(
            session=session, outbox=runtime.outbox, user=user, case_id=case_id, data=data
        ),
        anchor="#assessment",
    )


@router.get("/plan-action-row", response_class=HTMLResponse)
async def plan_action_row(request: Request, user: StaffPage, session: SessionDep, case_id: uuid.UUID) -> HTMLResponse:
    """One more action for the plan form (htmx appends it)."""
    case = await casework.case_for(session, user, case_id)
    members = await repository.members_of(session, case.id)
    return page(
        request,
        "_action.html",
        user,
        action=ui_forms.empty_action(ui_forms.new_token(), user.sub),
        index=None,
        errors={},
        members=members,
        member_number={m.person_id: i + 1 for i, m in enumerate(members)},
    )


@router.post("/cases/{case_id}/plan", response_class=HTMLResponse)
async def plan_page(
    request: Request, case_id: uuid.UUID, user: StaffPage, session: SessionDep, runtime: RuntimeDep
) -> Response:
    gettext = translator(request)
    form = ui_forms.read_plan(await request.form())
    return await _submit(
        request,
        user,
        session,
        runtime.settings.caseload_norm,
        case_id,
        name="plan",
        form=form,
        data=ui_forms.plan(form, gettext),
        not_done=gettext("The plan is not agreed: see the marked fields."),
        command=lambda data: plans.agree_plan(
            session=session, outbox=runtime.outbox, user=user, case_id=case_id, data=data
        ),
        anchor="#plan",
    )


@router.post("/cases/{case_id}/referrals", response_class=HTMLResponse)
async def refer_page(
    request: Request, case_id: uuid.UUID, user: StaffPage, session: SessionDep, runtime: RuntimeDep
) -> Response:
    gettext = translator(request)
    form = ui_forms.read_referral(await request.form())
    return await _submit(
        request,
        user,
        session,
        runtime.settings.caseload_norm,
        case_id,
        name="referral",
        form=form,
        data=ui_forms.referral(form, gettext),
        not_done=gettext("The referral is not sent: see the marked fields."),
        command=lambda data: referrals.refer(
            session=session, outbox=runtime.outbox, user=user, case_id=case_id, data=data
        ),
        anchor="#referrals",
    )


@router.post("/cases/{case_id}/referrals/{referral_id}/cancel", response_class=HTMLResponse)
async def cancel_referral_page(
    request: Request,
    case_id: uuid.UUID,
    referral_id: uuid.UUID,
    user: StaffPage,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    return await _attempt(
        request,
        user,
        session,
        runtime.settings.caseload_norm,
        case_id,
        lambda: referrals.decide(
            session=session,
            outbox=runtime.outbox,
            user=user,
            referral_id=referral_id,
            data=ReferralDecision(decision="cancelled"),
        ),
        done="cancelled",
        anchor="#referrals",
    )


@router.post("/cases/{case_id}/assignment", response_class=HTMLResponse)
async def reassign_page(
    request: Request,
    case_id: uuid.UUID,
    user: StaffPage,
    session: SessionDep,
    runtime: RuntimeDep,
    worker: Annotated[str, Form()] = "",
) -> Response:
    return await _attempt(
        request,
        user,
        session,
        runtime.settings.caseload_norm,
        case_id,
        lambda: casework.reassign(session=session, outbox=runtime.outbox, user=user, case_id=case_id, worker=worker),
        done="assigned",
    )


# --- transfer -------------------------------------------------------------------------------------------------


async def _transfer_view(
    request: Request,
    user: User,
    session: Any,
    case_id: uuid.UUID,
    *,
    form: ui_forms.Form,
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
    form = ui_forms.Form({"to_municipality_code": "", "note": ""})
    return await _transfer_view(request, user, session, case_id, form=form)


@router.post("/cases/{case_id}/transfer", response_class=HTMLResponse)
async def transfer_page(
    request: Request,
    case_id: uuid.UUID,
    user: StaffPage,
    session: SessionDep,
    runtime: RuntimeDep,
    to_municipality_code: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    gettext = translator(request)
    form = ui_forms.Form({"to_municipality_code": to_municipality_code, "note": note})
    try:
        data = TransferRequest.model_validate({"to_municipality_code": to_municipality_code, "note": note or None})
    except ValidationError:
        form.errors["to_municipality_code"] = gettext("Choose a municipality from the list.")
        return await _transfer_view(request, user, session, case_id, form=form, status_code=422)
    try:
        async with session.begin_nested():  # a refusal undoes only this, the page still reads
            await transfers.transfer(session=session, outbox=runtime.outbox, user=user, case_id=case_id, data=data)
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        return await _transfer_view(
            request, user, session, case_id, form=form, status_code=exc.status_code, messages=[refusal(request, exc)]
        )
    return _back(case_id, "transferred")


router.include_router(ui_registries.router)
