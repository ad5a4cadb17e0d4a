"""The supervisor's caseload and the cases up for review."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.cases import caseload, casework
from services.cases.web._pages import StaffPage, SupervisorPage, municipality_code, page, refusal
from shared.errors import DomainError
from shared.ui.templating import Message
from shared.web import RuntimeDep, SessionDep

router = APIRouter(include_in_schema=False)


@router.get("/caseload", response_class=HTMLResponse)
async def caseload_page(
    request: Request, user: SupervisorPage, session: SessionDep, runtime: RuntimeDep, municipality: str = ""
) -> HTMLResponse:
    messages: list[Message] = []
    norm = runtime.settings.caseload_norm
    try:
        view = await caseload.caseload(
            session=session, user=user, municipality=municipality_code(municipality), norm=norm
        )
    except DomainError as exc:
        messages.append(refusal(request, exc))
        view = await caseload.caseload(session=session, user=user, municipality=None, norm=norm)
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


@router.get("/reviews", response_class=HTMLResponse)
async def reviews_page(request: Request, user: StaffPage, session: SessionDep, municipality: str = "") -> HTMLResponse:
    messages: list[Message] = []
    rows: list[Any] = []
    try:
        rows = await casework.reviews_due(session=session, user=user, municipality=municipality_code(municipality))
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
