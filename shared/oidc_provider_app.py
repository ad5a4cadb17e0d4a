"""The HTTP side of the development OpenID Connect provider (shared.oidc_provider), served under ``/auth``."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

import jwt
import structlog
from fastapi import APIRouter, FastAPI, Form, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from shared.oidc_provider import PASSWORD_GRANT_TTL_S, PROVIDER_COOKIE, DevProvider, OidcError
from shared.settings import Environment, Settings
from shared.ui.i18n import LANGUAGE_COOKIE, LANGUAGES, N_
from shared.ui.login import LANGUAGE_COOKIE_MAX_AGE, local_path
from shared.ui.signin import is_secure
from shared.ui.templating import STATIC_DIR, shared_templates, translator

log = structlog.get_logger(__name__)

BAD_REQUEST_TITLE = N_("This sign-in request is not valid")
BAD_REQUEST_DETAIL = N_(
    "The application that sent you here is not registered for this address. Start again from its page."
)


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    client_id: str = ""
    redirect_uri: str = ""
    response_type: str = ""
    scope: str = ""
    state: str = ""
    nonce: str = ""
    code_challenge: str = ""
    code_challenge_method: str = ""

    @classmethod
    def of(cls, values: Any) -> AuthorizationRequest:
        """From query parameters or a form (unknown names ignored, repeated ones: the first)."""
        return cls(**{name: str(values.get(name) or "") for name in cls.__dataclass_fields__})


def client_address(request: Request) -> str:
    """The browser's address; behind our own proxy on loopback, the address it forwarded."""
    peer = request.client.host if request.client else ""
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded and peer in {"127.0.0.1", "::1"}:
        return forwarded.split(",")[-1].strip()
    return peer


def _redirect_with(uri: str, params: dict[str, str]) -> RedirectResponse:
    given = urlencode({k: v for k, v in params.items() if v})
    separator = "&" if "?" in uri else "?"
    return RedirectResponse(uri + separator + given if given else uri, status_code=303)


def _code_redirect(provider: DevProvider, ar: AuthorizationRequest, sid: str) -> RedirectResponse:
    """Back to the client with a one-time code for the signed-in provider session ``sid``."""
    code = provider.issue_code(
        client_id=ar.client_id,
        redirect_uri=ar.redirect_uri,
        challenge=ar.code_challenge,
        nonce=ar.nonce or None,
        sid=sid,
    )
    return _redirect_with(ar.redirect_uri, {"code": code, "state": ar.state})


