"""What every activation page shares: the templates, the navigation context, the role gates, refusals as messages
and the numbers and dates the Serbian way."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.activation import ui_forms
from services.activation import ui_labels as labels
from shared.auth import Role, User
from shared.errors import DomainError
from shared.reference import municipalities, skills
from shared.ui.access import require_page_role
from shared.ui.i18n import language_for
from shared.ui.login import local_path
from shared.ui.templating import Message, make_templates, translator

TEMPLATES = make_templates(Path(__file__).with_name("templates"))

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


def municipality_name(code: str, language: str) -> str:
    found = municipalities.get(code)
    if found is None:
        return code
    return found.name_cyrillic if language == "sr-Cyrl" else found.name_latin


def all_municipalities(language: str) -> list[tuple[str, str]]:
    return sorted(
        ((code, municipality_name(code, language)) for code in municipalities.municipalities()),
        key=lambda pair: pair[1],
    )


def day(value: date | datetime | str | None) -> str:
    """A date the Serbian way (12.05.2026.); ISO text is accepted too."""
    if value is None:
        return "—"
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10]).strftime("%d.%m.%Y.")
        except ValueError:
            return value
    return value.strftime("%d.%m.%Y.")


def moment(value: datetime | str | None) -> str:
    """A date and time (12.05.2026. 14:05)."""
    if value is None:
        return "—"
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).strftime("%d.%m.%Y. %H:%M")
        except ValueError:
            return value
    return value.strftime("%d.%m.%Y. %H:%M")


def number_in(language: str) -> Callable[[float | None, int], str]:
    """Numbers with a decimal comma in Serbian, a point in English."""

    def number(value: float | None, digits: int = 2) -> str:
        if value is None:
            return "—"
        text = f"{value:.{digits}f}"
        return text if language == "en" else text.replace(".", ",")

    return number


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
        "labels": labels,
        "nav": "",
        "tr": translate,
        "day": day,
        "moment": moment,
        "number": number_in(language),
        "skill_name": lambda code: catalogue[code].label(language) if code in catalogue else code,
        "skill_options": [(s.code, s.label(language)) for s in catalogue.values()],
        "municipality_name": lambda code: municipality_name(code, language),
        "municipality_names": lambda codes: ", ".join(municipality_name(code, language) for code in codes),
        "check_detail": lambda detail: labels.check_detail(detail[0], detail[1], translate),
        "is_employer": is_employer(user),
        "is_staff": is_staff(user),
        "is_coordinator": user.has_role(Role.coordinator, Role.admin),
        "is_admin": user.has_role(Role.admin),
        "sees_figures": user.has_role(Role.coordinator, Role.supervisor, Role.analyst, Role.admin),
        "today": date.today(),
    }


def page(request: Request, name: str, user: User, status_code: int = 200, **context: Any) -> HTMLResponse:
    return TEMPLATES.render(request, name, {**common(request, user), **context}, user=user, status_code=status_code)


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


Render = Callable[..., Awaitable[Response]]


async def submit(
    request: Request,
    session: AsyncSession,
    form: ui_forms.Form,
    data: Any,
    *,
    not_done: str,
    render: Render,
    command: Callable[[], Awaitable[str]],
    error_prefix: str = "",
) -> Response:
    """A form's post: fields that did not parse re-render it (422, ``not_done`` said and the fields marked); else
    ``command`` runs in a savepoint and its answer is where to go next, or its refusal re-renders the form with the
    fields it names marked (under ``error_prefix`` where the form nests them)."""
    gettext = translator(request)
    if data is None:
        return await render(form=form, status_code=422, messages=[Message(gettext(not_done), "error")])
    try:
        async with session.begin_nested():  # a refusal undoes only this, the page still reads
            target = await command()
    except DomainError as exc:
        form.errors.update({f"{error_prefix}{k}": v for k, v in field_errors(request, exc).items()})
        return await render(form=form, status_code=exc.status_code, messages=[refusal(request, exc)])
    return RedirectResponse(target, status_code=303)
