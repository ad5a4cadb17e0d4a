"""The CSRF check and the security headers, through a service app built by ``create_service_app`` (no lifespan:
no database or broker is needed) with a page form, an upload and an API route.

The check does not depend on how a user signs in, so the page routes here need no user: what matters is which
cookies and headers a browser (or a forger) sends."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.testclient import TestClient
from pydantic import ValidationError

from shared.auth import CurrentUser, User
from shared.messaging.runtime import ServiceRuntime
from shared.settings import Environment, Settings
from shared.ui import make_templates
from shared.ui.csrf import CSRF_COOKIE, KEY_FILE, signing_key
from shared.ui.i18n import LANGUAGE_COOKIE
from shared.web import create_service_app
from tests.fixtures.auth import Tokens
from tests.fixtures.csrf import BrowserCsrf, browser_csrf

WORKER = User("worker", frozenset({"case_worker"}), frozenset({"80012"}))
FORM = """{% extends "base.html" %}
{% block content %}
<form method="post" action="/intake/notes">{{ csrf_field() }}<input name="text"><button>Save</button></form>
{% endblock %}
"""
REFUSED_EN = "The form has expired or was sent from another site. Reload the page and try again."
REFUSED_SR = "Obrazac je istekao ili je poslat sa drugog sajta. Ponovo učitajte stranicu i pokušajte još jednom."
PAGE = {"Accept": "text/html,application/xhtml+xml"}


def no_runtime(_settings: Settings) -> ServiceRuntime:  # pragma: no cover - the lifespan never runs here
    raise AssertionError("these tests run without the lifespan")


def notes_app(tokens: Tokens, data_dir: Path, **settings: object) -> FastAPI:
    (data_dir / "notes.html").write_text(FORM, encoding="utf-8")
    templates = make_templates(data_dir)
    pages = APIRouter()
    saved: list[str] = []

    @pages.get("/notes")
    async def notes_page(request: Request) -> Response:
        return templates.render(request, "notes.html", user=WORKER)

    @pages.post("/notes")
    async def save_note(request: Request) -> Response:
        saved.append(str((await request.form()).get("text", "")))
        return Response("saved", status_code=201)

    @pages.post("/notes/upload")
    async def upload(request: Request) -> Response:
        form = await request.form()
        return Response(f"{form['file'].filename} uploaded", status_code=201)  # type: ignore[union-attr]

    api = APIRouter(prefix="/api")

    @api.post("/notes", status_code=201)
    async def api_note(user: CurrentUser) -> dict[str, str]:
        return {"by": user.sub}

    config = Settings(service="intake", jwt_public_key=tokens.public_key_pem, data_dir=data_dir, **settings)  # type: ignore[arg-type]
    app = create_service_app(settings=config, runtime_factory=no_runtime, routers=[pages, api], title="test")
    app.state.saved = saved
    return app


@pytest.fixture
def app(tokens: Tokens, tmp_path: Path) -> FastAPI:
    return notes_app(tokens, tmp_path)


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    return TestClient(app, follow_redirects=False)


def cookies(tokens: Tokens, csrf: BrowserCsrf | None = None, **more: str) -> dict[str, str]:
    """A browser's Cookie header: a stand-in for whatever cookie signs it in, and its CSRF cookie when given."""
    parts = ["oslonac_session=signed-in", *(f"{k}={v}" for k, v in more.items())]
    if csrf is not None:
        parts.append(csrf.cookie)
    return {"Cookie": "; ".join(parts)}


# --- the token --------------------------------------------------------------------------------------------------


def test_a_page_sets_the_cookie_once_and_its_form_token_is_accepted(client: TestClient, tokens: Tokens) -> None:
    page = client.get("/intake/notes", headers=cookies(tokens))
    assert page.status_code == 200
    set_cookie = page.headers["set-cookie"]
    assert set_cookie.startswith(f"{CSRF_COOKIE}=") and "HttpOnly" in set_cookie and "Path=/" in set_cookie
    assert "SameSite=lax" in set_cookie and "Secure" not in set_cookie
    secret = set_cookie.split(";", 1)[0].split("=", 1)[1]
    fields = re.findall(r'<input type="hidden" name="csrf_token" value="([\w-]+)">', page.text)
    assert len(fields) == 2  # the note form and the sign-out form
    header = re.search(r"""<body hx-headers='\{"X-CSRF-Token": "([\w-]+)"\}'>""", page.text)
    assert header is not None and header[1] == fields[0] == fields[1]

    posted = client.post(
        "/intake/notes",
        data={"text": "visit on Monday", "csrf_token": fields[0]},
        headers={**PAGE, **cookies(tokens, **{CSRF_COOKIE: secret})},
    )
    assert posted.status_code == 201 and posted.text == "saved"
    assert client.app.state.saved == ["visit on Monday"]  # type: ignore[attr-defined]

    again = client.get("/intake/notes", headers=cookies(tokens, **{CSRF_COOKIE: secret}))
    assert "set-cookie" not in again.headers  # the browser keeps its secret: open pages stay valid
    assert fields[0] in again.text


