"""Pages sign in by OpenID Connect: authorization code with PKCE (S256), ``state`` and ``nonce``, into a
server-side session (shared.ui.sessions); sign-out ends it and the provider's session.

Back-channel calls go through ``app.state.oidc_transport`` when a test sets it (an httpx transport, for instance
``httpx.ASGITransport`` to the development provider in process).
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from shared.auth import AuthError, TokenVerifier
from shared.oidc import OidcClient, OidcRefused, OidcUnavailable, pkce_pair
from shared.settings import Environment, Settings
from shared.ui.i18n import N_
from shared.ui.sessions import SESSION_COOKIE, SIGNIN_COOKIE, SIGNIN_TTL_S, PendingSignIn, WebSessions
from shared.ui.templating import shared_templates, translator

log = structlog.get_logger(__name__)

# Every service on the origin: sign-out forgets all their session cookies (shared cannot import oslonac.registry).
SERVICES = ("intake", "cases", "activation", "reporting")

NOT_CONFIGURED = N_("Signing in is not set up on this server (OSLONAC_OIDC_ISSUER is not set).")
UNAVAILABLE = N_("The sign-in service is not answering. Try again in a moment.")
SIGN_IN_FAILED = N_("Sign-in was not completed")
SIGN_IN_EXPIRED = N_(
    "This sign-in has expired, was already used, or was started in another browser. Sign in again to continue."
)
SIGN_IN_REFUSED = N_("The sign-in service did not sign you in. Sign in again to continue.")
SIGN_IN_AGAIN = N_("Sign in again")


def is_secure(request: Request, *, production: bool) -> bool:
    """Cookies get ``Secure`` over https (directly or behind a proxy that says so) and always in production."""
    return production or request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def _secure(request: Request) -> bool:
    settings: Settings = request.app.state.settings
    return is_secure(request, production=settings.env is Environment.production)


def public_origin(request: Request) -> str:
    """The origin browsers use: ``OSLONAC_PUBLIC_URL``, else what the request (or the proxy before it) says."""
    settings: Settings = request.app.state.settings
    if settings.public_url:
        return settings.public_url.rstrip("/")
    proto = request.headers.get("x-forwarded-proto", request.url.scheme).split(",")[0].strip()
    host = (
        request.headers.get("x-forwarded-host", request.headers.get("host", request.url.netloc)).split(",")[0].strip()
    )
    return f"{proto}://{host}"


def oidc_client(app: FastAPI) -> OidcClient | None:
    """The app's OIDC client (None without ``OSLONAC_OIDC_ISSUER``), made at first use."""
    settings: Settings = app.state.settings
    if not settings.oidc_issuer:
        return None
    client: OidcClient | None = getattr(app.state, "oidc_client", None)
    if client is None:
        client = app.state.oidc_client = OidcClient(settings, getattr(app.state, "oidc_transport", None))
    return client


def web_sessions(app: FastAPI) -> WebSessions | None:
    """The app's page sessions, on its runtime's database (None before the lifespan started it)."""
    runtime = getattr(app.state, "runtime", None)
    if runtime is None:
        return None
    store: WebSessions | None = getattr(app.state, "web_sessions", None)
    if store is None or store.engine is not runtime.engine:
        settings: Settings = app.state.settings
        store = app.state.web_sessions = WebSessions(
            runtime.engine,
            runtime.tables.web_sessions,
            service=settings.service,
            idle_timeout_s=settings.session_idle_timeout_s,
            max_age_s=settings.session_max_age_s,
        )
    return store


