"""Who may call what in activation: every route under /activation/api, for every user, against a forum of Ada, an
opportunity of org-1 there, a candidate of Ada and a (declined) placement of theirs (services/activation/access.py).

A route missing from the matrix fails the test, so a new endpoint cannot ship without deciding who may call it.
"allowed" means the request got past the access checks: a 2xx, or a 409/422 about the request itself; "denied" is
403 for a user who may not do this at all and 404 for an object the user may not know of; no token is 401.

Employers act for their own organisation only and never see who a candidate is: nothing any of them gets back
holds a person, case or household id.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import fastapi.routing
import httpx

from tests.fixtures.activation import (
    ADA,
    API,
    RUMA,
    add_candidates,
    forum,
    organisation,
    post_opportunity,
    requested,
    shortlist,
)
from tests.fixtures.services import RunningService

USERS = (
    "worker",
    "worker-ns",
    "worker-ada",
    "worker-ruma",
    "supervisor",
    "supervisor-ns",
    "employer",
    "employer-2",
    "coordinator",
    "coordinator-ns",
    "analyst",
    "admin",
)
EMPLOYERS = ("employer", "employer-2")
OK, FORBIDDEN, HIDDEN = "allowed", 403, 404
PERSONAL_KEYS = ("person_id", "case_id", "household_id")


def row(default: Any, **overrides: Any) -> dict[str, Any]:
    return {u: overrides.get(u.replace("-", "_"), default) for u in USERS}


EVERYONE = row(OK)
# Only org-1's own people (and administrators) may know its organisation; coordinators and analysts see them all.
ORG_1_READ = row(HIDDEN, employer=OK, coordinator=OK, coordinator_ns=OK, analyst=OK, admin=OK)
ORG_1_WRITE = row(FORBIDDEN, employer=OK, admin=OK)
FORUM_RUN = row(FORBIDDEN, coordinator=OK, admin=OK)  # a coordinator of every municipality of the forum
POSTING = row(FORBIDDEN, employer=OK, employer_2=OK, admin=OK)
OPPORTUNITY_READ = row(OK, employer_2=HIDDEN)
OWNER = row(FORBIDDEN, employer=OK, employer_2=HIDDEN, admin=OK)
# The live ranking: matchers (staff and the owner); another organisation does not know the opportunity.
MATCHERS = row(OK, employer_2=HIDDEN, analyst=FORBIDDEN)
# Acting for Ada's candidate: case workers and supervisors of Ada, administrators.
FOR_CANDIDATE = row(
    FORBIDDEN,
    worker=OK,
    worker_ada=OK,
    supervisor=OK,
    admin=OK,
    worker_ns=HIDDEN,
    worker_ruma=HIDDEN,
    supervisor_ns=HIDDEN,
)
CANDIDATE_LISTS = row(FORBIDDEN, worker=OK, worker_ns=OK, worker_ada=OK, worker_ruma=OK, supervisor=OK)
CANDIDATE_LISTS |= {"supervisor-ns": OK, "admin": OK}
# The placements of org-1's opportunity: its parties; staff elsewhere see the list, filtered to their candidates.
PARTIES_LIST = row(OK, employer_2=HIDDEN, coordinator=FORBIDDEN, coordinator_ns=FORBIDDEN, analyst=FORBIDDEN)
# One placement of Ada's candidate in org-1's opportunity: its employer and the candidate's case workers.
PLACEMENT = FOR_CANDIDATE | {"employer": OK, "employer-2": HIDDEN}
CANDIDATE_ANSWER = PLACEMENT | {"employer": FORBIDDEN}  # answering for the candidate
EMPLOYER_ANSWER = PLACEMENT | {"worker": FORBIDDEN, "worker-ada": FORBIDDEN, "supervisor": FORBIDDEN}
EMPLOYER_STEP = OWNER
FAIRNESS = row(FORBIDDEN, coordinator=OK, supervisor=OK, analyst=OK, admin=OK)
RECOMPUTE = row(FORBIDDEN, coordinator=OK, coordinator_ns=OK, admin=OK)
FIGURES = row(FORBIDDEN, coordinator=OK, coordinator_ns=OK, supervisor=OK, supervisor_ns=OK, analyst=OK, admin=OK)


@dataclass(frozen=True)
class Call:
    expected: dict[str, Any]
    body: Any = None
    ids: dict[str, str] = field(default_factory=dict)  # a placeholder filled from another object of the world


ORG_1 = {"name": "Organisation org-1", "kind": "public_enterprise", "municipality_code": ADA}
BAD_AGES = {"min_age": 60, "max_age": 20}  # refused (422) once past the access checks: nothing changes

# (method, path template) → what each user gets. Bodies are valid but change nothing lasting where they can: the
# allowed ones end in a domain 409/422 (a final placement, an upside-down range, already proposed) or an
# idempotent write. Placement steps probe the declined placement, so every allowed step is an illegal one.
MATRIX: dict[tuple[str, str], Call] = {
    ("PUT", "/organisations/{organisation_id}"): Call(ORG_1_WRITE, ORG_1),
    ("GET", "/organisations"): Call(EVERYONE),
    ("GET", "/organisations/{organisation_id}"): Call(ORG_1_READ),
    ("POST", "/forums"): Call(FORUM_RUN, {"name": "F", "municipalities": [ADA], "criteria": BAD_AGES}),
    ("GET", "/forums"): Call(EVERYONE),
    ("GET", "/forums/{forum_id}"): Call(EVERYONE),
    ("PUT", "/forums/{forum_id}/criteria"): Call(FORUM_RUN, BAD_AGES),
    ("POST", "/forums/{forum_id}/members"): Call(ORG_1_WRITE, {"organisation_id": "org-1"}),
    ("GET", "/forums/{forum_id}/fairness"): Call(FAIRNESS),
    # org-2 is not in Ada's forum (409); the others' opportunity ends before it starts (422).
    ("POST", "/opportunities"): Call(POSTING, "opportunity"),
    ("GET", "/opportunities"): Call(EVERYONE),
    ("GET", "/opportunities/{opportunity_id}"): Call(OPPORTUNITY_READ),
    # The spare opportunity: its owner closes it, the next allowed caller finds it closed (409).
    ("POST", "/opportunities/{opportunity_id}/close"): Call(OWNER, ids={"opportunity_id": "spare_id"}),
    ("GET", "/opportunities/{opportunity_id}/shortlist"): Call(MATCHERS),
    ("POST", "/opportunities/{opportunity_id}/proposals"): Call(FOR_CANDIDATE, "proposal"),  # already proposed
    ("GET", "/opportunities/{opportunity_id}/placements"): Call(PARTIES_LIST),
    ("GET", "/candidates"): Call(CANDIDATE_LISTS),
    ("GET", "/candidates/{person_id}"): Call(FOR_CANDIDATE),
    ("GET", "/candidates/{person_id}/opportunities"): Call(FOR_CANDIDATE),
    ("GET", "/candidates/{person_id}/placements"): Call(FOR_CANDIDATE),
    ("GET", "/placements/{placement_id}"): Call(PLACEMENT),
    ("POST", "/placements/{placement_id}/accept"): Call(CANDIDATE_ANSWER, {"party": "candidate"}),
    ("POST", "/placements/{placement_id}/decline"): Call(EMPLOYER_ANSWER, {"party": "employer", "reason": "other"}),
    ("POST", "/placements/{placement_id}/start"): Call(EMPLOYER_STEP),
    ("POST", "/placements/{placement_id}/hours"): Call(EMPLOYER_STEP, {"month": "2020-01", "hours": 10}),
    ("POST", "/placements/{placement_id}/complete"): Call(EMPLOYER_STEP),
    ("POST", "/placements/{placement_id}/end"): Call(PLACEMENT, {"reason": "health"}),
    ("POST", "/shortlists/recompute"): Call(RECOMPUTE),
    ("GET", "/shortlists/status"): Call(FIGURES),
}


def api_routes(activation: RunningService) -> set[tuple[str, str]]:
    """(method, path under /activation/api) of every route the app serves, included routers' routes too."""
    out = set()
    for route in fastapi.routing.iter_route_contexts(activation.app.routes):
        path = route.path or ""
        if path.startswith(API + "/"):
            for method in (route.methods or set()) - {"HEAD", "OPTIONS"}:
                out.add((method, path.removeprefix(API)))
    return out


