"""What every cases page shares: the templates, the navigation context, the role gates, refusals as messages."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from services.cases import caseload
from services.cases import ui_labels as labels
from shared.auth import Role, User
from shared.errors import DomainError
from shared.reference import municipalities, skills
from shared.ui.access import require_page_role
from shared.ui.i18n import language_for
from shared.ui.templating import Message, make_templates, translator
from shared.web import SessionDep

TEMPLATES = make_templates(Path(__file__).with_name("templates"))

_staff = require_page_role(Role.case_worker, Role.supervisor, Role.admin)


async def enrolled_page(request: Request, user: Annotated[User, Depends(_staff)], session: SessionDep) -> User:
    """Staff; a case worker seen for the first time joins the workers of their municipalities (as in the API)."""
    await caseload.enrol_once(state=request.app.state, session=session, user=user)
    return user


StaffPage = Annotated[User, Depends(enrolled_page)]
SupervisorPage = Annotated[User, Depends(require_page_role(Role.supervisor, Role.admin))]
# The provider and agreement registries are also read by analysts (as in the API).
RegistryPage = Annotated[User, Depends(require_page_role(Role.case_worker, Role.supervisor, Role.admin, Role.analyst))]


def municipality_name(code: str, language: str) -> str:
    found = municipalities.get(code)
    if found is None:
        return code
    return found.name_cyrillic if language == "sr-Cyrl" else found.name_latin


def day(value: date | datetime | str | None) -> str:
    """A date the Serbian way (12.05.2026.), as intake's pages write it; ISO text is accepted too."""
    if value is None:
        return "—"
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10]).strftime("%d.%m.%Y.")
        except ValueError:
            return value
    return value.strftime("%d.%m.%Y.")


def as_uuid(value: object) -> uuid.UUID | None:
    """An id from a timeline entry's details (text) as the UUID pages key members and providers by."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def all_municipalities(language: str) -> list[tuple[str, str]]:
    return sorted(
        ((code, municipality_name(code, language)) for code in municipalities.municipalities()),
        key=lambda pair: pair[1],
    )


def common(request: Request, user: User) -> dict[str, Any]:
    """What every cases page's navigation and vocabularies need."""
    language = language_for(request)
    translate = translator(request)
    mine = sorted(user.municipalities) or sorted(municipalities.municipalities())
    return {
        "labels": labels,
        "nav": "",
        "tr": translate,
        "day": day,
        "uuid": as_uuid,
        "skill_name": lambda code: skills.skills()[code].label(language) if code in skills.skills() else code,
        "municipality_name": lambda code: municipality_name(code, language),
        "my_municipalities": [(code, municipality_name(code, language)) for code in mine],
        "is_supervisor": user.has_role(Role.supervisor, Role.admin),
        "is_admin": user.has_role(Role.admin),
        "is_staff": user.has_role(Role.case_worker, Role.supervisor, Role.admin),
        "today": date.today(),
    }


def page(request: Request, name: str, user: User, status_code: int = 200, **context: Any) -> HTMLResponse:
    return TEMPLATES.render(request, name, {**common(request, user), **context}, user=user, status_code=status_code)


def refusal(request: Request, exc: DomainError) -> Message:
    """A refusal of the service layer (403, 409, 422) as an error line of the page, in the page's language."""
    return Message(labels.refusals_for(language_for(request)).error_text(exc, translator(request)), "error")


def field_errors(exc: DomainError, translate: Callable[[str], str], language: str) -> dict[str, str]:
    """The per-field problems of a refusal, by dotted field path, in the page's language (by their codes)."""
    return labels.refusals_for(language).field_texts(exc, translate)
