"""No state-changing route or form can forget CSRF protection: every unsafe route of every service app refuses a
browser's request without the token, every post form of every template carries it, and no template holds what the
pages' Content-Security-Policy would block (inline script, event-handler attributes, style attributes).

The apps are built as ``oslonac`` builds them, without their lifespan: the check runs before anything that needs
the database, so no store or broker is involved."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import fastapi.routing
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from oslonac import registry
from shared.settings import Environment, Settings
from shared.ui.i18n import LANGUAGE_COOKIE
from shared.ui.templating import SHARED_TEMPLATES
from tests.fixtures.auth import Tokens
from tests.fixtures.csrf import browser_csrf

ROOT = Path(__file__).resolve().parents[2]
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
REFUSED = "The form has expired or was sent from another site. Reload the page and try again."
# Routes the CSRF check does not cover, and why: those of the sign-in modules, which install_ui adds before
# install_security adds the check. shared.ui.login: the sign-in form is posted before there is a session to protect
# (with OpenID Connect the form is the provider's, and its redirect back is a GET protected by `state`).
# shared.ui.signin (the OpenID Connect sign-in): sign-out answers GET as well as POST, so a token on the POST would
# protect nothing; the most a forger can do is sign the user out. The layout's sign-out form sends the token anyway.
EXEMPT_MODULES = {"shared.ui.login", "shared.ui.signin"}
# Templates whose post forms are not ours to change: the shared sign-in form (see EXEMPT_MODULES).
NOT_CHECKED_TEMPLATES = {SHARED_TEMPLATES / "login.html"}


def service_app(service: str, tmp_path: Path, tokens: Tokens) -> FastAPI:
    settings = Settings(
        env=Environment.test,
        service=service,
        data_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / service}.db",
        jwt_public_key=tokens.public_key_pem,
    )
    app: FastAPI = registry.create_app(service)(settings)
    return app


def unsafe_routes(app: FastAPI, service: str) -> Iterator[tuple[str, str]]:
    for route in fastapi.routing.iter_route_contexts(app.routes):
        if getattr(route.endpoint, "__module__", None) in EXEMPT_MODULES:
            continue
        for method in sorted((route.methods or set()) & UNSAFE):
            yield method, route.path or ""


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.UUID(int=1)), path)


@pytest.mark.parametrize("service", registry.SERVICES)
def test_every_unsafe_route_refuses_a_browser_request_without_the_token(
    service: str, tmp_path: Path, tokens: Tokens
) -> None:
    app = service_app(service, tmp_path, tokens)
    client = TestClient(app, follow_redirects=False)
    csrf = browser_csrf(app)
    routes = list(unsafe_routes(app, service))
    pages = [r for r in routes if "/api/" not in r[1]]
    # Reporting's pages only read; the other services' pages change things.
    assert len(pages) >= (0 if service == "reporting" else 5), f"{service}: only {pages}: does the walk see them?"
    refused_pages = refused_api = 0
    for method, path in routes:
        url = concrete(path)
        if "/api/" in path:
            # An API request is checked when it comes with the browser's cookies and no bearer header.
            response = client.request(method, url, headers={"Cookie": f"{csrf.cookie}; {LANGUAGE_COOKIE}=en"})
            assert response.status_code == 403, (method, path, response.status_code, response.text[:200])
            assert response.json()["code"] == "csrf_failed", (method, path)
            refused_api += 1
            continue
        headers = {"Accept": "text/html", "Cookie": f"{csrf.cookie}; {LANGUAGE_COOKIE}=en"}
        response = client.request(method, url, data={"anything": "1"}, headers=headers)
        assert response.status_code == 403 and REFUSED in response.text, (method, path, response.status_code)
        # ... and the same request with this browser's token gets past the check (to the sign-in redirect).
        passed = client.request(method, url, data={"anything": "1", **csrf.field}, headers=headers)
        assert passed.status_code in {303, 401}, (method, path, passed.status_code)
        refused_pages += 1
    assert refused_pages == len(pages) and refused_api == len(routes) - len(pages)


def templates() -> list[Path]:
    found = sorted({*ROOT.glob("services/*/templates/**/*.html"), *SHARED_TEMPLATES.glob("**/*.html")})
    assert len(found) > 20
    return found


def test_every_post_form_of_every_template_carries_the_token() -> None:
    forms = 0
    missing = []
    for path in templates():
        if path in NOT_CHECKED_TEMPLATES:
            continue
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"<form\b[^>]*>(.*?)</form>", text, re.S | re.I):
            opening = match.group(0)[: match.group(0).index(">") + 1]
            if re.search(r"""method=["']?post""", opening, re.I):
                forms += 1
                if "{{ csrf_field() }}" not in match.group(1):
                    missing.append(f"{path.relative_to(ROOT)}: {opening}")
    assert missing == []
    assert forms >= 37  # 36 forms of the services' pages and the layout's sign-out


def test_no_template_holds_what_the_content_security_policy_blocks() -> None:
    problems = []
    for path in templates():
        text = path.read_text(encoding="utf-8")
        where = str(path.relative_to(ROOT))
        problems += [f"{where}: inline handler {m}" for m in re.findall(r"\s(on[a-z]+)=", text)]
        problems += [f"{where}: hx-on (needs eval)" for _ in re.findall(r"\shx-on[:-]", text)]
        problems += [f"{where}: style attribute" for _ in re.findall(r"\sstyle=", text)]
        problems += [f"{where}: <style> element" for _ in re.findall(r"<style\b", text)]
        problems += [f"{where}: javascript: URL" for _ in re.findall(r"javascript:", text, re.I)]
        for attributes, body in re.findall(r"<script\b([^>]*)>(.*?)</script>", text, re.S):
            if body.strip() and 'type="application/json"' not in attributes:
                problems.append(f"{where}: inline script")
    assert problems == []
