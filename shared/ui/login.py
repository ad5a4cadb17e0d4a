"""Sign-in, sign-out and the language switch of every service, and the wiring of the shared UI into an app.

The sign-in form posts to the service, which asks the token endpoint (``OSLONAC_AUTH_TOKEN_URL``) for a
token with an OAuth2 password grant and keeps it in an HttpOnly cookie; the browser never sees the
token endpoint. Tests route that call elsewhere through ``app.state.token_transport`` (an httpx transport).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any
from urllib.parse import urlsplit

import httpx
import structlog
from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.auth import TOKEN_COOKIE, AuthError, TokenVerifier, User
from shared.settings import Settings
from shared.ui.access import PageForbidden, SignInRequired, page_user
from shared.ui.i18n import LANGUAGE_COOKIE, LANGUAGES, N_
from shared.ui.templating import (
    ROLE_NAMES,
    STATIC_DIR,
    Message,
    shared_templates,
    translator,
)

log = structlog.get_logger(__name__)

LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600
TOKEN_TIMEOUT_S = 10.0

WRONG_CREDENTIALS = N_("Wrong user name or password.")
MISSING_CREDENTIALS = N_("Enter your user name and password.")
NOT_CONFIGURED = N_("Signing in is not set up on this server (OSLONAC_AUTH_TOKEN_URL is not set).")
UNAVAILABLE = N_("The sign-in service is not answering. Try again in a moment.")
ACCOUNT_NOT_READY = N_(
    "Your account is not fully set up yet (for example, a temporary password must be changed). Ask your administrator."
)
SIGN_IN_TO_CONTINUE = N_("Sign in to continue.")
SIGNED_OUT = N_("You have signed out.")


class Outcome(Enum):
    ok = "ok"
    wrong_credentials = "wrong_credentials"
    account_not_ready = "account_not_ready"
    unavailable = "unavailable"


@dataclass(frozen=True, slots=True)
class TokenResult:
    outcome: Outcome
    access_token: str | None = None
    expires_in: int | None = None


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


async def request_token(
    settings: Settings, username: str, password: str, transport: httpx.AsyncBaseTransport | None = None
) -> TokenResult:
    """An OAuth2 password grant against ``settings.auth_token_url`` (the dev issuer or Keycloak)."""
    assert settings.auth_token_url is not None
    form = {"grant_type": "password", "username": username, "password": password}
    if settings.auth_client_id:
        form["client_id"] = settings.auth_client_id
    try:
        async with httpx.AsyncClient(transport=transport, timeout=TOKEN_TIMEOUT_S) as client:
            response = await client.post(settings.auth_token_url, data=form, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        log.warning("ui.login.token_endpoint_unreachable", url=settings.auth_token_url, error=repr(exc)[:300])
        return TokenResult(Outcome.unavailable)
    body: Any
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    if response.status_code == 200 and isinstance(body.get("access_token"), str):
        expires_in = body.get("expires_in")
        return TokenResult(Outcome.ok, body["access_token"], expires_in if isinstance(expires_in, int) else None)
    error, description = str(body.get("error", "")), str(body.get("error_description", ""))
    if response.status_code in {400, 401} and error in {"", "invalid_grant"}:
        if "not fully set up" in description:  # Keycloak: required actions pending (temporary password)
            return TokenResult(Outcome.account_not_ready)
        return TokenResult(Outcome.wrong_credentials)
    # invalid_client, unauthorized_client (direct grants switched off), 5xx: configuration or outage.
    log.error(
        "ui.login.token_endpoint_refused",
        url=settings.auth_token_url,
        status=response.status_code,
        error=error,
        description=description[:300],
    )
    return TokenResult(Outcome.unavailable)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def _login_page(
    request: Request,
    *,
    back_to: str,
    username: str = "",
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    _ = translator(request)
    settings: Settings = request.app.state.settings
    if settings.auth_token_url is None:
        error, status_code = _(NOT_CONFIGURED), 503 if request.method == "POST" else status_code
    messages = [Message(notice)] if notice else []
    context = {"next": back_to, "username": username, "error": error, "messages": messages}
    return shared_templates().render(request, "login.html", context, user=None, status_code=status_code)


def login_router(settings: Settings) -> APIRouter:
    """``/login``, ``/logout`` and ``/language`` of one service (include it under ``/{service}``)."""
    service_root = f"/{settings.service}/"
    router = APIRouter(include_in_schema=False)

    @router.get("/login")
    async def login_form(
        request: Request,
        back_to: Annotated[str, Query(alias="next")] = "",
        signed_out: bool = False,
    ) -> Response:
        _ = translator(request)
        notice = _(SIGNED_OUT) if signed_out else _(SIGN_IN_TO_CONTINUE) if back_to else None
        return _login_page(request, back_to=local_path(back_to, ""), notice=notice)

    @router.post("/login")
    async def login(
        request: Request,
        username: Annotated[str, Form()] = "",
        password: Annotated[str, Form()] = "",
        back_to: Annotated[str, Form(alias="next")] = "",
    ) -> Response:
        _ = translator(request)
        username = username.strip()
        back_to = local_path(back_to, "")
        if settings.auth_token_url is None:
            return _login_page(request, back_to=back_to, username=username)
        if not username or not password:
            return _login_page(
                request, back_to=back_to, username=username, error=_(MISSING_CREDENTIALS), status_code=422
            )
        transport: httpx.AsyncBaseTransport | None = getattr(request.app.state, "token_transport", None)
        result = await request_token(settings, username, password, transport)
        if result.outcome is Outcome.wrong_credentials:
            log.info("ui.login.refused", username=username[:100])
            return _login_page(request, back_to=back_to, username=username, error=_(WRONG_CREDENTIALS), status_code=401)
        if result.outcome is Outcome.account_not_ready:
            return _login_page(request, back_to=back_to, username=username, error=_(ACCOUNT_NOT_READY), status_code=401)
        if result.outcome is Outcome.unavailable or result.access_token is None:
            return _login_page(request, back_to=back_to, username=username, error=_(UNAVAILABLE), status_code=503)
        verifier: TokenVerifier = request.app.state.verifier
        try:
            user = await verifier.verify_async(result.access_token)
        except AuthError as exc:  # issuer, audience or keys disagree with this service's settings
            log.error("ui.login.token_not_accepted", error=str(exc)[:300])
            return _login_page(request, back_to=back_to, username=username, error=_(UNAVAILABLE), status_code=503)
        log.info("ui.login.signed_in", user=user.sub)
        response = RedirectResponse(back_to or service_root, status_code=303)
        response.set_cookie(
            TOKEN_COOKIE,
            result.access_token,
            max_age=result.expires_in,
            path="/",
            httponly=True,
            samesite="lax",
            secure=_secure(request),
        )
        return response

    @router.get("/logout")
    async def logout(request: Request) -> Response:
        response = RedirectResponse(f"{service_root}login?signed_out=1", status_code=303)
        response.delete_cookie(TOKEN_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request))
        return response

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


__all__ = ["error_page", "install_ui", "local_path", "login_router", "request_token", "wants_page"]
