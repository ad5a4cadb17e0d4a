"""Candidates as cases and intake describe them, over the real app on SQLite and PostgreSQL: a request makes one,
intake's updates change their ranking, a withdrawn consent or an erasure takes them off every shortlist at once
(and declines what still waits for them), merges re-key them, and neither a redelivery nor a late older request
changes anything."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from services.activation.models import Candidate, Placement, ShortlistEntry
from shared.events import (
    ActivationRequestedV1,
    HouseholdMergedV1,
    HouseholdUpdatedV1,
    MemberProfile,
    PersonConsentChangedV1,
    PersonErasedV1,
    PersonMergedV1,
    PlacementDeclinedV1,
)
from shared.events.intake import Purpose
from shared.messaging.applier import Outcome
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
from tests.fixtures.cases import member
from tests.fixtures.delivery import deliver, envelope_for, queued_events
from tests.fixtures.services import RunningService

NOW = datetime.now(UTC)
CONSENTED = ("case_work", "activation")


def updated(
    *members: MemberProfile, household_id: uuid.UUID, municipality: str = ADA, version: int = 2
) -> HouseholdUpdatedV1:
    return HouseholdUpdatedV1(
        household_id=household_id,
        municipality_code=municipality,
        registered_at=NOW - timedelta(days=90),
        members=list(members),
        below_poverty_line=True,
        version=version,
        reason="edited",
        changed_at=NOW,
    )


def consent(person: Any, *, granted: bool, purpose: Purpose = "activation") -> PersonConsentChangedV1:
    return PersonConsentChangedV1(
        household_id=person.household_id,
        person_id=person.person_id,
        purpose=purpose,
        granted=granted,
        changed_at=datetime.now(UTC),
    )


def erased(person: Any) -> PersonErasedV1:
    return PersonErasedV1(household_id=person.household_id, person_id=person.person_id, erased_at=datetime.now(UTC))


async def ranked_ids(activation: RunningService, opportunity_id: str) -> list[str]:
    return [m["person_id"] for m in (await shortlist(activation, opportunity_id))["matches"]]


async def candidate(activation: RunningService, person_id: uuid.UUID) -> dict[str, Any] | None:
    r = await activation.client.get(f"{API}/candidates/{person_id}", headers=activation.auth("worker"))
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.text
    return dict(r.json())


async def stored_entries(activation: RunningService, person_id: uuid.UUID) -> int:
    return await activation.count(ShortlistEntry.__table__, ShortlistEntry.person_id == person_id)


async def recompute(activation: RunningService) -> None:
    r = await activation.client.post(f"{API}/shortlists/recompute", headers=activation.auth("coordinator"))
    assert r.status_code == 200, r.text


async def propose(activation: RunningService, opportunity_id: str, person_id: uuid.UUID) -> dict[str, Any]:
    r = await activation.client.post(
        f"{API}/opportunities/{opportunity_id}/proposals",
        json={"person_id": str(person_id)},
        headers=activation.auth("worker"),
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def start(activation: RunningService, placement_id: str) -> dict[str, Any]:
    """Both parties say yes and the employer starts the placement, with 30 hours this month."""
    for party, user in (("employer", "employer"), ("candidate", "worker")):
        r = await activation.client.post(
            f"{API}/placements/{placement_id}/accept", json={"party": party}, headers=activation.auth(user)
        )
        assert r.status_code == 200, r.text
    r = await activation.client.post(f"{API}/placements/{placement_id}/start", headers=activation.auth("employer"))
    assert r.status_code == 200, r.text
    month = r.json()["started_at"][:7]
    r = await activation.client.post(
        f"{API}/placements/{placement_id}/hours",
        json={"month": month, "hours": 30},
        headers=activation.auth("employer"),
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def placement(activation: RunningService, placement_id: str, user: str = "employer") -> dict[str, Any]:
    r = await activation.client.get(f"{API}/placements/{placement_id}", headers=activation.auth(user))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def two_opportunities(activation: RunningService, **overrides: Any) -> tuple[str, str, str]:
    f = await forum(activation, ADA)
    await organisation(activation, f["id"])
    first = await post_opportunity(activation, f["id"], **overrides)
    second = await post_opportunity(activation, f["id"], title="Library", **overrides)
    return f["id"], first["id"], second["id"]


async def household_of(activation: RunningService, person_id: uuid.UUID) -> uuid.UUID | None:
    async with activation.runtime.sessions() as session:
        found: uuid.UUID | None = (
            await session.execute(select(Candidate.household_id).where(Candidate.person_id == person_id))
        ).scalar()
    return found


# --- from cases and intake ---------------------------------------------------------------------------------------


async def test_a_request_from_cases_makes_a_candidate_with_the_profile_it_carries(activation: RunningService) -> None:
    person = requested(skills=("cooking", "cleaning"), markers=("roma",), hours=(10, 20), unemployed_months=14)
    await add_candidates(activation, person)

    found = await candidate(activation, person.person_id)
    assert found is not None
    assert found["case_id"] == str(person.case_id) and found["municipality_code"] == ADA
    assert (found["sex"], found["birth_year"]) == ("F", person.birth_year)
    assert found["skills"] == ["cleaning", "cooking"]
    assert (found["hours_min"], found["hours_max"]) == (10, 20)
    assert found["unemployed_since"] == person.unemployed_since.isoformat()  # type: ignore[union-attr]
    assert found["active"] is True and found["placed"] is False
    r = await activation.client.get(f"{API}/candidates", headers=activation.auth("worker-ada"))
    assert [c["person_id"] for c in r.json()] == [str(person.person_id)]


async def test_intake_updates_of_skills_markers_and_municipality_change_the_ranking(
    activation: RunningService,
) -> None:
    _, opp, _ = await two_opportunities(activation, required_skills=["cleaning"])
    rising, steady, moving = requested(), requested(skills=("cleaning",)), requested(skills=("cleaning",))
    await add_candidates(activation, rising, steady, moving)
    cleaners = sorted([str(steady.person_id), str(moving.person_id)])  # a tie: the smaller id first
    assert await ranked_ids(activation, opp) == [*cleaners, str(rising.person_id)]
    before = (await shortlist(activation, opp))["matches"][-1]["explanation"]["breakdown"]
    assert before["skills"] == 0.0 and before["priority"] == 5.0  # a woman, nothing else

    # Intake records the skill and two markers for ``rising``: the full skills part and two more priority groups.
    await add_candidates(
        activation,
        updated(
            member(
                person_id=rising.person_id,
                skills=("cleaning",),
                markers=("roma", "single_parent"),
                consents=CONSENTED,
                able_to_work=True,
            ),
            household_id=rising.household_id,
        ),
    )
    ranked = await shortlist(activation, opp)
    assert ranked["matches"][0]["person_id"] == str(rising.person_id)
    assert ranked["matches"][0]["explanation"]["breakdown"]["skills"] == 40.0
    assert ranked["matches"][0]["explanation"]["breakdown"]["priority"] == 15.0

    # ``moving``'s household moves to Ruma: out of Ada's ranking, back in (farther away) under a work agreement.
    await add_candidates(
        activation,
        updated(
            member(person_id=moving.person_id, skills=("cleaning",), consents=CONSENTED, able_to_work=True),
            household_id=moving.household_id,
            municipality=RUMA,
        ),
    )
    assert str(moving.person_id) not in await ranked_ids(activation, opp)
    assert (await candidate(activation, moving.person_id) or {})["municipality_code"] == RUMA
    await deliver(activation, work_agreement(ADA, RUMA))
    ranked = await shortlist(activation, opp)
    assert ranked["matches"][-1]["person_id"] == str(moving.person_id)
    assert ranked["matches"][-1]["explanation"]["breakdown"]["distance"] < 20.0

    # ``steady`` is no longer recorded as able to work: off the ranking.
    await add_candidates(
        activation,
        updated(
            member(person_id=steady.person_id, skills=("cleaning",), consents=CONSENTED, able_to_work=False),
            household_id=steady.household_id,
        ),
    )
    assert str(steady.person_id) not in await ranked_ids(activation, opp)
    assert (await shortlist(activation, opp))["eligible"] == 2


async def test_a_withdrawn_consent_takes_the_candidate_off_every_shortlist_at_once(activation: RunningService) -> None:
    _, first, second = await two_opportunities(activation, positions=5)
    leaving, staying, working = requested(), requested(), requested()
    await add_candidates(activation, leaving, staying, working)
    running = await start(activation, (await propose(activation, second, working.person_id))["id"])
    waiting = await propose(activation, first, leaving.person_id)
    await recompute(activation)
    assert await stored_entries(activation, leaving.person_id) == 2
    assert str(leaving.person_id) in await ranked_ids(activation, second)

    # Another purpose changes nothing for activation.
    await add_candidates(activation, consent(leaving, granted=False, purpose="research"))
    assert str(leaving.person_id) in await ranked_ids(activation, first)

    await add_candidates(activation, consent(leaving, granted=False), consent(working, granted=False))

    for opp in (first, second):
        assert str(leaving.person_id) not in await ranked_ids(activation, opp)
    assert await stored_entries(activation, leaving.person_id) == 0
    await recompute(activation)
    assert await stored_entries(activation, leaving.person_id) == 0
    assert await stored_entries(activation, staying.person_id) == 2
    # The proposal that waited for answers is declined for the candidate; a placement already running goes on.
    declined = await placement(activation, waiting["id"])
    assert (declined["status"], declined["declined_by"], declined["decline_reason"]) == (
        "declined",
        "candidate",
        "candidate_unavailable",
    )
    [event] = await queued_events(activation, PlacementDeclinedV1)
    assert (event.placement_id, event.person_id, event.reason) == (
        uuid.UUID(waiting["id"]),
        leaving.person_id,
        "candidate_unavailable",
    )
    assert (await placement(activation, running["id"]))["status"] == "started"
    # No new proposal while it is withdrawn; the case worker's list leaves them out.
    r = await activation.client.post(
        f"{API}/opportunities/{second}/proposals",
        json={"person_id": str(leaving.person_id)},
        headers=activation.auth("worker"),
    )
    assert r.status_code == 409 and r.json()["errors"]["reason"] == "consent_withdrawn"
    r = await activation.client.get(f"{API}/candidates", headers=activation.auth("worker"))
    assert str(leaving.person_id) not in r.text
    r = await activation.client.get(
        f"{API}/candidates/{leaving.person_id}/opportunities", headers=activation.auth("worker")
    )
    assert r.status_code == 200 and r.json() == []

    # Granted again: back on the rankings, and on the stored shortlists at the next recomputation.
    await add_candidates(activation, consent(leaving, granted=True))
    assert str(leaving.person_id) in await ranked_ids(activation, first)
    await recompute(activation)
    assert await stored_entries(activation, leaving.person_id) == 2


async def test_an_update_without_the_activation_consent_withdraws_it_and_one_with_it_grants_it(
    activation: RunningService,
) -> None:
    _, first, _ = await two_opportunities(activation)
    person = requested()
    await add_candidates(activation, person)
    waiting = await propose(activation, first, person.person_id)
    await recompute(activation)

    await add_candidates(
        activation,
        updated(member(person_id=person.person_id, consents=("case_work",)), household_id=person.household_id),
    )
    assert await ranked_ids(activation, first) == []
    assert await stored_entries(activation, person.person_id) == 0
    assert (await placement(activation, waiting["id"]))["status"] == "declined"
    assert (await candidate(activation, person.person_id) or {})["active"] is False

    await add_candidates(
        activation,
        updated(member(person_id=person.person_id, consents=CONSENTED), household_id=person.household_id, version=3),
    )
    assert await ranked_ids(activation, first) == [str(person.person_id)]


async def test_an_erasure_deletes_the_candidate_and_cuts_their_placements_from_the_person(
    activation: RunningService,
) -> None:
    forum_id, first, second = await two_opportunities(activation, positions=5)
    person, other = requested(), requested()
    await add_candidates(activation, person, other)
    waiting = await propose(activation, second, person.person_id)
    running = await start(activation, (await propose(activation, first, person.person_id))["id"])
    await propose(activation, second, other.person_id)
    await recompute(activation)
    assert await stored_entries(activation, person.person_id) == 0  # placed: on no shortlist
    # Back on the shortlists once the placement ends; then erased.
    r = await activation.client.post(
        f"{API}/placements/{running['id']}/end", json={"reason": "health"}, headers=activation.auth("worker")
    )
    assert r.status_code == 200, r.text
    await recompute(activation)
    assert await stored_entries(activation, person.person_id) == 2

    await add_candidates(activation, erased(person))

    assert await candidate(activation, person.person_id) is None
    assert await stored_entries(activation, person.person_id) == 0
    for opp in (first, second):
        assert str(person.person_id) not in await ranked_ids(activation, opp)
    assert await activation.count(Placement.__table__, Placement.person_id == person.person_id) == 0
    # The waiting proposal is declined (told to cases under the person's id, before the link is cut) ...
    declined = await placement(activation, waiting["id"])
    assert (declined["status"], declined["decline_reason"]) == ("declined", "candidate_unavailable")
    [event] = await queued_events(activation, PlacementDeclinedV1)
    assert (event.placement_id, event.person_id) == (uuid.UUID(waiting["id"]), person.person_id)
    # ... and the ended placement stays as a count with its hours, linked to nobody.
    kept = await placement(activation, running["id"], user="admin")
    assert (kept["status"], kept["hours_total"], kept["case_id"]) == ("ended", 30, None)
    assert kept["person_id"] not in (None, str(person.person_id), declined["person_id"])
    report = (
        await activation.client.get(f"{API}/forums/{forum_id}/fairness", headers=activation.auth("coordinator"))
    ).json()
    assert report["totals"]["placed"] == 1
    # The other candidate's proposal is untouched.
    r = await activation.client.get(f"{API}/candidates/{other.person_id}/placements", headers=activation.auth("worker"))
    assert [p["status"] for p in r.json()] == ["proposed"]


async def test_an_erasure_of_someone_activation_never_knew_changes_nothing(activation: RunningService) -> None:
    known = requested()
    await add_candidates(activation, known)
    assert [str(o) for o in await deliver(activation, erased(requested()))] == ["applied"]
    assert await candidate(activation, known.person_id) is not None


# --- merges ------------------------------------------------------------------------------------------------------


def earlier(request: ActivationRequestedV1, at: datetime) -> ActivationRequestedV1:
    return request.model_copy(update={"requested_at": at})


def person_merged(merged: Any, survivor: Any) -> PersonMergedV1:
    return PersonMergedV1(
        survivor_person_id=survivor.person_id,
        survivor_household_id=survivor.household_id,
        merged_person_id=merged.person_id,
        merged_household_id=merged.household_id,
        merged_at=datetime.now(UTC),
    )


async def test_a_person_merge_rekeys_the_candidate_and_their_placements(activation: RunningService) -> None:
    _, first, _ = await two_opportunities(activation)
    survivor_household = uuid.uuid4()
    gone = requested(skills=("cooking",))
    await add_candidates(activation, gone)
    proposal = await propose(activation, first, gone.person_id)
    survivor = requested(household_id=survivor_household)  # intake's survivor, unknown to activation

    await add_candidates(activation, person_merged(gone, survivor))

    assert await candidate(activation, gone.person_id) is None
    found = await candidate(activation, survivor.person_id)
    assert found is not None and found["skills"] == ["cooking"] and found["case_id"] == str(gone.case_id)
    assert await household_of(activation, survivor.person_id) == survivor_household
    r = await activation.client.get(
        f"{API}/candidates/{survivor.person_id}/placements", headers=activation.auth("worker")
    )
    assert [p["id"] for p in r.json()] == [proposal["id"]]
    assert await ranked_ids(activation, first) == [str(survivor.person_id)]


async def test_of_two_known_profiles_the_newer_wins_under_the_survivors_id(activation: RunningService) -> None:
    _, first, _ = await two_opportunities(activation)
    older = NOW - timedelta(days=10)
    pairs = []
    for survivor_newer in (True, False):
        survivor = requested(skills=("gardening",))
        gone = requested(skills=("cooking",))
        if survivor_newer:
            gone = earlier(gone, older)
        else:
            survivor = earlier(survivor, older)
        pairs.append((survivor_newer, survivor, gone))
        await add_candidates(activation, survivor, gone)
    proposals = {gone.person_id: await propose(activation, first, gone.person_id) for _, _, gone in pairs}

    await add_candidates(activation, *(person_merged(gone, survivor) for _, survivor, gone in pairs))

    for survivor_newer, survivor, gone in pairs:
        assert await candidate(activation, gone.person_id) is None
        found = await candidate(activation, survivor.person_id)
        assert found is not None
        assert found["skills"] == (["gardening"] if survivor_newer else ["cooking"]), survivor_newer
        r = await activation.client.get(
            f"{API}/candidates/{survivor.person_id}/placements", headers=activation.auth("worker")
        )
        assert [p["id"] for p in r.json()] == [proposals[gone.person_id]["id"]]
    assert sorted(await ranked_ids(activation, first)) == sorted(str(s.person_id) for _, s, _ in pairs)


async def test_a_merge_keeps_a_running_placement_counted_whichever_profile_wins(activation: RunningService) -> None:
    """The survivor is placed (or the merged person was): after the merge the survivor is still placed, so no
    ranking offers them while that placement runs."""
    _, first, second = await two_opportunities(activation, positions=5)
    for survivor_placed in (True, False):
        # The merged person's request is the newer one, so their profile wins.
        survivor, gone = earlier(requested(), NOW - timedelta(days=3)), requested()
        await add_candidates(activation, survivor, gone)
        placed = survivor if survivor_placed else gone
        await start(activation, (await propose(activation, first, placed.person_id))["id"])

        await add_candidates(activation, person_merged(gone, survivor))

        found = await candidate(activation, survivor.person_id)
        assert found is not None and found["placed"] is True, survivor_placed
        assert str(survivor.person_id) not in await ranked_ids(activation, second), survivor_placed


async def test_a_household_merge_rekeys_merged_members_and_moves_the_others(activation: RunningService) -> None:
    _, first, _ = await two_opportunities(activation)
    merged_household, survivor_household = uuid.uuid4(), uuid.uuid4()
    twin = requested(household_id=merged_household, skills=("cooking",))
    mover = requested(household_id=merged_household)
    await add_candidates(activation, twin, mover)
    survivor_twin = uuid.uuid4()

    await add_candidates(
        activation,
        HouseholdMergedV1(
            survivor_household_id=survivor_household,
            merged_household_id=merged_household,
            moved_person_ids=[mover.person_id],
            merged_person_ids={twin.person_id: survivor_twin},
            merged_at=datetime.now(UTC),
        ),
    )

    assert await candidate(activation, twin.person_id) is None
    assert (await candidate(activation, survivor_twin) or {})["skills"] == ["cooking"]
    assert await household_of(activation, survivor_twin) == survivor_household
    assert await household_of(activation, mover.person_id) == survivor_household
    # Intake's next update of the surviving household reaches the moved member.
    await add_candidates(
        activation,
        updated(
            member(person_id=mover.person_id, skills=("sewing",), consents=CONSENTED),
            household_id=survivor_household,
        ),
    )
    assert (await candidate(activation, mover.person_id) or {})["skills"] == ["sewing"]
    assert sorted(await ranked_ids(activation, first)) == sorted([str(survivor_twin), str(mover.person_id)])


# --- redelivery and order ----------------------------------------------------------------------------------------


async def test_a_redelivered_event_changes_nothing(activation: RunningService) -> None:
    _, first, _ = await two_opportunities(activation)
    person = requested(skills=("cleaning",))
    request = (person, envelope_for(person))
    assert [str(o) for o in await deliver(activation, request)] == [Outcome.applied]
    waiting = await propose(activation, first, person.person_id)
    withdrawal = consent(person, granted=False)
    once = (withdrawal, envelope_for(withdrawal))
    assert await deliver(activation, once) == [Outcome.applied]
    assert await deliver(activation, once) == [Outcome.duplicate]
    # The request again under its own id: a duplicate too, so it does not bring the candidate back.
    assert await deliver(activation, request) == [Outcome.duplicate]

    assert await activation.count(Candidate.__table__) == 1
    assert (await candidate(activation, person.person_id) or {})["active"] is False
    assert len(await queued_events(activation, PlacementDeclinedV1)) == 1
    assert (await placement(activation, waiting["id"]))["status"] == "declined"


async def test_an_older_request_arriving_after_a_newer_one_does_not_win(activation: RunningService) -> None:
    person_id, household_id, case_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    def request(*skills: str, hours: tuple[int, int] = (10, 40)) -> ActivationRequestedV1:
        return requested(skills=skills, hours=hours, person_id=person_id, household_id=household_id, case_id=case_id)

    newer = request("welding", hours=(20, 40))
    older = earlier(request("cooking", hours=(5, 10)), newer.requested_at - timedelta(days=7))

    await add_candidates(activation, newer)
    await add_candidates(activation, older)

    found = await candidate(activation, person_id)
    assert found is not None
    assert (found["skills"], found["hours_min"], found["hours_max"]) == (["welding"], 20, 40)
    # A still newer one does replace it.
    newest = request("sewing")
    await add_candidates(activation, newest)
    assert (await candidate(activation, person_id) or {})["skills"] == ["sewing"]


# --- events of the two topics in any order -------------------------------------------------------------------------


async def test_a_request_arriving_after_the_persons_erasure_makes_no_candidate(activation: RunningService) -> None:
    late = requested()
    assert [str(o) for o in await deliver(activation, erased(late))] == ["applied"]
    await add_candidates(activation, late)
    assert await candidate(activation, late.person_id) is None
    assert await activation.count(Candidate.__table__) == 0


async def test_a_request_after_a_withdrawal_stays_off_every_list_until_consent_is_given_again(
    activation: RunningService,
) -> None:
    """Cases checks consent on its own copy, which can lag behind intake: a request, older or newer than the
    withdrawal, does not bring the candidate back; only intake's grant does."""
    _, first, _ = await two_opportunities(activation)
    before = earlier(requested(), NOW - timedelta(minutes=5))
    await add_candidates(activation, consent(before, granted=False))  # activation does not know them yet
    await add_candidates(activation, before)
    known = requested()
    await add_candidates(activation, known, consent(known, granted=False))
    await add_candidates(activation, earlier(known, datetime.now(UTC) + timedelta(seconds=1)))  # a newer request
    assert await ranked_ids(activation, first) == []
    await add_candidates(activation, consent(before, granted=True), consent(known, granted=True))
    assert sorted(await ranked_ids(activation, first)) == sorted([str(before.person_id), str(known.person_id)])


