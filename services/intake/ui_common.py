"""What every intake page shares: the templates, the navigation context, the role gates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from services.intake import ui_labels as labels
from shared.auth import Role, User
from shared.reference import municipalities, skills
from shared.ui.access import require_page_role
from shared.ui.i18n import language_for
from shared.ui.templating import make_templates, translator

TEMPLATES = make_templates(Path(__file__).with_name("templates"))
WorkerPage = Annotated[User, Depends(require_page_role(Role.case_worker, Role.supervisor, Role.admin))]


def municipality_name(code: str, language: str) -> str:
    found = municipalities.get(code)
    if found is None:
        return code
    return found.name_cyrillic if language == "sr-Cyrl" else found.name_latin


def common(request: Request, user: User) -> dict[str, Any]:
    """What every intake page's navigation and vocabularies need."""
    language = language_for(request)
    gettext = translator(request)
    return {
        "labels": labels,
        "nav": "",
        "tr": gettext,
        "municipality_name": lambda code: municipality_name(code, language),
        "my_municipalities": [
            (code, municipality_name(code, language))
            for code in (sorted(user.municipalities) or sorted(municipalities.municipalities()))
        ],
        "skill_options": [(s.code, s.label(language)) for s in skills.skills().values()],
        "is_supervisor": user.has_role(Role.supervisor, Role.admin),
        "is_admin": user.has_role(Role.admin),
    }


def page(request: Request, name: str, user: User, status_code: int = 200, **context: Any) -> HTMLResponse:
    return TEMPLATES.render(request, name, {**common(request, user), **context}, user=user, status_code=status_code)


def action(request: Request) -> str:
    route = request.scope.get("route")
    return f"PAGE {request.method} {getattr(route, 'path', request.url.path)}"


SupervisorPage = Annotated[User, Depends(require_page_role(Role.supervisor, Role.admin))]
AdminPage = Annotated[User, Depends(require_page_role(Role.admin))]