def _oidc_error(exc: OidcError) -> JSONResponse:
    headers = {"Cache-Control": "no-store"}
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Basic"
    return JSONResponse({"error": exc.error, "error_description": exc.description}, exc.status, headers=headers)


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    response = shared_templates().render(request, name, context, user=None, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def _sign_in_page(
    request: Request,
    ar: AuthorizationRequest,
    *,
    username: str = "",
    error: str | None = None,
    minutes: int = 0,
    status_code: int = 200,
) -> Response:
    context = {
        "action": "/auth/authorize",
        "params": asdict(ar),
        "username": username,
        "error": error,
        "minutes": minutes,
    }
    return _page(request, "login.html", context, status_code)


def _check(provider: DevProvider, request: Request, ar: AuthorizationRequest) -> Response | None:
    """An answer refusing ``ar``, or None when it may proceed (RFC 6749 4.1.2.1: never redirect to an unknown URI)."""
    client = provider.clients.get(ar.client_id)
    if client is None or ar.redirect_uri not in client.redirect_uris:
        _ = translator(request)
        context = {"title": _(BAD_REQUEST_TITLE), "detail": _(BAD_REQUEST_DETAIL)}
        return _page(request, "error.html", context, status.HTTP_400_BAD_REQUEST)
    if ar.response_type != "code":
        return _redirect_with(ar.redirect_uri, {"error": "unsupported_response_type", "state": ar.state})
    if not ar.code_challenge or ar.code_challenge_method != "S256":
        params = {"error": "invalid_request", "error_description": "PKCE with S256 is required", "state": ar.state}
        return _redirect_with(ar.redirect_uri, params)
    return None


def _decode_hint(provider: DevProvider, id_token_hint: str) -> dict[str, Any]:
    """The claims of an ID token this provider issued, expired or not (only to learn its client and session)."""
    try:
        key = jwt.PyJWK(provider.issuer.jwks()["keys"][0]).key
        claims: dict[str, Any] = jwt.decode(
            id_token_hint,
            key,
            algorithms=["RS256"],
            issuer=provider.issuer.issuer,
            options={"verify_exp": False, "verify_aud": False},
        )
    except jwt.PyJWTError:
        return {}
    return claims


def provider_router(provider: DevProvider) -> APIRouter:
    router = APIRouter(prefix="/auth", tags=["auth"])

    @router.get("/", include_in_schema=False)
    async def home() -> Response:
        return RedirectResponse("/", status_code=303)

    @router.get("/.well-known/openid-configuration")
    async def discovery() -> dict[str, Any]:
        return provider.discovery()

    @router.get("/jwks.json")
    async def jwks() -> dict[str, Any]:
        return provider.issuer.jwks()

    @router.get("/language", include_in_schema=False)
    async def choose_language(lang: str = "", back_to: Annotated[str, Query(alias="next")] = "") -> Response:
        response = RedirectResponse(local_path(back_to, "/auth/"), status_code=303)
        if lang in LANGUAGES:
            response.set_cookie(
                LANGUAGE_COOKIE, lang, max_age=LANGUAGE_COOKIE_MAX_AGE, path="/", httponly=True, samesite="lax"
            )
        return response

    @router.get("/authorize", include_in_schema=False)
    async def authorize(request: Request, prompt: str = "") -> Response:
        ar = AuthorizationRequest.of(request.query_params)
        refused = _check(provider, request, ar)
        if refused is not None:
            return refused
        sid = request.cookies.get(PROVIDER_COOKIE)
        if provider.session(sid) is not None and prompt != "login":
            assert sid is not None
            return _code_redirect(provider, ar, sid)
        if prompt == "none":
            return _redirect_with(ar.redirect_uri, {"error": "login_required", "state": ar.state})
        return _sign_in_page(request, ar)

    @router.post("/authorize", include_in_schema=False)
    async def sign_in(
        request: Request,
        username: Annotated[str, Form()] = "",
        password: Annotated[str, Form()] = "",
    ) -> Response:
        ar = AuthorizationRequest.of(await request.form())
        refused = _check(provider, request, ar)
        if refused is not None:
            return refused
        username = username.strip()
        keys = [f"user:{username.lower()}", f"address:{client_address(request)}"]
        wait = provider.throttle.locked_for(keys)
        if wait > 0:
            log.warning("auth.provider.sign_in_throttled", retry_after_s=int(wait))
            minutes = max(1, math.ceil(wait / 60))
            page = _sign_in_page(request, ar, username=username, error="throttled", minutes=minutes, status_code=429)
            page.headers["Retry-After"] = str(math.ceil(wait))
            return page
        if not username or not password:
            return _sign_in_page(request, ar, username=username, error="missing", status_code=422)
        user = provider.issuer.check_password(username, password)
        if user is None:
            provider.throttle.failed(keys)
            log.info("auth.provider.sign_in_refused")
            return _sign_in_page(request, ar, username=username, error="wrong_credentials", status_code=401)
        provider.throttle.succeeded(keys[0])
        sid = provider.open_session(user)
        log.info("audit.auth.provider_signed_in", user=user.username, client_id=ar.client_id)
        response = _code_redirect(provider, ar, sid)
        response.set_cookie(
            PROVIDER_COOKIE,
            sid,
            path="/auth/",
            httponly=True,
            samesite="lax",
            secure=is_secure(request, production=False),
        )
        return response

    @router.post("/token")
    async def token(
        request: Request,
        grant_type: Annotated[str, Form()] = "password",
        username: Annotated[str, Form()] = "",
        password: Annotated[str, Form()] = "",
        code: Annotated[str, Form()] = "",
        code_verifier: Annotated[str, Form()] = "",
        redirect_uri: Annotated[str, Form()] = "",
        refresh_token: Annotated[str, Form()] = "",
        client_id: Annotated[str | None, Form()] = None,
        client_secret: Annotated[str | None, Form()] = None,
    ) -> Response:
        """The password form for scripts and tests (no ``grant_type`` needed), and the OIDC grants."""
        if grant_type == "password":
            keys = [f"user:{username.strip().lower()}"]
            if provider.throttle.locked_for(keys) > 0:
                raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "Too many failed sign-ins; try again later.")
            user = provider.issuer.check_password(username.strip(), password)
            if user is None:
                provider.throttle.failed(keys)
                raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Unknown user or wrong password.")
            body = {
                "access_token": provider.issuer.issue_for(user, ttl_s=PASSWORD_GRANT_TTL_S),
                "token_type": "bearer",
                "expires_in": PASSWORD_GRANT_TTL_S,
            }
            return JSONResponse(body, headers={"Cache-Control": "no-store"})
        try:
            client = provider.authenticate_client(request, client_id, client_secret)
            if grant_type == "authorization_code":
                body = provider.redeem_code(client, code, code_verifier, redirect_uri)
            elif grant_type == "refresh_token":
                body = provider.redeem_refresh(client, refresh_token)
            else:
                raise OidcError("unsupported_grant_type", f"grant type {grant_type!r} is not supported")
        except OidcError as exc:
            log.info("auth.provider.token_refused", error=exc.error, description=exc.description)
            return _oidc_error(exc)
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    @router.api_route("/logout", methods=["GET", "POST"], include_in_schema=False)
    async def end_session(request: Request) -> Response:
        """RP-initiated logout: ends the provider session and goes back to a registered post-logout URI."""
        params = dict(request.query_params)
        if request.method == "POST":
            params.update({k: v for k, v in (await request.form()).items() if isinstance(v, str)})
        hint = _decode_hint(provider, params["id_token_hint"]) if params.get("id_token_hint") else {}
        ended = [provider.end_session(sid) for sid in {request.cookies.get(PROVIDER_COOKIE), hint.get("sid")}]
        for username in filter(None, ended):
            log.info("audit.auth.provider_signed_out", user=username)
        client = provider.clients.get(params.get("client_id") or str(hint.get("aud", "")))
        target = params.get("post_logout_redirect_uri", "")
        if client is not None and target in client.post_logout_redirect_uris:
            response: Response = _redirect_with(target, {"state": params.get("state", "")})
        else:
            response = RedirectResponse("/", status_code=303)
        response.delete_cookie(PROVIDER_COOKIE, path="/auth/", httponly=True, samesite="lax")
        return response

    return router


def install_dev_provider(app: FastAPI, provider: DevProvider) -> None:
    """Serve ``provider`` under ``/auth`` of ``app`` (not a service app), with the shared static files its pages use."""
    if getattr(app.state, "settings", None) is None:  # the shared templates name the app's service
        app.state.settings = Settings(env=Environment.development, service="auth")
    app.mount("/auth/static", StaticFiles(directory=STATIC_DIR), name="auth-static")
    app.include_router(provider_router(provider))


def dev_provider_app(provider: DevProvider) -> FastAPI:
    """The provider alone, as an app (tests serve it in process or under uvicorn)."""
    app = FastAPI(title="Oslonac development OIDC provider", docs_url=None, redoc_url=None, openapi_url=None)
    install_dev_provider(app, provider)
    return app


__all__ = ["client_address", "dev_provider_app", "install_dev_provider", "provider_router"]
