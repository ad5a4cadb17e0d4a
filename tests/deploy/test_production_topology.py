"""The production topology, run on this machine without Docker (issue 14, item 3).

What runs, each part a separate process on a free 127.0.0.1 port (tests/fixtures/production.py):

- PostgreSQL (a private cluster, password auth), its databases made by ``deploy/postgres/init-databases.sql``
  as is; every service migrates its own database at start-up;
- the four services in production mode (``python -m oslonac serve <service>``, ``OSLONAC_ENV=production``);
- nginx from Debian's package with ``deploy/nginx/nginx.conf`` (upstream addresses, listen port and access log
  path substituted, nothing else);
- a real OpenID Connect provider that is not our code: the certified ``oidc-provider`` npm package under node,
  configured from ``deploy/keycloak/oslonac-realm.json`` and served under ``/auth/`` by nginx exactly as compose
  serves Keycloak (issuer ``<origin>/auth/realms/oslonac``);
- the embedded Kafka-protocol broker (Tansu) in place of Apache Kafka, which cannot be installed here (its
  downloads are blocked on these machines): client settings for it as docs/BROKER.md says.

Not run here: Apache Kafka, Keycloak itself, Grafana, the Kubernetes manifests, TLS, docker compose as such.
Every test skips, saying what is missing, only when a part cannot be installed (``make production-deps``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from oslonac.registry import SERVICES
from tests.fixtures.browser import AVAILABLE as BROWSER_AVAILABLE
from tests.fixtures.browser import MISSING as BROWSER_MISSING
from tests.fixtures.browser import launched_browser, opened_page, shot
from tests.fixtures.production import (
    AUDIENCE,
    DEPLOY,
    PROMTOOL,
    REALM,
    ROOT,
    WEB_CLIENT,
    ProductionTopology,
    missing_parts,
    production_topology,
)
from tests.fixtures.production_parts import PROMETHEUS, Processes, start_prometheus

pytestmark = pytest.mark.production
ADA = "80012"
LOGS = ROOT / "artifacts" / "production"


@pytest.fixture(scope="module")
def topology() -> Iterator[ProductionTopology]:
    missing = missing_parts()
    if missing:
        pytest.skip("the production topology cannot run here, missing: " + "; ".join(missing))
    with production_topology(LOGS) as running:
        yield running


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def household(family: str) -> dict[str, Any]:
    return {
        "municipality_code": ADA,
        "settlement": "Mol",
        "members": [
            {
                "given_name": "Jelena",
                "family_name": family,
                "birth_date": "1984-03-07",
                "sex": "F",
                "missing_jmbg_reason": "not_known",
                "relation": "head",
                "consents": ["case_work"],
            },
        ],
    }


def test_promtool_accepts_the_prometheus_configuration() -> None:
    if PROMTOOL is None:
        pytest.skip("promtool is missing (apt-get install prometheus; `make production-deps`)")
    done = subprocess.run(
        [PROMTOOL, "check", "config", str(DEPLOY / "prometheus" / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout + done.stderr


def test_prometheus_scrapes_every_service_with_the_deployment_configuration(topology: ProductionTopology) -> None:
    """Debian's Prometheus on deploy/prometheus/prometheus.yml (targets on this machine, 1 s interval): every
    service's target is up, and its series carry its own `service` label (no clash with a target label)."""
    if PROMETHEUS is None:
        pytest.skip("prometheus is missing (apt-get install prometheus; `make production-deps`)")
    work = Path(tempfile.mkdtemp(prefix="oslonac-prometheus-"))
    processes = Processes(LOGS)
    try:
        api = f"http://127.0.0.1:{start_prometheus(processes, work, topology.service_ports)}/api/v1"
        expected = {(service, service) for service in SERVICES}
        deadline, health, labelled = time.monotonic() + 30, {}, set()
        while time.monotonic() < deadline and (set(health.values()) != {"up"} or labelled != expected):
            time.sleep(0.5)
            processes.check_alive()
            targets = httpx.get(f"{api}/targets").json()["data"]["activeTargets"]
            health = {t["labels"]["job"]: t["health"] for t in targets if t["labels"]["job"] in SERVICES}
            found = httpx.get(f"{api}/query", params={"query": "oslonac_outbox_backlog"}).json()["data"]["result"]
            labelled = {(r["metric"]["job"], r["metric"].get("service")) for r in found}
        assert health == dict.fromkeys(SERVICES, "up"), health
        assert labelled == expected
    finally:
        processes.stop_all()
        shutil.rmtree(work, ignore_errors=True)


