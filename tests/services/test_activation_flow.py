"""Activation end to end inside the service: a forum, an organisation, an opportunity, candidates from cases,
the explained ranking, a proposal and the placement's whole lifecycle with its events."""

from __future__ import annotations

from datetime import date

from shared.events import (
    MatchProposedV1,
    OpportunityPublishedV1,
    PlacementAcceptedV1,
    PlacementCompletedV1,
    PlacementHoursRecordedV1,
    PlacementStartedV1,
)
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
    work_agreement,
)
from tests.fixtures.delivery import deliver, queued_events
from tests.fixtures.services import RunningService


async def test_the_best_candidate_is_proposed_accepted_started_and_completed(activation: RunningService):
    f = await forum(activation, ADA)
    await organisation(activation, f["id"])
    best = requested(skills=("cleaning", "gardening"), unemployed_months=30, markers=("single_parent",))
    good = requested(skills=("cleaning",), sex="M", unemployed_months=3)
    too_old = requested(age=70, skills=("cleaning", "gardening"))
    await add_candidates(activation, best, good, too_old)
    opp = await post_opportunity(activation, f["id"], required_skills=["cleaning", "gardening"])

    ranked = await shortlist(activation, opp["id"])
    assert ranked["eligible"] == 2
    assert [m["person_id"] for m in ranked["matches"]] == [str(best.person_id), str(good.person_id)]
    top = ranked["matches"][0]["explanation"]
    assert top["breakdown"]["skills"] == 40.0 and top["breakdown"]["distance"] == 20.0
    assert top["score"] == round(sum(top["breakdown"].values()), 2)
    assert all(c["met"] for c in top["checks"]) and {c["criterion"] for c in top["checks"]} >= {"working_age", "hours"}

    # The employer sees codes and the breakdown, never the person id.
    employer_view = await shortlist(activation, opp["id"], user="employer")
    assert [m["person_id"] for m in employer_view["matches"]] == [None, None]
    assert employer_view["matches"][0]["code"].startswith("K-")
    # Priority points (and the total they add up to) would tell a vulnerable group: the employer sees the parts
    # about the work, and the rank.
    shown = employer_view["matches"][0]["explanation"]
    assert shown["breakdown"] == {
        "skills": 40.0,
        "distance": 20.0,
        "availability": top["breakdown"]["availability"],
    }
    assert shown["score"] is None and all(c["detail"] is None for c in shown["checks"])

    r = await activation.client.post(
        f"{API}/opportunities/{opp['id']}/proposals",
        json={"person_id": str(best.person_id)},
        headers=activation.auth("worker"),
    )
    assert r.status_code == 201, r.text
    placement = r.json()
    assert placement["status"] == "proposed"
    pid = placement["id"]

    # Starting before both said yes is refused with the allowed steps.
    r = await activation.client.post(f"{API}/placements/{pid}/start", headers=activation.auth("employer"))
    assert r.status_code == 409 and r.json()["errors"]["allowed"] == ["accepted", "declined"]

    r = await activation.client.post(
        f"{API}/placements/{pid}/accept", json={"party": "employer"}, headers=activation.auth("employer")
    )
    assert r.status_code == 200 and r.json()["status"] == "proposed"
    r = await activation.client.post(
        f"{API}/placements/{pid}/accept", json={"party": "candidate"}, headers=activation.auth("worker")
    )
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    r = await activation.client.post(f"{API}/placements/{pid}/start", headers=activation.auth("employer"))
    assert r.status_code == 200 and r.json()["status"] == "started"
    month = date.today().strftime("%Y-%m")
    r = await activation.client.post(
        f"{API}/placements/{pid}/hours", json={"month": month, "hours": 60}, headers=activation.auth("employer")
    )
    assert r.status_code == 200 and r.json()["hours_total"] == 60
    r = await activation.client.post(f"{API}/placements/{pid}/complete", headers=activation.auth("employer"))
    assert r.status_code == 200 and r.json()["status"] == "completed"

    events = await queued_events(activation)
    kinds = [type(e) for e in events]
    assert kinds == [
        OpportunityPublishedV1,
        MatchProposedV1,
        PlacementAcceptedV1,
        PlacementAcceptedV1,
        PlacementStartedV1,
        PlacementHoursRecordedV1,
        PlacementCompletedV1,
    ]
    assert events[-1].hours_worked == 60 and events[-1].case_id == best.case_id


async def test_a_neighbour_is_eligible_only_under_a_work_agreement(activation: RunningService):
    f = await forum(activation, ADA)
    await organisation(activation, f["id"])
    neighbour = requested(municipality=RUMA)
    await add_candidates(activation, neighbour)
    opp = await post_opportunity(activation, f["id"])
    assert (await shortlist(activation, opp["id"]))["eligible"] == 0
    await deliver(activation, work_agreement(ADA, RUMA))
    ranked = await shortlist(activation, opp["id"])
    assert ranked["eligible"] == 1
    assert ranked["matches"][0]["explanation"]["breakdown"]["distance"] < 20.0
