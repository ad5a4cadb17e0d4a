"""The poverty lines per year: everyone with a worker's role reads them, an administrator sets one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from services.intake import poverty
from services.intake.access import AdminPage, WorkerPage
from services.intake.web import _labels as labels
from services.intake.web._common import page
from shared.db import utcnow
from shared.errors import DomainError
from shared.ui.formats import parse_whole_number
from shared.ui.templating import Message, translator
from shared.web import RuntimeDep, SessionDep

router = APIRouter()


@router.get("/poverty-lines", response_class=HTMLResponse)
async def poverty_lines_page(request: Request, user: WorkerPage, session: SessionDep) -> HTMLResponse:
    lines = await poverty.poverty_lines(session=session)
    return page(request, "poverty_lines.html", user, lines=lines, year=utcnow().year, amount="", error=None)


def _amount(text: str) -> float | None:
    """A positive amount in dinars, with a decimal comma or point and spaces between thousands."""
    try:
        amount = float(text.replace(" ", "").replace(",", "."))
    except ValueError:
        return None
    return amount if amount > 0 else None


@router.post("/poverty-lines", response_class=HTMLResponse)
async def set_poverty_line_page(
    request: Request,
    user: AdminPage,
    session: SessionDep,
    runtime: RuntimeDep,
    year: Annotated[str, Form()],
    amount: Annotated[str, Form()],
) -> HTMLResponse:
    """The page again, with the line saved and how many households it moved, or with why not (a 422)."""
    gettext = translator(request)
    error = None
    messages = []
    year_value, amount_value = parse_whole_number(year), _amount(amount)
    if year_value is None or amount_value is None:
        error = gettext("Enter a year and a positive amount in dinars.")
    else:
        try:
            async with session.begin_nested():  # a refusal undoes only the change; the lines are still read
                change = await poverty.set_poverty_line(
                    session=session, outbox=runtime.outbox, year=year_value, amount=amount_value, user=user
                )
        except DomainError as exc:
            error = labels.REFUSALS.error_text(exc, gettext)
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