def test_the_init_script_made_one_database_per_service_and_each_service_migrated_its_own(
    topology: ProductionTopology,
) -> None:
    async def inspect() -> tuple[set[str], dict[str, str | None]]:
        dsn = f"postgresql://oslonac:{topology.database_password}@127.0.0.1:{topology.database_port}"
        admin = await asyncpg.connect(f"{dsn}/oslonac")
        try:
            names = {r["datname"] for r in await admin.fetch("SELECT datname FROM pg_database")}
        finally:
            await admin.close()
        versions: dict[str, str | None] = {}
        for service in SERVICES:
            db = await asyncpg.connect(f"{dsn}/{service}")
            try:
                versions[service] = await db.fetchval("SELECT version_num FROM alembic_version")
            finally:
                await db.close()
        return names, versions

    names, versions = asyncio.run(inspect())
    assert {*SERVICES, "keycloak"} <= names
    assert all(versions.values()), versions


def test_every_service_answers_through_nginx_and_metrics_stay_private(topology: ProductionTopology) -> None:
    with httpx.Client(base_url=topology.origin, timeout=10) as client:
        assert client.get("/proxy-health").text == "ok\n"
        for service in SERVICES:
            assert client.get(f"/{service}/health/ready").status_code == 200, service
            assert client.get(f"/{service}/metrics").status_code == 404, service
        assert client.get("/", follow_redirects=False).headers["location"] == "/intake/"


def test_the_provider_is_served_under_auth_with_the_public_issuer(topology: ProductionTopology) -> None:
    r = httpx.get(f"{topology.origin}/auth/realms/{REALM}/.well-known/openid-configuration")
    assert r.status_code == 200
    discovery = r.json()
    assert discovery["issuer"] == topology.issuer
    for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri", "end_session_endpoint"):
        assert discovery[endpoint].startswith(f"{topology.issuer}/protocol/openid-connect/"), endpoint
    assert discovery["code_challenge_methods_supported"] == ["S256"]
    assert "client_credentials" in discovery["grant_types_supported"]


def test_asked_on_the_back_channel_the_provider_still_sends_browsers_to_the_public_issuer(
    topology: ProductionTopology,
) -> None:
    """As Keycloak with KC_HOSTNAME and a dynamic back channel, which the services' OIDC_INTERNAL_URL relies on."""
    discovery = httpx.get(f"{topology.internal_issuer}/.well-known/openid-configuration").json()
    assert discovery["issuer"] == topology.issuer
    assert discovery["authorization_endpoint"].startswith(f"{topology.issuer}/")
    assert discovery["end_session_endpoint"].startswith(f"{topology.issuer}/")
    assert discovery["token_endpoint"].startswith(f"{topology.internal_issuer}/")
    assert httpx.get(discovery["jwks_uri"]).json()["keys"][0]["alg"] == "RS256"


def test_the_providers_login_page_refuses_a_wrong_password(topology: ProductionTopology) -> None:
    with pytest.raises(PermissionError):
        topology.code_flow_tokens("demo-worker", password="not-the-password")


def test_an_authorization_code_without_pkce_is_refused(topology: ProductionTopology) -> None:
    r = httpx.get(
        f"{topology.issuer}/protocol/openid-connect/auth",
        params={
            "client_id": WEB_CLIENT,
            "response_type": "code",
            "scope": "openid",
            "redirect_uri": f"{topology.origin}/intake/auth/callback",
        },
    )
    location = r.headers.get("location", "")
    assert r.status_code in (302, 303) and "error=invalid_request" in location, (r.status_code, location)
    assert "PKCE" in location


def test_tokens_carry_the_realms_claims_and_audience(topology: ProductionTopology) -> None:
    user = claims_of(topology.code_flow_tokens("demo-employer")["access_token"])
    assert user["iss"] == topology.issuer and user["aud"] == AUDIENCE
    assert user["sub"] == "demo-employer"
    assert user["roles"] == ["employer"]
    assert user["municipalities"] == ["80012", "80357"]
    assert user["organisation"] == "demo-forum-ada"
    service_account = claims_of(topology.client_credentials_token())
    assert service_account["aud"] == AUDIENCE and service_account["roles"] == ["case_worker"]
    assert service_account["municipalities"] == [ADA]


