"""Who may call what in cases: every route under /cases/api, for every role, against one case of Ada assigned to
``worker``, a referral to a provider of Ada and an Ada–Ruma agreement (services/cases/access.py).

A route missing from the matrix fails the test, so a new endpoint cannot ship without deciding who may call it.
"allowed" means the request got past the access checks: a 2xx, or a 409/422 about the request itself; "denied"
is 403 for a role that may not do this at all and 404 for a case the user may not know of; no token is 401.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import fastapi.routing
import pytest

from tests.fixtures.auth import ADA, NOVI_SAD, RUMA
from tests.fixtures.cases import (
    API,
    active_case,
    create_agreement,
    create_provider,
    member,
    needs,
    only_case,
    plan,
    register_worker,
    registered,
)
from tests.fixtures.delivery import deliver
from tests.fixtures.services import RunningService

USERS = ("worker", "worker-ns", "worker-ada", "supervisor", "supervisor-ns", "employer", "analyst", "admin")
OK, FORBIDDEN, HIDDEN = "allowed", 403, 404


def row(default: Any, **overrides: Any) -> dict[str, Any]:
    return {u: overrides.get(u.replace("-", "_"), default) for u in USERS}


STAFF_READ = row(OK, employer=FORBIDDEN, analyst=FORBIDDEN)
REGISTRY_READ = row(OK, employer=FORBIDDEN)
# Reading the Ada case: its municipality's workers and supervisors, administrators (it is not restricted).
CASE_READ = row(OK, worker_ns=HIDDEN, supervisor_ns=HIDDEN, employer=FORBIDDEN, analyst=FORBIDDEN)
# Case work: its worker and the supervisors of Ada; another Ada worker and admins read but may not change it.
CASE_WORK = row(FORBIDDEN, worker=OK, supervisor=OK, worker_ns=HIDDEN, supervisor_ns=HIDDEN)
REASSIGN = CASE_WORK | {"worker": FORBIDDEN}
# Registries of Ada: an administrator or a supervisor of Ada.
KEEPER = row(FORBIDDEN, supervisor=OK, admin=OK)
# The provider's answer: staff (workers, supervisors) of the provider's municipality.
PROVIDER_SIDE = row(FORBIDDEN, worker=OK, worker_ada=OK, supervisor=OK)
SUPERVISION = row(FORBIDDEN, supervisor=OK, supervisor_ns=OK, admin=OK)
AGGREGATES = row(FORBIDDEN, supervisor=OK, supervisor_ns=OK, admin=OK, analyst=OK)


@dataclass(frozen=True)
class Call:
    expected: dict[str, Any]
    body: Any = None


# (method, path template) → what each role gets. Bodies are valid but change nothing lasting where they can:
# the allowed ones end in a domain 409/422 (illegal step, no agreement, unknown provider) or an idempotent write.
MATRIX: dict[tuple[str, str], Call] = {
    ("GET", "/cases"): Call(STAFF_READ),
    ("GET", "/cases/{case_id}"): Call(CASE_READ),
    ("GET", "/cases/{case_id}/timeline"): Call(CASE_READ),
    ("POST", "/cases/{case_id}/status"): Call(CASE_WORK, {"to": "closed"}),  # no reason: 422 once allowed
    ("POST", "/cases/{case_id}/assignment"): Call(REASSIGN, {"worker": "worker"}),  # already theirs: no change
    ("POST", "/cases/{case_id}/assessments"): Call(CASE_WORK, {"needs": {"income": {"level": "low"}}}),
    ("POST", "/cases/{case_id}/plans"): Call(CASE_WORK, {"goals": ["g"], "review_date": "2099-01-01"}),
    ("POST", "/cases/{case_id}/transfer"): Call(CASE_WORK, {"to_municipality_code": NOVI_SAD}),  # no agreement
    ("POST", "/cases/{case_id}/referrals"): Call(CASE_WORK, {"provider_id": "00000000-0000-0000-0000-000000000000"}),
    ("GET", "/reviews"): Call(STAFF_READ),
    ("GET", "/referrals"): Call(STAFF_READ),
    ("POST", "/referrals/{referral_id}/decision"): Call(PROVIDER_SIDE, {"decision": "declined"}),  # no reason: 422
    ("GET", "/providers"): Call(REGISTRY_READ),
    ("POST", "/providers"): Call(
        KEEPER, {"name": "P", "service_type": "day_care", "municipality_code": ADA, "capacity": 2}
    ),
    ("PATCH", "/providers/{provider_id}"): Call(KEEPER, {"name": "Dnevni boravak"}),
    ("GET", "/agreements"): Call(REGISTRY_READ),
    ("POST", "/agreements"): Call(
        KEEPER,
        {"name": "A", "municipalities": [ADA, RUMA], "service_types": ["day_care"], "valid_from": "2020-01-01"},
    ),
    ("POST", "/agreements/{agreement_id}/end"): Call(KEEPER, {"valid_to": "2099-12-31"}),
    ("GET", "/workers"): Call(STAFF_READ),
    ("PUT", "/workers/{sub}"): Call(KEEPER, {"display_name": "Nova", "municipalities": [ADA]}),
    ("GET", "/caseload"): Call(SUPERVISION),
    ("GET", "/statistics"): Call(AGGREGATES),
}


def api_routes(cases: RunningService) -> set[tuple[str, str]]:
    """(method, path under /cases/api) of every route the app serves, included routers' routes too."""
    out = set()
    for route in fastapi.routing.iter_route_contexts(cases.app.routes):
        path = route.path or ""
        if path.startswith(API + "/"):
            for method in (route.methods or set()) - {"HEAD", "OPTIONS"}:
                out.add((method, path.removeprefix(API)))
    return out


