"""RS256 tokens: the development issuer, the verifier (PEM and JWKS), and the FastAPI dependencies."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Annotated, Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from fastapi import Depends, FastAPI, HTTPException
from fastapi.testclient import TestClient

from shared.auth import (
    AuthError,
    DemoUser,
    DevIssuer,
    Role,
    TokenVerifier,
    User,
    ensure_municipality,
    generate_keypair,
    require_role,
    user_from_claims,
)

PASSWORD = "pw"
ISSUER = "oslonac-dev"
RUMA, ADA, NOVA_CRNJA = "80357", "80012", "80250"

SUPERVISOR = DemoUser("mira.supervisor", (Role.supervisor.value,), (RUMA, ADA), organisation="CSR Ruma")
CASE_WORKER = DemoUser("ana.worker", (Role.case_worker.value,), (RUMA,))


@dataclass(frozen=True)
class Keys:
    private_pem: str
    public_pem: str
    private_path: Path
    public_path: Path


def load_keys(directory: Path) -> Keys:
    private_path, public_path = generate_keypair(directory)
    return Keys(private_path.read_text(), public_path.read_text(), private_path, public_path)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return load_keys(tmp_path_factory.mktemp("jwt"))


@pytest.fixture(scope="module")
def other_keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return load_keys(tmp_path_factory.mktemp("jwt-other"))


@pytest.fixture(scope="module")
def issuer(keys: Keys) -> DevIssuer:
    return DevIssuer(keys.private_pem, [SUPERVISOR, CASE_WORKER], password=PASSWORD)


@pytest.fixture(scope="module")
def verifier(keys: Keys) -> TokenVerifier:
    return TokenVerifier(public_key_pem=keys.public_pem, issuer=ISSUER)


def signed(keys: Keys, claims: dict[str, Any], **kwargs: Any) -> str:
    """A token made with pyjwt directly, for the cases the issuer never produces."""
    key = serialization.load_pem_private_key(keys.private_pem.encode(), password=None)
    return jwt.encode(claims, key, algorithm="RS256", **kwargs)  # type: ignore[arg-type]


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "someone",
        "iat": now,
        "exp": now + 600,
        "roles": ["case_worker"],
        "municipalities": [RUMA],
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


# --- key pair ------------------------------------------------------------------------------------


def test_generate_keypair_writes_pem_files_once(tmp_path: Path) -> None:
    private_path, public_path = generate_keypair(tmp_path / "keys")
    first = private_path.read_bytes(), public_path.read_bytes()
    assert first[0].startswith(b"-----BEGIN PRIVATE KEY-----")
    assert first[1].startswith(b"-----BEGIN PUBLIC KEY-----")
    assert private_path.stat().st_mode & 0o777 == 0o600
    assert generate_keypair(tmp_path / "keys") == (private_path, public_path)
    assert (private_path.read_bytes(), public_path.read_bytes()) == first  # not regenerated


# --- login and verify ----------------------------------------------------------------------------


def test_login_gives_a_token_the_verifier_turns_into_the_user(issuer: DevIssuer, verifier: TokenVerifier) -> None:
    user = verifier.verify(issuer.login("mira.supervisor", PASSWORD))
    assert user == User(
        sub="mira.supervisor",
        roles=frozenset({"supervisor"}),
        municipalities=frozenset({RUMA, ADA}),
        organisation="CSR Ruma",
    )
    assert user.has_role(Role.supervisor)
    assert not user.has_role(Role.case_worker, Role.admin)


def test_token_claims_and_lifetime(issuer: DevIssuer, keys: Keys) -> None:
    token = issuer.login("ana.worker", PASSWORD)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    decoded = jwt.decode(token, keys.public_pem, algorithms=["RS256"])
    assert decoded["iss"] == ISSUER
    assert decoded["sub"] == "ana.worker"
    assert decoded["roles"] == ["case_worker"]
    assert decoded["municipalities"] == [RUMA]
    assert "organisation" not in decoded
    assert decoded["exp"] - decoded["iat"] == 8 * 3600


async def test_verify_async_with_a_pem_key(issuer: DevIssuer, verifier: TokenVerifier) -> None:
    user = await verifier.verify_async(issuer.login("ana.worker", PASSWORD))
    assert user.sub == "ana.worker"


@pytest.mark.parametrize(
    ("username", "password"),
    [("mira.supervisor", "wrong"), ("mira.supervisor", ""), ("nobody", PASSWORD), ("MIRA.SUPERVISOR", PASSWORD)],
)
def test_login_refuses_wrong_password_and_unknown_user(issuer: DevIssuer, username: str, password: str) -> None:
    with pytest.raises(AuthError, match="unknown user or wrong password"):
        issuer.login(username, password)


def test_token_signed_by_another_key_is_refused(verifier: TokenVerifier, other_keys: Keys) -> None:
    with pytest.raises(AuthError, match=r"[Ss]ignature"):
        verifier.verify(signed(other_keys, claims()))


def test_expired_token_is_refused(verifier: TokenVerifier, keys: Keys) -> None:
    now = int(time.time())
    with pytest.raises(AuthError, match="expired"):
        verifier.verify(signed(keys, claims(iat=now - 7200, exp=now - 60)))


def test_token_without_expiry_is_refused(verifier: TokenVerifier, keys: Keys) -> None:
    with pytest.raises(AuthError, match="exp"):
        verifier.verify(signed(keys, claims(exp=None)))


def test_token_from_another_issuer_is_refused(verifier: TokenVerifier, keys: Keys) -> None:
    with pytest.raises(AuthError, match=r"[Ii]ssuer"):
        verifier.verify(signed(keys, claims(iss="someone-else")))


def test_token_without_issuer_is_refused_when_an_issuer_is_expected(verifier: TokenVerifier, keys: Keys) -> None:
    with pytest.raises(AuthError, match="iss"):
        verifier.verify(signed(keys, claims(iss=None)))


def test_hs256_token_is_refused(verifier: TokenVerifier) -> None:
    token = jwt.encode(claims(), "a shared secret that is long enough for HS256", algorithm="HS256")
    with pytest.raises(AuthError, match="alg value is not allowed"):
        verifier.verify(token)


def test_unsigned_token_is_refused(verifier: TokenVerifier) -> None:
    token = jwt.encode(claims(), None, algorithm="none")
    with pytest.raises(AuthError):
        verifier.verify(token)


@pytest.mark.parametrize("garbage", ["", "not-a-token", "a.b.c", "Bearer x"])
def test_garbage_is_refused(verifier: TokenVerifier, garbage: str) -> None:
    with pytest.raises(AuthError):
        verifier.verify(garbage)


def test_audience_is_checked_when_configured(keys: Keys) -> None:
    verifier = TokenVerifier(public_key_pem=keys.public_pem, issuer=ISSUER, audience="oslonac")
    assert verifier.verify(signed(keys, claims(aud="oslonac"))).sub == "someone"
    with pytest.raises(AuthError):
        verifier.verify(signed(keys, claims(aud="another-app")))
    with pytest.raises(AuthError):
        verifier.verify(signed(keys, claims()))


def test_verifier_needs_a_key_or_a_jwks_url() -> None:
    with pytest.raises(ValueError, match="JWKS"):
        TokenVerifier()


def test_roles_and_municipalities_must_be_lists() -> None:
    with pytest.raises(AuthError, match="lists"):
        user_from_claims({"sub": "x", "roles": "admin"})
    with pytest.raises(AuthError, match="lists"):
        user_from_claims({"sub": "x", "municipalities": RUMA})
    assert user_from_claims({"sub": "x"}) == User(sub="x", roles=frozenset(), municipalities=frozenset())


# --- municipalities ------------------------------------------------------------------------------


def test_non_admin_sees_only_their_municipalities() -> None:
    user = User(sub="ana", roles=frozenset({"case_worker"}), municipalities=frozenset({RUMA, ADA}))
    assert user.can_see_municipality(RUMA)
    assert user.can_see_municipality(ADA)
    assert not user.can_see_municipality(NOVA_CRNJA)


def test_admin_sees_every_municipality() -> None:
    admin = User(sub="root", roles=frozenset({"admin"}), municipalities=frozenset())
    assert admin.can_see_municipality(NOVA_CRNJA)
    assert admin.can_see_municipality(RUMA)


def test_ensure_municipality_is_a_403_that_names_the_municipality() -> None:
    user = User(sub="ana", roles=frozenset({"case_worker"}), municipalities=frozenset({RUMA}))
    ensure_municipality(user, RUMA)
    with pytest.raises(HTTPException) as raised:
        ensure_municipality(user, NOVA_CRNJA)
    assert raised.value.status_code == 403
    assert NOVA_CRNJA in str(raised.value.detail)


# --- JWKS ----------------------------------------------------------------------------------------


@pytest.fixture
def jwks_url(issuer: DevIssuer, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The issuer's JWKS served over HTTP on a free local port."""
    body = json.dumps(issuer.jwks()).encode()

    class JwksHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/.well-known/jwks.json":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    server = ThreadingHTTPServer(("127.0.0.1", 0), JwksHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_jwks_publishes_the_public_key(issuer: DevIssuer, keys: Keys) -> None:
    (jwk,) = issuer.jwks()["keys"]
    assert jwk["kty"] == "RSA"
    assert jwk["alg"] == "RS256"
    assert jwk["use"] == "sig"
    assert jwk["kid"]
    assert "d" not in jwk  # no private part
    public = jwt.algorithms.RSAAlgorithm.from_jwk(jwk)
    expected = serialization.load_pem_public_key(keys.public_pem.encode())
    assert public.public_numbers() == expected.public_numbers()  # type: ignore[union-attr]


