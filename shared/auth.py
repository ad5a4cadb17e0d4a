"""Authentication: RS256 JWTs with ``sub``, ``roles`` and ``municipalities`` claims.

Services only verify (a PEM public key, a JWKS URL, or the keys the OIDC provider's discovery names). The
development issuer, which holds the private key and the seeded demo users, exists only in the embedded run and
tests (its OIDC endpoints: shared.oidc_provider).
"""

from __future__ import annotations

import asyncio
import hmac
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

DEV_KEY_ID = "oslonac-dev"


class Role(StrEnum):
    case_worker = "case_worker"
    supervisor = "supervisor"
    employer = "employer"
    coordinator = "coordinator"  # an employers' forum coordinator (the forum's municipalities are the user's)
    analyst = "analyst"
    admin = "admin"


@dataclass(frozen=True, slots=True)
class User:
    sub: str
    roles: frozenset[str]
    municipalities: frozenset[str]
    organisation: str | None = None

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def can_see_municipality(self, code: str) -> bool:
        return Role.admin in self.roles or code in self.municipalities


class AuthError(Exception):
    pass


KeySource = Callable[[str], Awaitable[Any]]


class TokenVerifier:
    """Verifies RS256 tokens against a PEM public key, the keys behind a JWKS URL, or ``key_source`` (an async
    lookup of the key that signed a token: the OIDC provider's JWKS found by discovery)."""

    def __init__(
        self,
        *,
        public_key_pem: str | None = None,
        jwks_url: str | None = None,
        key_source: KeySource | None = None,
        issuer: str | None = None,
        audience: str | None = None,
    ) -> None:
        if not public_key_pem and not jwks_url and key_source is None:
            raise ValueError("a public key, a JWKS URL or an OIDC issuer is needed to verify tokens")
        self._key_source = key_source
        self._key = serialization.load_pem_public_key(public_key_pem.encode()) if public_key_pem else None
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300) if jwks_url else None
        self.issuer = issuer
        self.audience = audience
        # Verified tokens, so a user's next requests skip the RSA check until the token expires.
        self._cache: OrderedDict[str, tuple[User, float]] = OrderedDict()
        self._cache_size = 4096
        self._cache_lock = threading.Lock()  # JWKS verification runs in worker threads

    def _key_for(self, token: str) -> Any:
        if self._key is not None:
            return self._key
        if self._jwks is None:
            raise AuthError("this verifier looks its keys up asynchronously: use verify_async")
        return self._jwks.get_signing_key_from_jwt(token).key

    def _cached(self, token: str) -> User | None:
        with self._cache_lock:
            hit = self._cache.get(token)
            if hit is None:
                return None
            if hit[1] <= time.time():
                del self._cache[token]
                return None
            self._cache.move_to_end(token)
            return hit[0]

    def verify(self, token: str) -> User:
        cached = self._cached(token)
        if cached is not None:
            return cached
        user, expires = self._verify_uncached(token)
        with self._cache_lock:
            self._cache[token] = (user, expires)
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return user

    def _verify_uncached(self, token: str, key: Any = None) -> tuple[User, float]:
        try:
            claims = jwt.decode(
                token,
                key if key is not None else self._key_for(token),
                algorithms=["RS256"],
                issuer=self.issuer,
                audience=self.audience,
                options={"require": ["sub", "exp"], "verify_aud": self.audience is not None},
            )
        except (jwt.PyJWTError, ValueError) as exc:
            raise AuthError(str(exc)) from exc
        return user_from_claims(claims), float(claims["exp"])

    async def verify_async(self, token: str) -> User:
        cached = self._cached(token)
        if cached is not None:
            return cached
        if self._key is not None:
            return self.verify(token)
        if self._key_source is not None:
            try:
                key = await self._key_source(token)
            except jwt.PyJWTError as exc:
                raise AuthError(str(exc)) from exc
            except Exception as exc:  # the provider is unreachable: the token cannot be checked now
                raise AuthError(f"the signing keys could not be fetched: {exc}") from exc
            user, expires = self._verify_uncached(token, key)
            with self._cache_lock:
                self._cache[token] = (user, expires)
                if len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
            return user
        return await asyncio.to_thread(self.verify, token)  # a JWKS refresh may fetch over the network


