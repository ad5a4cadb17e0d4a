"""What every activation page shares: the templates and their context (``shared.ui.pages`` and activation's own:
skills, roles, the checks' details), the role gates, refusals as messages in the page's language, and the form
post (``shared.ui.forms.post_form`` with activation's refusals)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from services.activation.web import _labels as labels
from shared.auth import Role, User
from shared.errors import DomainError
from shared.reference import skills
from shared.ui.access import require_page_role
from shared.ui.forms import Form, Render, post_form
from shared.ui.i18n import language_for
from shared.ui.login import local_path
from shared.ui.pages import Pages, base_context
from shared.ui.templating import Message, make_templates, translator

M = TypeVar("M", bound=BaseModel)

TEMPLATES = make_templates(Path(__file__).parent.parent / "templates")

ANY_ROLE = (Role.employer, Role.case_worker, Role.supervisor, Role.coordinator, Role.analyst, Role.admin)
AnyPage = Annotated[User, Depends(require_page_role(*ANY_ROLE))]
EmployerPage = Annotated[User, Depends(require_page_role(Role.employer, Role.admin))]
StaffPage = Annotated[User, Depends(require_page_role(Role.case_worker, Role.supervisor, Role.admin))]
PartyPage = Annotated[User, Depends(require_page_role(Role.employer, Role.case_worker, Role.supervisor, Role.admin))]
CoordinatorPage = Annotated[User, Depends(require_page_role(Role.coordinator, Role.admin))]
ForumsPage = Annotated[
    User, Depends(require_page_role(Role.coordinator, Role.supervisor, Role.analyst, Role.employer, Role.admin))
]
FiguresPage = Annotated[User, Depends(require_page_role(Role.coordinator, Role.supervisor, Role.analyst, Role.admin))]


def is_employer(user: User) -> bool:
    return user.has_role(Role.employer, Role.admin)


def is_staff(user: User) -> bool:
    return user.has_role(Role.case_worker, Role.supervisor, Role.admin)


def sees_rankings(user: User) -> bool:
    return user.has_role(Role.employer, Role.case_worker, Role.supervisor, Role.coordinator, Role.admin)


def with_query(path: str, **params: str) -> str:
    """``path`` with ``params`` added to its query (``done=...`` after a form's redirect)."""
    return path + ("&" if "?" in path else "?") + urlencode(params)


def back_path(target: str, default: str) -> str:
    """Where a form sends the user back to: a page of this service, else ``default``."""
    target = local_path(target, default)
    return target if target.startswith("/activation/") else default


def common(request: Request, user: User) -> dict[str, Any]:
    """What every activation page's navigation and vocabularies need."""
    language = language_for(request)
    translate = translator(request)
    catalogue = skills.skills()
    return {
        **base_context(request, user, labels=labels),
        "skill_name": lambda code: catalogue[code].label(language) if code in catalogue else code,
        "skill_options": [(s.code, s.label(language)) for s in catalogue.values()],
        "check_detail": lambda detail: labels.check_detail(detail[0], detail[1], translate),
        "is_employer": is_employer(user),
        "is_staff": is_staff(user),
        "is_coordinator": user.has_role(Role.coordinator, Role.admin),
        "sees_figures": user.has_role(Role.coordinator, Role.supervisor, Role.analyst, Role.admin),
        "today": date.today(),
    }


page = Pages(TEMPLATES, common)


def refusal(request: Request, exc: DomainError) -> Message:
    """A refusal of the service layer (403, 404, 409, 422) as an error line of the page, in the page's language."""
    text = labels.refusals_for(language_for(request)).error_text(exc, translator(request))
    return Message(text, "error")


def field_errors(request: Request, exc: DomainError) -> dict[str, str]:
    """The per-field problems of an ``Invalid`` (``loc`` as FastAPI reports it) keyed by dotted field path."""
    return labels.refusals_for(language_for(request)).field_texts(exc, translator(request))


def refused_page(request: Request, user: User, exc: DomainError) -> HTMLResponse:
    """A page that could not be shown (an object the user may not see): the refusal alone, in its status."""
    return page(request, "refused.html", user, status_code=exc.status_code, messages=[refusal(request, exc)])


async def shown_or_refused(request: Request, user: User, view: Awaitable[HTMLResponse]) -> HTMLResponse:
    """The page of one object, or the refusal alone when the user may not see that object."""
    try:
        return await view
    except DomainError as exc:
        return refused_page(request, user, exc)


def done_message(request: Request, done: str) -> list[Message]:
    gettext = translator(request)
    texts = {
        "registered": gettext("The organisation is registered."),
        "joined": gettext("The organisation joined the forum."),
        "published": gettext("The opportunity is published."),
        "closed": gettext("The opportunity is closed."),
        "proposed": gettext("The candidate is proposed; the employer and the candidate answer next."),
        "employer_accept": gettext("The employer's yes is recorded."),
        "candidate_accept": gettext("The candidate's yes is recorded."),
        "employer_decline": gettext("The employer's no is recorded."),
        "candidate_decline": gettext("The candidate's no is recorded."),
        "start": gettext("The placement has started."),
        "hours": gettext("The hours are recorded."),
        "complete": gettext("The placement is completed."),
        "end": gettext("The placement is ended."),
        "forum": gettext("The forum is set up."),
        "criteria": gettext("The forum's criteria are saved."),
        "recomputed": gettext("The shortlists are recomputed."),
    }
    return [Message(texts[done], "success")] if done in texts else []


async def submit(
    request: Request,
    session: AsyncSession,
    form: Form,
    data: M | None,
    *,
    not_done: str,
    render: Render,
    command: Callable[[M], Awaitable[str]],
    error_prefix: str = "",
    reraise: tuple[type[DomainError], ...] = (),
) -> Response:
    """A form's post (``shared.ui.forms.post_form``), its refusals said by activation's table in the page's
    language."""
    return await post_form(
        request,
        session,
        form,
        data,
        command=command,
        render=render,
        refusals=labels.refusals_for(language_for(request)),
        not_done=not_done,
        error_prefix=error_prefix,
        reraise=reraise,
    )