async def world(cases: RunningService) -> dict[str, str]:
    await register_worker(cases, "worker", ADA, RUMA)
    event = registered(municipality=ADA)
    await deliver(cases, event)
    case = await only_case(cases, event.household_id, "worker")
    assert case["assigned_to"] == "worker"
    provider = await create_provider(cases, ADA)
    r = await cases.client.post(
        f"{API}/cases/{case['id']}/referrals", json={"provider_id": provider["id"]}, headers=cases.auth("worker")
    )
    assert r.status_code == 201, r.text
    agreement = await create_agreement(cases, ADA, RUMA)
    return {
        "case_id": case["id"],
        "referral_id": r.json()["id"],
        "provider_id": provider["id"],
        "agreement_id": agreement["id"],
        "sub": "nova",
    }


def outcome(status: int) -> Any:
    if status in (401, 403, 404):
        return status
    assert status < 500, status
    return OK


async def test_every_route_is_in_the_matrix(cases: RunningService) -> None:
    assert api_routes(cases) == set(MATRIX)


async def test_every_role_gets_what_access_rules_say_on_every_route(cases: RunningService) -> None:
    ids = await world(cases)
    problems = []
    for (method, template), call in MATRIX.items():
        url = API + template.format(**ids)
        kwargs = {"json": call.body} if call.body is not None else {}
        r = await cases.client.request(method, url, **kwargs)
        if r.status_code != 401:
            problems.append(f"{method} {template} without a token: {r.status_code}")
        for user in USERS:
            r = await cases.client.request(method, url, headers=cases.auth(user), **kwargs)
            if r.status_code >= 500:
                problems.append(f"{method} {template} as {user}: {r.status_code} {r.text[:200]}")
                continue
            got, wanted = outcome(r.status_code), call.expected[user]
            if got != wanted:
                problems.append(f"{method} {template} as {user}: {r.status_code} (wanted {wanted}) {r.text[:160]}")
            elif got != OK:
                assert r.json()["detail"], (method, template, user)  # every refusal says why
    assert problems == []
    # Nothing above changed the case: the bodies only probed.
    detail = (await cases.client.get(f"{API}/cases/{ids['case_id']}", headers=cases.auth("worker"))).json()
    assert detail["case"]["status"] == "open" and detail["case"]["assigned_to"] == "worker"
    assert [r["status"] for r in detail["referrals"]] == ["requested"]


