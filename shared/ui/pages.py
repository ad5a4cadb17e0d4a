"""A service's pages: its templates and the context all of them need, rendered by one call,
``page(request, "name.html", user, status_code=200, **context)``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from shared.auth import Role, User
from shared.ui.formats import day, moment, number_in
from shared.ui.i18n import language_for
from shared.ui.places import municipality_name, municipality_names, own_municipalities
from shared.ui.templating import PageTemplates, translator

Context = Callable[[Request, User], dict[str, Any]]


def base_context(request: Request, user: User, *, labels: Any) -> dict[str, Any]:
    """What the pages of every service use: the service's ``labels`` module, ``tr`` (gettext of the page's
    language), dates, numbers and municipalities in that language, and the user's standing."""
    language = language_for(request)
    return {
        "labels": labels,
        "nav": "",
        "tr": translator(request),
        "language_code": language,
        "day": day,
        "moment": moment,
        "number": number_in(language),
        "municipality_name": lambda code: municipality_name(code, language),
        "municipality_names": lambda codes: municipality_names(codes, language),
        "my_municipalities": own_municipalities(user.municipalities, language),
        "is_supervisor": user.has_role(Role.supervisor, Role.admin),
        "is_admin": user.has_role(Role.admin),
    }


@dataclass(frozen=True)
class Pages:
    """Renders a service's pages: ``context(request, user)`` (usually :func:`base_context` and the service's own
    additions), then the page's own ``context``, which wins on a clash."""

    templates: PageTemplates
    context: Context

    def __call__(self, request: Request, name: str, user: User, status_code: int = 200, **context: Any) -> HTMLResponse:
        full = {**self.context(request, user), **context}
        return self.templates.render(request, name, full, user=user, status_code=status_code)
