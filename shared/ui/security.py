"""The browser-facing protections of every service app: security headers on every response, a same-origin
Content-Security-Policy on every HTML page, and the CSRF check of every state-changing request (``shared.ui.csrf``).

``create_service_app`` calls :func:`install_security` once, right after ``install_ui``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.problems import problem_response
from shared.settings import Settings
from shared.ui.csrf import CsrfRefused, csrf_protect
from shared.ui.i18n import N_
from shared.ui.login import wants_page
from shared.ui.templating import shared_templates, translator

CSRF_TITLE = N_("The form was not accepted")
CSRF_REFUSED = N_("The form has expired or was sent from another site. Reload the page and try again.")

# Everything from this origin only: no inline script or style, no CDN, no plug-ins, no framing. Chart data travels
# in <script type="application/json">, which is data, not script, so no 'unsafe-inline' is needed anywhere.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action {form_action}; frame-ancestors 'none'"
)
# Anything else (JSON, CSV, files): it is never a document that may run or load anything.
OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"
# The API documentation page (``/{service}/docs``, shared.ui.api_docs): Swagger UI served from this origin, started
# by a script file; its React views set style attributes, so only this page allows inline styles.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000"


def _origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


# Settings that may name the sign-in provider (which of them exist depends on how pages sign in).
PROVIDER_URL_SETTINGS = ("oidc_issuer", "jwt_issuer", "auth_token_url")


def form_action_sources(settings: Settings) -> str:
    """``'self'`` and the sign-in provider's origin: sign-out posts here and is redirected there, and a browser
    applies ``form-action`` to the redirects that follow a form post."""
    urls = (getattr(settings, name, None) for name in PROVIDER_URL_SETTINGS)
    origins = {_origin(url) for url in urls if isinstance(url, str)}
    return " ".join(["'self'", *sorted(o for o in origins if o is not None)])


def page_policy(settings: Settings) -> str:
    return PAGE_POLICY.format(form_action=form_action_sources(settings))


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response (a header the app set itself is left as it is)."""

    def __init__(self, app: ASGIApp, page_policy: str, docs_path: str | None = None) -> None:
        self.app = app
        self.page_policy = page_policy
        self.docs_path = docs_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        secure = scope.get("scheme") == "https" or any(
            name == b"x-forwarded-proto" and value == b"https" for name, value in scope["headers"]
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                html = headers.get("content-type", "").startswith("text/html")
                defaults = {
                    "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "same-origin",
                    "X-Frame-Options": "DENY",
                    "Content-Security-Policy": self._policy(scope) if html else OTHER_POLICY,
                }
                if html:
                    # Pages show personal data: never kept by the browser's or a proxy's cache.
                    defaults["Cache-Control"] = "no-store"
                if secure:
                    defaults["Strict-Transport-Security"] = HSTS
                for name, value in defaults.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _policy(self, scope: Scope) -> str:
        if self.docs_path and str(scope.get("path", "")).startswith(self.docs_path):
            return DOCS_POLICY
        return self.page_policy


def _page_request(request: Request) -> bool:
    """A page request as error pages see it (``wants_page``), or an htmx request from a page."""
    htmx = request.headers.get("hx-request") == "true" and "/api/" not in request.url.path
    return wants_page(request) or htmx


def csrf_refusal(request: Request, exc: CsrfRefused) -> Response:
    """403: a translated page for a page request, problem+json (``csrf_failed``) for anything else."""
    _ = translator(request)
    if _page_request(request):
        context = {"title": _(CSRF_TITLE), "detail": _(CSRF_REFUSED)}
        response = shared_templates().render(request, "error.html", context, user=None, status_code=403)
        return response
    return problem_response(403, "csrf_failed", CSRF_REFUSED)


def install_security(app: FastAPI, settings: Settings) -> None:
    """Security headers on every response and the CSRF check on every route included from now on.

    Call it after ``install_ui``: the sign-in routes it installs are not checked (signing in has no session yet
    to protect; the provider's redirect back is a GET protected by OIDC ``state``)."""
    app.add_middleware(
        SecurityHeadersMiddleware, page_policy=page_policy(settings), docs_path=f"/{settings.service}/docs"
    )
    app.router.dependencies.append(Depends(csrf_protect))

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, exc: CsrfRefused) -> Response:
        return csrf_refusal(request, exc)


__all__ = [
    "CSRF_REFUSED",
    "DOCS_POLICY",
    "PAGE_POLICY",
    "SecurityHeadersMiddleware",
    "csrf_refusal",
    "form_action_sources",
    "install_security",
    "page_policy",
]