def _page(request: Request, name: str, context: dict[str, Any], status_code: int) -> Response:
    response = shared_templates().render(request, name, context, user=None, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def sign_in_problem(request: Request, detail: str, status_code: int, back_to: str = "") -> Response:
    """A translated page saying why signing in did not work, with a link to start again."""
    _ = translator(request)
    service = request.app.state.settings.service
    again = f"/{service}/login" + (f"?{urlencode({'next': back_to})}" if back_to else "")
    context = {"title": _(SIGN_IN_FAILED), "detail": detail, "sign_in_url": again}
    return _page(request, "signed_out.html", context, status_code)


def _redirect(request: Request, url: str) -> Response:
    if request.headers.get("hx-request") == "true":  # htmx follows HX-Redirect with a full page load
        return Response(status_code=401, headers={"HX-Redirect": url, "Cache-Control": "no-store"})
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


async def start_sign_in(request: Request, back_to: str) -> Response:
    """Send the browser to the provider's authorization endpoint, remembering the sign-in server side."""
    _ = translator(request)
    settings: Settings = request.app.state.settings
    oidc, store = oidc_client(request.app), web_sessions(request.app)
    if oidc is None or store is None:
        return sign_in_problem(request, _(NOT_CONFIGURED), 503, back_to)
    try:
        metadata = await oidc.metadata()
    except OidcUnavailable:
        return sign_in_problem(request, _(UNAVAILABLE), 503, back_to)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier, challenge = pkce_pair()
    binding = request.cookies.get(SIGNIN_COOKIE) or secrets.token_urlsafe(32)
    redirect_uri = f"{public_origin(request)}/{settings.service}/auth/callback"
    pending = PendingSignIn(nonce=nonce, code_verifier=verifier, redirect_uri=redirect_uri, return_to=back_to)
    await store.begin_sign_in(state=state, binding=binding, pending=pending)
    params = {
        "response_type": "code",
        "client_id": settings.oidc_client_id,
        "redirect_uri": redirect_uri,
        "scope": "openid",
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    separator = "&" if "?" in metadata.authorization_endpoint else "?"
    response = _redirect(request, metadata.authorization_endpoint + separator + urlencode(params))
    response.set_cookie(
        SIGNIN_COOKIE,
        binding,
        max_age=SIGNIN_TTL_S,
        path=f"/{settings.service}/",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    if SESSION_COOKIE in request.cookies:  # it led nowhere: ended or unknown
        response.delete_cookie(
            SESSION_COOKIE, path=f"/{settings.service}/", httponly=True, samesite="lax", secure=_secure(request)
        )
    return response


def signin_router(settings: Settings) -> APIRouter:
    """``/auth/callback``, ``/logout`` and ``/signed-out`` of one service (include it under ``/{service}``)."""
    service = settings.service
    service_root = f"/{service}/"
    router = APIRouter(include_in_schema=False)

    @router.get("/auth/callback")
    async def callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
        _ = translator(request)
        oidc, store = oidc_client(request.app), web_sessions(request.app)
        if oidc is None or store is None:
            return sign_in_problem(request, _(NOT_CONFIGURED), 503)
        binding = request.cookies.get(SIGNIN_COOKIE, "")
        pending = await store.take_sign_in(state=state, binding=binding) if state and binding else None
        if pending is None:
            log.info("auth.signin.unknown_state", service=service)
            return sign_in_problem(request, _(SIGN_IN_EXPIRED), 400)
        if error or not code:
            log.info("auth.signin.provider_error", service=service, error=error[:100])
            return sign_in_problem(request, _(SIGN_IN_REFUSED), 400, pending.return_to)
        try:
            tokens = await oidc.exchange_code(
                code=code, code_verifier=pending.code_verifier, redirect_uri=pending.redirect_uri
            )
            if tokens.id_token is None:
                raise OidcUnavailable("the provider gave no ID token")
            claims = await oidc.verify_id_token(tokens.id_token, nonce=pending.nonce)
        except OidcRefused as exc:
            log.info("auth.signin.refused", service=service, error=str(exc)[:200])
            return sign_in_problem(request, _(SIGN_IN_EXPIRED), 400, pending.return_to)
        except OidcUnavailable:
            return sign_in_problem(request, _(UNAVAILABLE), 503, pending.return_to)
        verifier: TokenVerifier = request.app.state.verifier
        try:
            user = await verifier.verify_async(tokens.access_token)
        except AuthError as exc:  # issuer, audience or keys disagree with this service's settings
            log.error("auth.signin.token_not_accepted", service=service, error=str(exc)[:300])
            return sign_in_problem(request, _(UNAVAILABLE), 503, pending.return_to)
        if str(claims.get("sub")) != user.sub:
            log.error("auth.signin.subject_mismatch", service=service)
            return sign_in_problem(request, _(SIGN_IN_REFUSED), 400, pending.return_to)
        value = await store.open(sub=user.sub, tokens=tokens)
        response = RedirectResponse(
            pending.return_to or service_root, status_code=303, headers={"Cache-Control": "no-store"}
        )
        secure = _secure(request)
        response.set_cookie(SESSION_COOKIE, value, path=service_root, httponly=True, samesite="lax", secure=secure)
        response.delete_cookie(SIGNIN_COOKIE, path=service_root, httponly=True, samesite="lax", secure=secure)
        return response

    @router.api_route("/logout", methods=["GET", "POST"])
    async def logout(request: Request) -> Response:
        """End this service's session, forget every service's session cookie on this origin, and end the
        provider's session (its end-session endpoint comes back to ``/{service}/signed-out``)."""
        store, oidc = web_sessions(request.app), oidc_client(request.app)
        value = request.cookies.get(SESSION_COOKIE)
        ended = await store.end(value, "signed_out") if store is not None and value else None
        signed_out = f"{public_origin(request)}/{service}/signed-out"
        target = f"/{service}/signed-out"
        if oidc is not None:
            try:
                metadata = await oidc.metadata()
            except OidcUnavailable:
                metadata = None
            if metadata is not None and metadata.end_session_endpoint:
                params = {"post_logout_redirect_uri": signed_out, "client_id": settings.oidc_client_id}
                if ended is not None and ended.id_token:
                    params["id_token_hint"] = ended.id_token
                separator = "&" if "?" in metadata.end_session_endpoint else "?"
                target = metadata.end_session_endpoint + separator + urlencode(params)
        response = RedirectResponse(target, status_code=303)
        secure = _secure(request)
        for name in SERVICES:  # a response may delete cookies of other paths on this host
            for cookie in (SESSION_COOKIE, SIGNIN_COOKIE):
                response.delete_cookie(cookie, path=f"/{name}/", httponly=True, samesite="lax", secure=secure)
        return response

    @router.get("/signed-out")
    async def signed_out(request: Request) -> Response:
        _ = translator(request)
        context = {"title": _("You have signed out"), "detail": None, "sign_in_url": f"/{service}/login"}
        return _page(request, "signed_out.html", context, 200)

    return router


__all__ = [
    "is_secure",
    "oidc_client",
    "public_origin",
    "sign_in_problem",
    "signin_router",
    "start_sign_in",
    "web_sessions",
]
