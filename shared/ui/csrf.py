"""CSRF protection of every state-changing request that a browser could be tricked into sending: a signed
double-submit token.

Each browser gets a random secret in the HttpOnly cookie ``oslonac_csrf``; pages carry ``HMAC(key, secret)`` in
their forms (``csrf_token`` field, rendered by the ``csrf_field()`` template global) and in the ``X-CSRF-Token``
header htmx sends. Another site can make a browser send the cookie, but it can neither read it nor compute the
token without the key (``OSLONAC_CSRF_SECRET``), so a forged form post fails the check.

The check is independent of how the user signed in: it looks only at the request's method, its
``Authorization`` header and this cookie. A request with an ``Authorization: Bearer`` header carries no ambient
credential (a browser never adds one by itself), so it is exempt; so is an ``/api/`` request without any cookie.
Everything else that is POST, PUT, PATCH or DELETE must carry the token.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

import structlog
from starlette.requests import Request
from starlette.responses import Response

from shared.settings import Settings

log = structlog.get_logger(__name__)

CSRF_COOKIE = "oslonac_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
KEY_FILE = "csrf.key"
# 32 random bytes, URL-safe base64 without padding: what ``new_secret`` makes and the only cookie value accepted.
_SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")
_NEW_SECRET = "oslonac_csrf_new_secret"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class CsrfRefused(Exception):
    """An unsafe request without the token of this browser's cookie; answered with 403 (``csrf_failed``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def signing_key(settings: Settings) -> bytes:
    """``OSLONAC_CSRF_SECRET``, or outside production a key generated once into the data directory (shared by
    the processes of the embedded run, kept across restarts so that open pages stay valid)."""
    if settings.csrf_secret is not None:
        return settings.csrf_secret.get_secret_value().encode()
    path = settings.data_dir / KEY_FILE
    try:
        return _key_file(path)
    except OSError as exc:  # a read-only or missing data directory: tokens then last as long as this process
        log.warning("ui.csrf.key_file_unusable", path=str(path), error=repr(exc)[:200])
        return secrets.token_bytes(32)


def _key_file(path: Path) -> bytes:
    with contextlib.suppress(FileNotFoundError):
        return _read_key(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    draft.write_bytes(secrets.token_hex(32).encode())
    draft.chmod(0o600)
    try:
        os.link(draft, path)  # atomic, and refuses if another process wrote its key first: then use that one
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    key = path.read_bytes().strip()
    if len(key) < 32:
        raise OSError(f"{path} holds no usable key")
    return key


def app_key(request: Request) -> bytes:
    """The signing key of the app serving ``request`` (derived once per app)."""
    state = request.app.state
    key: bytes | None = getattr(state, "csrf_key", None)
    if key is None:
        key = signing_key(state.settings)
        state.csrf_key = key
    return key


def new_secret() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


def token_of(key: bytes, secret: str) -> str:
    digest = hmac.new(key, b"oslonac-csrf:" + secret.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _cookie_secret(request: Request) -> str | None:
    value = request.cookies.get(CSRF_COOKIE, "")
    return value if _SECRET_SHAPE.fullmatch(value) else None


def browser_secret(request: Request) -> str:
    """This browser's secret: its cookie's, or a new one that :func:`issue_cookie` sets on the response."""
    found = _cookie_secret(request)
    if found is not None:
        return found
    minted: str | None = request.scope.get(_NEW_SECRET)
    if minted is None:
        minted = request.scope[_NEW_SECRET] = new_secret()
    return minted


def csrf_token(request: Request) -> str:
    """The token a page served for ``request`` puts into its forms and htmx headers."""
    return token_of(app_key(request), browser_secret(request))


def is_secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def issue_cookie(request: Request, response: Response) -> None:
    """Set the cookie on ``response`` if rendering it minted a secret (the browser had none, or a malformed one)."""
    minted: str | None = request.scope.get(_NEW_SECRET)
    if minted is None:
        return
    response.set_cookie(CSRF_COOKIE, minted, path="/", httponly=True, samesite="lax", secure=is_secure(request))


def _bearer(request: Request) -> bool:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(credentials.strip())


def needs_check(request: Request) -> bool:
    """Whether ``request`` could have been forged by another site: unsafe, no bearer header, and either a page
    or an API request carrying cookies."""
    if request.method not in UNSAFE_METHODS or _bearer(request):
        return False
    if "/api/" in request.url.path:
        return bool(request.headers.get("cookie"))
    return True


async def _sent_token(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "").strip().lower()
    if content_type.startswith(_FORM_TYPES):
        # Starlette keeps the parsed form on the request: the route reads the same one, the body once.
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


async def csrf_protect(request: Request) -> None:
    """A dependency for every route of a service app: refuse an unsafe request without a valid token."""
    if not needs_check(request):
        return
    secret = _cookie_secret(request)
    if secret is None:
        raise CsrfRefused("no csrf cookie")
    sent = await _sent_token(request)
    if not sent:
        raise CsrfRefused("no csrf token")
    if not hmac.compare_digest(sent.encode(), token_of(app_key(request), secret).encode()):
        raise CsrfRefused("csrf token does not match the cookie")


__all__ = [
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "CsrfRefused",
    "app_key",
    "browser_secret",
    "csrf_protect",
    "csrf_token",
    "is_secure",
    "issue_cookie",
    "needs_check",
    "new_secret",
    "signing_key",
    "token_of",
]
