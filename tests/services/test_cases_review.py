"""Defects found reviewing the cases service, each pinned by the test that showed it (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shared.events import HouseholdMergedV1, HouseholdRegisteredV2, HouseholdUpdatedV1, PersonErasedV1
from tests.fixtures.auth import ADA, NOVI_SAD
from tests.fixtures.cases import (
    API,
    active_case,
    create_agreement,
    create_provider,
    member,
    only_case,
    register_worker,
    registered,
)
from tests.fixtures.delivery import deliver
from tests.fixtures.services import RunningService

NOW = datetime.now(UTC)


def updated(
    event: HouseholdRegisteredV2, *members: Any, version: int = 2, reason: str = "edited"
) -> HouseholdUpdatedV1:
    return HouseholdUpdatedV1(
        **event.model_dump(exclude={"type", "members", "version"}),
        members=list(members),
        version=version,
        reason=reason,  # type: ignore[arg-type]
        changed_at=NOW,
    )


async def test_an_update_after_an_erasure_does_not_bring_back_relation_and_education(cases: RunningService) -> None:
    """docs/privacy.md: the erased member's relation and education are removed. Intake keeps both (only names,
    JMBG, birth date, phone, skills, markers and consents go), so the household.updated that follows the erasure
    still carries them: cases copied them back."""
    await register_worker(cases, "worker", ADA)
    erased = member(age=30, relation="spouse").model_copy(update={"education": "secondary"})
    head = member(age=50)
    detail = await active_case(cases, head, erased)
    household_id = detail["case"]["household_id"]
    await deliver(cases, PersonErasedV1(household_id=household_id, person_id=erased.person_id, erased_at=NOW))
    event = registered(head, erased, household_id=household_id)
    after_intake = erased.model_copy(update={"skills": [], "markers": [], "consents": []})
    await deliver(cases, updated(event, head, after_intake, reason="person_erased"))

    r = await cases.client.get(f"{API}/cases/{detail['case']['id']}", headers=cases.auth("supervisor"))
    gone = next(m for m in r.json()["members"] if m["person_id"] == str(erased.person_id))
    assert gone["erased"] is True
    assert gone["relation"] is None and gone["education"] is None


async def test_an_update_delivered_before_the_registration_is_not_lost(cases: RunningService) -> None:
    """household.updated processed before household.registered (the registration parked in the DLQ and replayed,
    say): the update found no case and was dropped; the registration then opened the case from the older state, so
    a member marked as a victim of violence in the update left the case unrestricted and visible to every worker."""
    await register_worker(cases, "worker-ada", ADA)
    head = member(age=40)
    event = registered(head)
    marked = head.model_copy(update={"markers": ["victim_of_violence"]})
    await deliver(cases, updated(event, marked, member(age=3, relation="child")))
    await deliver(cases, event)

    case = await only_case(cases, event.household_id, "supervisor")
    assert case["restricted"] is True and case["priority"] == "urgent"
    assert case["member_count"] == 2
    r = await cases.client.get(f"{API}/cases", headers=cases.auth("worker"))  # not assigned: must not see it
    assert r.status_code == 200 and r.json() == []


async def test_odd_digits_in_a_number_field_are_a_422_not_a_500(cases: RunningService) -> None:
    """'²' passes str.isdigit() but int() refuses it: the plan and provider forms answered 500."""
    await register_worker(cases, "worker", ADA)
    detail = await active_case(cases, member(age=35, able_to_work=True, consents=("case_work", "activation")))
    url = f"/cases/cases/{detail['case']['id']}/plan"
    form = {
        "goals": "Posao",
        "review_date": (date.today() + timedelta(days=30)).isoformat(),
        "actions-a1-kind": "work_engagement",
        "actions-a1-person_id": detail["members"][0]["person_id"],
        "actions-a1-responsible": "worker",
        "actions-a1-hours_per_week_min": "²",
        "actions-a1-hours_per_week_max": "20",
        "actions-a1-available_from": date.today().isoformat(),
    }
    r = await cases.client.post(url, data=form, headers=cases.auth("worker"))
    assert r.status_code == 422, r.text[:500]
    provider = {"name": "Dnevni boravak", "service_type": "day_care", "municipality_code": ADA, "capacity": "³"}
    r = await cases.client.post("/cases/providers", data=provider, headers=cases.auth("admin"))
    assert r.status_code == 422, r.text[:500]


async def test_a_merge_moves_the_receiving_office_case_of_a_transferred_household(cases: RunningService) -> None:
    """After a transfer, the household's live case is the receiving office's (transferred_from set). A merge moved
    only the household's first case (the transferred origin), so the live case kept the merged household's id and
    stopped following intake: a violence marker recorded on the survivor left it unrestricted."""
    await register_worker(cases, "worker-ada", ADA)
    await register_worker(cases, "worker-ns", NOVI_SAD)
    head = member(age=40)
    merged = registered(head, municipality=ADA)
    await deliver(cases, merged)
    origin = await only_case(cases, merged.household_id, "worker-ada")
    await create_agreement(cases, ADA, NOVI_SAD)
    r = await cases.client.post(
        f"{API}/cases/{origin['id']}/transfer",
        json={"to_municipality_code": NOVI_SAD},
        headers=cases.auth("worker-ada"),
    )
    assert r.status_code == 200, r.text
    live_id = r.json()["case"]["transferred_to_case_id"]

    survivor_id = uuid.uuid4()
    await deliver(
        cases,
        HouseholdMergedV1(
            survivor_household_id=survivor_id,
            merged_household_id=merged.household_id,
            moved_person_ids=[head.person_id],
            merged_at=NOW,
        ),
    )
    marked = head.model_copy(update={"markers": ["victim_of_violence"]})
    survivor = registered(head, municipality=ADA, household_id=survivor_id)
    await deliver(cases, updated(survivor, marked, version=5, reason="merged"))

    r = await cases.client.get(f"{API}/cases/{live_id}", headers=cases.auth("supervisor-ns"))
    assert r.status_code == 200, r.text
    assert r.json()["case"]["household_id"] == str(survivor_id)
    assert r.json()["case"]["restricted"] is True


async def test_a_case_worker_cannot_count_a_colleagues_violence_cases_in_the_workers_list(
    cases: RunningService,
) -> None:
    """GET /workers gave case workers their colleagues' active caseload with restricted cases counted: next to the
    case list (which leaves those cases out), the difference is exactly the colleague's violence cases."""
    await register_worker(cases, "worker", ADA)
    await register_worker(cases, "worker-ada", ADA)
    victim = registered(member(markers=("victim_of_violence",)))
    await deliver(cases, victim)
    case = await only_case(cases, victim.household_id, "supervisor")
    assert case["assigned_to"] == "worker" and case["restricted"] is True

    def loads(rows: list[dict[str, Any]]) -> dict[str, int]:
        return {w["sub"]: w["active_cases"] for w in rows}

    r = await cases.client.get(f"{API}/workers", headers=cases.auth("worker-ada"))
    assert r.status_code == 200 and loads(r.json())["worker"] == 0
    r = await cases.client.get(f"{API}/workers", headers=cases.auth("worker"))  # their own cases they see
    assert r.status_code == 200 and loads(r.json())["worker"] == 1
    r = await cases.client.get(f"{API}/workers", headers=cases.auth("supervisor"))
    assert r.status_code == 200 and loads(r.json())["worker"] == 1


