"""The search page: households by a member's name (either script) or JMBG, in the worker's municipalities."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.intake import service
from services.intake.access import WorkerPage
from services.intake.web._common import action, page
from shared.web import SessionDep

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
async def search_page(
    request: Request, user: WorkerPage, session: SessionDep, q: str = "", municipality: str = "", offset: int = 0
) -> HTMLResponse:
    results = await service.search(
        session=session,
        user=user,
        query=q[:200],
        municipality=municipality or None,
        limit=25,
        offset=max(offset, 0),
        action=action(request),
    )
    return page(request, "search.html", user, q=q, municipality=municipality, results=results, offset=offset)
