"""What activation's placement steps leave in a case, over the real app on SQLite and PostgreSQL: a proposal, each
party's answer and the hours worked appear in the case's timeline (ids and codes only), in the case page's three
languages, and a redelivered event adds nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.events import (
    EventData,
    MatchProposedV1,
    PlacementAcceptedV1,
    PlacementDeclinedV1,
    PlacementHoursRecordedV1,
)
from shared.messaging.applier import Outcome
from tests.fixtures.auth import ADA, RUMA
from tests.fixtures.cases import API, active_case, member, register_worker
from tests.fixtures.delivery import deliver, envelope_for
from tests.fixtures.services import RunningService

NOW = datetime.now(UTC)


async def timeline(cases: RunningService, case_id: str) -> list[dict[str, Any]]:
    r = await cases.client.get(f"{API}/cases/{case_id}/timeline", headers=cases.auth("worker"))
    assert r.status_code == 200, r.text
    return list(r.json())


def placement_steps(person_id: uuid.UUID, case_id: uuid.UUID) -> tuple[list[EventData], uuid.UUID, uuid.UUID]:
    """A proposal both parties accept and an hours record, then a second proposal's decline (without a case id:
    the person's case is found)."""
    placement, opportunity = uuid.uuid4(), uuid.uuid4()
    base: dict[str, Any] = {
        "placement_id": placement,
        "opportunity_id": opportunity,
        "person_id": person_id,
        "case_id": case_id,
        "municipality_code": ADA,
    }
    at = [NOW + timedelta(minutes=i) for i in range(5)]
    other = base | {"placement_id": uuid.uuid4(), "opportunity_id": uuid.uuid4(), "case_id": None}
    events: list[EventData] = [
        MatchProposedV1(
            **base,
            opportunity_municipality_code=RUMA,
            opportunity_type="public_works",
            score=71.5,
            rank=2,
            proposed_at=at[0],
        ),
        PlacementAcceptedV1(**base, party="candidate", both=False, accepted_at=at[1]),
        PlacementAcceptedV1(**base, party="employer", both=True, accepted_at=at[2]),
        PlacementHoursRecordedV1(**base, month="2026-10", hours=40, hours_total=40, recorded_at=at[3]),
        PlacementDeclinedV1(**other, party="employer", reason="positions_filled", declined_at=at[4]),
    ]
    return events, placement, opportunity


async def test_placement_steps_appear_in_the_timeline_in_order_and_a_redelivery_adds_nothing(
    cases: RunningService,
) -> None:
    await register_worker(cases, "worker", ADA)
    person = member(able_to_work=True, consents=("case_work", "activation"))
    case = (await active_case(cases, person))["case"]
    events, placement, opportunity = placement_steps(person.person_id, uuid.UUID(case["id"]))
    envelopes = [envelope_for(e) for e in events]
    before = len(await timeline(cases, case["id"]))

    for event, envelope in zip(events, envelopes, strict=True):
        assert await deliver(cases, (event, envelope)) == [Outcome.applied]
    entries = (await timeline(cases, case["id"]))[before:]
    assert [e["kind"] for e in entries] == [
        "match_proposed",
        "placement_accepted",
        "placement_accepted",
        "placement_hours",
        "placement_declined",
    ]
    ids = {"placement_id": str(placement), "opportunity_id": str(opportunity), "person_id": str(person.person_id)}
    assert [e["details"] for e in entries[:4]] == [
        ids | {"opportunity_type": "public_works", "opportunity_municipality_code": RUMA},
        ids | {"party": "candidate", "both": False},
        ids | {"party": "employer", "both": True},
        ids | {"month": "2026-10", "hours": 40, "hours_total": 40},
    ]
    assert entries[4]["details"]["person_id"] == str(person.person_id)
    assert (entries[4]["details"]["party"], entries[4]["details"]["reason"]) == ("employer", "positions_filled")
    assert all(e["actor"] is None for e in entries)
    r = await cases.client.get(f"{API}/reviews", headers=cases.auth("worker"))
    assert r.json() == []  # only a completed or ended placement puts the case up for review

    # The same envelopes again (a redelivery after a crash before the offset was committed): nothing new.
    assert await deliver(cases, *zip(events, envelopes, strict=True)) == [Outcome.duplicate] * len(events)
    assert (await timeline(cases, case["id"]))[before:] == entries


async def test_the_case_page_tells_the_placement_steps_in_the_three_languages(cases: RunningService) -> None:
    await register_worker(cases, "worker", ADA)
    person = member(able_to_work=True, consents=("case_work", "activation"))
    case = (await active_case(cases, person))["case"]
    events, _, _ = placement_steps(person.person_id, uuid.UUID(case["id"]))
    await deliver(cases, *events)
    expected = {
        "sr-Latn": (
            "Predlog za radno angažovanje",
            "Radno angažovanje je prihvaćeno",
            "od strane kandidata",
            "obe strane su prihvatile",
            "sati za 10.2026.: 40",
            "Radno angažovanje je odbijeno",
            "Mesta su popunjena",
        ),
        "sr-Cyrl": ("Предлог за радно ангажовање", "од стране послодавца", "Уписани су сати рада"),
        "en": (
            "Proposed for a work opportunity",
            "Work placement accepted",
            "by the employer, both sides have accepted",
            "Hours of work recorded",
            "hours in 10.2026.: 40",
            "The positions are filled",
        ),
    }
    for language, texts in expected.items():
        headers = cases.auth("worker") | {"Cookie": f"oslonac_lang={language}"}
        page = await cases.client.get(f"/cases/cases/{case['id']}", headers=headers)
        assert page.status_code == 200, page.text
        shown = page.text[page.text.index('id="timeline"') :]
        for text in texts:
            assert text in shown, (language, text)


async def test_a_placement_of_a_case_merged_away_lands_on_the_kept_case(cases: RunningService) -> None:
    from shared.events import HouseholdMergedV1, PlacementCompletedV1
    from tests.fixtures.cases import only_case, registered

    await register_worker(cases, "worker", ADA)
    a, same_as_a = member(able_to_work=True), member(able_to_work=True)
    survivor, merged = registered(a), registered(same_as_a)
    await deliver(cases, survivor, merged)
    older = await only_case(cases, survivor.household_id, "worker")
    newer = await only_case(cases, merged.household_id, "worker")
    await deliver(
        cases,
        HouseholdMergedV1(
            survivor_household_id=survivor.household_id,
            merged_household_id=merged.household_id,
            moved_person_ids=[],
            merged_person_ids={same_as_a.person_id: a.person_id},
            merged_at=NOW,
        ),
    )
    done = PlacementCompletedV1(
        placement_id=uuid.uuid4(),
        opportunity_id=uuid.uuid4(),
        person_id=a.person_id,
        case_id=uuid.UUID(newer["id"]),  # asked for in the case that was merged away
        municipality_code=ADA,
        hours_worked=80,
        completed_at=NOW,
    )
    assert [str(o) for o in await deliver(cases, done)] == ["applied"]
    kept = [e["kind"] for e in await timeline(cases, older["id"])]
    assert kept[-2:] == ["placement_completed", "review_requested"]
    assert "placement_completed" not in [e["kind"] for e in await timeline(cases, newer["id"])]