def test_the_api_refuses_a_request_without_a_token_or_with_a_forged_one(topology: ProductionTopology) -> None:
    with httpx.Client(base_url=topology.origin, timeout=10) as client:
        for service, path in [("intake", "households"), ("cases", "cases"), ("reporting", "summary")]:
            r = client.get(f"/{service}/api/{path}")
            assert r.status_code == 401, (service, r.status_code)
            assert r.headers["content-type"].endswith("json") and r.json(), service  # problem+json: item 4
        token = topology.client_credentials_token()
        head, body, _signature = token.split(".")
        forged = f"{head}.{body}.{base64.urlsafe_b64encode(b'x' * 256).rstrip(b'=').decode()}"
        assert client.get("/intake/api/households", headers=bearer(forged)).status_code == 401


def test_a_wrong_role_is_forbidden(topology: ProductionTopology) -> None:
    analyst = topology.code_flow_tokens("demo-analyst")["access_token"]
    r = httpx.post(f"{topology.origin}/intake/api/households", json=household("Analitić"), headers=bearer(analyst))
    assert r.status_code == 403, r.text
    assert r.headers["content-type"].endswith("json") and r.json()


def test_an_api_client_registers_a_household_and_its_case_opens_through_the_broker(
    topology: ProductionTopology,
) -> None:
    api = bearer(topology.client_credentials_token())
    family = f"Produkcija{uuid.uuid4().hex[:6]}"
    with httpx.Client(base_url=topology.origin, timeout=10) as client:
        r = client.post("/intake/api/households", json=household(family), headers=api)
        assert r.status_code == 201, r.text
        household_id = r.json()["id"]
        read = client.get(f"/intake/api/households/{household_id}", headers=api)
        assert read.status_code == 200 and read.json()["municipality_code"] == ADA

        worker = bearer(topology.code_flow_tokens("demo-worker")["access_token"])
        deadline, cases = time.monotonic() + 30, []
        while time.monotonic() < deadline and not cases:
            found = client.get("/cases/api/cases", params={"household_id": household_id}, headers=worker)
            assert found.status_code == 200, found.text
            cases = found.json()
            time.sleep(0.2)
    assert cases, "no case opened within 30 s"
    assert cases[0]["municipality_code"] == ADA


def test_a_refresh_token_from_the_code_flow_gives_an_access_token_the_services_accept(
    topology: ProductionTopology,
) -> None:
    first = topology.code_flow_tokens("demo-supervisor")
    r = httpx.post(
        topology.token_endpoint,
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "client_id": WEB_CLIENT},
    )
    assert r.status_code == 200, r.text
    renewed = r.json()
    assert renewed["access_token"] != first["access_token"]
    assert renewed["refresh_token"] != first["refresh_token"]  # public client: the refresh token rotates
    assert claims_of(renewed["access_token"])["roles"] == ["supervisor"]
    answer = httpx.get(f"{topology.origin}/cases/api/cases", headers=bearer(renewed["access_token"]))
    assert answer.status_code == 200, answer.text


def test_nginx_writes_its_access_log_as_json_with_request_ids(topology: ProductionTopology) -> None:
    httpx.get(f"{topology.origin}/intake/health/live", headers={"X-Request-ID": "prod-topology-check"})
    deadline = time.monotonic() + 5
    lines: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not any(x["request_id"] == "prod-topology-check" for x in lines):
        lines = [json.loads(line) for line in Path(topology.access_log).read_text().splitlines()]
        time.sleep(0.1)
    (entry,) = [x for x in lines if x["request_id"] == "prod-topology-check"]
    assert entry["uri"] == "/intake/health/live" and entry["status"] == 200


# --- the browser: sign-in at the provider, a household registered, its case seen, signed out ---------------------