async def test_requests_and_merges_in_any_order_leave_one_candidate_under_the_last_survivor(
    activation: RunningService,
) -> None:
    _, first, _ = await two_opportunities(activation)
    a, b, c = requested(), requested(), requested()
    await add_candidates(activation, b, c)
    await add_candidates(activation, person_merged(b, c))  # B was C all along…
    await add_candidates(activation, person_merged(a, b))  # …and A was B: A is C
    await add_candidates(activation, a)  # cases, still behind, engages A
    ids = set(await ranked_ids(activation, first))
    assert ids == {str(c.person_id)}
    assert await activation.count(Candidate.__table__) == 1
    # Intake erasing C reaches everything that stood for A and B.
    await add_candidates(activation, erased(c))
    assert await activation.count(Candidate.__table__) == 0


async def test_an_update_of_the_survivor_household_reaches_a_candidate_still_filed_under_the_old_one(
    activation: RunningService,
) -> None:
    person = requested(skills=("cooking",))
    await add_candidates(activation, person)
    new_household = uuid.uuid4()
    moved = member(person_id=person.person_id, able_to_work=True, consents=CONSENTED, skills=("gardening",))
    await add_candidates(activation, updated(moved, household_id=new_household))
    found = await candidate(activation, person.person_id)
    assert found is not None and found["skills"] == ["gardening"]
    assert await household_of(activation, person.person_id) == new_household


