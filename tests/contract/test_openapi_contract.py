"""Each service keeps the contract its OpenAPI document states: schemathesis generates requests from the document
(valid ones, and invalid ones), sends each as several roles and without a token to the real app served over HTTP
on a fresh SQLite store, and checks that no answer is a server error, that each status is documented for its
route, and that each body matches the documented schema (problem+json for errors).

Bounded and deterministic: a fixed number of examples per operation and generation mode, derandomized (the same
requests on every run), no example database, no shrinking (failures are collected, not raised one by one).
``OSLONAC_CONTRACT_EXAMPLES`` changes the number of examples (default 4).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.auth import DemoUser, Role
from tests.fixtures.auth import ADA, RUMA
from tests.fixtures.browser import ServedService, served_service

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is in the dev extra (make installs it)")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.core.failures import FailureGroup  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.contract

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
EXAMPLES = int(os.environ.get("OSLONAC_CONTRACT_EXAMPLES", "4"))
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
USERS = [
    DemoUser("admin", (Role.admin,), ()),
    DemoUser("worker", (Role.case_worker,), (ADA, RUMA)),
    DemoUser("supervisor", (Role.supervisor,), (ADA,)),
    DemoUser("employer", (Role.employer,), (ADA,), organisation="org-1"),
    DemoUser("coordinator", (Role.coordinator,), (ADA, RUMA)),
    DemoUser("analyst", (Role.analyst,), ()),
]
# An endless Server-Sent Events stream: a request that is valid never ends, so it cannot be fuzzed this way
# (its refusals are tested in tests/services/test_reporting_feed.py).
NOT_FUZZED = {"/reporting/api/indicators/stream"}
# Served without a broker (no relay, no consumer), readiness honestly answers its documented 503.
BROKER_DEPENDENT = "/health/ready"


@dataclass
class Tally:
    service: str
    requests: int = 0
    operations: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def line(self) -> str:
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(self.statuses.items()))
        return (
            f"{self.service}: {self.operations} operations, {self.requests} requests, "
            f"{len(self.failures)} failures ({statuses})"
        )


def _seed_intake(base: str, auth: Callable[[str], dict[str, str]]) -> None:
    household = {
        "municipality_code": ADA,
        "members": [
            {
                "given_name": "Jovana",
                "family_name": "Petrović",
                "birth_date": "1985-03-04",
                "sex": "F",
                "missing_jmbg_reason": "not_known",
                "able_to_work": True,
            }
        ],
        "incomes": [{"source": "wages", "monthly_amount": 20000}],
    }
    r = httpx.post(f"{base}/intake/api/households", json=household, headers=auth("worker"), timeout=30)
    assert r.status_code == 201, r.text


def _seed_cases(base: str, auth: Callable[[str], dict[str, str]]) -> None:
    provider = {"name": "Dnevni boravak", "service_type": "day_care", "municipality_code": ADA, "capacity": 10}
    r = httpx.post(f"{base}/cases/api/providers", json=provider, headers=auth("admin"), timeout=30)
    assert r.status_code == 201, r.text


def _seed_activation(base: str, auth: Callable[[str], dict[str, str]]) -> None:
    org = {"name": "Park Ada", "kind": "public_enterprise", "municipality_code": ADA}
    r = httpx.put(f"{base}/activation/api/organisations/org-1", json=org, headers=auth("employer"), timeout=30)
    assert r.status_code == 200, r.text
    forum = {"name": "Forum Ada", "municipalities": [ADA]}
    r = httpx.post(f"{base}/activation/api/forums", json=forum, headers=auth("coordinator"), timeout=30)
    assert r.status_code == 201, r.text
    forum_id = r.json()["id"]
    member = {"organisation_id": "org-1"}
    members = f"{base}/activation/api/forums/{forum_id}/members"
    r = httpx.post(members, json=member, headers=auth("employer"), timeout=30)
    assert r.status_code == 200, r.text
    opportunity = {"title": "Gardener", "municipality_code": ADA, "positions": 2, "type": "job", "forum_id": forum_id}
    r = httpx.post(f"{base}/activation/api/opportunities", json=opportunity, headers=auth("employer"), timeout=30)
    assert r.status_code == 201, r.text


SEEDS: dict[str, Callable[[str, Callable[[str], dict[str, str]]], None]] = {
    "intake": _seed_intake,
    "cases": _seed_cases,
    "activation": _seed_activation,
}


@pytest.fixture(scope="module")
def summary() -> Iterator[list[Tally]]:
    tallies: list[Tally] = []
    yield tallies
    if tallies:
        # Also written where `make test` keeps artifacts, since pytest hides what passing tests print.
        lines = [f"schemathesis {schemathesis.__version__}, {EXAMPLES} examples per operation and kind:"]
        lines += ["  " + tally.line() for tally in tallies]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "contract-summary.txt").write_text("\n".join(lines) + "\n")
        print("\n" + "\n".join(lines))


@dataclass
class Caller:
    """Sends each generated request once per role and once without a token, and tallies what came back."""

    base_url: str
    roles: dict[str, dict[str, str] | None]
    tally: Tally

    def send(self, case: Any, mode: GenerationMode, checks: list[Any]) -> None:
        # A fresh connection per request (no session): on a kept-alive connection to the threaded server each
        # request waited ~40 ms for a delayed ACK, against ~2 ms on a new one.
        for who, headers in self.roles.items():
            self.tally.requests += 1
            try:
                response = case.call_and_validate(base_url=self.base_url, headers=headers, checks=checks, timeout=30)
            except (AssertionError, FailureGroup) as exc:
                lines = str(exc).strip().splitlines()
                self.tally.failures.append(
                    f"{case.operation.label} as {who} ({mode.value}): {' | '.join(lines[:8])[:700]}"
                )
                continue
            self.tally.statuses[response.status_code] = self.tally.statuses.get(response.status_code, 0) + 1

    def fuzz(self, operation: Any, mode: GenerationMode, checks: list[Any]) -> None:
        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def send(case: Any) -> None:
            self.send(case, mode, checks)

        try:
            send()
        except Unsatisfiable:
            if mode is GenerationMode.POSITIVE:
                raise
            # An operation without parameters or body has no invalid request to make.


def _fuzz(served: ServedService, service: str, tally: Tally) -> None:
    def auth(username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {served.issuer.issue_for(served.issuer.users[username])}"}

    if service in SEEDS:
        SEEDS[service](served.base_url, auth)
    roles: dict[str, dict[str, str] | None] = {u.username: auth(u.username) for u in USERS}
    roles["anonymous"] = None
    caller = Caller(served.base_url, roles, tally)
    schema = schemathesis.openapi.from_url(f"{served.base_url}/{service}/openapi.json", timeout=30)
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in NOT_FUZZED:
            continue
        tally.operations += 1
        checks = CHECKS
        if operation.path.endswith(BROKER_DEPENDENT):
            checks = [c for c in CHECKS if c is not not_a_server_error]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            caller.fuzz(operation, mode, checks)


@pytest.mark.parametrize("service", ["intake", "cases", "activation", "reporting"])
def test_the_api_keeps_its_openapi_contract(service: str, tmp_path: Path, summary: list[Tally]) -> None:
    tally = Tally(service)
    with served_service(service, tmp_path, USERS) as served:
        _fuzz(served, service, tally)
    summary.append(tally)
    print(tally.line())
    assert tally.requests > 0 and tally.operations > 0
    assert not tally.failures, f"{tally.line()}:\n" + "\n".join(tally.failures[:40])
