"""Jinja2 templates for every service's pages: one Environment serves all languages at once.

The i18n extension gets *newstyle* gettext callables that look up the ``translations`` variable of the
render they are called from, so concurrent requests in different languages share templates safely.
Templates call ``_("...")``, ``ngettext(...)`` or use ``{% trans %}``; every page is rendered through
:meth:`PageTemplates.render`, which puts the language, the user and the URLs the layout needs in the context.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import urlencode

from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from starlette.requests import Request
from starlette.responses import HTMLResponse

from shared.auth import User
from shared.ui.i18n import LANGUAGE_NAMES, LANGUAGES, N_, language_for, translations, translations_for

SHARED_TEMPLATES = Path(__file__).resolve().with_name("templates")
STATIC_DIR = Path(__file__).resolve().with_name("static")

SERVICE_NAMES: dict[str, str] = {
    "intake": N_("Intake"),
    "cases": N_("Cases"),
    "activation": N_("Activation"),
    "reporting": N_("Reporting"),
    "auth": N_("Sign-in"),  # the development OIDC provider's pages (shared.oidc_provider_app)
}
ROLE_NAMES: dict[str, str] = {
    "case_worker": N_("Case manager"),
    "supervisor": N_("Supervisor"),
    "employer": N_("Employer"),
    "coordinator": N_("Forum coordinator"),
    "analyst": N_("Analyst"),
    "admin": N_("Administrator"),
}


@dataclass(frozen=True, slots=True)
class Message:
    """A line for the messages area of the layout (announced to screen readers)."""

    text: str
    kind: Literal["info", "success", "error"] = "info"


@dataclass(frozen=True, slots=True)
class LanguageLink:
    code: str
    name: str
    url: str
    current: bool


def _render_translations(context: Context) -> gettext.NullTranslations:
    found = context.get("translations")
    if found is None:
        raise RuntimeError(
            "no `translations` in the template context: render pages with PageTemplates.render, and import "
            "macros that translate `with context`"
        )
    return cast(gettext.NullTranslations, found)


@pass_context
def _gettext(context: Context, message: str) -> str:
    return _render_translations(context).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return _render_translations(context).ngettext(singular, plural, n)


@pass_context
def _pgettext(context: Context, message_context: str, message: str) -> str:
    return _render_translations(context).pgettext(message_context, message)


@pass_context
def _npgettext(context: Context, message_context: str, singular: str, plural: str, n: int) -> str:
    return _render_translations(context).npgettext(message_context, singular, plural, n)


def service_of(request: Request) -> str:
    """The service serving this request (``app.state.settings.service``, set by ``create_service_app``)."""
    settings = getattr(request.app.state, "settings", None)
    if settings is None:  # pragma: no cover - every service app sets it
        raise RuntimeError("app.state.settings is not configured")
    return str(settings.service)


def current_path(request: Request) -> str:
    """Path and query of this request, for links that come back here (language switch, sign-in)."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def language_url(service: str, language: str, back_to: str) -> str:
    return f"/{service}/language?" + urlencode({"lang": language, "next": back_to})


def translator(request: Request) -> Callable[[str], str]:
    """``_`` for Python code (flash and error messages) in the language of this request."""
    return translations_for(request).gettext


class PageTemplates(Jinja2Templates):
    def render(
        self,
        request: Request,
        name: str,
        context: Mapping[str, Any] | None = None,
        *,
        user: User | None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        """Render ``name`` in the request's language with what ``base.html`` needs; ``context`` wins on clashes."""
        language = language_for(request)
        current = translations(language)
        service = service_of(request)
        here = current_path(request)
        full: dict[str, Any] = {
            "language": language,
            "languages": [
                LanguageLink(code, LANGUAGE_NAMES[code], language_url(service, code, here), code == language)
                for code in LANGUAGES
            ],
            "translations": current,
            "user": user,
            "user_roles": [current.gettext(ROLE_NAMES.get(r, r)) for r in sorted(user.roles)] if user else [],
            "service": service,
            "service_name": current.gettext(SERVICE_NAMES.get(service, service)),
            "static_url": lambda file: f"/{service}/static/{file}",
            "current_path": here,
            "messages": [],
        }
        full.update(context or {})
        response = self.TemplateResponse(request, name, full, status_code=status_code, headers=headers)
        return cast(HTMLResponse, response)


def make_templates(service_templates_dir: Path | None = None) -> PageTemplates:
    """Templates of one service: its own directory first, then the shared layout, login and form macros."""
    loaders = [FileSystemLoader(service_templates_dir)] if service_templates_dir is not None else []
    loaders.append(FileSystemLoader(SHARED_TEMPLATES))
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # `{% trans %}` blocks collapse their whitespace; the catalogue extractor uses the same policy.
    env.policies["ext.i18n.trimmed"] = True
    cast(Any, env).install_gettext_callables(
        _gettext, _ngettext, newstyle=True, pgettext=_pgettext, npgettext=_npgettext
    )
    return PageTemplates(env=env)


@cache
def shared_templates() -> PageTemplates:
    """The shared templates alone (login and error pages)."""
    return make_templates(None)


__all__ = [
    "ROLE_NAMES",
    "SERVICE_NAMES",
    "STATIC_DIR",
    "LanguageLink",
    "Message",
    "PageTemplates",
    "make_templates",
    "service_of",
    "shared_templates",
    "translator",
]
