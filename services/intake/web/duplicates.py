"""The supervisors' review of likely duplicates: the queue, merging a pair, dismissing it."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.intake import duplicates
from services.intake.access import SupervisorPage
from services.intake.schemas import MergeRequest
from services.intake.web._common import action, page
from shared.ui.templating import Message, translator
from shared.web import RuntimeDep, SessionDep

router = APIRouter()


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