@dataclass
class World:
    ids: dict[str, str]
    bodies: dict[str, Any]
    personal: set[str]  # every person, case and household id the world holds


async def world(activation: RunningService) -> World:
    """Ada's forum with org-1 and its opportunity; Ruma's forum with org-2 and its own; a candidate of Ada (and one
    of Ruma), and two placements of Ada's candidate in org-1's opportunity: one declined, one waiting."""
    ada = await forum(activation, ADA)
    await organisation(activation, ada["id"])
    ruma = await forum(activation, RUMA)
    await organisation(activation, ruma["id"], as_user="employer-2", org="org-2", municipality=RUMA)
    opp = await post_opportunity(activation, ada["id"])
    spare = await post_opportunity(activation, ada["id"], title="Spare")
    await post_opportunity(activation, ruma["id"], as_user="employer-2", municipality=RUMA, title="Ruma's own")
    person, neighbour = requested(skills=("cleaning",)), requested(municipality=RUMA)
    await add_candidates(activation, person, neighbour)

    async def propose() -> str:
        r = await activation.client.post(
            f"{API}/opportunities/{opp['id']}/proposals",
            json={"person_id": str(person.person_id)},
            headers=activation.auth("worker"),
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    declined = await propose()
    r = await activation.client.post(
        f"{API}/placements/{declined}/decline",
        json={"party": "candidate", "reason": "candidate_not_interested"},
        headers=activation.auth("worker"),
    )
    assert r.status_code == 200 and r.json()["status"] == "declined", r.text
    waiting = await propose()
    r = await activation.client.post(f"{API}/shortlists/recompute", headers=activation.auth("coordinator"))
    assert r.status_code == 200, r.text
    too_late = {"starts_on": "2030-06-01", "ends_on": "2030-05-01"}
    return World(
        ids={
            "organisation_id": "org-1",
            "forum_id": ada["id"],
            "opportunity_id": opp["id"],
            "spare_id": spare["id"],
            "person_id": str(person.person_id),
            "placement_id": declined,
            "waiting_id": waiting,
            "ruma_forum_id": ruma["id"],
        },
        bodies={
            "opportunity": {
                "title": "T",
                "forum_id": ada["id"],
                "organisation_id": "org-1",
                "municipality_code": ADA,
                "positions": 1,
                **too_late,
            },
            "proposal": {"person_id": str(person.person_id)},
        },
        personal={str(x) for e in (person, neighbour) for x in (e.person_id, e.case_id, e.household_id)},
    )


def outcome(status: int) -> Any:
    if status in (401, 403, 404):
        return status
    assert status < 500, status
    return OK


def personal_values(value: Any, personal: set[str]) -> Iterator[str]:
    """Every person, case or household id in a JSON document: under those keys, or as any string at all."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in PERSONAL_KEYS and item is not None:
                yield f"{key}={item}"
            yield from personal_values(item, personal)
    elif isinstance(value, list):
        for item in value:
            yield from personal_values(item, personal)
    elif isinstance(value, str) and any(p in value for p in personal):
        yield value


def assert_nothing_personal(r: httpx.Response, personal: set[str]) -> None:
    found = list(personal_values(r.json(), personal))
    assert found == [], (r.request.method, r.request.url.path, found)


async def test_every_route_is_in_the_matrix(activation: RunningService) -> None:
    assert api_routes(activation) == set(MATRIX)


async def test_every_user_gets_what_access_rules_say_on_every_route(activation: RunningService) -> None:
    w = await world(activation)
    problems = []
    for (method, template), call in MATRIX.items():
        url = API + template.format(**(w.ids | {k: w.ids[v] for k, v in call.ids.items()}))
        body = w.bodies[call.body] if isinstance(call.body, str) else call.body
        kwargs = {"json": body} if body is not None else {}
        r = await activation.client.request(method, url, **kwargs)
        if r.status_code != 401:
            problems.append(f"{method} {template} without a token: {r.status_code}")
        for user in USERS:
            r = await activation.client.request(method, url, headers=activation.auth(user), **kwargs)
            if r.status_code >= 500:
                problems.append(f"{method} {template} as {user}: {r.status_code} {r.text[:200]}")
                continue
            got, wanted = outcome(r.status_code), call.expected[user]
            if got != wanted:
                problems.append(f"{method} {template} as {user}: {r.status_code} (wanted {wanted}) {r.text[:160]}")
            elif got != OK:
                assert r.json()["detail"], (method, template, user)  # every refusal says why
            if user in EMPLOYERS:
                assert_nothing_personal(r, w.personal)
    assert problems == []
    # Nothing above changed the placements or the forum: the bodies only probed.
    admin = activation.auth("admin")
    placements = (
        await activation.client.get(f"{API}/candidates/{w.ids['person_id']}/placements", headers=admin)
    ).json()
    assert [(p["id"], p["status"]) for p in placements] == [
        (w.ids["placement_id"], "declined"),
        (w.ids["waiting_id"], "proposed"),
    ]
    assert not placements[1]["employer_accepted"] and not placements[1]["candidate_accepted"]
    ada = (await activation.client.get(f"{API}/forums/{w.ids['forum_id']}", headers=admin)).json()
    assert ada["criteria"]["min_age"] == 18 and ada["members"] == ["org-1"]


async def test_an_employer_sees_nothing_of_another_organisation(activation: RunningService) -> None:
    """employer-2 (org-2) against org-1's organisation, opportunity, shortlist and placements: as if they did not
    exist; its lists hold only org-2's own."""
    w = await world(activation)
    other = activation.auth("employer-2")
    opp, waiting = w.ids["opportunity_id"], w.ids["waiting_id"]
    for path in (
        "/organisations/org-1",
        f"/opportunities/{opp}",
        f"/opportunities/{opp}/shortlist",
        f"/opportunities/{opp}/placements",
        f"/placements/{waiting}",
    ):
        r = await activation.client.get(f"{API}{path}", headers=other)
        assert r.status_code == 404, (path, r.text)
        assert "Organisation org-1" not in r.text and "Park maintenance" not in r.text  # its name, its title
    for path, body in (
        (f"/placements/{waiting}/accept", {"party": "employer"}),
        (f"/placements/{waiting}/decline", {"party": "employer", "reason": "employer_not_suitable"}),
        (f"/placements/{waiting}/start", None),
        (f"/opportunities/{opp}/close", None),
    ):
        r = await activation.client.post(f"{API}{path}", json=body, headers=other)
        assert r.status_code == 404, (path, r.text)

    r = await activation.client.get(f"{API}/organisations", headers=other)
    assert [o["id"] for o in r.json()] == ["org-2"]
    r = await activation.client.get(f"{API}/opportunities", headers=other)
    assert [o["title"] for o in r.json()] == ["Ruma's own"]
    assert {o["organisation"] for o in r.json()} == {"org-2"}
    # The forums are common ground, but their member lists show an employer only their own organisation.
    r = await activation.client.get(f"{API}/forums", headers=other)
    assert {f["id"]: f["members"] for f in r.json()} == {w.ids["forum_id"]: [], w.ids["ruma_forum_id"]: ["org-2"]}
    assert "org-1" not in r.text
    r = await activation.client.get(f"{API}/forums/{w.ids['forum_id']}", headers=other)
    assert r.json()["members"] == [] and "org-1" not in r.text
    # org-1's own employer and the forum's coordinator see the full membership.
    for user in ("employer", "coordinator"):
        r = await activation.client.get(f"{API}/forums/{w.ids['forum_id']}", headers=activation.auth(user))
        assert r.json()["members"] == ["org-1"], user

    # The waiting placement is untouched.
    r = await activation.client.get(f"{API}/placements/{waiting}", headers=activation.auth("employer"))
    assert r.json()["status"] == "proposed" and not r.json()["employer_accepted"]


async def test_no_response_to_an_employer_holds_a_person(activation: RunningService) -> None:
    """The owner's whole working day with a candidate: the ranking, the proposal's answers, the placement running
    and its hours. Codes instead of people, and nothing personal in any response."""
    w = await world(activation)
    opp, waiting = w.ids["opportunity_id"], w.ids["waiting_id"]
    seen: list[httpx.Response] = []

    async def call(method: str, path: str, body: Any = None, user: str = "employer") -> Any:
        r = await activation.client.request(method, f"{API}{path}", json=body, headers=activation.auth(user))
        assert r.status_code < 300, (path, r.text)
        if user == "employer":
            seen.append(r)
        return r.json()

    ranked = await call("GET", f"/opportunities/{opp}/shortlist")
    assert ranked["eligible"] == 1 and ranked["matches"][0]["code"].startswith("K-")
    assert ranked["matches"][0]["placement_status"] == "proposed"
    assert {c["criterion"] for c in ranked["matches"][0]["explanation"]["checks"]} >= {"working_age", "hours"}
    assert all(c["detail"] is None for c in ranked["matches"][0]["explanation"]["checks"])
    await call("POST", f"/placements/{waiting}/accept", {"party": "employer"})
    await call("POST", f"/placements/{waiting}/accept", {"party": "candidate"}, user="worker")
    await call("POST", f"/placements/{waiting}/start")
    placement = await call("GET", f"/placements/{waiting}")
    await call("POST", f"/placements/{waiting}/hours", {"month": placement["started_at"][:7], "hours": 40})
    listed = await call("GET", f"/opportunities/{opp}/placements")
    assert {p["code"] for p in listed} == {ranked["matches"][0]["code"]}  # one code per person and opportunity
    for path in ("/organisations", "/organisations/org-1", "/forums", "/opportunities", f"/opportunities/{opp}"):
        await call("GET", path)
    await call("POST", f"/placements/{waiting}/end", {"reason": "found_other_work"})

    for r in seen:
        assert_nothing_personal(r, w.personal)
    # The same placement seen by the candidate's case worker names the person and the case.
    mine = await call("GET", f"/placements/{waiting}", user="worker")
    assert mine["person_id"] == w.ids["person_id"] and mine["case_id"] is not None


async def test_a_case_worker_of_another_municipality_cannot_see_or_propose_adas_candidates(
    activation: RunningService,
) -> None:
    w = await world(activation)
    ns = activation.auth("worker-ns")
    person, opp = w.ids["person_id"], w.ids["opportunity_id"]

    r = await activation.client.get(f"{API}/candidates", headers=ns)
    assert r.status_code == 200 and r.json() == []
    r = await activation.client.get(f"{API}/candidates", params={"municipality_code": ADA}, headers=ns)
    assert r.status_code == 200 and r.json() == []
    for path in (f"/candidates/{person}", f"/candidates/{person}/opportunities", f"/candidates/{person}/placements"):
        assert (await activation.client.get(f"{API}{path}", headers=ns)).status_code == 404, path
    # The ranking of Ada's opportunity shows them a code and the explanation, never who it is.
    ranked = await shortlist(activation, opp, user="worker-ns")
    assert ranked["eligible"] == 1
    assert [(m["person_id"], m["case_id"]) for m in ranked["matches"]] == [(None, None)]
    assert person not in str(ranked)
    r = await activation.client.get(f"{API}/opportunities/{opp}/placements", headers=ns)
    assert r.status_code == 200 and r.json() == []
    r = await activation.client.post(f"{API}/opportunities/{opp}/proposals", json={"person_id": person}, headers=ns)
    assert r.status_code == 404 and person in r.json()["detail"]
    r = await activation.client.get(f"{API}/placements/{w.ids['waiting_id']}", headers=ns)
    assert r.status_code == 404
    # Ada's own case worker sees the person behind the same rank.
    ranked = await shortlist(activation, opp, user="worker-ada")
    assert [m["person_id"] for m in ranked["matches"]] == [person]