async def test_someone_intake_now_records_as_employed_loses_the_time_unemployed_points(
    activation: RunningService,
) -> None:
    _, first, _ = await two_opportunities(activation)
    person = requested(unemployed_months=30)
    await add_candidates(activation, person)
    before = (await shortlist(activation, first))["matches"][0]["explanation"]["breakdown"]
    assert before["unemployed"] == 10.0
    working = member(person_id=person.person_id, able_to_work=True, consents=CONSENTED)
    working = working.model_copy(update={"employment_status": "employed"})
    await add_candidates(activation, updated(working, household_id=person.household_id))
    after = (await shortlist(activation, first))["matches"][0]["explanation"]["breakdown"]
    assert after["unemployed"] == 0.0 and after["priority"] < before["priority"]


async def test_a_merge_of_two_people_proposed_for_the_same_opportunity_declines_the_merged_ones_proposal(
    activation: RunningService,
) -> None:
    _, first, _ = await two_opportunities(activation, positions=5)
    survivor, gone = requested(), requested()
    await add_candidates(activation, survivor, gone)
    kept = await propose(activation, first, survivor.person_id)
    dropped = await propose(activation, first, gone.person_id)

    outcomes = await deliver(activation, person_merged(gone, survivor))

    assert [str(o) for o in outcomes] == ["applied"]  # not dead-lettered on the one-live-placement rule
    assert (await placement(activation, dropped["id"]))["status"] == "declined"
    assert (await placement(activation, kept["id"]))["status"] == "proposed"
    declined = await queued_events(activation, PlacementDeclinedV1)
    assert [(str(e.placement_id), e.party) for e in declined] == [(dropped["id"], "candidate")]


async def test_an_erased_persons_placements_stay_one_person_in_the_counts(activation: RunningService) -> None:
    _, first, second = await two_opportunities(activation, positions=5)
    person = requested()
    await add_candidates(activation, person)
    for opportunity in (first, second):
        await propose(activation, opportunity, person.person_id)
    await add_candidates(activation, erased(person))
    async with activation.runtime.sessions() as session:
        stand_ins = set((await session.execute(select(Placement.person_id))).scalars())
    assert len(stand_ins) == 1 and person.person_id not in stand_ins