def test_the_cookie_is_secure_behind_an_https_proxy(client: TestClient, tokens: Tokens) -> None:
    page = client.get("/intake/notes", headers={**cookies(tokens), "X-Forwarded-Proto": "https"})
    assert "Secure" in page.headers["set-cookie"]


def test_a_form_post_without_a_token_gets_a_translated_page(client: TestClient, tokens: Tokens) -> None:
    csrf = browser_csrf(client.app)  # type: ignore[arg-type]
    for language, sentence in (("en", REFUSED_EN), ("sr-Latn", REFUSED_SR)):
        headers = {**PAGE, **cookies(tokens, csrf, **{LANGUAGE_COOKIE: language})}
        response = client.post("/intake/notes", data={"text": "forged"}, headers=headers)
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("text/html") and sentence in response.text
    assert client.app.state.saved == []  # type: ignore[attr-defined]


def test_wrong_and_foreign_tokens_are_refused_with_problem_json(client: TestClient, tokens: Tokens) -> None:
    mine, other = browser_csrf(client.app), browser_csrf(client.app)  # type: ignore[arg-type]
    attempts = {
        "no token": {},
        "wrong token": {"csrf_token": "x" * 43},
        "another browser's token": other.field,
        "the cookie itself": {"csrf_token": mine.secret},
    }
    for what, field in attempts.items():
        response = client.post("/intake/notes", data={"text": "forged", **field}, headers=cookies(tokens, mine))
        assert response.status_code == 403, what
        assert response.headers["content-type"] == "application/problem+json", what
        body = response.json()
        assert body["code"] == "csrf_failed" and body["status"] == 403 and body["detail"] == REFUSED_EN, what
    # A token without any CSRF cookie (the cookie was lost or never set) is refused too.
    response = client.post("/intake/notes", data=mine.field, headers=cookies(tokens))
    assert response.status_code == 403 and response.json()["code"] == "csrf_failed"
    assert client.app.state.saved == []  # type: ignore[attr-defined]


def test_the_header_is_accepted_as_htmx_sends_it(client: TestClient, tokens: Tokens) -> None:
    csrf = browser_csrf(client.app)  # type: ignore[arg-type]
    headers = {**cookies(tokens, csrf, **{LANGUAGE_COOKIE: "en"}), "HX-Request": "true"}
    assert client.post("/intake/notes", data={"text": "a"}, headers={**headers, **csrf.header}).status_code == 201
    refused = client.post("/intake/notes", data={"text": "b"}, headers=headers)
    assert refused.status_code == 403 and REFUSED_EN in refused.text  # an htmx request gets the page


def test_a_multipart_upload_carries_the_token_as_a_field(client: TestClient, tokens: Tokens) -> None:
    csrf = browser_csrf(client.app)  # type: ignore[arg-type]
    files = {"file": ("households.csv", b"surname\nPetrovic\n", "text/csv")}
    ok = client.post("/intake/notes/upload", data=csrf.field, files=files, headers=cookies(tokens, csrf))
    assert ok.status_code == 201 and ok.text == "households.csv uploaded"
    refused = client.post("/intake/notes/upload", files=files, headers=cookies(tokens, csrf))
    assert refused.status_code == 403


def test_bearer_requests_carry_no_ambient_credential_and_are_exempt(client: TestClient, tokens: Tokens) -> None:
    bearer = tokens.headers("worker")
    page = client.post("/intake/notes", data={"text": "from a script"}, headers=bearer)
    assert page.status_code == 201 and client.app.state.saved == ["from a script"]  # type: ignore[attr-defined]
    api = client.post("/intake/api/notes", headers={**bearer, "Cookie": f"{LANGUAGE_COOKIE}=en"})
    assert api.status_code == 201 and api.json() == {"by": "worker"}


def test_an_api_request_with_cookies_is_checked(client: TestClient, tokens: Tokens) -> None:
    csrf = browser_csrf(client.app)  # type: ignore[arg-type]
    forged = client.post("/intake/api/notes", headers=cookies(tokens, csrf))
    assert forged.status_code == 403 and forged.json()["code"] == "csrf_failed"
    assert forged.headers["content-type"] == "application/problem+json"
    # With the token it gets past the check to the API's own authentication (these cookies sign nobody in).
    allowed = client.post("/intake/api/notes", headers={**cookies(tokens, csrf), **csrf.header})
    assert allowed.status_code == 401
    # Without any cookie there is nothing ambient to abuse: the API's own answer (401) stands.
    assert client.post("/intake/api/notes").status_code == 401