def test_jwks_verifies_a_token_naming_its_key(jwks_url: str, issuer: DevIssuer, keys: Keys) -> None:
    (jwk,) = issuer.jwks()["keys"]
    token = signed(keys, claims(sub="via-jwks"), headers={"kid": jwk["kid"]})
    user = TokenVerifier(jwks_url=jwks_url, issuer=ISSUER).verify(token)
    assert user.sub == "via-jwks"


def test_jwks_verifies_a_token_from_login(jwks_url: str, issuer: DevIssuer) -> None:
    """BUG: ``DevIssuer.issue_for`` puts no ``kid`` in the token header, but the JWKS names its key
    ``oslonac-dev`` and ``PyJWKClient`` picks the key by ``kid``: every login token is refused with
    'Unable to find a signing key that matches: "None"' by a verifier configured with a JWKS URL."""
    verifier = TokenVerifier(jwks_url=jwks_url, issuer=ISSUER)
    user = verifier.verify(issuer.login("mira.supervisor", PASSWORD))
    assert user.sub == "mira.supervisor"


async def test_jwks_verify_async(jwks_url: str, issuer: DevIssuer, keys: Keys) -> None:
    (jwk,) = issuer.jwks()["keys"]
    token = signed(keys, claims(sub="async"), headers={"kid": jwk["kid"]})
    user = await TokenVerifier(jwks_url=jwks_url, issuer=ISSUER).verify_async(token)
    assert user.sub == "async"


