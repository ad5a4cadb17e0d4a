"""Pages sign in by OpenID Connect (code + PKCE) into a server-side session: intake's real app on a fresh SQLite
store, against the development provider (in process through ``app.state.oidc_transport``, and once over HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, update

from oslonac.process import PASSWORD
from shared.oidc import s256
from shared.ui.sessions import SESSION_COOKIE, SIGNIN_COOKIE
from tests.fixtures.browser import served_service
from tests.fixtures.databases import DatabaseFactory
from tests.fixtures.oidc import ISSUER, USERS, SignInWorld, query, sign_in_world

SIGNED_IN_AS = "Prijavljeni ste kao worker"


async def sessions(world: SignInWorld) -> list[Any]:
    runtime = world.app.state.runtime
    table = runtime.tables.web_sessions
    async with runtime.engine.connect() as conn:
        return list((await conn.execute(select(table).where(table.c.kind == "session"))).all())


async def age_session(world: SignInWorld, **columns: timedelta) -> None:
    """Move the session's timestamps into the past (instead of waiting)."""
    runtime = world.app.state.runtime
    table = runtime.tables.web_sessions
    (row,) = await sessions(world)
    values = {name: getattr(row, name) - delta for name, delta in columns.items()}
    async with runtime.engine.begin() as conn:
        await conn.execute(update(table).where(table.c.id == row.id).values(**values))


def set_cookies(response: httpx.Response, name: str) -> list[str]:
    return [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]


def sent_to_sign_in(response: httpx.Response) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith(f"{ISSUER}/authorize?")


async def test_a_page_visit_goes_to_the_provider_with_pkce_state_and_nonce(tmp_path: Path) -> None:
    async with sign_in_world(tmp_path) as world:
        response = await world.browser.get("/intake/households/new?from=test")
        assert sent_to_sign_in(response)
        params = query(response.headers["location"])
        assert params["response_type"] == "code" and params["client_id"] == "oslonac-web"
        assert params["redirect_uri"] == "http://testserver/intake/auth/callback"
        assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
        assert len(params["state"]) >= 40 and len(params["nonce"]) >= 40 and params["state"] != params["nonce"]
        (binding,) = set_cookies(response, SIGNIN_COOKIE)
        assert "HttpOnly" in binding and "Path=/intake/" in binding and "SameSite=lax" in binding

        htmx = await world.browser.get("/intake/", headers={"HX-Request": "true"})
        assert htmx.status_code == 401 and htmx.headers["hx-redirect"].startswith(f"{ISSUER}/authorize?")


async def test_sign_in_lands_on_the_page_first_asked_for_and_shows_the_user(tmp_path: Path) -> None:
    async with sign_in_world(tmp_path) as world:
        page = await world.sign_in("/intake/households/new?from=test")
        assert page.status_code == 200 and str(page.url) == "http://testserver/intake/households/new?from=test"
        assert SIGNED_IN_AS in page.text
        (row,) = await sessions(world)
        assert row.sub == "worker" and row.ended_at is None

        callback = world.browser.history[-2]
        (cookie,) = set_cookies(callback, SESSION_COOKIE)
        attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
        assert {"httponly", "path", "samesite"} <= attributes.keys()
        assert attributes["path"] == "Path=/intake/" and attributes["samesite"] == "SameSite=lax"
        assert "secure" not in attributes  # plain http here; see the https test
        assert "max-age" not in attributes and "expires" not in attributes  # a browser-session cookie
        value = cookie.split(";")[0].split("=", 1)[1]
        assert len(value) >= 40 and value != row.id  # only a hash of it is stored

        # No token ever reaches the browser: not in a cookie, a page, or a redirect.
        for token in (row.access_token, row.refresh_token, row.id_token):
            assert token
            for response in world.browser.history:
                if response.url.host == "testserver":
                    assert token not in response.text
                    assert token not in response.headers.get("location", "")
                    assert all(token not in h for h in response.headers.get_list("set-cookie"))


async def test_session_cookie_is_secure_behind_an_https_proxy(tmp_path: Path) -> None:
    https = {"X-Forwarded-Proto": "https"}
    async with sign_in_world(tmp_path, provider_options={"origin": "https://testserver"}) as world:
        start = await world.browser.get("/intake/", headers=https)
        assert query(start.headers["location"])["redirect_uri"] == "https://testserver/intake/auth/callback"
        assert "Secure" in set_cookies(start, SIGNIN_COOKIE)[0]
        page = await world.browser.follow(start)
        answer = await world.submit(page, "worker", PASSWORD)
        binding = set_cookies(start, SIGNIN_COOKIE)[0].split(";")[0]  # httpx sends no Secure cookie over http
        callback = await world.browser.get(
            answer.headers["location"].replace("https://", "http://"), headers={**https, "Cookie": binding}
        )
        assert callback.status_code == 303
        assert "Secure" in set_cookies(callback, SESSION_COOKIE)[0]


