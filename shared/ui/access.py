"""Who may see a page: the user of the browser's server-side session (shared.ui.sessions), or of a bearer token
(API clients and tests). Without either, the browser is sent to sign in (303, or ``HX-Redirect`` for an htmx
request) instead of getting a 401 JSON body; a user without the needed role gets a translated 403 page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, Request

from shared.auth import AuthError, Role, TokenVerifier, User
from shared.ui.sessions import SESSION_COOKIE
from shared.ui.signin import oidc_client, web_sessions
from shared.ui.templating import current_path, service_of


class SignInRequired(Exception):
    """No session or token, or one that is not accepted: the handler starts a sign-in that comes back to
    ``back_to`` (``login_url`` is this service's ``/login`` with it)."""

    def __init__(self, login_url: str, back_to: str | None = None) -> None:
        super().__init__(login_url)
        self.login_url = login_url
        self.back_to = back_to


class PageForbidden(Exception):
    """Signed in, but without any of ``roles``: the handler renders the 403 page."""

    def __init__(self, user: User, roles: frozenset[str]) -> None:
        super().__init__(", ".join(sorted(roles)))
        self.user = user
        self.roles = roles


def login_url(service: str, back_to: str | None = None) -> str:
    return f"/{service}/login" + (f"?{urlencode({'next': back_to})}" if back_to else "")


def _return_path(request: Request) -> str | None:
    """Where to come back after signing in: the page itself, or the page an htmx request came from."""
    from_htmx = request.headers.get("hx-current-url")
    if from_htmx:
        parts = urlsplit(from_htmx)
        return parts.path + (f"?{parts.query}" if parts.query else "") if parts.path.startswith("/") else None
    if request.method in {"GET", "HEAD"}:
        return current_path(request)
    return None  # a form post cannot be replayed after sign-in; the service root is the best we can do


def _bearer(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials:
        return credentials
    return None


async def page_user(request: Request) -> User:
    """The signed-in user of a page, or :class:`SignInRequired`."""
    verifier: TokenVerifier | None = getattr(request.app.state, "verifier", None)
    if verifier is None:  # pragma: no cover - every app sets it in create_app
        raise RuntimeError("app.state.verifier is not configured")
    back_to = _return_path(request)
    required = SignInRequired(login_url(service_of(request), back_to), back_to)
    token = _bearer(request)
    if token is not None:
        try:
            return await verifier.verify_async(token)
        except AuthError as exc:  # expired or foreign: sign in again
            raise required from exc
    user = await session_user(request)
    if user is None:
        raise required
    return user


async def session_user(request: Request) -> User | None:
    """The user of the browser's page session on this service, if it has a live one."""
    cached: User | None = getattr(request.state, "page_user", None)
    if cached is not None:
        return cached
    value = request.cookies.get(SESSION_COOKIE)
    store = web_sessions(request.app)
    if not value or store is None:
        return None
    user = await store.user_for(value, request.app.state.verifier, oidc_client(request.app))
    if user is not None:
        request.state.page_user = user  # the error page asks again within the same request
    return user


PageUser = Annotated[User, Depends(page_user)]


def require_page_role(*roles: Role | str) -> Callable[[User], Awaitable[User]]:
    """A dependency: the page user if they hold one of ``roles``, else :class:`PageForbidden`.

    Use as ``user: Annotated[User, Depends(require_page_role(Role.case_worker, Role.supervisor))]``.
    """
    names = frozenset(str(role) for role in roles)

    async def dependency(user: PageUser) -> User:
        if not user.roles.intersection(names):
            raise PageForbidden(user, names)
        return user

    return dependency


__all__ = [
    "PageForbidden",
    "PageUser",
    "SignInRequired",
    "login_url",
    "page_user",
    "require_page_role",
    "session_user",
]
