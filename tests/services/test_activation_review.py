"""Defects a review of activation found, each pinned by the outcome a user would notice: on SQLite and PostgreSQL,
including answers that arrive at the same moment."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from services.activation.models import Candidate
from shared.events import PersonErasedV1, PersonMergedV1
from tests.fixtures.activation import (
    ADA,
    API,
    add_candidates,
    forum,
    organisation,
    post_opportunity,
    requested,
    shortlist,
)
from tests.fixtures.services import RunningService


async def call(activation: RunningService, method: str, path: str, body: Any = None, user: str = "employer") -> Any:
    return await activation.client.request(method, f"{API}{path}", json=body, headers=activation.auth(user))


async def setup(activation: RunningService, **criteria: Any) -> str:
    f = await forum(activation, ADA, **criteria)
    await organisation(activation, f["id"])
    return str(f["id"])


async def proposed(activation: RunningService, opportunity: str, person: Any) -> str:
    r = await call(
        activation, "POST", f"/opportunities/{opportunity}/proposals", {"person_id": str(person.person_id)}, "worker"
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def accepted(activation: RunningService, placement: str) -> None:
    for party, user in (("employer", "employer"), ("candidate", "worker")):
        r = await call(activation, "POST", f"/placements/{placement}/accept", {"party": party}, user)
        assert r.status_code == 200, r.text


async def placed(activation: RunningService, person: Any) -> bool:
    r = await call(activation, "GET", f"/candidates/{person.person_id}", user="worker")
    return bool(r.json()["placed"])


async def test_employers_see_neither_priority_points_nor_the_total_they_would_follow_from(activation: RunningService):
    forum_id = await setup(activation, priority_groups=["roma"])
    roma, other = requested(sex="M", markers=("roma",), unemployed_months=18), requested(sex="M", unemployed_months=18)
    await add_candidates(activation, roma, other)
    opp = (await post_opportunity(activation, forum_id))["id"]
    placement = await proposed(activation, opp, roma)
    view = await shortlist(activation, opp, user="employer")
    for match in view["matches"]:
        assert set(match["explanation"]["breakdown"]) == {"skills", "distance", "availability"}
        assert match["explanation"]["score"] is None
    r = await call(activation, "GET", f"/placements/{placement}")
    assert r.json()["score"] is None and r.json()["person_id"] is None
    page = await activation.client.get(f"/activation/opportunities/{opp}", headers=activation.auth("employer"))
    assert page.status_code == 200 and "Prioritetne grupe" not in page.text


async def test_a_forum_page_shows_an_employer_only_their_own_organisations_opportunities(activation: RunningService):
    f = await forum(activation, ADA)
    await organisation(activation, f["id"])
    await organisation(activation, f["id"], as_user="employer-2", org="org-2")
    await post_opportunity(activation, f["id"], as_user="employer-2", title="SECRET-ORG2-OPP")
    mine = await post_opportunity(activation, f["id"], title="Our own park")
    page = await activation.client.get(f"/activation/forums/{f['id']}", headers=activation.auth("employer"))
    assert page.status_code == 200 and "Our own park" in page.text and mine["id"] in page.text
    assert "SECRET-ORG2-OPP" not in page.text
    staff = await activation.client.get(f"/activation/forums/{f['id']}", headers=activation.auth("coordinator"))
    assert "SECRET-ORG2-OPP" in staff.text


async def test_answers_arriving_together_neither_lose_an_acceptance_nor_overbook_positions(activation: RunningService):
    forum_id = await setup(activation)
    people = [requested() for _ in range(3)]
    await add_candidates(activation, *people)
    opp = (await post_opportunity(activation, forum_id, positions=1))["id"]
    placements = [await proposed(activation, opp, p) for p in people]

    # Both sides of one proposal at once: it ends accepted, not stuck with both flags and no state.
    first = placements[0]
    both = await asyncio.gather(
        call(activation, "POST", f"/placements/{first}/accept", {"party": "employer"}, "employer"),
        call(activation, "POST", f"/placements/{first}/accept", {"party": "candidate"}, "worker"),
    )
    assert [r.status_code for r in both] == [200, 200]
    assert (await call(activation, "GET", f"/placements/{first}")).json()["status"] == "accepted"

    # The two others, each with the candidate's yes, accepted by the employer at once: the one position is taken.
    for other in placements[1:]:
        r = await call(activation, "POST", f"/placements/{other}/accept", {"party": "candidate"}, "worker")
        assert r.status_code == 200
    answers = await asyncio.gather(
        *(call(activation, "POST", f"/placements/{p}/accept", {"party": "employer"}) for p in placements[1:])
    )
    assert sorted(r.status_code for r in answers) == [409, 409]
    assert all(r.json()["errors"]["reason"] == "positions_filled" for r in answers)


async def test_the_same_proposal_sent_twice_at_once_is_one_placement_and_one_409(activation: RunningService):
    forum_id = await setup(activation)
    person = requested()
    await add_candidates(activation, person)
    opp = (await post_opportunity(activation, forum_id))["id"]
    body = {"person_id": str(person.person_id)}
    answers = await asyncio.gather(
        *(call(activation, "POST", f"/opportunities/{opp}/proposals", body, "worker") for _ in range(3))
    )
    assert sorted(r.status_code for r in answers) == [201, 409, 409]


async def test_a_candidate_is_placed_while_any_placement_of_theirs_runs(activation: RunningService):
    # A forum that lets placed people take another engagement: both start; finishing one keeps them placed.
    forum_id = await setup(activation, exclude_placed=False)
    person = requested()
    await add_candidates(activation, person)
    first = (await post_opportunity(activation, forum_id, title="Park"))["id"]
    second = (await post_opportunity(activation, forum_id, title="Library"))["id"]
    runs = []
    for opp in (first, second):
        runs.append(await proposed(activation, opp, person))
        await accepted(activation, runs[-1])
        assert (await call(activation, "POST", f"/placements/{runs[-1]}/start")).status_code == 200
    assert (await call(activation, "POST", f"/placements/{runs[0]}/complete")).status_code == 200
    assert await placed(activation, person)
    r = await call(activation, "POST", f"/placements/{runs[1]}/end", {"reason": "health"})
    assert r.status_code == 200 and not await placed(activation, person)


async def test_a_forum_of_people_not_placed_refuses_to_start_a_second_placement(activation: RunningService):
    forum_id = await setup(activation)
    person = requested()
    await add_candidates(activation, person)
    first = (await post_opportunity(activation, forum_id, title="Park"))["id"]
    second = (await post_opportunity(activation, forum_id, title="Library"))["id"]
    runs = [await proposed(activation, opp, person) for opp in (first, second)]
    for run in runs:
        await accepted(activation, run)
    assert (await call(activation, "POST", f"/placements/{runs[0]}/start")).status_code == 200
    r = await call(activation, "POST", f"/placements/{runs[1]}/start")
    assert r.status_code == 409 and r.json()["errors"]["reason"] == "already_placed"


async def test_a_merge_keeps_the_running_placement_with_the_survivor_and_drops_the_waiting_one(
    activation: RunningService,
):
    forum_id = await setup(activation)
    survivor, gone = requested(), requested()
    await add_candidates(activation, survivor, gone)
    opp = (await post_opportunity(activation, forum_id, positions=3))["id"]
    running = await proposed(activation, opp, gone)
    waiting = await proposed(activation, opp, survivor)
    await accepted(activation, running)
    assert (await call(activation, "POST", f"/placements/{running}/start")).status_code == 200

    merge = PersonMergedV1(
        survivor_person_id=survivor.person_id,
        survivor_household_id=survivor.household_id,
        merged_person_id=gone.person_id,
        merged_household_id=gone.household_id,
        merged_at=datetime.now(UTC),
    )
    await add_candidates(activation, merge)

    r = await call(activation, "GET", f"/candidates/{survivor.person_id}/placements", user="worker")
    by_id = {p["id"]: p for p in r.json()}
    assert by_id[running]["status"] == "started" and by_id[waiting]["status"] == "declined"
    assert await placed(activation, survivor)
    assert (await call(activation, "POST", f"/placements/{running}/complete")).status_code == 200
    assert not await placed(activation, survivor)


async def test_recomputes_asked_for_at_once_all_succeed(activation: RunningService):
    forum_id = await setup(activation)
    await add_candidates(activation, *(requested() for _ in range(5)))
    await post_opportunity(activation, forum_id)
    answers = await asyncio.gather(
        *(call(activation, "POST", "/shortlists/recompute", user="coordinator") for _ in range(3))
    )
    assert [r.status_code for r in answers] == [200, 200, 200]
    assert {r.json()["entries"] for r in answers} == {5}


async def test_fairness_per_opportunity_counts_people_not_proposals(activation: RunningService):
    forum_id = await setup(activation)
    man, woman = requested(sex="M"), requested(sex="F")
    await add_candidates(activation, man, woman)
    opp = (await post_opportunity(activation, forum_id))["id"]
    for _ in range(3):
        placement = await proposed(activation, opp, man)
        r = await call(activation, "POST", f"/placements/{placement}/decline", {"party": "employer", "reason": "other"})
        assert r.status_code == 200
    await proposed(activation, opp, woman)
    report = (await call(activation, "GET", f"/forums/{forum_id}/fairness", user="coordinator")).json()
    (only,) = report["opportunities"]
    assert only["totals"]["proposed"] == 2 == report["totals"]["proposed"]
    women = next(g for g in only["groups"] if g["group"] == "women")
    assert women["stages"]["proposed"]["share"] == 0.5 and women["disparity"]["proposed"] == 1.0


async def test_odd_input_is_a_422_on_both_databases(activation: RunningService):
    forum_id = await setup(activation)
    for path in ("/opportunities?offset=99999999999999999999", "/candidates?offset=99999999999999999999"):
        user = "worker" if "candidates" in path else "employer"
        assert (await call(activation, "GET", path, user=user)).status_code == 422
    for field in ("title", "place"):
        body = {"title": "Park", "forum_id": forum_id, "municipality_code": ADA, "positions": 1, field: "Park\x00work"}
        r = await call(activation, "POST", "/opportunities", body)
        assert r.status_code == 422 and field in r.text
    r = await call(
        activation,
        "PUT",
        "/organisations/x y",
        {"name": "X", "kind": "civil_society", "municipality_code": ADA},
        "admin",
    )
    assert r.status_code == 422
    page = await activation.client.post(
        "/activation/organisation",
        data={"name": "X", "kind": "civil_society", "municipality_code": ADA},
        headers=activation.auth("admin"),
    )
    assert page.status_code == 422
    assert await activation.count(Candidate.__table__) == 0


async def test_an_erasure_makes_the_stored_shortlists_stale(activation: RunningService):
    from services.activation import service
    from tests.fixtures.delivery import deliver

    forum_id = await setup(activation)
    person = requested()
    await add_candidates(activation, person)
    await post_opportunity(activation, forum_id)
    assert (await call(activation, "POST", "/shortlists/recompute", user="coordinator")).status_code == 200
    async with activation.runtime.sessions() as session:
        assert not await service.shortlists_stale(session)
    await deliver(
        activation,
        PersonErasedV1(household_id=person.household_id, person_id=person.person_id, erased_at=datetime.now(UTC)),
    )
    async with activation.runtime.sessions() as session:
        assert await service.shortlists_stale(session)


async def test_analysts_see_small_fairness_cells_as_under_five_coordinators_the_counts(activation: RunningService):
    forum_id = await setup(activation)
    await add_candidates(activation, requested(sex="F", markers=("roma",)), *(requested(sex="M") for _ in range(5)))
    await post_opportunity(activation, forum_id)

    def roma(report: dict[str, Any]) -> dict[str, Any]:
        return next(g for g in report["groups"] if g["group"] == "roma")

    exact = (await call(activation, "GET", f"/forums/{forum_id}/fairness", user="coordinator")).json()
    assert roma(exact)["stages"]["eligible"]["count"] == 1 and exact["suppressed"] is False
    shown = (await call(activation, "GET", f"/forums/{forum_id}/fairness", user="analyst")).json()
    assert shown["suppressed"] is True and shown["totals"]["eligible"] == 6
    assert roma(shown)["stages"]["eligible"] == {"count": "<5", "total": 6, "share": None}
    assert set(roma(shown)["disparity"].values()) == {None}
    men_only = next(g for g in shown["groups"] if g["group"] == "women")["stages"]["eligible"]
    assert men_only["count"] == "<5"
    page = await activation.client.get(f"/activation/forums/{forum_id}/fairness", headers=activation.auth("analyst"))
    assert page.status_code == 200 and "&lt;5" in page.text


async def test_stored_shortlists_from_an_earlier_day_are_stale(activation: RunningService):
    from datetime import timedelta

    from sqlalchemy import update

    from services.activation import service
    from services.activation.models import MatchingRun

    forum_id = await setup(activation)
    await add_candidates(activation, requested())
    await post_opportunity(activation, forum_id)
    assert (await call(activation, "POST", "/shortlists/recompute", user="coordinator")).status_code == 200
    async with activation.runtime.sessions() as session:
        assert not await service.shortlists_stale(session)
        await session.execute(update(MatchingRun).values(started_at=datetime.now(UTC) - timedelta(days=1)))
        await session.commit()
    async with activation.runtime.sessions() as session:
        assert await service.shortlists_stale(session)


async def test_a_proposal_form_without_a_valid_person_is_a_page_not_json(activation: RunningService):
    forum_id = await setup(activation)
    opp = (await post_opportunity(activation, forum_id))["id"]
    for person in ("", "not-a-uuid"):
        r = await activation.client.post(
            f"/activation/opportunities/{opp}/proposals", data={"person_id": person}, headers=activation.auth("worker")
        )
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
        assert "Nema takvog kandidata" in r.text


async def test_a_merge_keeps_the_merged_persons_running_placement_when_the_survivors_is_finished(
    activation: RunningService,
):
    forum_id = await setup(activation, exclude_placed=False)
    survivor, gone = requested(), requested()
    await add_candidates(activation, survivor, gone)
    opp = (await post_opportunity(activation, forum_id, positions=3))["id"]
    finished, running = await proposed(activation, opp, survivor), await proposed(activation, opp, gone)
    for placement in (finished, running):
        await accepted(activation, placement)
        assert (await call(activation, "POST", f"/placements/{placement}/start")).status_code == 200
    assert (await call(activation, "POST", f"/placements/{finished}/complete")).status_code == 200
    merge = PersonMergedV1(
        survivor_person_id=survivor.person_id,
        survivor_household_id=survivor.household_id,
        merged_person_id=gone.person_id,
        merged_household_id=gone.household_id,
        merged_at=datetime.now(UTC),
    )
    await add_candidates(activation, merge)
    r = await call(activation, "GET", f"/candidates/{survivor.person_id}/placements", user="worker")
    assert [p["id"] for p in r.json()] == [running]
    assert await placed(activation, survivor)