def test_a_case_worker_signs_in_at_the_provider_registers_a_household_sees_its_case_and_signs_out(
    topology: ProductionTopology,
) -> None:
    """Needs the pages' OIDC sign-in (authorization code + PKCE into a server-side session) and Debian's chromium."""
    if not BROWSER_AVAILABLE:
        pytest.skip(BROWSER_MISSING)
    from playwright.sync_api import expect

    login_page = re.compile(rf"^{re.escape(topology.issuer)}/interaction/")
    browser_session = contextlib.contextmanager(launched_browser)
    page_session = contextlib.contextmanager(opened_page)
    with browser_session() as browser, page_session(browser, topology.origin, "production-last") as page:
        # An unauthenticated visit goes to the provider's own sign-in page, through nginx under /auth/.
        page.goto("/intake/")
        expect(page).to_have_url(login_page)
        page.get_by_label(re.compile("Korisničko ime")).fill("demo-worker")
        page.get_by_label(re.compile("Lozinka")).fill(topology.demo_password)
        shot(page, "production-01-provider-login")
        page.get_by_role("button", name=re.compile("Prijavi se")).click()
        expect(page).to_have_url(re.compile(rf"^{re.escape(topology.origin)}/intake/(\?.*)?$"))
        shot(page, "production-02-signed-in")

        family = f"Produkcijić{uuid.uuid4().hex[:4]}"
        page.get_by_role("link", name=re.compile("Upis domaćinstva")).click()
        page.get_by_label(re.compile("^Opština")).select_option(ADA)
        page.get_by_label(re.compile("^Naselje")).fill("Mol")
        member = page.locator("fieldset.member").nth(0)
        member.get_by_label(re.compile(r"^Ime\b")).fill("Jelena")
        member.get_by_label(re.compile(r"^Prezime\b")).fill(family)
        member.get_by_label(re.compile("^Datum rođenja")).fill("1984-03-07")
        member.get_by_label(re.compile("^Pol")).select_option("F")
        member.get_by_label(re.compile("^Zašto nema JMBG")).select_option("not_known")
        page.get_by_role("button", name=re.compile("Upiši domaćinstvo")).click()
        expect(page.get_by_text("Domaćinstvo je upisano.")).to_be_visible()
        shot(page, "production-03-household")
        household_id = re.search(r"/intake/households/([0-9a-f-]{36})", page.url)
        assert household_id is not None, page.url

        # The case opens in cases through the broker; cases signs in by the provider's session (no form).
        worker = bearer(topology.code_flow_tokens("demo-worker")["access_token"])
        deadline, cases = time.monotonic() + 30, []
        while time.monotonic() < deadline and not cases:
            found = httpx.get(
                f"{topology.origin}/cases/api/cases", params={"household_id": household_id[1]}, headers=worker
            )
            cases = found.json() if found.status_code == 200 else []
            time.sleep(0.2)
        assert cases, "no case opened within 30 s"
        page.goto(f"/cases/cases/{cases[0]['id']}")
        expect(page).to_have_url(re.compile(rf"/cases/cases/{cases[0]['id']}$"))
        expect(page.locator("#case-status")).to_have_text("Otvoren")
        expect(page.locator("#members tbody tr")).to_have_count(1)
        shot(page, "production-04-case")

        # Signing out ends the page session and the provider's: the next visit asks for the password again.
        # A link, or a form's button where sign-out is a POST (CSRF-protected).
        sign_out = page.get_by_role("link", name=re.compile("^Odjava$"))
        sign_out.or_(page.get_by_role("button", name=re.compile("^Odjava$"))).first.click()
        expect(page).to_have_url(re.compile(rf"^{re.escape(topology.origin)}/cases/signed-out"))
        shot(page, "production-05-signed-out")
        page.goto("/intake/")
        expect(page).to_have_url(login_page)
        expect(page.get_by_label(re.compile("Lozinka"))).to_be_visible()


def test_indicator_changes_stream_through_nginx_as_they_happen(topology: ProductionTopology) -> None:
    """Server-Sent Events through the proxy's unbuffered /reporting/: registrations' indicator change arrives on a
    stream opened before them, while the stream stays open."""
    api = bearer(topology.client_credentials_token())
    analyst = bearer(topology.code_flow_tokens("demo-analyst")["access_token"])
    events: list[str] = []
    stream_url = f"{topology.origin}/reporting/api/indicators/stream"
    timeout = httpx.Timeout(10, read=20)
    with httpx.stream("GET", stream_url, params={"municipality": ADA}, headers=analyst, timeout=timeout) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        assert next(lines).startswith("retry:")  # the stream is open before the registration
        # Counts of 1-4 are shown as "<5" and only a change a reader can see is announced: five more households
        # make Ada's count this month at least 5 and different from what was last shown, whatever came before.
        for _ in range(5):
            body = household(f"Tok{uuid.uuid4().hex[:6]}")
            r = httpx.post(f"{topology.origin}/intake/api/households", json=body, headers=api)
            assert r.status_code == 201, r.text
        deadline = time.monotonic() + 20
        for line in lines:
            if line.startswith("event:"):
                events.append(line.removeprefix("event:").strip())
            if "indicators.updated" in events or time.monotonic() > deadline:
                break
    assert "indicators.updated" in events, events
