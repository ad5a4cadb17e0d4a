"""Activation's rules as a user meets them, over the real app on SQLite and PostgreSQL: bad input is a 422 that
says what is wrong, a refused step a 409 that says why (and what is allowed), the forum's criteria decide who is
eligible, a candidate's best opportunities come best first with their explanations, and the fairness report
counts a known population exactly."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx

from shared.events import PersonConsentChangedV1
from tests.fixtures.activation import (
    ADA,
    API,
    RUMA,
    add_candidates,
    forum,
    opportunity_body,
    organisation,
    post_opportunity,
    requested,
    shortlist,
    work_agreement,
)
from tests.fixtures.delivery import deliver
from tests.fixtures.services import RunningService

TODAY = date.today()


async def call(
    activation: RunningService, method: str, path: str, body: Any = None, user: str = "employer"
) -> httpx.Response:
    kwargs = {"json": body} if body is not None else {}
    return await activation.client.request(method, f"{API}{path}", headers=activation.auth(user), **kwargs)


async def refused(
    activation: RunningService, status: int, method: str, path: str, body: Any = None, user: str = "employer"
) -> dict[str, Any]:
    r = await call(activation, method, path, body, user)
    assert r.status_code == status, (path, body, r.status_code, r.text)
    return dict(r.json())


async def ok(activation: RunningService, method: str, path: str, body: Any = None, user: str = "employer") -> Any:
    r = await call(activation, method, path, body, user)
    assert r.status_code < 300, (path, body, r.text)
    return r.json()


async def ada_forum(activation: RunningService, *codes: str, **criteria: Any) -> str:
    f = await forum(activation, *(codes or (ADA,)), **criteria)
    await organisation(activation, f["id"])
    return str(f["id"])


def withdrawal(person: Any) -> PersonConsentChangedV1:
    return PersonConsentChangedV1(
        household_id=person.household_id,
        person_id=person.person_id,
        purpose="activation",
        granted=False,
        changed_at=datetime.now(UTC),
    )


async def propose(activation: RunningService, opportunity_id: str, person: Any, user: str = "worker") -> Any:
    return await call(
        activation, "POST", f"/opportunities/{opportunity_id}/proposals", {"person_id": str(person.person_id)}, user
    )


async def placement_id(activation: RunningService, opportunity_id: str, person: Any) -> str:
    r = await propose(activation, opportunity_id, person)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


# --- bad input -------------------------------------------------------------------------------------------------


async def test_bad_input_is_a_422_that_says_what_is_wrong(activation: RunningService) -> None:
    forum_id = await ada_forum(activation)
    cases: list[tuple[dict[str, Any], str, list[Any]]] = [
        ({"required_skills": ["cleaning", "juggling"]}, "Unknown skills: juggling.", ["body", "required_skills"]),
        ({"preferred_skills": ["knitting"]}, "Unknown skills: knitting.", ["body", "preferred_skills"]),
        ({"municipality": "99999"}, "Unknown municipality code 99999.", ["body", "municipality_code"]),
        (
            {"hours_per_week_min": 30, "hours_per_week_max": 10},
            "The hours per week range is upside down.",
            ["body", "hours_per_week_min"],
        ),
        (
            {"starts_on": "2030-06-01", "ends_on": "2030-05-31"},
            "The opportunity ends before it starts.",
            ["body", "ends_on"],
        ),
        (
            {"municipality": RUMA},
            f"The forum 'Forum {ADA}' covers {ADA}, not {RUMA}.",
            ["body", "municipality_code"],
        ),
    ]
    for overrides, detail, loc in cases:
        answer = await refused(activation, 422, "POST", "/opportunities", opportunity_body(forum_id, **overrides))
        assert answer["detail"] == detail, overrides
        assert answer["errors"][0]["loc"] == loc and answer["errors"][0]["msg"], answer
    answer = await refused(
        activation, 422, "POST", "/opportunities", opportunity_body(forum_id) | {"forum_id": str(uuid.uuid4())}
    )
    assert answer["detail"] == "No such forum."
    # Malformed values are refused by the schema, naming the field.
    for overrides, field in (
        ({"municipality": "Ada"}, "municipality_code"),
        ({"positions": 0}, "positions"),
        ({"hours_per_week_max": 61}, "hours_per_week_max"),
        ({"type": "volunteering"}, "type"),
    ):
        answer = await refused(activation, 422, "POST", "/opportunities", opportunity_body(forum_id, **overrides))
        assert field in answer["detail"], answer
    assert (await ok(activation, "GET", "/opportunities")) == []  # nothing was posted

    # Organisations and forums: an unknown municipality, an age range upside down.
    org = {"name": "Org", "kind": "civil_society", "municipality_code": "99999"}
    answer = await refused(activation, 422, "PUT", "/organisations/org-1", org)
    assert answer["detail"] == "Unknown municipality code 99999."
    new_forum = {"name": "F", "municipalities": [ADA, "99999"]}
    answer = await refused(activation, 422, "POST", "/forums", new_forum, user="coordinator")
    assert answer["detail"] == "Unknown municipality code 99999."
    upside_down = {"min_age": 50, "max_age": 30}
    answer = await refused(
        activation, 422, "POST", "/forums", {"name": "F", "municipalities": [ADA], "criteria": upside_down}, "admin"
    )
    assert answer["detail"] == "The lowest age is above the highest."
    assert answer["errors"][0]["loc"] == ["body", "criteria", "min_age"]
    answer = await refused(activation, 422, "PUT", f"/forums/{forum_id}/criteria", upside_down, user="coordinator")
    assert answer["detail"] == "The lowest age is above the highest."
    assert (await ok(activation, "GET", f"/forums/{forum_id}", user="coordinator"))["criteria"]["min_age"] == 18


# --- refusals --------------------------------------------------------------------------------------------------


async def test_an_organisation_posts_only_once_registered_and_in_the_forum(activation: RunningService) -> None:
    f = await forum(activation, ADA)
    answer = await refused(activation, 409, "POST", "/opportunities", opportunity_body(f["id"]))
    assert answer["errors"]["reason"] == "organisation_not_registered" and "Register" in answer["detail"]
    answer = await refused(activation, 409, "POST", f"/forums/{f['id']}/members", {"organisation_id": "org-1"})
    assert answer["errors"]["reason"] == "organisation_not_registered"

    org = {"name": "JKP Ada", "kind": "public_enterprise", "municipality_code": ADA}
    await ok(activation, "PUT", "/organisations/org-1", org)
    answer = await refused(activation, 409, "POST", "/opportunities", opportunity_body(f["id"]))
    assert answer["errors"]["reason"] == "not_a_member" and "join it first" in answer["detail"]

    await ok(activation, "POST", f"/forums/{f['id']}/members", {"organisation_id": "org-1"})
    posted = await ok(activation, "POST", "/opportunities", opportunity_body(f["id"]))
    assert posted["organisation"] == "org-1" and posted["status"] == "published"


async def test_a_proposal_needs_an_eligible_candidate_not_yet_proposed_and_an_open_opportunity(
    activation: RunningService,
) -> None:
    forum_id = await ada_forum(activation)
    opp = (await post_opportunity(activation, forum_id, accessible=False))["id"]
    fine, old, student, neighbour, wheelchair = (
        requested(),
        requested(age=70),
        requested(age=70, employment_status="pupil_student"),
        requested(municipality=RUMA),
        requested(markers=("disability",)),
    )
    await add_candidates(activation, fine, old, student, neighbour, wheelchair)

    assert (await propose(activation, opp, fine)).status_code == 201
    r = await propose(activation, opp, fine, user="worker-ada")
    assert r.status_code == 409 and r.json()["errors"]["reason"] == "already_proposed"

    for person, missed in (
        (old, ["working_age"]),
        (student, ["working_age", "not_in_education"]),
        (neighbour, ["distance"]),
        (wheelchair, ["accessible"]),
    ):
        r = await propose(activation, opp, person)
        assert r.status_code == 409, r.text
        assert r.json()["errors"] == {"reason": "not_eligible", "missed": missed}
        assert r.json()["detail"].startswith("The candidate does not meet the forum's criteria: ")
    r = await propose(activation, opp, old)
    assert "age 70, the forum takes 18–64" in r.json()["detail"]

    await ok(activation, "POST", f"/opportunities/{opp}/close")
    r = await propose(activation, opp, requested())
    assert r.status_code == 404  # not a candidate yet
    late = requested()
    await add_candidates(activation, late)
    r = await propose(activation, opp, late)
    assert r.status_code == 409 and r.json()["errors"]["reason"] == "opportunity_closed"
    answer = await refused(activation, 409, "POST", f"/opportunities/{opp}/close")
    assert answer["detail"] == "This opportunity is already closed." and answer["errors"]["allowed"] == []


async def test_the_last_yes_is_refused_when_every_position_is_taken(activation: RunningService) -> None:
    forum_id = await ada_forum(activation)
    opp = (await post_opportunity(activation, forum_id, positions=1))["id"]
    first, second = requested(), requested()
    await add_candidates(activation, first, second)
    one, two = await placement_id(activation, opp, first), await placement_id(activation, opp, second)
    await ok(activation, "POST", f"/placements/{one}/accept", {"party": "employer"})
    assert (await ok(activation, "POST", f"/placements/{one}/accept", {"party": "candidate"}, "worker"))[
        "status"
    ] == "accepted"
    assert (await ok(activation, "POST", f"/placements/{two}/accept", {"party": "candidate"}, "worker"))[
        "status"
    ] == "proposed"

    answer = await refused(activation, 409, "POST", f"/placements/{two}/accept", {"party": "employer"})
    assert answer["errors"] == {"reason": "positions_filled", "positions": 1}
    assert answer["detail"] == "All 1 positions of this opportunity are taken."
    still = await ok(activation, "GET", f"/placements/{two}")
    assert (still["status"], still["employer_accepted"]) == ("proposed", False)
    # Once the first is declined the place is free again.
    await ok(activation, "POST", f"/placements/{one}/decline", {"party": "employer", "reason": "other"})
    assert (await ok(activation, "POST", f"/placements/{two}/accept", {"party": "employer"}))["status"] == "accepted"


STEPS: dict[str, tuple[str, Any, str]] = {
    # step → (path suffix, body, the user who takes it)
    "accept": ("accept", {"party": "employer"}, "employer"),
    "decline": ("decline", {"party": "employer", "reason": "employer_not_suitable"}, "employer"),
    "start": ("start", None, "employer"),
    "complete": ("complete", None, "employer"),
    "end": ("end", {"reason": "did_not_attend"}, "employer"),
}
# The steps each state refuses, with what the refusal lists as allowed next.
ILLEGAL: dict[str, tuple[list[str], list[str]]] = {
    "proposed": (["start", "complete", "end"], ["accepted", "declined"]),
    "accepted": (["accept", "complete", "end"], ["declined", "started"]),
    "started": (["accept", "decline", "start"], ["completed", "ended"]),
    "completed": (["accept", "decline", "start", "complete", "end"], []),
    "declined": (["accept", "decline", "start", "complete", "end"], []),
    "ended": (["accept", "decline", "start", "complete", "end"], []),
}


async def test_every_illegal_placement_step_is_a_409_listing_the_allowed_ones(activation: RunningService) -> None:
    forum_id = await ada_forum(activation)
    opp = (await post_opportunity(activation, forum_id, positions=10))["id"]

    async def in_state(state: str) -> str:
        person = requested()
        await add_candidates(activation, person)
        pid = await placement_id(activation, opp, person)
        if state == "declined":
            await ok(
                activation, "POST", f"/placements/{pid}/decline", {"party": "candidate", "reason": "other"}, "worker"
            )
            return pid
        if state == "proposed":
            return pid
        await ok(activation, "POST", f"/placements/{pid}/accept", {"party": "employer"})
        await ok(activation, "POST", f"/placements/{pid}/accept", {"party": "candidate"}, "worker")
        if state != "accepted":
            await ok(activation, "POST", f"/placements/{pid}/start")
        if state == "completed":
            await ok(activation, "POST", f"/placements/{pid}/complete")
        if state == "ended":
            await ok(activation, "POST", f"/placements/{pid}/end", {"reason": "health"}, "worker")
        return pid

    for state, (steps, allowed) in ILLEGAL.items():
        pid = await in_state(state)
        assert (await ok(activation, "GET", f"/placements/{pid}"))["status"] == state
        for step in steps:
            suffix, body, user = STEPS[step]
            answer = await refused(activation, 409, "POST", f"/placements/{pid}/{suffix}", body, user)
            assert answer["errors"]["allowed"] == allowed, (state, step, answer)
            assert answer["errors"]["status"] == state
            assert f"A placement that is '{state}' cannot become" in answer["detail"], answer["detail"]
        assert (await ok(activation, "GET", f"/placements/{pid}"))["status"] == state  # nothing moved


async def test_hours_are_recorded_only_while_a_placement_runs_and_for_its_months(activation: RunningService) -> None:
    forum_id = await ada_forum(activation)
    opp = (await post_opportunity(activation, forum_id))["id"]
    person = requested()
    await add_candidates(activation, person)
    pid = await placement_id(activation, opp, person)
    month = TODAY.strftime("%Y-%m")

    answer = await refused(activation, 409, "POST", f"/placements/{pid}/hours", {"month": month, "hours": 10})
    assert answer["errors"] == {"status": "proposed", "needs": "started"}
    assert answer["detail"] == "Hours are recorded while a placement runs; this one is 'proposed'."
    await ok(activation, "POST", f"/placements/{pid}/accept", {"party": "employer"})
    await ok(activation, "POST", f"/placements/{pid}/accept", {"party": "candidate"}, "worker")
    started = await ok(activation, "POST", f"/placements/{pid}/start")
    started_month = started["started_at"][:7]
    for too_early_or_late in ("2001-01", "2999-12"):
        answer = await refused(
            activation, 422, "POST", f"/placements/{pid}/hours", {"month": too_early_or_late, "hours": 5}
        )
        assert answer["errors"][0]["loc"] == ["body", "month"] and started_month in answer["detail"]
    await refused(activation, 422, "POST", f"/placements/{pid}/hours", {"month": "2026-13", "hours": 5})
    assert (await ok(activation, "POST", f"/placements/{pid}/hours", {"month": started_month, "hours": 12}))[
        "hours_total"
    ] == 12
    # Recording the month again corrects it.
    assert (await ok(activation, "POST", f"/placements/{pid}/hours", {"month": started_month, "hours": 20}))[
        "hours_total"
    ] == 20
    await ok(activation, "POST", f"/placements/{pid}/complete")
    answer = await refused(activation, 409, "POST", f"/placements/{pid}/hours", {"month": started_month, "hours": 1})
    assert answer["errors"]["status"] == "completed"


# --- the forum's criteria --------------------------------------------------------------------------------------


async def test_the_forums_criteria_decide_who_is_eligible_and_the_priority_points(activation: RunningService) -> None:
    forum_id = await ada_forum(activation)
    opp = (await post_opportunity(activation, forum_id))["id"]
    local = requested(markers=("roma",), unemployed_months=2)  # a woman and Roma: two priority groups
    sixty = requested(age=60, sex="M")
    neighbour = requested(municipality=RUMA, sex="M")
    await add_candidates(activation, local, sixty, neighbour)
    await deliver(activation, work_agreement(ADA, RUMA))

    async def ranking() -> dict[str, dict[str, Any]]:
        found = await shortlist(activation, opp)
        return {m["person_id"]: m["explanation"] for m in found["matches"]}

    async def criteria(**values: Any) -> None:
        await ok(activation, "PUT", f"/forums/{forum_id}/criteria", values, user="coordinator")

    everyone = await ranking()
    assert set(everyone) == {str(p.person_id) for p in (local, sixty, neighbour)}
    assert everyone[str(local.person_id)]["breakdown"]["priority"] == 10.0
    assert everyone[str(neighbour.person_id)]["breakdown"]["distance"] < 20.0

    # Scope "same": the neighbour is out even under the work agreement.
    await criteria(scope="same")
    assert set(await ranking()) == {str(local.person_id), str(sixty.person_id)}
    r = await propose(activation, opp, neighbour)
    assert r.status_code == 409 and r.json()["errors"]["missed"] == ["distance"]

    # An age range: 18–55 leaves the sixty-year-old out; switched off, they are back.
    await criteria(scope="same", max_age=55)
    assert set(await ranking()) == {str(local.person_id)}
    r = await propose(activation, opp, sixty)
    assert r.status_code == 409 and "age 60, the forum takes 18–55" in r.json()["detail"]
    await criteria(scope="same", min_age=None, max_age=None)
    assert set(await ranking()) == {str(local.person_id), str(sixty.person_id)}
    assert "working_age" not in {c["criterion"] for c in (await ranking())[str(sixty.person_id)]["checks"]}

    # Priority groups: only Roma counts, then none.
    await criteria(priority_groups=["roma"])
    assert (await ranking())[str(local.person_id)]["breakdown"]["priority"] == 5.0
    await criteria(priority_groups=[])
    counted = await ranking()
    assert counted[str(local.person_id)]["breakdown"]["priority"] == 0.0
    assert all(e["score"] == round(sum(e["breakdown"].values()), 2) for e in counted.values())


async def test_a_candidates_best_opportunities_come_best_first_with_explanations(activation: RunningService) -> None:
    forum_id = await ada_forum(activation, ADA, RUMA)
    cleaning = await post_opportunity(activation, forum_id, title="Cleaning", required_skills=["cleaning"])
    both = await post_opportunity(activation, forum_id, title="Canteen", required_skills=["cleaning", "cooking"])
    cooking = await post_opportunity(activation, forum_id, title="Kitchen", required_skills=["cooking"])
    await post_opportunity(activation, forum_id, title="In Ruma", municipality=RUMA)  # no agreement
    await post_opportunity(activation, forum_id, title="Nights", hours_per_week_min=45, hours_per_week_max=60)
    closed = await post_opportunity(activation, forum_id, title="Closed", required_skills=["cleaning"])
    await ok(activation, "POST", f"/opportunities/{closed['id']}/close")
    person = requested(skills=("cleaning",), hours=(10, 40))
    await add_candidates(activation, person)

    found = await ok(activation, "GET", f"/candidates/{person.person_id}/opportunities", user="worker")

    assert [m["opportunity"]["title"] for m in found] == ["Cleaning", "Canteen", "Kitchen"]
    assert [m["opportunity"]["id"] for m in found] == [cleaning["id"], both["id"], cooking["id"]]
    assert [m["explanation"]["breakdown"]["skills"] for m in found] == [40.0, 20.0, 0.0]
    scores = [m["explanation"]["score"] for m in found]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == 3
    for m in found:
        explanation = m["explanation"]
        assert explanation["score"] == round(sum(explanation["breakdown"].values()), 2)
        assert all(c["met"] and c["detail"] for c in explanation["checks"])
    assert len(await ok(activation, "GET", f"/candidates/{person.person_id}/opportunities?limit=1", user="worker")) == 1
    # A work agreement brings the Ruma one in, below the same-municipality one with the same skills part.
    await deliver(activation, work_agreement(ADA, RUMA))
    found = await ok(activation, "GET", f"/candidates/{person.person_id}/opportunities", user="worker")
    assert "In Ruma" in [m["opportunity"]["title"] for m in found]


# --- the fairness report ---------------------------------------------------------------------------------------


def stage(report: dict[str, Any], group: str) -> dict[str, Any]:
    [found] = [g for g in report["groups"] if g["group"] == group]
    return dict(found)


def counts(report: dict[str, Any], group: str) -> dict[str, tuple[int, int, float | None]]:
    return {s: (v["count"], v["total"], v["share"]) for s, v in stage(report, group)["stages"].items()}


async def test_the_fairness_report_counts_a_known_population_exactly(activation: RunningService) -> None:
    """Six eligible (four women, one Roma, two with disability), all shortlisted; three proposed for the park and
    two of them started; one more proposed for the kitchen (not accessible) and declined. The forum does not
    exclude placed candidates, so the eligible stay the same six throughout."""
    forum_id = await ada_forum(activation, exclude_placed=False)
    park = (await post_opportunity(activation, forum_id, title="Park", positions=5, accessible=True))["id"]
    kitchen = (await post_opportunity(activation, forum_id, title="Kitchen", accessible=False))["id"]
    roma_woman = requested(sex="F", markers=("roma",))
    disabled_woman = requested(sex="F", markers=("disability",))
    woman, another_woman = requested(sex="F"), requested(sex="F")
    disabled_man, man = requested(sex="M", markers=("disability",)), requested(sex="M")
    too_old, elsewhere = requested(sex="F", age=70), requested(sex="F", municipality="89010")
    withdrawn = requested(sex="F")
    await add_candidates(
        activation, roma_woman, disabled_woman, woman, another_woman, disabled_man, man, too_old, elsewhere, withdrawn
    )
    await add_candidates(activation, withdrawal(withdrawn))  # consent withdrawn: in no stage at all
    await ok(activation, "POST", "/shortlists/recompute", user="coordinator")
    for person in (roma_woman, disabled_man, man):
        pid = await placement_id(activation, park, person)
        if person is not roma_woman:
            await ok(activation, "POST", f"/placements/{pid}/accept", {"party": "employer"})
            await ok(activation, "POST", f"/placements/{pid}/accept", {"party": "candidate"}, "worker")
            await ok(activation, "POST", f"/placements/{pid}/start")
    pid = await placement_id(activation, kitchen, woman)
    await ok(activation, "POST", f"/placements/{pid}/decline", {"party": "employer", "reason": "employer_not_suitable"})

    report = await ok(activation, "GET", f"/forums/{forum_id}/fairness", user="coordinator")

    assert report["totals"] == {"eligible": 6, "shortlisted": 6, "proposed": 4, "placed": 2}
    assert counts(report, "women") == {
        "eligible": (4, 6, 0.6667),
        "shortlisted": (4, 6, 0.6667),
        "proposed": (2, 4, 0.5),
        "placed": (0, 2, 0.0),
    }
    assert counts(report, "roma") == {
        "eligible": (1, 6, 0.1667),
        "shortlisted": (1, 6, 0.1667),
        "proposed": (1, 4, 0.25),
        "placed": (0, 2, 0.0),
    }
    assert counts(report, "disability") == {
        "eligible": (2, 6, 0.3333),
        "shortlisted": (2, 6, 0.3333),
        "proposed": (1, 4, 0.25),
        "placed": (1, 2, 0.5),
    }
    assert stage(report, "women")["disparity"] == {"shortlisted": 1.0, "proposed": 0.75, "placed": 0.0}
    assert stage(report, "roma")["disparity"] == {"shortlisted": 1.0, "proposed": 1.5, "placed": 0.0}
    assert stage(report, "disability")["disparity"] == {"shortlisted": 1.0, "proposed": 0.75, "placed": 1.5}
    assert report["women_under_target"] is True and report["women_target"] == 0.5
    assert report["shortlists_computed_at"] is not None

    per = {o["title"]: o for o in report["opportunities"]}
    assert set(per) == {"Park", "Kitchen"}
    p = per["Park"]
    assert p["totals"] == {"eligible": 6, "shortlisted": 6, "proposed": 3, "placed": 2}
    assert counts(p, "women")["proposed"] == (1, 3, 0.3333)
    assert stage(p, "women")["disparity"] == {"shortlisted": 1.0, "proposed": 0.5, "placed": 0.0}
    assert stage(p, "roma")["disparity"] == {"shortlisted": 1.0, "proposed": 2.0, "placed": 0.0}
    assert stage(p, "disability")["disparity"] == {"shortlisted": 1.0, "proposed": 1.0, "placed": 1.5}
    assert p["women_under_target"] is True
    k = per["Kitchen"]  # not accessible: neither person with disability is eligible
    assert k["totals"] == {"eligible": 4, "shortlisted": 4, "proposed": 1, "placed": 0}
    assert counts(k, "women") == {
        "eligible": (3, 4, 0.75),
        "shortlisted": (3, 4, 0.75),
        "proposed": (1, 1, 1.0),
        "placed": (0, 0, None),
    }
    assert stage(k, "women")["disparity"] == {"shortlisted": 1.0, "proposed": 1.333, "placed": None}
    assert counts(k, "disability")["eligible"] == (0, 4, 0.0)
    assert stage(k, "disability")["disparity"] == {"shortlisted": None, "proposed": None, "placed": None}
    assert k["women_under_target"] is False  # nobody placed yet

    # One opportunity alone: the forum's figures are that opportunity's.
    only = await ok(activation, "GET", f"/forums/{forum_id}/fairness?opportunity_id={kitchen}", user="supervisor")
    assert [o["title"] for o in only["opportunities"]] == ["Kitchen"]
    assert only["totals"] == k["totals"] and only["groups"] == k["groups"]
    await refused(activation, 404, "GET", f"/forums/{forum_id}/fairness?opportunity_id={forum_id}", user="analyst")

    # Excluding placed candidates again keeps the two who started in the report's base (the funnel that placed
    # them), while the live ranking no longer offers them.
    await ok(activation, "PUT", f"/forums/{forum_id}/criteria", {"exclude_placed": True}, user="coordinator")
    report = await ok(activation, "GET", f"/forums/{forum_id}/fairness", user="supervisor")
    assert report["totals"] == {"eligible": 6, "shortlisted": 6, "proposed": 4, "placed": 2}
    assert counts(report, "disability")["eligible"] == (2, 6, 0.3333)
    assert (await shortlist(activation, park))["eligible"] == 4