def test_safe_methods_are_never_checked(client: TestClient, tokens: Tokens) -> None:
    assert client.get("/intake/notes", headers=cookies(tokens)).status_code == 200
    assert client.head("/intake/notes", headers=cookies(tokens)).status_code in {200, 405}


# --- the key -----------------------------------------------------------------------------------------------------


def test_the_generated_key_is_kept_in_the_data_directory_and_shared(tmp_path: Path) -> None:
    first = signing_key(Settings(data_dir=tmp_path, service="intake"))
    second = signing_key(Settings(data_dir=tmp_path, service="cases"))
    assert first == second and len(first) >= 32
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o077 == 0
    assert signing_key(Settings(data_dir=tmp_path / "other")) != first


def test_a_configured_secret_signs_the_tokens(tokens: Tokens, tmp_path: Path) -> None:
    one = notes_app(tokens, tmp_path, csrf_secret="s" * 40)
    (tmp_path / "b").mkdir()
    two = notes_app(tokens, tmp_path / "b", csrf_secret="s" * 40)
    csrf = browser_csrf(one)
    # Two replicas with the same secret accept each other's tokens (the load balancer may switch between them).
    response = TestClient(two).post("/intake/notes", data=csrf.field, headers=cookies(tokens, csrf))
    assert response.status_code == 201
    assert (
        TestClient(notes_app(tokens, tmp_path / "b", csrf_secret="t" * 40))
        .post("/intake/notes", data=csrf.field, headers=cookies(tokens, csrf))
        .status_code
        == 403
    )  # another secret: another token
    assert not (tmp_path / KEY_FILE).exists()


def test_production_refuses_to_start_without_a_csrf_secret() -> None:
    production = {
        "env": Environment.production,
        "jwks_url": "http://keycloak:8080/realms/oslonac/protocol/openid-connect/certs",
        "database_url": "postgresql+asyncpg://postgres@127.0.0.1/intake",
    }
    with pytest.raises(ValidationError, match="OSLONAC_CSRF_SECRET"):
        Settings(**production)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="OSLONAC_CSRF_SECRET"):
        Settings(**production, csrf_secret="short")  # type: ignore[arg-type]
    assert Settings(**production, csrf_secret="k" * 32).csrf_secret is not None  # type: ignore[arg-type]


# --- the headers -------------------------------------------------------------------------------------------------


def test_pages_carry_the_security_headers_and_a_same_origin_policy(client: TestClient, tokens: Tokens) -> None:
    page = client.get("/intake/notes", headers=cookies(tokens))
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    policy = dict(part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'self'" and policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["img-src"] == "'self' data:" and policy["object-src"] == "'none'"
    assert policy["base-uri"] == "'self'" and policy["frame-ancestors"] == "'none'"
    assert policy["form-action"] == "'self'"  # the development issuer `oslonac-dev` is no origin
    assert "strict-transport-security" not in page.headers


def test_api_responses_and_errors_carry_the_headers_too(client: TestClient, tokens: Tokens) -> None:
    for response in (
        client.post("/intake/api/notes", headers=tokens.headers("worker")),
        client.post("/intake/api/notes"),  # 401
        client.get("/intake/health/live"),
        client.get("/intake/static/oslonac.css"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff", response.url
        assert response.headers["x-frame-options"] == "DENY", response.url
        assert response.headers["referrer-policy"] == "same-origin", response.url
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], response.url
        assert "cache-control" not in response.headers or response.url.path.endswith(".css")


def test_hsts_only_over_https(client: TestClient) -> None:
    assert "strict-transport-security" not in client.get("/intake/health/live").headers
    behind_proxy = client.get("/intake/health/live", headers={"X-Forwarded-Proto": "https"})
    assert behind_proxy.headers["strict-transport-security"] == "max-age=31536000"


def test_the_sign_in_providers_origin_may_receive_forms(tokens: Tokens, tmp_path: Path) -> None:
    app = notes_app(tokens, tmp_path, jwt_issuer="https://id.example.org/realms/oslonac")
    policy = TestClient(app).get("/intake/health/live").headers["content-security-policy"]
    assert policy == "default-src 'none'; frame-ancestors 'none'; sandbox"  # not a page
    refused = TestClient(app).post("/intake/notes", headers=PAGE)  # a page of this app that needs no sign-in
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
    assert "form-action 'self' https://id.example.org;" in refused.headers["content-security-policy"]


def test_the_api_docs_get_their_own_policy(client: TestClient) -> None:
    docs = client.get("/intake/docs")
    assert docs.status_code == 200
    policy = docs.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "http" not in policy  # nothing from another origin, no inline script
    assert "/intake/docs/assets/swagger-ui-bundle.js" in docs.text
    assert client.get("/intake/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]
    login = client.get("/intake/login")
    assert "cdn.jsdelivr.net" not in login.headers["content-security-policy"]