def user_from_claims(claims: dict[str, Any]) -> User:
    roles = claims.get("roles") or []
    municipalities = claims.get("municipalities") or []
    if not isinstance(roles, list) or not isinstance(municipalities, list):
        raise AuthError("roles and municipalities claims must be lists")
    return User(
        sub=str(claims["sub"]),
        roles=frozenset(str(r) for r in roles),
        municipalities=frozenset(str(m) for m in municipalities),
        organisation=claims.get("organisation"),
    )


_bearer = HTTPBearer(auto_error=False)


async def current_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> User:
    verifier: TokenVerifier | None = getattr(request.app.state, "verifier", None)
    if verifier is None:  # pragma: no cover - every app sets it in create_app
        raise RuntimeError("app.state.verifier is not configured")
    token = credentials.credentials if credentials else None
    if not token and request.method in {"GET", "HEAD"}:
        # A download the pages link to (intake's import reports) comes with the page session, not a token: accept
        # it for reads only, so no state-changing API call ever rides on a cookie.
        from shared.ui.access import session_user  # the UI builds on this module

        user = await session_user(request)
        if user is not None:
            return user
    if not token:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Sign in first: send 'Authorization: Bearer <token>' (POST /auth/token gives one).",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        return await verifier.verify_async(token)
    except AuthError as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            f"The token was not accepted: {exc}",
            headers={"WWW-Authenticate": "Bearer"},
        ) from exc


CurrentUser = Annotated[User, Depends(current_user)]


def require_role(*roles: Role) -> Callable[..., Any]:
    names = {r.value for r in roles}

    async def dependency(user: CurrentUser) -> User:
        if not user.roles.intersection(names):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"This needs one of the roles: {', '.join(sorted(names))}.",
            )
        return user

    return dependency


def ensure_municipality(user: User, code: str) -> None:
    if not user.can_see_municipality(code):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"Municipality {code} is not among the municipalities you work for.",
        )


# --- development issuer (embedded run only) -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoUser:
    username: str
    roles: tuple[str, ...]
    municipalities: tuple[str, ...]
    organisation: str | None = None


def generate_keypair(directory: Path) -> tuple[Path, Path]:
    """An RSA key pair for the development issuer, created once per data directory."""
    directory.mkdir(parents=True, exist_ok=True)
    private_path, public_path = directory / "jwt-private.pem", directory / "jwt-public.pem"
    if not private_path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        private_path.chmod(0o600)
        public_path.write_bytes(
            key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
    return private_path, public_path


class DevIssuer:
    """Issues tokens for seeded demo users. Never used in production."""

    def __init__(
        self,
        private_key_pem: str,
        users: Iterable[DemoUser],
        *,
        password: str,
        issuer: str = "oslonac-dev",
        audience: str | None = None,
    ) -> None:
        self._key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
        self.users = {u.username: u for u in users}
        self._password = password
        self.issuer = issuer
        self.audience = audience

    def issue_for(self, user: DemoUser, *, ttl_s: int = 8 * 3600) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": user.username,
            "iat": now,
            "exp": now + ttl_s,
            "roles": list(user.roles),
            "municipalities": list(user.municipalities),
            "preferred_username": user.username,
        }
        if user.organisation:
            claims["organisation"] = user.organisation
        if self.audience:
            claims["aud"] = self.audience
        return self.sign(claims)

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": DEV_KEY_ID})  # type: ignore[arg-type]

    def check_password(self, username: str, password: str) -> DemoUser | None:
        """The user, if ``password`` is theirs (compared in constant time whether or not the user exists)."""
        user = self.users.get(username)
        ok = hmac.compare_digest(password.encode(), self._password.encode())
        return user if user is not None and ok else None

    def login(self, username: str, password: str) -> str:
        user = self.check_password(username, password)
        if user is None:
            raise AuthError("unknown user or wrong password")
        return self.issue_for(user)

    def jwks(self) -> dict[str, Any]:
        public = self._key.public_key()
        assert isinstance(public, rsa.RSAPublicKey)
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(public, as_dict=True)
        jwk.update({"kid": DEV_KEY_ID, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}
