"""Activation's pages for placements: proposing a candidate, the placements a user answers for, and every step of a
placement (the employer's and the candidate's yes or no, start, monthly hours, completion, an early end)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.activation import placements, proposals
from services.activation.schemas import DeclineIn, EndIn
from services.activation.web import _forms
from services.activation.web._common import (
    PartyPage,
    StaffPage,
    back_path,
    done_message,
    field_errors,
    refusal,
    refused_page,
    with_query,
)
from services.activation.web._views import candidate_view, opportunity_view, placements_view
from shared.auth import User
from shared.errors import DomainError, Invalid, NotFound
from shared.messaging.outbox import OutboxWriter
from shared.ui import forms
from shared.ui.templating import translator
from shared.web import RuntimeDep, SessionDep

router = APIRouter(include_in_schema=False)

_OPPORTUNITY = re.compile(r"^/activation/opportunities/([0-9a-f-]{36})$")
_CANDIDATE = re.compile(r"^/activation/candidates/([0-9a-f-]{36})$")


@router.get("/placements", response_class=HTMLResponse)
async def placements_page(
    request: Request, user: PartyPage, session: SessionDep, show: str = "", done: str = ""
) -> HTMLResponse:
    return await placements_view(request, user, session, show=show, messages=done_message(request, done))


async def _again(
    request: Request,
    user: User,
    session: Any,
    back: str,
    exc: DomainError,
    hour_forms: dict[str, forms.Form] | None = None,
) -> HTMLResponse:
    """The page the form was on, again, with the refusal on top (and on the fields it names)."""
    messages = [refusal(request, exc)]
    path, _, query = back.partition("?")
    try:
        for pattern, view in ((_OPPORTUNITY, opportunity_view), (_CANDIDATE, candidate_view)):
            if match := pattern.match(path):
                return await view(
                    request,
                    user,
                    session,
                    uuid.UUID(match.group(1)),
                    status_code=exc.status_code,
                    messages=messages,
                    hour_forms=hour_forms,
                )
        show = query.removeprefix("show=") if query.startswith("show=") else ""
        return await placements_view(
            request, user, session, show=show, status_code=exc.status_code, messages=messages, hour_forms=hour_forms
        )
    except DomainError:  # the page itself is not the user's to see any more
        return refused_page(request, user, exc)


async def _attempt(
    request: Request,
    user: User,
    session: Any,
    back: str,
    done: str,
    command: Callable[[], Awaitable[object]],
    hour_forms: dict[str, forms.Form] | None = None,
) -> Response:
    """Run a button's command; back to the page it was on, or that page with the refusal. A savepoint lets a
    refusal undo only the command, so the page can still be read in the same transaction."""
    back = back_path(back, "/activation/placements")
    try:
        async with session.begin_nested():
            await command()
    except DomainError as exc:
        if hour_forms:
            for form in hour_forms.values():
                form.errors.update(field_errors(request, exc))
        return await _again(request, user, session, back, exc, hour_forms)
    return RedirectResponse(with_query(back, done=done), status_code=303)


@router.post("/opportunities/{opportunity_id}/proposals", response_class=HTMLResponse)
async def propose_page(
    request: Request,
    opportunity_id: uuid.UUID,
    user: StaffPage,
    session: SessionDep,
    runtime: RuntimeDep,
    person_id: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    try:
        person = uuid.UUID(person_id)
    except ValueError:
        person = None

    async def propose() -> Any:
        if person is None:
            raise NotFound("No candidate.", reason="no_candidate")
        return await proposals.propose(
            session=session, outbox=runtime.outbox, user=user, opportunity_id=opportunity_id, person_id=person
        )

    return await _attempt(
        request, user, session, back or f"/activation/opportunities/{opportunity_id}", "proposed", propose
    )


@dataclass(frozen=True)
class Step:
    """A button pressed on a placement: by whom, on which one, and the page it was on."""

    request: Request
    user: User
    session: AsyncSession
    outbox: OutboxWriter
    placement_id: uuid.UUID
    back: str

    def acting(self) -> dict[str, Any]:
        """The arguments every step of ``placements`` takes."""
        return {"session": self.session, "outbox": self.outbox, "user": self.user, "placement_id": self.placement_id}

    async def attempt(
        self, done: str, command: Callable[[], Awaitable[object]], hour_forms: dict[str, forms.Form] | None = None
    ) -> Response:
        return await _attempt(self.request, self.user, self.session, self.back, done, command, hour_forms)


async def _step(
    request: Request,
    placement_id: uuid.UUID,
    user: PartyPage,
    session: SessionDep,
    runtime: RuntimeDep,
    back: Annotated[str, Form()] = "",
) -> Step:
    return Step(request, user, session, runtime.outbox, placement_id, back)


StepDep = Annotated[Step, Depends(_step)]


def _side(party: str) -> str:
    return party if party in ("employer", "candidate") else "employer"


@router.post("/placements/{placement_id}/accept", response_class=HTMLResponse)
async def accept_page(step: StepDep, party: Annotated[str, Form()] = "") -> Response:
    side = _side(party)
    return await step.attempt(f"{side}_accept", lambda: placements.accept(**step.acting(), party=side))


@router.post("/placements/{placement_id}/decline", response_class=HTMLResponse)
async def decline_page(
    step: StepDep, party: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = ""
) -> Response:
    async def decline() -> object:
        try:
            data = DeclineIn.model_validate({"party": party, "reason": reason})
        except ValidationError:
            raise Invalid("Choose a reason.", reason="reason_missing", details=[]) from None
        return await placements.decline(**step.acting(), party=data.party, reason=data.reason)

    return await step.attempt(f"{_side(party)}_decline", decline)


@router.post("/placements/{placement_id}/start", response_class=HTMLResponse)
async def start_page(step: StepDep) -> Response:
    return await step.attempt("start", lambda: placements.start(**step.acting()))


@router.post("/placements/{placement_id}/hours", response_class=HTMLResponse)
async def hours_page(step: StepDep, month: Annotated[str, Form()] = "", hours: Annotated[str, Form()] = "") -> Response:
    data, errors = _forms.hours(month, hours, translator(step.request))
    hour_forms = {str(step.placement_id): forms.Form({"month": month, "hours": hours}, errors)}
    if data is None:
        # The form's own refusal: the page says "The hours are not recorded: see the marked fields."
        exc = Invalid("The hours are not valid.", reason="hours_not_recorded", details=[])
        back = back_path(step.back, "/activation/placements")
        return await _again(step.request, step.user, step.session, back, exc, hour_forms)
    parsed = data
    return await step.attempt(
        "hours",
        lambda: placements.record_hours(**step.acting(), month=parsed.month, hours=parsed.hours),
        hour_forms=hour_forms,
    )


@router.post("/placements/{placement_id}/complete", response_class=HTMLResponse)
async def complete_page(step: StepDep) -> Response:
    return await step.attempt("complete", lambda: placements.finish(**step.acting(), completed=True))


@router.post("/placements/{placement_id}/end", response_class=HTMLResponse)
async def end_page(step: StepDep, reason: Annotated[str, Form()] = "") -> Response:
    async def end() -> object:
        try:
            data = EndIn.model_validate({"reason": reason})
        except ValidationError:
            raise Invalid("Say why the placement ended early.", reason="end_reason_missing", details=[]) from None
        return await placements.finish(**step.acting(), completed=False, reason=data.reason)

    return await step.attempt("end", end)
