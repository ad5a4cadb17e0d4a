"""The case worker's candidates: the list of their municipalities' candidates, and one candidate with their best
opportunities and placements."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.activation import candidates as candidate_service
from services.activation.web._common import StaffPage, done_message, page, refusal, shown_or_refused
from services.activation.web._views import candidate_view
from shared.auth import User
from shared.errors import DomainError
from shared.ui.i18n import language_for
from shared.ui.places import municipality_name
from shared.ui.templating import Message
from shared.web import SessionDep

router = APIRouter(include_in_schema=False)


async def candidates_view(
    request: Request,
    user: User,
    session: Any,
    *,
    municipality: str = "",
    status_code: int = 200,
    messages: list[Message] | None = None,
) -> HTMLResponse:
    municipality = municipality if len(municipality) == 5 and municipality.isdigit() else ""
    language = language_for(request)
    messages = list(messages or [])
    found: list[Any] = []
    try:
        found = list(
            await candidate_service.candidates(
                session=session, user=user, municipality_code=municipality or None, limit=500, offset=0
            )
        )
    except DomainError as exc:
        messages.append(refusal(request, exc))
        status_code = exc.status_code
    return page(
        request,
        "candidates.html",
        user,
        nav="candidates",
        status_code=status_code,
        messages=messages,
        candidates=found,
        municipality=municipality,
        my_municipalities=sorted(user.municipalities),
        my_municipality_options=[(code, municipality_name(code, language)) for code in sorted(user.municipalities)],
    )


@router.get("/candidates", response_class=HTMLResponse)
async def candidates_page(
    request: Request, user: StaffPage, session: SessionDep, municipality: str = "", done: str = ""
) -> HTMLResponse:
    return await candidates_view(
        request, user, session, municipality=municipality, messages=done_message(request, done)
    )


@router.get("/candidates/{person_id}", response_class=HTMLResponse)
async def candidate_page(
    request: Request, person_id: uuid.UUID, user: StaffPage, session: SessionDep, done: str = ""
) -> HTMLResponse:
    view = candidate_view(request, user, session, person_id, messages=done_message(request, done))
    return await shown_or_refused(request, user, view)