@pytest.mark.parametrize("user", ["worker-ada", "admin"])
async def test_a_restricted_case_is_hidden_from_everyone_but_its_worker_and_supervisors(
    cases: RunningService, user: str
) -> None:
    """The same routes as above on a violence case: another worker of Ada and administrators get 404 on every
    case route, as if there were no such case."""
    await register_worker(cases, "worker", ADA, RUMA)
    event = registered(member(markers=("victim_of_violence",)), municipality=ADA)
    await deliver(cases, event)
    case = await only_case(cases, event.household_id, "worker")
    for (method, template), call in MATRIX.items():
        if "{case_id}" not in template:
            continue
        url = API + template.format(case_id=case["id"])
        kwargs = {"json": call.body} if call.body is not None else {}
        r = await cases.client.request(method, url, headers=cases.auth(user), **kwargs)
        assert r.status_code == 404, (method, template, r.status_code, r.text)
        r = await cases.client.request(method, url, headers=cases.auth("supervisor"), **kwargs)
        assert outcome(r.status_code) == OK, (method, template, r.status_code, r.text)
    for path in ("/cases", "/reviews"):
        r = await cases.client.get(f"{API}{path}", headers=cases.auth(user))
        assert r.status_code == 200 and case["id"] not in r.text


async def test_case_lists_are_scoped_to_the_users_municipalities(cases: RunningService) -> None:
    await register_worker(cases, "worker", ADA, RUMA)
    await register_worker(cases, "worker-ns", NOVI_SAD)
    ada, ruma, novi_sad = registered(municipality=ADA), registered(municipality=RUMA), registered(municipality=NOVI_SAD)
    await deliver(cases, ada, ruma, novi_sad)

    async def households(user: str, **params: str) -> set[str]:
        r = await cases.client.get(f"{API}/cases", params=params, headers=cases.auth(user))
        assert r.status_code == 200, r.text
        return {c["household_id"] for c in r.json()}

    assert await households("worker") == {str(ada.household_id), str(ruma.household_id)}
    assert await households("worker-ada") == {str(ada.household_id)}
    assert await households("worker-ns") == {str(novi_sad.household_id)}
    assert await households("supervisor-ns") == {str(novi_sad.household_id)}
    assert len(await households("admin")) == 3
    r = await cases.client.get(f"{API}/cases", params={"municipality": NOVI_SAD}, headers=cases.auth("worker"))
    assert r.status_code == 403 and NOVI_SAD in r.json()["detail"]
    r = await cases.client.get(f"{API}/caseload", params={"municipality": ADA}, headers=cases.auth("supervisor-ns"))
    assert r.status_code == 403
    r = await cases.client.get(f"{API}/workers", params={"municipality": ADA}, headers=cases.auth("worker-ns"))
    assert r.status_code == 403


# --- bad input: never a 500 ------------------------------------------------------------------------------------


