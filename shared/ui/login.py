"""Sign-in, sign-out and the language switch of every service, and the wiring of the shared UI into an app.

Pages sign in by OpenID Connect into a server-side session (shared.ui.signin, shared.ui.sessions); ``/login``
starts a sign-in (the sign-in form itself is the provider's). API clients send bearer tokens.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.auth import User
from shared.settings import Settings
from shared.ui.access import PageForbidden, SignInRequired, page_user
from shared.ui.i18n import LANGUAGE_COOKIE, LANGUAGES, N_
from shared.ui.signin import _secure, oidc_client, signin_router, start_sign_in
from shared.ui.templating import ROLE_NAMES, STATIC_DIR, shared_templates, translator

LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600


def local_path(target: str | None, default: str) -> str:
    """``target`` if it is a path on this origin (``/...``), else ``default``: no open redirects."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(c) < 0x21 or ord(c) == 0x7F for c in target):
        return default  # browsers read "/\evil" as "//evil"; no whitespace or control characters either
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def login_router(settings: Settings) -> APIRouter:
    """``/login`` (starts a sign-in), the sign-in callback and sign-out (shared.ui.signin), and ``/language``
    of one service (include it under ``/{service}``)."""
    service_root = f"/{settings.service}/"
    router = APIRouter(include_in_schema=False)
    router.include_router(signin_router(settings))

    @router.get("/login")
    async def login(request: Request, back_to: Annotated[str, Query(alias="next")] = "") -> Response:
        return await start_sign_in(request, local_path(back_to, ""))

    @router.get("/language")
    async def choose_language(
        request: Request, lang: str = "", back_to: Annotated[str, Query(alias="next")] = ""
    ) -> Response:
        """Remember the language for every service on this origin; an unknown one changes nothing."""
        response = RedirectResponse(local_path(back_to, service_root), status_code=303)
        if lang in LANGUAGES:
            response.set_cookie(
                LANGUAGE_COOKIE,
                lang,
                max_age=LANGUAGE_COOKIE_MAX_AGE,
                path="/",
                httponly=True,
                samesite="lax",
                secure=_secure(request),
            )
        return response

    return router


def forbidden_page(request: Request, user: User, roles: frozenset[str]) -> Response:
    _ = translator(request)
    context = {
        "title": _("Access denied"),
        "detail": _("You do not have permission to open this page."),
        "hint": _("It needs one of these roles: %(roles)s.")
        % {"roles": ", ".join(_(ROLE_NAMES.get(r, r)) for r in sorted(roles))},
    }
    return shared_templates().render(request, "error.html", context, user=user, status_code=403)


ERROR_TITLES = {
    403: (N_("Access denied"), N_("You do not have permission to see this record.")),
    404: (N_("Not found"), N_("There is no such record. It may have been merged or removed.")),
    409: (N_("Not possible now"), N_("The record changed in the meantime or this step is not allowed now.")),
    422: (N_("Not valid"), N_("The data sent is not valid.")),
}


def wants_page(request: Request) -> bool:
    """A browser page request (not the JSON API): errors are answered with an HTML page."""
    return "/api/" not in request.url.path and "text/html" in request.headers.get("accept", "")


async def error_page(request: Request, status_code: int) -> Response:
    """A translated error page for a page request that failed with ``status_code``."""
    _ = translator(request)
    title, detail = ERROR_TITLES.get(status_code, (N_("Something went wrong"), N_("Try again, or go back.")))
    try:
        user: User | None = await page_user(request)
    except SignInRequired:
        user = None
    context = {"title": _(title), "detail": _(detail)}
    return shared_templates().render(request, "error.html", context, user=user, status_code=status_code)


def install_ui(app: FastAPI, settings: Settings) -> None:
    """The shared static files at ``/{service}/static``, the sign-in routes, and the page-auth error pages."""
    prefix = f"/{settings.service}"
    app.mount(f"{prefix}/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(login_router(settings), prefix=prefix)

    @app.exception_handler(SignInRequired)
    async def sign_in_required(request: Request, exc: SignInRequired) -> Response:
        """Straight to the provider's sign-in; without a provider, to ``/login``, which says what is missing."""
        if oidc_client(request.app) is not None:
            return await start_sign_in(request, local_path(exc.back_to, ""))
        if request.headers.get("hx-request") == "true":  # htmx follows HX-Redirect with a full page load
            return Response(status_code=401, headers={"HX-Redirect": exc.login_url})
        return RedirectResponse(exc.login_url, status_code=303)

    @app.exception_handler(PageForbidden)
    async def page_forbidden(request: Request, exc: PageForbidden) -> Response:
        return forbidden_page(request, exc.user, exc.roles)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if wants_page(request) and exc.status_code in ERROR_TITLES:
            return await error_page(request, exc.status_code)
        return await http_exception_handler(request, exc)


__all__ = ["error_page", "install_ui", "local_path", "login_router", "wants_page"]
