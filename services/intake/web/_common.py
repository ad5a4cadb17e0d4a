"""What every intake page shares: the templates, the context of the layout, and the 'why' of an audit row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request

from services.intake.web import _labels as labels
from shared.auth import User
from shared.reference import skills
from shared.ui.i18n import language_for
from shared.ui.pages import Pages, base_context
from shared.ui.templating import make_templates

TEMPLATES = make_templates(Path(__file__).parent.with_name("templates"))


def common(request: Request, user: User) -> dict[str, Any]:
    """The layout's context of every service, and the skills (a select on the form, tags on the household)."""
    language = language_for(request)
    return {
        **base_context(request, user, labels=labels),
        "skill_options": [(s.code, s.label(language)) for s in skills.skills().values()],
    }


page = Pages(TEMPLATES, common)


def action(request: Request) -> str:
    """The 'why' of an audit row written by a page: which page read the data."""
    route = request.scope.get("route")
    return f"PAGE {request.method} {getattr(route, 'path', request.url.path)}"
