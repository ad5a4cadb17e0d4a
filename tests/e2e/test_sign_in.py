"""Signing in to the embedded platform (`oslonac run`) as a browser would: the services as OS processes, the
development OIDC provider under /auth of the same origin, the reverse proxy in between."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from oslonac.process import PASSWORD, PlatformProcess, start_platform

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformProcess]:
    running = start_platform(tmp_path_factory.mktemp("platform-sign-in"))
    try:
        yield running
    finally:
        running.stop()


def test_sign_in_at_intake_then_cases_silently_then_sign_out(platform: PlatformProcess) -> None:
    base = platform.base_url
    with httpx.Client(base_url=base, timeout=15) as browser:
        start = browser.get("/intake/")
        assert start.status_code == 303
        authorize = start.headers["location"]
        assert authorize.startswith(f"{base}/auth/authorize?")
        page = browser.get(authorize)
        assert page.status_code == 200 and "Korisničko ime" in page.text
        params = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
        refused = browser.post("/auth/authorize", data={**params, "username": "demo-worker", "password": "wrong"})
        assert refused.status_code == 401 and "Pogrešno korisničko ime ili lozinka." in refused.text
        answer = browser.post("/auth/authorize", data={**params, "username": "demo-worker", "password": PASSWORD})
        assert answer.status_code == 303
        landed = browser.get(answer.headers["location"], follow_redirects=True)
        assert str(landed.url) == f"{base}/intake/" and "Prijavljeni ste kao demo-worker" in landed.text

        # Another service: a silent round through the provider, no form.
        cases = browser.get("/cases/", follow_redirects=True)
        assert str(cases.url) == f"{base}/cases/" and "Prijavljeni ste kao demo-worker" in cases.text

        signed_out = browser.post("/cases/logout", follow_redirects=True)
        assert str(signed_out.url) == f"{base}/cases/signed-out" and "Odjavili ste se" in signed_out.text
        again = browser.get("/intake/", follow_redirects=True)
        assert urlsplit(str(again.url)).path == "/auth/authorize" and "Korisničko ime" in again.text

    # The password form for scripts still answers through the same origin.
    assert platform.token("demo-worker")


def test_a_browser_on_localhost_comes_back_to_localhost(platform: PlatformProcess) -> None:
    base = platform.base_url.replace("127.0.0.1", "localhost")
    with httpx.Client(base_url=base, timeout=15) as browser:
        authorize = browser.get("/reporting/").headers["location"]
        params = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
        assert params["redirect_uri"] == f"{base}/reporting/auth/callback"
        answer = browser.post(
            authorize.split("?")[0], data={**params, "username": "demo-analyst", "password": PASSWORD}
        )
        landed = browser.get(answer.headers["location"], follow_redirects=True)
        assert str(landed.url) == f"{base}/reporting/" and "Prijavljeni ste kao demo-analyst" in landed.text