async def test_a_bad_or_replayed_state_is_refused(tmp_path: Path) -> None:
    async with sign_in_world(tmp_path) as world:
        start = await world.browser.get("/intake/")
        page = await world.browser.follow(start)
        answer = await world.submit(page, "worker", PASSWORD)
        callback_url = answer.headers["location"]
        params = query(callback_url)

        forged = await world.browser.get(f"/intake/auth/callback?code={params['code']}&state=forged")
        assert forged.status_code == 400
        assert "Ova prijava je istekla, već je iskorišćena" in forged.text
        assert not set_cookies(forged, SESSION_COOKIE)

        good = await world.browser.get(callback_url)
        assert good.status_code == 303 and set_cookies(good, SESSION_COOKIE)
        replayed = await world.browser.get(callback_url)  # the code and state work once
        assert replayed.status_code == 400 and not set_cookies(replayed, SESSION_COOKIE)


async def test_a_callback_from_another_browser_is_refused(tmp_path: Path) -> None:
    """Login CSRF: a code and state obtained in one browser do not sign another browser in."""
    async with sign_in_world(tmp_path) as world:
        page = await world.browser.follow(await world.browser.get("/intake/"))
        answer = await world.submit(page, "worker", PASSWORD)
        world.browser.clients["testserver"].cookies.clear()  # the victim's browser has no binding cookie
        response = await world.browser.get(answer.headers["location"])
        assert response.status_code == 400 and not set_cookies(response, SESSION_COOKIE)


async def test_an_idle_session_ends(tmp_path: Path) -> None:
    async with sign_in_world(tmp_path, session_idle_timeout_s=600) as world:
        await world.sign_in()
        assert SIGNED_IN_AS in (await world.browser.get("/intake/")).text
        await age_session(world, last_seen_at=timedelta(seconds=601))
        assert sent_to_sign_in(await world.browser.get("/intake/"))
        (row,) = await sessions(world)
        assert row.ended_reason == "idle_timeout" and row.access_token is None and row.refresh_token is None


async def test_a_session_ends_at_its_max_age_however_busy(tmp_path: Path) -> None:
    async with sign_in_world(tmp_path, session_max_age_s=3600) as world:
        await world.sign_in()
        await age_session(world, created_at=timedelta(hours=1, seconds=1))
        assert sent_to_sign_in(await world.browser.get("/intake/"))
        (row,) = await sessions(world)
        assert row.ended_reason == "max_age"


async def test_tokens_are_refreshed_before_they_expire(tmp_path: Path) -> None:
    # Access tokens living 30 s are always within the refresh margin (60 s): every visit refreshes.
    async with sign_in_world(tmp_path, provider_options={"access_ttl_s": 30}) as world:
        await world.sign_in()
        (before,) = await sessions(world)
        page = await world.browser.get("/intake/")
        assert page.status_code == 200 and SIGNED_IN_AS in page.text
        (after,) = await sessions(world)
        # A new refresh token each time (the provider rotates them); the old one is spent.
        assert after.refresh_token != before.refresh_token and after.ended_at is None
        assert after.access_expires_at >= before.access_expires_at > datetime.now(UTC)
        assert before.refresh_token not in world.provider._refresh


async def test_a_refused_refresh_ends_the_session(tmp_path: Path) -> None:
    async with sign_in_world(tmp_path, provider_options={"access_ttl_s": 30}) as world:
        await world.sign_in()
        for sid in list(world.provider.sessions):  # signed out at the provider: its refresh tokens are revoked
            world.provider.end_session(sid)
        assert sent_to_sign_in(await world.browser.get("/intake/"))
        (row,) = await sessions(world)
        assert row.ended_reason == "refresh_failed"


async def test_sign_out_ends_both_sessions_and_lands_on_the_signed_out_page(tmp_path: Path) -> None:
    async with sign_in_world(tmp_path) as world:
        await world.sign_in()
        assert world.provider.sessions
        response = await world.browser.request("POST", "/intake/logout")
        assert response.status_code == 303
        end_session = response.headers["location"]
        assert end_session.startswith(f"{ISSUER}/logout?")
        params = query(end_session)
        assert params["post_logout_redirect_uri"] == "http://testserver/intake/signed-out"
        assert params["id_token_hint"] and params["client_id"] == "oslonac-web"
        cleared = {h.split("Path=")[1].split(";")[0] for h in set_cookies(response, SESSION_COOKIE)}
        assert cleared == {"/intake/", "/cases/", "/activation/", "/reporting/"}
        assert all("Max-Age=0" in h for h in set_cookies(response, SESSION_COOKIE))

        page = await world.browser.follow(response)
        assert str(page.url) == "http://testserver/intake/signed-out" and page.status_code == 200
        assert "Odjavili ste se" in page.text and 'href="/intake/login"' in page.text
        assert not world.provider.sessions
        (row,) = await sessions(world)
        assert row.ended_reason == "signed_out" and row.ended_at is not None and row.id_token is None

        again = await world.browser.follow(await world.browser.get("/intake/"))
        assert 'action="/auth/authorize"' in again.text  # the provider asks for the password again


