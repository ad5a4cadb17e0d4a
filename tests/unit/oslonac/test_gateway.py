"""The embedded run's own app behind the proxy: the landing page and the development OIDC provider under /auth."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from oslonac.gateway import create_gateway
from oslonac.registry import SERVICES
from tests.fixtures.oidc import ISSUER, make_provider


def test_landing_page_lists_services_and_demo_users_and_the_provider_answers(tmp_path: Path) -> None:
    client = TestClient(create_gateway(SERVICES, make_provider(tmp_path), password_hint="Password: demo"))
    home = client.get("/")
    assert home.status_code == 200
    assert '<a href="/intake/login">Sign in</a>' in home.text and "worker" in home.text
    assert all(f'href="/{name}/"' in home.text for name in SERVICES)
    assert client.get("/auth/.well-known/openid-configuration").json()["issuer"] == ISSUER


def test_without_a_provider_only_the_landing_page(tmp_path: Path) -> None:
    client = TestClient(create_gateway(SERVICES, None))
    assert client.get("/").status_code == 200
    assert client.get("/auth/.well-known/openid-configuration").status_code == 404
