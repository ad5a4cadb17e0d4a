"""What every cases page shares: the templates and their context, the role gates, refusals as messages."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request

from services.cases import caseload
from services.cases.web import _labels as labels
from shared.auth import Role, User
from shared.errors import DomainError
from shared.reference import skills
from shared.ui.access import require_page_role
from shared.ui.forms import refusal_message
from shared.ui.i18n import language_for
from shared.ui.pages import Pages, base_context
from shared.ui.refusals import Refusals
from shared.ui.templating import Message, make_templates, translator
from shared.web import SessionDep

TEMPLATES = make_templates(Path(__file__).parent.parent / "templates")

_staff = require_page_role(Role.case_worker, Role.supervisor, Role.admin)


async def enrolled_page(request: Request, user: Annotated[User, Depends(_staff)], session: SessionDep) -> User:
    """Staff; a case worker seen for the first time joins the workers of their municipalities (as in the API)."""
    await caseload.enrol_once(state=request.app.state, session=session, user=user)
    return user


StaffPage = Annotated[User, Depends(enrolled_page)]
SupervisorPage = Annotated[User, Depends(require_page_role(Role.supervisor, Role.admin))]
# The provider and agreement registries are also read by analysts (as in the API).
RegistryPage = Annotated[User, Depends(require_page_role(Role.case_worker, Role.supervisor, Role.admin, Role.analyst))]


def as_uuid(value: object) -> uuid.UUID | None:
    """An id from a timeline entry's details (text) as the UUID pages key members and providers by."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def common(request: Request, user: User) -> dict[str, Any]:
    """What every cases page's navigation and vocabularies need, beyond what every service's pages do."""
    language = language_for(request)
    return {
        **base_context(request, user, labels=labels),
        "uuid": as_uuid,
        "skill_name": lambda code: skills.skills()[code].label(language) if code in skills.skills() else code,
        "is_staff": user.has_role(Role.case_worker, Role.supervisor, Role.admin),
        "today": date.today(),
    }


page = Pages(TEMPLATES, common)


def refusals(request: Request) -> Refusals:
    """The service layer's refusals as this page's language says them."""
    return labels.refusals_for(language_for(request))


def refusal(request: Request, exc: DomainError) -> Message:
    """A refusal of the service layer (403, 409, 422) as an error line of the page, in the page's language."""
    return refusal_message(exc, refusals(request), translator(request))


def done_message(request: Request, done: str, texts: dict[str, str]) -> list[Message]:
    """The success line a page shows after a redirect with ``?done=``; ``texts`` are English msgids by ``done``."""
    return [Message(translator(request)(texts[done]), "success")] if done in texts else []


def municipality_code(code: str) -> str | None:
    """A municipality filter of a list: five digits, or none."""
    return code if len(code) == 5 and code.isdigit() else None