async def test_sign_out_by_get_also_works_and_a_stolen_cookie_is_then_useless(tmp_path: Path) -> None:
    async with sign_in_world(tmp_path) as world:
        await world.sign_in()
        stolen = world.browser.cookie("http://testserver", SESSION_COOKIE)
        assert stolen
        response = await world.browser.get("/intake/logout")
        assert response.status_code == 303 and response.headers["location"].startswith(f"{ISSUER}/logout?")
        replay = await world.browser.get("/intake/", headers={"Cookie": f"{SESSION_COOKIE}={stolen}"})
        assert sent_to_sign_in(replay)


def test_sign_in_over_real_http(tmp_path: Path) -> None:
    """The service finds the provider by discovery and checks tokens with its JWKS, over HTTP (uvicorn)."""
    with served_service("intake", tmp_path, USERS) as served, httpx.Client(timeout=10) as browser:
        start = browser.get(f"{served.base_url}/intake/")
        assert start.status_code == 303
        authorize = start.headers["location"]
        assert authorize.startswith("http://127.0.0.1:") and "/auth/authorize?" in authorize
        page = browser.get(authorize)
        assert page.status_code == 200 and "Korisničko ime" in page.text
        params = query(authorize)
        assert params["code_challenge"] != s256(params["state"])
        answer = browser.post(authorize.split("?")[0], data={**params, "username": "worker", "password": PASSWORD})
        assert answer.status_code == 303
        landed = browser.get(answer.headers["location"], follow_redirects=True)
        assert landed.status_code == 200 and str(landed.url) == f"{served.base_url}/intake/"
        assert SIGNED_IN_AS in landed.text


async def test_a_sign_in_the_provider_refused_says_so_and_offers_to_start_again(tmp_path: Path) -> None:
    async with sign_in_world(tmp_path) as world:
        start = await world.browser.get("/intake/households/new")
        state = query(start.headers["location"])["state"]
        response = await world.browser.get(f"/intake/auth/callback?error=access_denied{'x' * 500}&state={state}")
        assert response.status_code == 400
        assert "Servis za prijavu vas nije prijavio." in response.text
        assert 'href="/intake/login?next=%2Fintake%2Fhouseholds%2Fnew"' in response.text
        assert not set_cookies(response, SESSION_COOKIE)


async def test_without_the_provider_the_page_says_it_is_not_answering(tmp_path: Path) -> None:
    async with sign_in_world(tmp_path) as world:
        world.app.state.oidc_client = None
        world.app.state.oidc_transport = httpx.MockTransport(lambda request: httpx.Response(502))
        response = await world.browser.get("/intake/", headers={"Accept-Language": "en"})
        assert response.status_code == 503
        assert "The sign-in service is not answering. Try again in a moment." in response.text


async def test_the_page_session_reads_the_api_downloads_pages_link_to_but_never_writes(tmp_path: Path) -> None:
    async with sign_in_world(tmp_path) as world:
        assert (await world.browser.get("/intake/api/imports/template.csv")).status_code == 401
        await world.sign_in()
        template = await world.browser.get("/intake/api/imports/template.csv")
        assert template.status_code == 200 and template.headers["content-type"].startswith("text/csv")
        write = await world.browser.request("POST", "/intake/api/households", json={})
        assert write.status_code == 401


async def test_sign_in_refresh_and_sign_out_on_each_store(databases: DatabaseFactory, tmp_path: Path) -> None:
    url = await databases.url_for("cases")
    async with sign_in_world(tmp_path, "cases", database_url=url, provider_options={"access_ttl_s": 30}) as world:
        page = await world.sign_in("/cases/")
        assert page.status_code == 200 and SIGNED_IN_AS in page.text
        (before,) = await sessions(world)
        assert SIGNED_IN_AS in (await world.browser.get("/cases/")).text
        (after,) = await sessions(world)
        assert after.refresh_token != before.refresh_token
        signed_out = await world.browser.follow(await world.browser.request("POST", "/cases/logout"))
        assert str(signed_out.url) == "http://testserver/cases/signed-out"
        (ended,) = await sessions(world)
        assert ended.ended_reason == "signed_out" and ended.sub == "worker"


def test_sign_out_knows_every_service_of_the_platform() -> None:
    from oslonac import registry
    from shared.ui.signin import SERVICES

    assert set(SERVICES) == set(registry.SERVICES)


def test_cookies_are_secure_over_https_behind_a_proxy_and_always_in_production() -> None:
    from starlette.requests import Request

    from shared.ui.signin import is_secure

    def request(scheme: str, **headers: str) -> Request:
        raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        return Request({"type": "http", "scheme": scheme, "headers": raw, "path": "/", "server": ("x", 80)})

    assert not is_secure(request("http"), production=False)
    assert is_secure(request("https"), production=False)
    assert is_secure(request("http", **{"X-Forwarded-Proto": "https"}), production=False)
    assert is_secure(request("http"), production=True)