async def test_a_note_on_closing_is_kept_in_the_timeline_and_goes_with_an_erasure(cases: RunningService) -> None:
    await register_worker(cases, "worker", ADA)
    mother = member(age=30)
    case = (await active_case(cases, mother))["case"]
    url = f"{API}/cases/{case['id']}"
    r = await cases.client.post(
        f"{url}/status",
        json={"to": "closed", "reason": "moved_away", "note": "Otišla kod sestre u Suboticu"},
        headers=cases.auth("worker"),
    )
    assert r.status_code == 200, r.text
    timeline = (await cases.client.get(f"{url}/timeline", headers=cases.auth("worker"))).json()
    assert timeline[-1]["details"]["note"] == "Otišla kod sestre u Suboticu"
    page = await cases.client.get(f"/cases/cases/{case['id']}", headers=cases.auth("worker"))
    assert "Otišla kod sestre u Suboticu" in page.text

    await deliver(
        cases,
        PersonErasedV1(household_id=case["household_id"], person_id=mother.person_id, erased_at=datetime.now(UTC)),
    )
    timeline = (await cases.client.get(f"{url}/timeline", headers=cases.auth("worker"))).json()
    assert "Suboticu" not in str(timeline)


async def test_a_request_for_a_case_closed_meanwhile_cannot_be_accepted(cases: RunningService) -> None:
    await register_worker(cases, "worker", ADA)
    case = (await active_case(cases))["case"]
    provider = await create_provider(cases, ADA, service_type="day_care")
    r = await cases.client.post(
        f"{API}/cases/{case['id']}/referrals", json={"provider_id": provider["id"]}, headers=cases.auth("worker")
    )
    assert r.status_code == 201, r.text
    referral = r.json()
    r = await cases.client.post(
        f"{API}/cases/{case['id']}/status", json={"to": "closed", "reason": "moved_away"}, headers=cases.auth("worker")
    )
    assert r.status_code == 200
    r = await cases.client.post(
        f"{API}/referrals/{referral['id']}/decision", json={"decision": "accepted"}, headers=cases.auth("supervisor")
    )
    assert r.status_code == 409 and "lapsed" in r.json()["detail"]
    r = await cases.client.post(
        f"{API}/referrals/{referral['id']}/decision",
        json={"decision": "declined", "reason": "Case closed"},
        headers=cases.auth("supervisor"),
    )
    assert r.status_code == 200