async def test_unknown_ids_and_bad_values_are_404s_and_422s(cases: RunningService) -> None:
    await register_worker(cases, "worker", ADA)
    case = (await active_case(cases))["case"]
    nobody = "00000000-0000-0000-0000-000000000000"
    me = cases.auth("worker")
    for path in (f"/cases/{nobody}", f"/cases/{nobody}/timeline"):
        assert (await cases.client.get(f"{API}{path}", headers=me)).status_code == 404
    for path, body in (
        (f"/cases/{nobody}/status", {"to": "closed", "reason": "other"}),
        (f"/cases/{nobody}/assessments", needs()),
        (f"/cases/{nobody}/plans", plan()),
        (f"/cases/{nobody}/transfer", {"to_municipality_code": RUMA}),
        (f"/cases/{nobody}/assignment", {"worker": "worker"}),
    ):
        r = await cases.client.post(f"{API}{path}", json=body, headers=cases.auth("supervisor"))
        assert r.status_code == 404, (path, r.text)
    url = f"{API}/cases/{case['id']}"
    for path, body in (
        ("/status", {"to": "finished"}),
        ("/status", {"to": "closed", "reason": "bored"}),
        ("/status", {}),
        ("/assessments", {"needs": {"income": {"level": "enormous"}}}),
        ("/assessments", {"needs": {"luck": {"level": "low"}}}),
        ("/assessments", []),
        ("/plans", {"goals": [], "review_date": "2030-01-01"}),
        ("/plans", {"goals": ["x"], "review_date": "tomorrow"}),
        ("/plans", plan({"kind": "prayer", "responsible": "w"})),
        ("/plans", plan({"kind": "service", "service_type": "magic", "responsible": "w"})),
        ("/plans", plan({"kind": "task", "responsible": "w", "person_id": "42"})),
        ("/transfer", {"to_municipality_code": "Ada"}),
        ("/transfer", {}),
        ("/assignment", {"worker": ""}),
        ("/referrals", {"provider_id": "x"}),
    ):
        r = await cases.client.post(f"{url}{path}", content=json.dumps(body), headers=me)
        assert r.status_code == 422, (path, body, r.text)
    r = await cases.client.post(f"{url}/status", content=b"{not json", headers=me)
    assert r.status_code == 422
    for query in ("status=lost", "priority=extreme", "household_id=7", "limit=0", "limit=100000", "municipality=Ada"):
        r = await cases.client.get(f"{API}/cases?{query}", headers=me)
        assert r.status_code == 422, (query, r.text)
    assert (await cases.client.get(f"{API}/cases/not-a-uuid", headers=me)).status_code == 422
    admin = cases.auth("admin")
    for path, method, body in (
        (f"/providers/{nobody}", "PATCH", {"name": "x"}),
        (f"/agreements/{nobody}/end", "POST", {"valid_to": "2030-01-01"}),
    ):
        r = await cases.client.request(method, f"{API}{path}", json=body, headers=admin)
        assert r.status_code == 404, (path, r.text)
    for path, method, body in (
        ("/providers", "POST", {"name": "x", "service_type": "magic", "municipality_code": ADA, "capacity": 1}),
        ("/providers", "POST", {"name": "x", "service_type": "day_care", "municipality_code": ADA, "capacity": -1}),
        ("/providers", "POST", {"name": "x", "service_type": "day_care", "municipality_code": "99999", "capacity": 1}),
        (f"/providers/{nobody}", "PATCH", {"capacity": "many"}),
        (f"/agreements/{nobody}/end", "POST", {"valid_to": "someday"}),
        (f"/agreements/{nobody}/end", "POST", {}),
        ("/workers/ana", "PUT", {"display_name": "Ana", "municipalities": ["99999"]}),
        ("/workers/ana", "PUT", {"display_name": "Ana", "municipalities": []}),
        ("/workers/" + "a" * 300, "PUT", {"display_name": "Ana", "municipalities": [ADA]}),
        ("/workers/ana", "PUT", {"display_name": "A" * 300, "municipalities": [ADA]}),
    ):
        r = await cases.client.request(method, f"{API}{path}", json=body, headers=admin)
        assert r.status_code == 422, (path, body, r.text)
    for query in ("service_type=magic", "municipality=1"):
        assert (await cases.client.get(f"{API}/providers?{query}", headers=admin)).status_code == 422
    assert (await cases.client.get(f"{API}/caseload?municipality=x", headers=admin)).status_code == 422
    assert (await cases.client.get(f"{API}/reviews?municipality=x", headers=admin)).status_code == 422
    assert (await cases.client.get(f"{API}/workers?municipality=x", headers=admin)).status_code == 422
