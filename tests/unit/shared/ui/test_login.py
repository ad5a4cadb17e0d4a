"""Page authentication, the language switch and the shared layout, through a service app built by
``create_service_app`` without a database: pages take a bearer token here (the OIDC sign-in into a server-side
session is tested in test_signin.py), and without an OIDC provider a page visit goes to ``/login``, which says
that signing in is not set up."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.testclient import TestClient

from shared.auth import Role, User
from shared.messaging.runtime import ServiceRuntime
from shared.settings import Settings
from shared.ui import Message, PageUser, make_templates, require_page_role, translator
from shared.ui.i18n import LANGUAGE_COOKIE
from shared.ui.login import local_path
from shared.web import create_service_app
from tests.fixtures.auth import Tokens

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


def service_app(tokens: Tokens, templates_dir: Path) -> FastAPI:
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
        log_format="console",
    )
    return create_service_app(settings=settings, runtime_factory=no_runtime, routers=[pages], title="test")


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


# --- without an OIDC provider -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "message"),
    [({}, "Prijava nije podešena na ovom serveru (OSLONAC_OIDC_ISSUER nije postavljen)."),
     ({"Accept-Language": "en"}, "Signing in is not set up on this server (OSLONAC_OIDC_ISSUER is not set).")],
)  # fmt: skip
def test_without_a_provider_login_says_signing_in_is_not_set_up(
    client: TestClient, headers: dict[str, str], message: str
) -> None:
    response = client.get("/intake/login", params={"next": "/intake/households"}, headers=headers)
    assert response.status_code == 503
    assert message in response.text
    assert 'href="/intake/login?next=%2Fintake%2Fhouseholds"' in response.text


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
    response = client.get("/intake/households", headers={"Authorization": "Bearer not-a-jwt"})
    assert response.status_code == 303 and response.headers["location"].startswith("/intake/login?next=")


def test_the_old_token_cookie_signs_nobody_in(client: TestClient, tokens: Tokens) -> None:
    response = client.get("/intake/households", headers=cookie_header(oslonac_token=tokens.token("worker")))
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
    response = client.post("/intake/households")
    assert response.status_code == 303 and response.headers["location"] == "/intake/login"


def test_signed_in_page_renders_layout_nav_messages_and_form_macros(client: TestClient, tokens: Tokens) -> None:
    headers = {**cookie_header(**{LANGUAGE_COOKIE: "sr-Cyrl"}), **tokens.headers("worker")}
    html = client.get("/intake/households", headers=headers).text
    assert '<html lang="sr-Cyrl">' in html
    assert "<title>Пријем · Ослонац</title>" in html
    assert 'aria-label="Главна навигација"' in html and 'aria-current="page"' in html
    assert 'href="/intake/logout">Одјава</a>' in html
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
    response = client.get("/intake/settings", headers={**tokens.headers("worker"), "Accept-Language": "en"})
    assert response.status_code == 403
    assert "Access denied" in response.text and "It needs one of these roles: Administrator." in response.text
    allowed = client.get("/intake/settings", headers=tokens.headers("admin"))
    assert allowed.status_code == 200 and allowed.text == "admin admin"


# --- sign-out, language, static files -------------------------------------------------------------


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
