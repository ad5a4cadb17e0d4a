"""The relying party's side of OpenID Connect: discovery, PKCE, the code exchange, refresh, ID token checks.

Every back-channel call (discovery, token endpoint, JWKS) goes through one httpx client built with
``transport`` (tests hand in an ``httpx.ASGITransport`` to the development provider), and to
``oidc_internal_url`` instead of the issuer's public prefix when that is set.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import structlog

from shared.settings import Settings

log = structlog.get_logger(__name__)

TIMEOUT_S = 10.0
METADATA_TTL_S = 3600.0
JWKS_TTL_S = 300.0


class OidcUnavailable(Exception):
    """The provider did not answer, or answered something that is not OIDC: an outage or a misconfiguration."""


class OidcRefused(Exception):
    """The provider refused a grant (``invalid_grant``: a used or expired code, a revoked refresh token)."""


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None


@dataclass(frozen=True, slots=True)
class TokenSet:
    access_token: str
    expires_at: float
    refresh_token: str | None
    id_token: str | None


def pkce_pair() -> tuple[str, str]:
    """A PKCE ``code_verifier`` and its S256 ``code_challenge`` (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    return verifier, s256(verifier)


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OidcClient:
    """One service's view of its provider; cheap to keep for the life of the app."""

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        if not settings.oidc_issuer:
            raise ValueError("OSLONAC_OIDC_ISSUER is not set")
        self.issuer = settings.oidc_issuer
        self.internal_url = settings.oidc_internal_url
        self.client_id = settings.oidc_client_id
        self.client_secret = settings.oidc_client_secret
        self.transport = transport
        self._metadata: tuple[ProviderMetadata, float] | None = None
        self._jwks: tuple[jwt.PyJWKSet, float] | None = None
        self._lock = asyncio.Lock()

    def backchannel(self, url: str) -> str:
        """``url`` as this server reaches it: the issuer's public prefix replaced by the internal URL."""
        public = self.issuer.rstrip("/")
        if self.internal_url and (url == public or url.startswith(public + "/")):
            return self.internal_url.rstrip("/") + url[len(public) :]
        return url

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport, timeout=TIMEOUT_S)

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with self._client() as client:
                response = await client.get(self.backchannel(url), headers={"Accept": "application/json"})
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("auth.oidc.unavailable", url=url, error=repr(exc)[:300])
            raise OidcUnavailable(str(exc)) from exc
        if not isinstance(body, dict):
            raise OidcUnavailable(f"{url} did not answer a JSON object")
        return body

    async def metadata(self) -> ProviderMetadata:
        """The discovery document (``{issuer}/.well-known/openid-configuration``), cached for an hour."""
        cached = self._metadata
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        async with self._lock:
            body = await self._get_json(self.issuer.rstrip("/") + "/.well-known/openid-configuration")
            try:
                found = ProviderMetadata(
                    issuer=str(body["issuer"]),
                    authorization_endpoint=str(body["authorization_endpoint"]),
                    token_endpoint=str(body["token_endpoint"]),
                    jwks_uri=str(body["jwks_uri"]),
                    end_session_endpoint=str(body["end_session_endpoint"])
                    if body.get("end_session_endpoint")
                    else None,
                )
            except KeyError as exc:
                raise OidcUnavailable(f"the discovery document lacks {exc}") from exc
            if found.issuer != self.issuer:
                raise OidcUnavailable(f"the provider calls itself {found.issuer!r}, not {self.issuer!r}")
            self._metadata = (found, time.monotonic() + METADATA_TTL_S)
            return found

    async def signing_key(self, token: str) -> Any:
        """The provider's public key that signed ``token`` (by ``kid``), from its JWKS (refetched on a new kid)."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise jwt.InvalidTokenError(str(exc)) from exc
        for fresh in (False, True):
            keys = await self._keys(fresh=fresh)
            for key in keys.keys:
                if kid is None or key.key_id == kid:
                    return key.key
        raise jwt.InvalidTokenError(f"no key {kid!r} in the provider's JWKS")

    async def _keys(self, *, fresh: bool) -> jwt.PyJWKSet:
        cached = self._jwks
        if cached is not None and not fresh and cached[1] > time.monotonic():
            return cached[0]
        metadata = await self.metadata()
        body = await self._get_json(metadata.jwks_uri)
        try:
            keys = jwt.PyJWKSet.from_dict(body)
        except jwt.PyJWTError as exc:
            raise OidcUnavailable(f"unusable JWKS: {exc}") from exc
        self._jwks = (keys, time.monotonic() + JWKS_TTL_S)
        return keys

    async def _token_request(self, form: dict[str, str]) -> TokenSet:
        metadata = await self.metadata()
        auth: httpx.BasicAuth | None = None
        if self.client_secret:
            auth = httpx.BasicAuth(self.client_id, self.client_secret)
        else:
            form = {**form, "client_id": self.client_id}
        try:
            async with self._client() as client:
                response = await client.post(
                    self.backchannel(metadata.token_endpoint),
                    data=form,
                    auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
                    headers={"Accept": "application/json"},
                )
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("auth.oidc.token_endpoint_unavailable", error=repr(exc)[:300])
            raise OidcUnavailable(str(exc)) from exc
        if not isinstance(body, dict):
            raise OidcUnavailable("the token endpoint did not answer a JSON object")
        if response.status_code == 400 and body.get("error") == "invalid_grant":
            raise OidcRefused(str(body.get("error_description", "invalid_grant"))[:300])
        access_token = body.get("access_token")
        if response.status_code != 200 or not isinstance(access_token, str):
            # invalid_client, unauthorized_client, 5xx: the client's registration or an outage, not the user.
            log.error("auth.oidc.token_endpoint_refused", status=response.status_code, error=body.get("error"))
            raise OidcUnavailable(f"token endpoint answered {response.status_code} {body.get('error')}")
        expires_in = body.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else 300.0
        refresh_token = body.get("refresh_token")
        id_token = body.get("id_token")
        return TokenSet(
            access_token=access_token,
            expires_at=time.time() + lifetime,
            refresh_token=refresh_token if isinstance(refresh_token, str) else None,
            id_token=id_token if isinstance(id_token, str) else None,
        )

    async def exchange_code(self, *, code: str, code_verifier: str, redirect_uri: str) -> TokenSet:
        return await self._token_request(
            {
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": code_verifier,
                "redirect_uri": redirect_uri,
            }
        )

    async def refresh(self, refresh_token: str) -> TokenSet:
        return await self._token_request({"grant_type": "refresh_token", "refresh_token": refresh_token})

    async def verify_id_token(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        """The ID token's claims, if it is signed by the provider, for this client, and carries ``nonce``."""
        try:
            key = await self.signing_key(id_token)
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key,
                algorithms=["RS256"],
                issuer=self.issuer,
                audience=self.client_id,
                options={"require": ["sub", "exp", "iat", "aud", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise OidcRefused(f"ID token not accepted: {exc}") from exc
        if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise OidcRefused("ID token nonce does not match the sign-in")
        return claims


__all__ = ["OidcClient", "OidcRefused", "OidcUnavailable", "ProviderMetadata", "TokenSet", "pkce_pair", "s256"]
