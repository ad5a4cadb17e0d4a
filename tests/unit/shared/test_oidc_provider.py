"""The development OIDC provider on its own: discovery, the sign-in page, codes with PKCE, tokens, refresh, the
throttle, end session, and the password form scripts use."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient

from oslonac.process import PASSWORD
from shared.oidc import pkce_pair
from shared.oidc_provider import PROVIDER_COOKIE, DevProvider
from shared.oidc_provider_app import dev_provider_app
from shared.ui.i18n import LANGUAGE_COOKIE
from tests.fixtures.oidc import ISSUER, make_provider, query

CALLBACK = "http://testserver/intake/auth/callback"


@pytest.fixture
def provider(tmp_path: Path) -> DevProvider:
    return make_provider(tmp_path)


@pytest.fixture
def client(provider: DevProvider) -> TestClient:
    return TestClient(dev_provider_app(provider), base_url="http://issuer.test", follow_redirects=False)


def authorization(challenge: str, redirect_uri: str = CALLBACK, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": "oslonac-web",
        "redirect_uri": redirect_uri,
        "scope": "openid",
        "state": "s-1",
        "nonce": "n-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }


def sign_in(
    client: TestClient, params: dict[str, str], username: str = "worker", password: str = PASSWORD
) -> httpx.Response:
    return client.post("/auth/authorize", data={**params, "username": username, "password": password})


def code_from(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text[:300]
    location = response.headers["location"]
    assert location.startswith(CALLBACK + "?") or "/auth/callback?" in location
    params = query(location)
    assert params["state"] == "s-1"
    return params["code"]


def redeem(client: TestClient, code: str, verifier: str, redirect_uri: str = CALLBACK) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "redirect_uri": redirect_uri,
        "client_id": "oslonac-web",
    }
    return client.post("/auth/token", data=form)


def test_discovery_names_the_endpoints_under_the_issuer(client: TestClient) -> None:
    doc = client.get("/auth/.well-known/openid-configuration").json()
    assert doc["issuer"] == ISSUER
    assert doc["authorization_endpoint"] == f"{ISSUER}/authorize"
    assert doc["token_endpoint"] == f"{ISSUER}/token" and doc["jwks_uri"] == f"{ISSUER}/jwks.json"
    assert doc["end_session_endpoint"] == f"{ISSUER}/logout"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert client.get("/auth/jwks.json").json()["keys"][0]["kid"]


@pytest.mark.parametrize(
    ("cookies", "lang", "label", "button"),
    [({}, "sr-Latn", "Korisničko ime", "Prijavi se"),
     ({LANGUAGE_COOKIE: "sr-Cyrl"}, "sr-Cyrl", "Корисничко име", "Пријави се"),
     ({LANGUAGE_COOKIE: "en"}, "en", "User name", "Sign in")],
)  # fmt: skip
def test_the_sign_in_page_speaks_the_users_language(
    client: TestClient, cookies: dict[str, str], lang: str, label: str, button: str
) -> None:
    _, challenge = pkce_pair()
    client.cookies.update(cookies)
    page = client.get("/auth/authorize", params=authorization(challenge))
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert f'<html lang="{lang}">' in page.text and label in page.text and f">{button}</button>" in page.text
    assert '<label for="field-password">' in page.text and 'autocomplete="current-password"' in page.text
    assert f'name="code_challenge" value="{challenge}"' in page.text
    assert 'href="/auth/static/oslonac.css"' in page.text
    assert client.get("/auth/static/oslonac.css").status_code == 200


def test_code_flow_gives_tokens_with_todays_claims_and_an_id_token_with_the_nonce(
    client: TestClient, provider: DevProvider
) -> None:
    verifier, challenge = pkce_pair()
    answer = sign_in(client, authorization(challenge))
    provider_cookie = [h for h in answer.headers.get_list("set-cookie") if h.startswith(PROVIDER_COOKIE)]
    assert provider_cookie and "HttpOnly" in provider_cookie[0] and "Path=/auth/" in provider_cookie[0]
    tokens = redeem(client, code_from(answer), verifier)
    assert tokens.status_code == 200 and tokens.headers["cache-control"] == "no-store"
    body = tokens.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300 and body["refresh_token"]
    access = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert {k: access[k] for k in ("iss", "sub", "roles", "municipalities")} == {
        "iss": ISSUER,
        "sub": "worker",
        "roles": ["case_worker"],
        "municipalities": ["80012"],
    }
    ident = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert (ident["aud"], ident["nonce"], ident["sub"], ident["iss"]) == ("oslonac-web", "n-1", "worker", ISSUER)


def test_a_code_works_once(client: TestClient) -> None:
    verifier, challenge = pkce_pair()
    code = code_from(sign_in(client, authorization(challenge)))
    assert redeem(client, code, verifier).status_code == 200
    again = redeem(client, code, verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_a_wrong_code_verifier_is_refused_and_spends_the_code(client: TestClient) -> None:
    verifier, challenge = pkce_pair()
    other, _ = pkce_pair()
    code = code_from(sign_in(client, authorization(challenge)))
    refused = redeem(client, code, other)
    assert refused.status_code == 400 and refused.json() == {
        "error": "invalid_grant",
        "error_description": "PKCE verification failed",
    }
    assert redeem(client, code, verifier).status_code == 400


def test_a_code_is_bound_to_its_redirect_uri(client: TestClient) -> None:
    verifier, challenge = pkce_pair()
    code = code_from(sign_in(client, authorization(challenge)))
    assert redeem(client, code, verifier, "http://testserver/cases/auth/callback").status_code == 400


def test_pkce_is_required(client: TestClient) -> None:
    params = authorization("")
    del params["code_challenge_method"]
    response = client.get("/auth/authorize", params=params)
    assert response.status_code == 303
    assert query(response.headers["location"])["error"] == "invalid_request"


@pytest.mark.parametrize(
    "change",
    [{"client_id": "somebody"}, {"redirect_uri": "https://evil.example/intake/auth/callback"}],
)
def test_an_unknown_client_or_redirect_uri_gets_a_page_never_a_redirect(
    client: TestClient, change: dict[str, str]
) -> None:
    _, challenge = pkce_pair()
    response = client.get("/auth/authorize", params={**authorization(challenge), **change})
    assert response.status_code == 400 and "location" not in response.headers
    assert "Ovaj zahtev za prijavu nije ispravan" in response.text
    assert sign_in(client, {**authorization(challenge), **change}).status_code == 400


def test_a_second_service_signs_in_without_the_form(client: TestClient) -> None:
    _, challenge = pkce_pair()
    code_from(sign_in(client, authorization(challenge)))
    cases = "http://testserver/cases/auth/callback"
    silent = client.get("/auth/authorize", params=authorization(challenge, cases))
    assert silent.status_code == 303 and silent.headers["location"].startswith(cases + "?code=")


@pytest.mark.parametrize(
    ("lang", "message"),
    [("sr-Latn", "Pogrešno korisničko ime ili lozinka."), ("en", "Wrong user name or password.")],
)
def test_a_wrong_password_is_refused_with_a_message(client: TestClient, lang: str, message: str) -> None:
    _, challenge = pkce_pair()
    client.cookies.set(LANGUAGE_COOKIE, lang)
    response = sign_in(client, authorization(challenge), password="nope")
    assert response.status_code == 401
    assert re.search(rf'role="alert" id="login-error">\s*{re.escape(message)}\s*</p>', response.text)
    assert 'value="worker"' in response.text and PROVIDER_COOKIE not in response.headers.get("set-cookie", "")


def test_the_sixth_attempt_after_five_failures_is_throttled_even_with_the_right_password(client: TestClient) -> None:
    _, challenge = pkce_pair()
    params = authorization(challenge)
    for _ in range(5):
        assert sign_in(client, params, password="nope").status_code == 401
    throttled = sign_in(client, params)
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 800
    assert "Previše neuspešnih pokušaja prijave. Pokušajte ponovo za 15 minuta." in throttled.text
    client.cookies.set(LANGUAGE_COOKIE, "en")
    assert "Try again in 15 minutes." in sign_in(client, params).text
    # The same address is throttled for another user name too; the password form for scripts as well.
    assert sign_in(client, params, username="analyst").status_code == 429
    assert client.post("/auth/token", data={"username": "worker", "password": PASSWORD}).status_code == 429


def test_the_throttle_forgets_failures_older_than_its_window() -> None:
    from shared.oidc_provider import SignInThrottle

    now = [1000.0]
    throttle = SignInThrottle(clock=lambda: now[0])
    for _ in range(5):
        throttle.failed(["user:a"])
    assert throttle.locked_for(["user:a"]) == pytest.approx(900)
    now[0] += 600
    assert throttle.locked_for(["user:a"]) == pytest.approx(300)
    now[0] += 300
    assert throttle.locked_for(["user:a"]) == 0


def test_refresh_tokens_rotate_and_end_with_the_provider_session(client: TestClient, provider: DevProvider) -> None:
    verifier, challenge = pkce_pair()
    first = redeem(client, code_from(sign_in(client, authorization(challenge))), verifier).json()
    form = {"grant_type": "refresh_token", "client_id": "oslonac-web"}
    second = client.post("/auth/token", data={**form, "refresh_token": first["refresh_token"]})
    assert second.status_code == 200 and second.json()["refresh_token"] != first["refresh_token"]
    assert client.post("/auth/token", data={**form, "refresh_token": first["refresh_token"]}).status_code == 400

    ended = client.get(
        "/auth/logout",
        params={
            "id_token_hint": second.json()["id_token"],
            "post_logout_redirect_uri": "http://testserver/intake/signed-out",
        },
    )
    assert ended.status_code == 303 and ended.headers["location"] == "http://testserver/intake/signed-out"
    assert any(h.startswith(f"{PROVIDER_COOKIE}=") and "Max-Age=0" in h for h in ended.headers.get_list("set-cookie"))
    assert not provider.sessions
    refused = client.post("/auth/token", data={**form, "refresh_token": second.json()["refresh_token"]})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def test_end_session_redirects_only_to_a_registered_uri(client: TestClient) -> None:
    response = client.get(
        "/auth/logout", params={"client_id": "oslonac-web", "post_logout_redirect_uri": "https://evil.example/"}
    )
    assert response.status_code == 303 and response.headers["location"] == "/"


def test_a_confidential_client_must_authenticate(tmp_path: Path) -> None:
    from shared.oidc_provider import ClientRegistration

    provider = make_provider(tmp_path)
    provider.clients["secret-app"] = ClientRegistration("secret-app", frozenset({CALLBACK}), secret="s3cret")
    client = TestClient(dev_provider_app(provider), base_url="http://issuer.test", follow_redirects=False)
    verifier, challenge = pkce_pair()
    code = code_from(sign_in(client, authorization(challenge, client_id="secret-app")))
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier, "redirect_uri": CALLBACK}
    refused = client.post("/auth/token", data=form, auth=("secret-app", "wrong"))
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    code = code_from(sign_in(client, authorization(challenge, client_id="secret-app")))
    accepted = client.post("/auth/token", data={**form, "code": code}, auth=("secret-app", "s3cret"))
    assert accepted.status_code == 200


def test_the_password_form_for_scripts_still_gives_a_token(client: TestClient) -> None:
    response = client.post("/auth/token", data={"username": "worker", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 8 * 3600
    assert jwt.decode(body["access_token"], options={"verify_signature": False})["sub"] == "worker"
    wrong = client.post("/auth/token", data={"username": "worker", "password": "nope"})
    assert wrong.status_code == 401 and wrong.json() == {"detail": "Unknown user or wrong password."}
