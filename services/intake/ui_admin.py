"""Intake's pages for supervisors and administrators: duplicate review and merge, poverty lines, the audit log."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.intake import duplicates, poverty, privacy
from services.intake.schemas import MergeRequest
from services.intake.ui_common import AdminPage, SupervisorPage, WorkerPage, action, page
from shared.db import utcnow
from shared.errors import Conflict, Invalid
from shared.ui.templating import Message, translator
from shared.web import RuntimeDep, SessionDep

router = APIRouter(include_in_schema=False)


@router.get("/duplicates", response_class=HTMLResponse)
async def duplicates_page(request: Request, user: SupervisorPage, session: SessionDep, done: str = "") -> HTMLResponse:
    queue = await duplicates.review_queue(session=session, user=user, limit=100, offset=0, action=action(request))
    gettext = translator(request)
    messages = {
        "merged": [Message(gettext("The two records were merged."), "success")],
        "dismissed": [Message(gettext("The pair was marked as two different people."), "success")],
    }.get(done, [])
    return page(request, "duplicates.html", user, queue=queue, messages=messages)


@router.post("/duplicates/{duplicate_id}/merge")
async def merge_page(
    request: Request,
    duplicate_id: uuid.UUID,
    user: SupervisorPage,
    session: SessionDep,
    runtime: RuntimeDep,
    keep: Annotated[Literal["person", "other"], Form()],
    whole_household: Annotated[str, Form()] = "",
) -> Response:
    merge_request = MergeRequest(keep=keep, whole_household=whole_household == "yes")
    await duplicates.merge(
        session=session, outbox=runtime.outbox, duplicate_id=duplicate_id, request=merge_request, user=user
    )
    return RedirectResponse("/intake/duplicates?done=merged", status_code=303)


@router.post("/duplicates/{duplicate_id}/dismissal")
async def dismiss_page(duplicate_id: uuid.UUID, user: SupervisorPage, session: SessionDep) -> Response:
    await duplicates.dismiss(session=session, duplicate_id=duplicate_id, user=user)
    return RedirectResponse("/intake/duplicates?done=dismissed", status_code=303)


@router.get("/poverty-lines", response_class=HTMLResponse)
async def poverty_lines_page(request: Request, user: WorkerPage, session: SessionDep) -> HTMLResponse:
    lines = await poverty.poverty_lines(session=session)
    return page(request, "poverty_lines.html", user, lines=lines, year=utcnow().year, amount="", error=None)


@router.post("/poverty-lines", response_class=HTMLResponse)
async def set_poverty_line_page(
    request: Request,
    user: AdminPage,
    session: SessionDep,
    runtime: RuntimeDep,
    year: Annotated[str, Form()],
    amount: Annotated[str, Form()],
) -> HTMLResponse:
    gettext = translator(request)
    error = None
    try:
        year_value = int(year)
        amount_value = float(amount.replace(" ", "").replace(",", "."))
        if amount_value <= 0:
            raise ValueError
    except ValueError:
        error = gettext("Enter a year and a positive amount in dinars.")
    messages = []
    if error is None:
        try:
            change = await poverty.set_poverty_line(
                session=session, outbox=runtime.outbox, year=year_value, amount=amount_value, user=user
            )
        except (Invalid, Conflict) as exc:
            error = exc.message
        else:
            messages.append(
                Message(
                    gettext("Line saved. %(changed)s of %(total)s households changed their poverty status.")
                    % {"changed": change.households_changed, "total": change.households_recomputed},
                    "success",
                )
            )
    lines = await poverty.poverty_lines(session=session)
    return page(
        request,
        "poverty_lines.html",
        user,
        status_code=422 if error else 200,
        lines=lines,
        year=year,
        amount=amount if error else "",
        error=error,
        messages=messages,
    )


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(
    request: Request, user: SupervisorPage, session: SessionDep, record_id: str = "", actor: str = ""
) -> HTMLResponse:
    try:
        record = uuid.UUID(record_id) if record_id else None
    except ValueError:
        record = None
    entries = await privacy.audit_log(
        session=session,
        user=user,
        record_id=record,
        actor=actor or None,
        since=None,
        until=None,
        limit=200,
        offset=0,
    )
    return page(request, "audit.html", user, entries=entries, record_id=record_id, actor=actor)
