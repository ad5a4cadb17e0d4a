"""A small OpenID Connect provider for the embedded run and tests (production uses Keycloak).

Discovery, an authorization endpoint with a sign-in page in the user's language (authorization code flow, PKCE
S256 required, one-time codes), a token endpoint (``authorization_code``, ``refresh_token``, and the password
form that scripts and tests use), JWKS, and an end-session endpoint. Its own session cookie lets a second service
sign in without the form. Everything lives in memory: restarting the embedded run signs everyone out.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from shared.auth import DemoUser, DevIssuer
from shared.oidc import s256

PROVIDER_COOKIE = "oslonac_idp"
PASSWORD_GRANT_TTL_S = 8 * 3600


@dataclass(frozen=True, slots=True)
class ClientRegistration:
    client_id: str
    redirect_uris: frozenset[str]
    post_logout_redirect_uris: frozenset[str] = frozenset()
    secret: str | None = None


def web_client(
    origins: str | Iterable[str], services: Iterable[str], client_id: str = "oslonac-web"
) -> ClientRegistration:
    """The pages of ``services`` served on ``origins`` (one origin, or its aliases) as one public client."""
    bases = [origins.rstrip("/")] if isinstance(origins, str) else [o.rstrip("/") for o in origins]
    names = list(services)
    return ClientRegistration(
        client_id,
        frozenset(f"{base}/{name}/auth/callback" for base in bases for name in names),
        frozenset(f"{base}/{name}/signed-out" for base in bases for name in names),
    )


class SignInThrottle:
    """After ``max_failures`` failed sign-ins for one user name or one client address within ``window_s``, refuse
    that name or address until the oldest of those failures is ``window_s`` old."""

    def __init__(self, *, max_failures: int = 5, window_s: float = 900.0, clock: Callable[[], float] = time.time):
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        cutoff = self.clock() - self.window_s
        while failures and failures[0] <= cutoff:
            failures.popleft()
        return failures

    def locked_for(self, keys: Iterable[str]) -> float:
        """Seconds until these keys may try again (0: now)."""
        wait = 0.0
        for key in keys:
            failures = self._recent(key)
            if len(failures) >= self.max_failures:
                wait = max(wait, failures[-self.max_failures] + self.window_s - self.clock())
        return wait

    def failed(self, keys: Iterable[str]) -> None:
        now = self.clock()
        for key in keys:
            self._recent(key)  # drop the failures that left the window
            self._failures.setdefault(key, deque()).append(now)
        if len(self._failures) > 10_000:  # forget keys with no recent failure
            self._failures = {k: v for k, v in self._failures.items() if self._recent(k)}

    def succeeded(self, username_key: str) -> None:
        self._failures.pop(username_key, None)


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str | None
    username: str
    sid: str
    expires_at: float


@dataclass
class _Refresh:
    client_id: str
    username: str
    sid: str
    expires_at: float


@dataclass
class _ProviderSession:
    username: str
    expires_at: float
    refresh_tokens: set[str] = field(default_factory=set)


class OidcError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


class DevProvider:
    """The provider's state: registered clients, one-time codes, refresh tokens, provider sessions, throttle."""

    def __init__(
        self,
        issuer: DevIssuer,
        clients: Iterable[ClientRegistration],
        *,
        code_ttl_s: float = 60.0,
        access_ttl_s: int = 300,
        session_ttl_s: float = 10 * 3600,
        throttle: SignInThrottle | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = issuer
        self.clients = {c.client_id: c for c in clients}
        self.code_ttl_s, self.access_ttl_s, self.session_ttl_s = code_ttl_s, access_ttl_s, session_ttl_s
        self.throttle = throttle or SignInThrottle(clock=clock)
        self.clock = clock
        self._codes: dict[str, _Code] = {}
        self._refresh: dict[str, _Refresh] = {}
        self.sessions: dict[str, _ProviderSession] = {}

    @property
    def base(self) -> str:
        return self.issuer.issuer.rstrip("/")

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer.issuer,
            "authorization_endpoint": f"{self.base}/authorize",
            "token_endpoint": f"{self.base}/token",
            "jwks_uri": f"{self.base}/jwks.json",
            "end_session_endpoint": f"{self.base}/logout",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token", "password"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid"],
        }

    def session(self, sid: str | None) -> _ProviderSession | None:
        found = self.sessions.get(sid) if sid else None
        if found is None or found.expires_at <= self.clock():
            return None
        return found

    def open_session(self, user: DemoUser) -> str:
        sid = secrets.token_urlsafe(32)
        self.sessions[sid] = _ProviderSession(user.username, self.clock() + self.session_ttl_s)
        return sid

    def end_session(self, sid: str | None) -> str | None:
        """End the provider session ``sid`` and revoke its refresh tokens; its user name, if it was one."""
        ended = self.sessions.pop(sid, None) if sid else None
        if ended is None:
            return None
        for token in ended.refresh_tokens:
            self._refresh.pop(token, None)
        return ended.username

    def issue_code(self, *, client_id: str, redirect_uri: str, challenge: str, nonce: str | None, sid: str) -> str:
        now = self.clock()
        self._codes = {k: v for k, v in self._codes.items() if v.expires_at > now}
        code = secrets.token_urlsafe(32)
        username = self.sessions[sid].username
        self._codes[code] = _Code(client_id, redirect_uri, challenge, nonce, username, sid, now + self.code_ttl_s)
        return code

    def authenticate_client(self, request: Request, client_id: str | None, client_secret: str | None) -> str:
        """The client id of a token request (client_secret_basic, client_secret_post, or a public client)."""
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                client_id, _, client_secret = base64.b64decode(header[6:]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise OidcError("invalid_client", "unreadable client credentials", 401) from exc
        client = self.clients.get(client_id or "")
        if client is None:
            raise OidcError("invalid_client", "unknown client", 401)
        if client.secret is not None and not hmac.compare_digest(
            (client_secret or "").encode(), client.secret.encode()
        ):
            raise OidcError("invalid_client", "wrong client secret", 401)
        return client.client_id

    def _tokens(self, client_id: str, username: str, sid: str, nonce: str | None) -> dict[str, Any]:
        user = self.issuer.users.get(username)
        session = self.sessions.get(sid)
        if user is None or session is None:
            raise OidcError("invalid_grant", "the sign-in has ended")
        now = int(self.clock())
        refresh = secrets.token_urlsafe(32)
        self._refresh[refresh] = _Refresh(client_id, username, sid, session.expires_at)
        session.refresh_tokens.add(refresh)
        id_claims: dict[str, Any] = {
            "iss": self.issuer.issuer,
            "sub": user.username,
            "aud": client_id,
            "iat": now,
            "exp": now + self.access_ttl_s,
            "sid": sid,
            "preferred_username": user.username,
        }
        if nonce:
            id_claims["nonce"] = nonce
        return {
            "access_token": self.issuer.issue_for(user, ttl_s=self.access_ttl_s),
            "token_type": "Bearer",
            "expires_in": self.access_ttl_s,
            "refresh_token": refresh,
            "id_token": self.issuer.sign(id_claims),
            "scope": "openid",
        }

    def redeem_code(self, client_id: str, code: str, verifier: str, redirect_uri: str) -> dict[str, Any]:
        found = self._codes.pop(code, None)  # one use only, whatever happens next
        if found is None or found.expires_at <= self.clock():
            raise OidcError("invalid_grant", "unknown, used or expired code")
        if found.client_id != client_id or found.redirect_uri != redirect_uri:
            raise OidcError("invalid_grant", "the code was issued to another client or redirect URI")
        if not verifier or not hmac.compare_digest(s256(verifier), found.code_challenge):
            raise OidcError("invalid_grant", "PKCE verification failed")
        return self._tokens(client_id, found.username, found.sid, found.nonce)

    def redeem_refresh(self, client_id: str, token: str) -> dict[str, Any]:
        found = self._refresh.pop(token, None)  # rotated: each refresh token works once
        if found is None or found.expires_at <= self.clock() or found.client_id != client_id:
            raise OidcError("invalid_grant", "unknown, used or expired refresh token")
        session = self.sessions.get(found.sid)
        if session is not None:
            session.refresh_tokens.discard(token)
        return self._tokens(client_id, found.username, found.sid, None)


__all__ = ["PROVIDER_COOKIE", "ClientRegistration", "DevProvider", "OidcError", "SignInThrottle", "web_client"]
