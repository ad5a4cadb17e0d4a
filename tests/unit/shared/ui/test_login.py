"""Sign-in, sign-out, the language switch and page authentication, through a service app built by
``create_service_app`` whose token requests go to the development issuer in process."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, cast
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.testclient import TestClient

from shared.auth import TOKEN_COOKIE, Role, User, dev_issuer_router
from shared.messaging.runtime import ServiceRuntime
from shared.settings import Settings
from shared.ui import Message, PageUser, make_templates, require_page_role, translator
from shared.ui.i18n import LANGUAGE_COOKIE
from shared.ui.login import Outcome, local_path, request_token
from shared.web import create_service_app
from tests.fixtures.auth import Tokens
from tests.fixtures.csrf import browser_csrf

TOKEN_URL = "http://issuer.test/auth/token"
HOUSEHOLDS = """{% extends "base.html" %}
{% import "_forms.html" as forms %}
{% block nav %}<li><a href="/intake/households" aria-current="page">{{ _("Households") }}</a></li>{% endblock %}
{% block content %}
<h1>{{ _("Households") }}</h1>
<form>
{{ forms.input("surname", _("Surname"), value=surname, error=error, hint="As on the ID card", required=True) }}
{{ forms.select("municipality", "Municipality", options=[("80357", "Ruma"), ("80012", "Ada")], value="80012") }}
{{ forms.checkbox("consent", "Consent", checked=true) }}
</form>
{% endblock %}
"""


def no_runtime(_settings: Settings) -> ServiceRuntime:  # pragma: no cover - the lifespan never runs here
    raise AssertionError("these tests run without the lifespan")


def service_app(tokens: Tokens, templates_dir: Path, *, token_url: str | None = TOKEN_URL) -> FastAPI:
    (templates_dir / "households.html").write_text(HOUSEHOLDS, encoding="utf-8")
    templates = make_templates(templates_dir)
    pages = APIRouter()

    @pages.get("/households")
    async def households(request: Request, user: PageUser, page: int = 1) -> Response:
        _ = translator(request)
        context = {"surname": "<Petrović>", "error": "Required", "messages": [Message(_("Sign out"), "success")]}
        return templates.render(request, "households.html", context, user=user)

    @pages.post("/households")
    async def register(user: PageUser) -> Response:  # pragma: no cover - never reached unauthenticated
        return Response(status_code=204)

    @pages.get("/settings")
    async def admin_only(user: Annotated[User, Depends(require_page_role(Role.admin))]) -> Response:
        return Response(f"admin {user.sub}")

    settings = Settings(
        service="intake",
        jwt_public_key=tokens.public_key_pem,
        auth_token_url=token_url,
        log_format="console",
        data_dir=templates_dir,
    )
    app = create_service_app(settings=settings, runtime_factory=no_runtime, routers=[pages], title="test")
    issuer_app = FastAPI()
    issuer_app.include_router(dev_issuer_router(tokens.issuer))
    app.state.token_transport = httpx.ASGITransport(app=issuer_app)
    return app


@pytest.fixture
def client(tokens: Tokens, tmp_path: Path) -> TestClient:
    # Not entered with `with`, so the lifespan (database, broker) never starts.
    return TestClient(service_app(tokens, tmp_path), follow_redirects=False)


def cookie_header(**cookies: str) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items())}


def set_cookie(response: httpx.Response, name: str) -> str:
    headers = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert len(headers) == 1, response.headers
    return headers[0]


# --- the sign-in page --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "lang", "label", "button"),
    [
        ({}, "sr-Latn", "Korisničko ime", "Prijavi se"),
        (cookie_header(**{LANGUAGE_COOKIE: "sr-Cyrl"}), "sr-Cyrl", "Корисничко име", "Пријави се"),
        ({"Accept-Language": "en-GB,en;q=0.9"}, "en", "User name", "Sign in"),
        ({"Accept-Language": "en", "Cookie": f"{LANGUAGE_COOKIE}=sr-Cyrl"}, "sr-Cyrl", "Лозинка", "Пријави се"),
    ],
)  # fmt: skip
def test_login_page_speaks_the_chosen_language(
    client: TestClient, headers: dict[str, str], lang: str, label: str, button: str
) -> None:
    response = client.get("/intake/login", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert f'<html lang="{lang}">' in html
    assert label in html and f">{button}</button>" in html
    # The layout: skip link to <main id="content">, the language switch marking the current language.
    assert 'href="#content"' in html and '<main id="content"' in html
    current = re.findall(r'<a href="([^"]+)" lang="([^"]+)"[^>]*aria-current="true"', html)
    assert [c[1] for c in current] == [lang]
    assert 'src="/intake/static/htmx.min.js"' in html and 'href="/intake/static/oslonac.css"' in html
    # Every field is labelled.
    assert '<label for="field-username">' in html and 'id="field-username"' in html
    assert '<label for="field-password">' in html and 'autocomplete="current-password"' in html


def test_login_page_carries_next_and_says_why(client: TestClient) -> None:
    html = client.get("/intake/login", params={"next": "/intake/households?page=2"}).text
    assert 'name="next" value="/intake/households?page=2"' in html
    assert "Prijavite se da biste nastavili." in html
    evil = client.get("/intake/login", params={"next": "https://evil.example/"}).text
    assert 'name="next" value=""' in evil


def test_good_password_sets_the_cookie_and_goes_to_next(client: TestClient, tokens: Tokens) -> None:
    response = client.post(
        "/intake/login", data={"username": "worker", "password": "test", "next": "/intake/households?page=2"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/intake/households?page=2"
    cookie = set_cookie(response, TOKEN_COOKIE)
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path", "samesite", "max-age"} <= attributes
    assert "Path=/;" in cookie + ";" and "SameSite=lax" in cookie and "Max-Age=28800" in cookie
    assert "secure" not in attributes  # plain http in this test
    token = cookie.split(";")[0].split("=", 1)[1]
    assert tokens.issuer.users["worker"].username == "worker"
    page = client.get("/intake/households", headers=cookie_header(**{TOKEN_COOKIE: token}))
    assert page.status_code == 200
    assert "Prijavljeni ste kao worker" in page.text
    assert "Uloge: Voditelj slučaja" in page.text


def test_without_next_the_user_lands_on_the_service_root(client: TestClient) -> None:
    response = client.post("/intake/login", data={"username": "admin", "password": "test"})
    assert response.status_code == 303 and response.headers["location"] == "/intake/"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"])
def test_next_never_leaves_the_origin(client: TestClient, target: str) -> None:
    response = client.post("/intake/login", data={"username": "worker", "password": "test", "next": target})
    assert response.status_code == 303
    assert response.headers["location"] == "/intake/"


@pytest.mark.parametrize(
    ("lang_cookie", "message"),
    [("sr-Latn", "Pogrešno korisničko ime ili lozinka."), ("sr-Cyrl", "Погрешно корисничко име или лозинка."),
     ("en", "Wrong user name or password.")],
)  # fmt: skip
def test_wrong_password_is_401_with_the_translated_message(client: TestClient, lang_cookie: str, message: str) -> None:
    response = client.post(
        "/intake/login",
        data={"username": "worker", "password": "nope", "next": "/intake/households"},
        headers=cookie_header(**{LANGUAGE_COOKIE: lang_cookie}),
    )
    assert response.status_code == 401
    assert f'role="alert" id="login-error">{message}</p>' in response.text
    assert 'aria-invalid="true"' in response.text and 'aria-describedby="login-error"' in response.text
    assert 'value="worker"' in response.text and 'name="next" value="/intake/households"' in response.text
    assert TOKEN_COOKIE not in response.headers.get("set-cookie", "")


def test_empty_fields_are_asked_for_again(client: TestClient) -> None:
    response = client.post("/intake/login", data={"username": "  ", "password": ""})
    assert response.status_code == 422
    assert "Unesite korisničko ime i lozinku." in response.text


def test_without_a_token_url_the_page_says_signing_in_is_not_set_up(tokens: Tokens, tmp_path: Path) -> None:
    client = TestClient(service_app(tokens, tmp_path, token_url=None), follow_redirects=False)
    assert "OSLONAC_AUTH_TOKEN_URL" in client.get("/intake/login").text
    response = client.post("/intake/login", data={"username": "worker", "password": "test"})
    assert response.status_code == 503
    assert "Prijava nije podešena na ovom serveru" in response.text


def test_a_token_this_service_does_not_accept_is_not_kept(tokens: Tokens, tmp_path: Path) -> None:
    app = service_app(tokens, tmp_path)
    app.state.verifier.issuer = "someone-else"
    response = TestClient(app, follow_redirects=False).post(
        "/intake/login", data={"username": "worker", "password": "test"}
    )
    assert response.status_code == 503
    assert "Servis za prijavu ne odgovara." in response.text
    assert TOKEN_COOKIE not in response.headers.get("set-cookie", "")


# --- the token endpoint's answers (Keycloak's included) ----------------------------------------


def answering(status: int, body: object) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode())
        assert form["grant_type"] == ["password"] and form["client_id"] == ["oslonac-web"]
        return httpx.Response(status, json=body)

    return httpx.MockTransport(handler)


def failing(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("refused", request=request)


KEYCLOAK_WRONG = {"error": "invalid_grant", "error_description": "Invalid user credentials"}
KEYCLOAK_TEMPORARY_PASSWORD = {"error": "invalid_grant", "error_description": "Account is not fully set up"}
KEYCLOAK_NO_DIRECT_GRANTS = {
    "error": "unauthorized_client",
    "error_description": "Client not allowed for direct access grants",
}


@pytest.mark.parametrize(
    ("transport", "outcome"),
    [
        (answering(200, {"access_token": "t", "expires_in": 300}), Outcome.ok),
        (answering(401, {"detail": "Unknown user or wrong password."}), Outcome.wrong_credentials),  # dev issuer
        (answering(401, KEYCLOAK_WRONG), Outcome.wrong_credentials),
        (answering(400, KEYCLOAK_TEMPORARY_PASSWORD), Outcome.account_not_ready),
        (answering(400, KEYCLOAK_NO_DIRECT_GRANTS), Outcome.unavailable),
        (answering(502, "bad gateway"), Outcome.unavailable),
        (answering(200, {"no": "token"}), Outcome.unavailable),
        (httpx.MockTransport(failing), Outcome.unavailable),
    ],
)
async def test_token_endpoint_answers(transport: httpx.AsyncBaseTransport, outcome: Outcome) -> None:
    settings = Settings(auth_token_url=TOKEN_URL, auth_client_id="oslonac-web")
    result = await request_token(settings, "ana", "pw", transport)
    assert result.outcome is outcome
    if outcome is Outcome.ok:
        assert (result.access_token, result.expires_in) == ("t", 300)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/cases/42?tab=plan", "/cases/42?tab=plan"),
        ("", "/d/"),
        ("cases/42", "/d/"),
        ("//evil.example", "/d/"),
        ("/\\evil.example", "/d/"),
        ("https://evil.example/intake/", "/d/"),
        ("/intake/\r\nSet-Cookie:x", "/d/"),
    ],
)
def test_local_path(target: str, expected: str) -> None:
    assert local_path(target, "/d/") == expected


# --- pages behind sign-in ------------------------------------------------------------------------


def test_a_page_without_a_token_redirects_to_the_sign_in_page(client: TestClient) -> None:
    response = client.get("/intake/households", params={"page": "2"})
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/intake/login"
    assert parse_qs(location.query) == {"next": ["/intake/households?page=2"]}


def test_an_invalid_token_also_redirects(client: TestClient) -> None:
    response = client.get("/intake/households", headers=cookie_header(**{TOKEN_COOKIE: "not-a-jwt"}))
    assert response.status_code == 303 and response.headers["location"].startswith("/intake/login?next=")


def test_htmx_requests_get_hx_redirect_back_to_the_page_they_came_from(client: TestClient) -> None:
    response = client.get(
        "/intake/households",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/intake/households?page=3"},
    )
    assert response.status_code == 401
    location = urlsplit(response.headers["hx-redirect"])
    assert parse_qs(location.query) == {"next": ["/intake/households?page=3"]}


def test_a_form_post_without_a_token_returns_to_the_service_root_after_sign_in(client: TestClient) -> None:
    csrf = browser_csrf(cast(FastAPI, client.app))  # a page's form: its CSRF token is right, the sign-in has expired
    response = client.post("/intake/households", data=csrf.field, headers={"Cookie": csrf.cookie})
    assert response.status_code == 303 and response.headers["location"] == "/intake/login"


def test_signed_in_page_renders_layout_nav_messages_and_form_macros(client: TestClient, tokens: Tokens) -> None:
    headers = {**cookie_header(**{TOKEN_COOKIE: tokens.token("worker"), LANGUAGE_COOKIE: "sr-Cyrl"})}
    html = client.get("/intake/households", headers=headers).text
    assert '<html lang="sr-Cyrl">' in html
    assert "<title>Пријем · Ослонац</title>" in html
    assert 'aria-label="Главна навигација"' in html and 'aria-current="page"' in html
    assert re.search(
        r'<form class="account__signout" method="post" action="/intake/logout">\s*<input type="hidden" '
        r'name="csrf_token" value="[\w-]{43}">\s*<button type="submit" class="link-button">Одјава</button>',
        html,
    )
    assert re.search(r'role="status" aria-live="polite">\s*<p class="message message--success">Одјава</p>', html)
    # Language links come back to this page.
    assert 'href="/intake/language?lang=en&amp;next=%2Fintake%2Fhouseholds"' in html
    # The macros: escaped value, required, hint + error bound to the control.
    assert 'value="&lt;Petrović&gt;"' in html
    field = re.search(r"<input id=\"field-surname\"[^>]*>", html)
    assert field is not None
    assert "required" in field[0] and 'aria-invalid="true"' in field[0]
    assert 'aria-describedby="field-surname-hint field-surname-error"' in field[0]
    assert '<p class="field__error" id="field-surname-error">Required</p>' in html
    assert '<option value="80012" selected>Ada</option>' in html and '<option value="80357">Ruma</option>' in html
    assert re.search(r'<input id="field-consent" name="consent" type="checkbox" value="1" checked>', html)


def test_a_missing_role_gets_a_translated_403_page(client: TestClient, tokens: Tokens) -> None:
    response = client.get(
        "/intake/settings", headers={**cookie_header(**{TOKEN_COOKIE: tokens.token("worker")}), "Accept-Language": "en"}
    )
    assert response.status_code == 403
    assert "Access denied" in response.text and "It needs one of these roles: Administrator." in response.text
    allowed = client.get("/intake/settings", headers=tokens.headers("admin"))
    assert allowed.status_code == 200 and allowed.text == "admin admin"


# --- sign-out, language, static files -------------------------------------------------------------


def test_sign_out_clears_the_cookie(client: TestClient) -> None:
    response = client.get("/intake/logout")
    assert response.status_code == 303 and response.headers["location"] == "/intake/login?signed_out=1"
    cookie = set_cookie(response, TOKEN_COOKIE)
    assert "Max-Age=0" in cookie and "Path=/" in cookie
    assert "Odjavili ste se." in client.get(response.headers["location"]).text


def test_language_switch_remembers_the_choice_for_a_year_and_goes_back(client: TestClient) -> None:
    response = client.get("/intake/language", params={"lang": "sr-Cyrl", "next": "/cases/42"})
    assert response.status_code == 303 and response.headers["location"] == "/cases/42"
    cookie = set_cookie(response, LANGUAGE_COOKIE)
    assert cookie.startswith(f"{LANGUAGE_COOKIE}=sr-Cyrl;") and "Max-Age=31536000" in cookie and "Path=/" in cookie

    unknown = client.get("/intake/language", params={"lang": "de", "next": "https://evil.example/"})
    assert unknown.status_code == 303 and unknown.headers["location"] == "/intake/"
    assert LANGUAGE_COOKIE not in unknown.headers.get("set-cookie", "")


def test_static_files_are_served_from_the_package(client: TestClient) -> None:
    htmx = client.get("/intake/static/htmx.min.js")
    assert htmx.status_code == 200
    assert "javascript" in htmx.headers["content-type"]
    assert htmx.text.startswith("var htmx=function()")
    css = client.get("/intake/static/oslonac.css")
    assert css.status_code == 200 and ":focus-visible" in css.text
    assert client.get("/intake/static/../templating.py").status_code == 404