def test_jwks_refuses_a_token_from_another_key(jwks_url: str, issuer: DevIssuer, other_keys: Keys) -> None:
    (jwk,) = issuer.jwks()["keys"]
    token = signed(other_keys, claims(), headers={"kid": jwk["kid"]})
    with pytest.raises(AuthError):
        TokenVerifier(jwks_url=jwks_url, issuer=ISSUER).verify(token)


# --- FastAPI dependencies ------------------------------------------------------------------------


def supervision_app(verifier: TokenVerifier) -> FastAPI:
    """A one-route app that only supervisors may use."""
    app = FastAPI()
    app.state.verifier = verifier

    @app.get("/supervision")
    async def supervision(user: Annotated[User, Depends(require_role(Role.supervisor))]) -> dict[str, Any]:
        return {"sub": user.sub, "municipalities": sorted(user.municipalities)}

    return app


@pytest.fixture(scope="module")
def client(verifier: TokenVerifier) -> Iterator[TestClient]:
    with TestClient(supervision_app(verifier)) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_no_token_is_401_with_a_message(client: TestClient) -> None:
    response = client.get("/supervision")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "Sign in" in response.json()["detail"]


def test_garbage_token_is_401(client: TestClient) -> None:
    response = client.get("/supervision", headers=bearer("garbage"))
    assert response.status_code == 401
    assert response.json()["detail"].startswith("The token was not accepted")


def test_expired_token_is_401(client: TestClient, keys: Keys) -> None:
    now = int(time.time())
    response = client.get("/supervision", headers=bearer(signed(keys, claims(iat=now - 7200, exp=now - 60))))
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_case_worker_is_403_naming_the_role_needed(client: TestClient, issuer: DevIssuer) -> None:
    response = client.get("/supervision", headers=bearer(issuer.login("ana.worker", PASSWORD)))
    assert response.status_code == 403
    assert response.json()["detail"] == "This needs one of the roles: supervisor."


def test_supervisor_is_200(client: TestClient, issuer: DevIssuer) -> None:
    response = client.get("/supervision", headers=bearer(issuer.login("mira.supervisor", PASSWORD)))
    assert response.status_code == 200
    assert response.json() == {"sub": "mira.supervisor", "municipalities": sorted([RUMA, ADA])}


def test_a_token_in_a_cookie_is_not_accepted(verifier: TokenVerifier, issuer: DevIssuer) -> None:
    """The API takes bearer tokens only: the old ``oslonac_token`` cookie (pages keep a server-side session now)
    signs nobody in."""
    with TestClient(supervision_app(verifier)) as cookie_client:
        cookie_client.cookies.set("oslonac_token", issuer.login("mira.supervisor", PASSWORD))
        assert cookie_client.get("/supervision").status_code == 401


def test_the_bearer_header_is_accepted_whatever_the_cookies(verifier: TokenVerifier, issuer: DevIssuer) -> None:
    with TestClient(supervision_app(verifier)) as cookie_client:
        cookie_client.cookies.set("oslonac_token", issuer.login("ana.worker", PASSWORD))
        response = cookie_client.get("/supervision", headers=bearer(issuer.login("mira.supervisor", PASSWORD)))
        assert response.status_code == 200
        assert response.json()["sub"] == "mira.supervisor"
