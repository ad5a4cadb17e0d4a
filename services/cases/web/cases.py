"""The case list and a case's page."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.cases import caseload, casework
from services.cases.models import Case
from services.cases.web._case_view import case_view
from services.cases.web._pages import StaffPage, done_message, page, refusal
from shared.auth import Role, User
from shared.errors import DomainError
from shared.ui import vocabularies
from shared.ui.i18n import N_
from shared.ui.templating import Message
from shared.web import RuntimeDep, SessionDep

router = APIRouter(include_in_schema=False)

# What the case's page says after a form of case work went through (``?done=``).
DONE = {
    "status": N_("The case's status was changed."),
    "assessment": N_("The assessment is recorded."),
    "plan": N_("The plan is agreed."),
    "referral": N_("The referral is sent to the provider."),
    "cancelled": N_("The referral is cancelled."),
    "assigned": N_("The case is reassigned."),
    "transferred": N_("The case is transferred; the receiving office has a new case."),
}


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
        "status": status if status in vocabularies.CASE_STATES else "",
        "priority": priority if priority in vocabularies.PRIORITIES else "",
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


@router.get("/cases/{case_id}", response_class=HTMLResponse)
async def case_page(
    request: Request, case_id: uuid.UUID, user: StaffPage, session: SessionDep, runtime: RuntimeDep, done: str = ""
) -> HTMLResponse:
    return await case_view(
        request, user, session, runtime.settings.caseload_norm, case_id, messages=done_message(request, done, DONE)
    )
