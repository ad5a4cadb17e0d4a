"""Transfers between municipalities, violence-restricted cases, and what cases does with intake's privacy events
(consent, erasure, merges), activation's placements and work-engagement requests, over the real app on SQLite
and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shared.events import (
    ActivationRequestedV1,
    CaseOpenedV1,
    CaseTransferredV1,
    HouseholdMergedV1,
    HouseholdUpdatedV1,
    PersonConsentChangedV1,
    PersonErasedV1,
    PersonMergedV1,
    PlacementCompletedV1,
    PlacementEndedV1,
    PlacementStartedV1,
)
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
from tests.fixtures.delivery import deliver, queued_events
from tests.fixtures.services import RunningService

NOW = datetime.now(UTC)


async def get(cases: RunningService, path: str, user: str) -> Any:
    r = await cases.client.get(f"{API}{path}", headers=cases.auth(user))
    assert r.status_code == 200, (path, user, r.text)
    return r.json()


async def kinds(cases: RunningService, case_id: str, user: str = "supervisor") -> list[str]:
    return [t["kind"] for t in await get(cases, f"/cases/{case_id}/timeline", user)]


def work_engagement(person_id: uuid.UUID, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "work_engagement",
        "person_id": str(person_id),
        "description": "Javni radovi — održavanje parka, Marija zove ponedeljkom",
        "responsible": "worker",
        "hours_per_week_min": 10,
        "hours_per_week_max": 20,
        "available_from": (date.today() + timedelta(days=7)).isoformat(),
        **extra,
    }


# --- transfer --------------------------------------------------------------------------------------------------


async def test_a_transfer_needs_an_agreement_and_hands_over_only_pseudonymous_facts(cases: RunningService) -> None:
    await register_worker(cases, "worker-ada", ADA)
    await register_worker(cases, "worker-ns", NOVI_SAD)
    head = member(age=40, able_to_work=True, consents=("case_work", "activation"), skills=("cooking",))
    child = member(age=8, relation="child")
    event = registered(head, child, municipality=ADA, below_poverty_line=True)
    await deliver(cases, event)
    case = await only_case(cases, event.household_id, "worker-ada")
    url = f"{API}/cases/{case['id']}"
    me = cases.auth("worker-ada")
    r = await cases.client.post(
        f"{url}/assessments", json=needs("low", income="critical") | {"summary": "Otac pije"}, headers=me
    )
    assert r.status_code == 201, r.text
    task = {"kind": "task", "description": "Obići porodicu Petrović", "responsible": "worker-ada"}
    assert (await cases.client.post(f"{url}/plans", json=plan(task), headers=me)).status_code == 201

    r = await cases.client.post(f"{url}/transfer", json={"to_municipality_code": NOVI_SAD}, headers=me)
    assert r.status_code == 409
    assert "No inter-municipal agreement" in r.json()["detail"] and NOVI_SAD in r.json()["detail"]
    # An agreement between other municipalities does not help.
    await create_agreement(cases, ADA, RUMA)
    r = await cases.client.post(f"{url}/transfer", json={"to_municipality_code": NOVI_SAD}, headers=me)
    assert r.status_code == 409
    r = await cases.client.post(f"{url}/transfer", json={"to_municipality_code": ADA}, headers=me)
    assert r.status_code == 422
    r = await cases.client.post(f"{url}/transfer", json={"to_municipality_code": "99999"}, headers=me)
    assert r.status_code == 422
    # The receiving office cannot pull a case over.
    r = await cases.client.post(
        f"{url}/transfer", json={"to_municipality_code": NOVI_SAD}, headers=cases.auth("worker-ns")
    )
    assert r.status_code == 404

    agreement = await create_agreement(cases, ADA, NOVI_SAD, service_types=("counselling",))
    before = await kinds(cases, case["id"])
    r = await cases.client.post(f"{url}/transfer", json={"to_municipality_code": NOVI_SAD}, headers=me)
    assert r.status_code == 200, r.text
    origin = r.json()
    assert origin["case"]["status"] == "transferred" and origin["allowed_next"] == []
    new_id = origin["case"]["transferred_to_case_id"]
    assert new_id is not None
    # The origin keeps its history, and its worker still reads it.
    after = await kinds(cases, case["id"], "worker-ada")
    assert after[: len(before)] == before and after[-1] == "transferred"
    kept = await get(cases, f"/cases/{case['id']}", "worker-ada")
    assert kept["plan"]["actions"][0]["description"] == task["description"]
    assert kept["assessments"][0]["summary"] == "Otac pije"

    # The receiving office's worker sees the new case: members, priority, need levels, and nothing else.
    listed = await get(cases, "/cases", "worker-ns")
    assert [c["id"] for c in listed] == [new_id]
    new = await get(cases, f"/cases/{new_id}", "worker-ns")
    assert new["case"]["municipality_code"] == NOVI_SAD and new["case"]["assigned_to"] == "worker-ns"
    assert new["case"]["transferred_from_case_id"] == case["id"]
    assert new["case"]["priority"] == case["priority"] == "high"
    assert new["case"]["status"] == "open"
    assert sorted(m["person_id"] for m in new["members"]) == sorted([str(head.person_id), str(child.person_id)])
    assert next(m for m in new["members"] if m["person_id"] == str(head.person_id))["skills"] == ["cooking"]
    assert new["plan"] is None and new["assessments"] == [] and new["referrals"] == []
    timeline = await get(cases, f"/cases/{new_id}/timeline", "worker-ns")
    assert [t["kind"] for t in timeline] == ["opened", "assigned"]
    assert timeline[0]["details"]["need_levels"]["income"] == "critical"
    text = json.dumps(new) + json.dumps(timeline)
    for secret in ("Otac pije", "Petrović", task["description"], "Stable income"):
        assert secret not in text
    # The origin's case stays out of the receiving office's reach, and the other way round.
    r = await cases.client.get(f"{url}", headers=cases.auth("worker-ns"))
    assert r.status_code == 404
    r = await cases.client.get(f"{API}/cases/{new_id}", headers=cases.auth("worker-ada"))
    assert r.status_code == 404

    transferred = await queued_events(cases, CaseTransferredV1)
    assert [(str(t.case_id), str(t.to_case_id), t.to_municipality_code, str(t.agreement_id)) for t in transferred] == [
        (case["id"], new_id, NOVI_SAD, agreement["id"])
    ]
    opened = [o for o in await queued_events(cases, CaseOpenedV1) if str(o.case_id) == new_id]
    assert len(opened) == 1 and str(opened[0].transferred_from_case_id) == case["id"]
    assert opened[0].municipality_code == NOVI_SAD

    # A transferred case is final at the origin.
    r = await cases.client.post(f"{url}/transfer", json={"to_municipality_code": NOVI_SAD}, headers=me)
    assert r.status_code == 409 and r.json()["errors"]["allowed"] == []


async def test_the_household_follows_the_receiving_case_after_a_transfer(cases: RunningService) -> None:
    await register_worker(cases, "worker-ada", ADA)
    await register_worker(cases, "worker-ns", NOVI_SAD)
    head = member(age=40)
    event = registered(head, municipality=ADA)
    await deliver(cases, event)
    case = await only_case(cases, event.household_id, "worker-ada")
    await create_agreement(cases, ADA, NOVI_SAD)
    r = await cases.client.post(
        f"{API}/cases/{case['id']}/transfer", json={"to_municipality_code": NOVI_SAD}, headers=cases.auth("worker-ada")
    )
    assert r.status_code == 200, r.text
    new_id = r.json()["case"]["transferred_to_case_id"]
    update = HouseholdUpdatedV1(
        **event.model_dump(exclude={"type", "members", "version"}),
        members=[head, member(age=2, relation="child")],
        version=2,
        reason="edited",
        changed_at=NOW,
    )
    await deliver(cases, update)
    assert (await get(cases, f"/cases/{new_id}", "worker-ns"))["case"]["member_count"] == 2
    assert (await get(cases, f"/cases/{case['id']}", "worker-ada"))["case"]["member_count"] == 1


async def test_a_transfer_carries_the_restriction_and_the_consent_notice(cases: RunningService) -> None:
    await register_worker(cases, "worker-ada", ADA)
    await register_worker(cases, "worker-ns", NOVI_SAD)
    await register_worker(cases, "another-ns", NOVI_SAD)  # first by name: the new case goes to them
    victim = member(age=30, markers=("victim_of_violence",))
    event = registered(victim, municipality=ADA)
    await deliver(cases, event)
    case = await only_case(cases, event.household_id, "worker-ada")
    # Intake no longer records the marker, but once flagged a case stays restricted; the member withdraws consent.
    await deliver(
        cases,
        HouseholdUpdatedV1(
            **event.model_dump(exclude={"type", "members", "version"}),
            members=[victim.model_copy(update={"markers": []})],
            version=2,
            reason="edited",
            changed_at=NOW,
        ),
        PersonConsentChangedV1(
            household_id=event.household_id,
            person_id=victim.person_id,
            purpose="case_work",
            granted=False,
            changed_at=NOW,
        ),
    )
    await create_agreement(cases, ADA, NOVI_SAD)
    r = await cases.client.post(
        f"{API}/cases/{case['id']}/transfer", json={"to_municipality_code": NOVI_SAD}, headers=cases.auth("worker-ada")
    )
    assert r.status_code == 200, r.text
    new_id = r.json()["case"]["transferred_to_case_id"]
    (opened,) = [o for o in await queued_events(cases, CaseOpenedV1) if str(o.case_id) == new_id]
    assert opened.restricted is True
    new = await get(cases, f"/cases/{new_id}", "supervisor-ns")
    assert new["case"]["restricted"] is True and new["case"]["case_work_consent_withdrawn"] is True
    assert new["case"]["assigned_to"] == "another-ns"
    assert (await cases.client.get(f"{API}/cases/{new_id}", headers=cases.auth("worker-ns"))).status_code == 404
    timeline = await get(cases, f"/cases/{new_id}/timeline", "supervisor-ns")
    assert timeline[-1]["kind"] == "case_work_consent_withdrawn"
    assert timeline[-1]["details"] == {"person_id": str(victim.person_id)}


# --- violence --------------------------------------------------------------------------------------------------


async def test_a_violence_case_is_seen_only_by_its_worker_and_the_supervisors(cases: RunningService) -> None:
    await register_worker(cases, "worker", ADA, RUMA)
    await register_worker(cases, "worker-ada", ADA)
    event = registered(member(age=30, markers=("victim_of_violence",)), member(age=5, relation="child"))
    await deliver(cases, event)
    case = await only_case(cases, event.household_id, "supervisor")
    assert case["restricted"] is True and case["priority"] == "urgent"
    assert case["assigned_to"] == "worker"
    opened = await queued_events(cases, CaseOpenedV1)
    assert opened[0].restricted is True

    for user in ("worker", "supervisor"):
        assert [c["id"] for c in await get(cases, "/cases", user)] == [case["id"]]
        assert (await get(cases, f"/cases/{case['id']}", user))["case"]["restricted"] is True
        assert await kinds(cases, case["id"], user)
    for user in ("worker-ada", "admin", "supervisor-ns", "worker-ns"):
        assert await get(cases, "/cases", user) == [], user
        assert await get(cases, "/cases?priority=urgent", user) == [], user
        for path in (f"/cases/{case['id']}", f"/cases/{case['id']}/timeline"):
            r = await cases.client.get(f"{API}{path}", headers=cases.auth(user))
            assert r.status_code == 404, (user, path, r.text)
            assert "restricted" not in r.text.lower() and "violence" not in r.text.lower()

    # Its referrals reach the provider's side, but not administrators, who may not know of the case.
    provider = await create_provider(cases, ADA, service_type="shelter")
    r = await cases.client.post(
        f"{API}/cases/{case['id']}/referrals", json={"provider_id": provider["id"]}, headers=cases.auth("worker")
    )
    assert r.status_code == 201, r.text
    assert [x["case_id"] for x in await get(cases, "/referrals", "supervisor")] == [case["id"]]
    assert await get(cases, "/referrals", "admin") == []

    # It stays restricted when reassigned: the new worker sees it, the old one no longer does.
    r = await cases.client.post(
        f"{API}/cases/{case['id']}/assignment", json={"worker": "worker-ada"}, headers=cases.auth("supervisor")
    )
    assert r.status_code == 200, r.text
    assert [c["id"] for c in await get(cases, "/cases", "worker-ada")] == [case["id"]]
    assert await get(cases, "/cases", "worker") == []


async def test_a_case_becomes_restricted_when_intake_records_violence(cases: RunningService) -> None:
    await register_worker(cases, "worker", ADA)
    head = member(age=30)
    event = registered(head)
    await deliver(cases, event)
    case = await only_case(cases, event.household_id, "worker-ada")
    assert case["restricted"] is False
    marked = head.model_copy(update={"markers": ["victim_of_violence"]})
    await deliver(
        cases,
        HouseholdUpdatedV1(
            **event.model_dump(exclude={"type", "members", "version"}),
            members=[marked],
            version=2,
            reason="edited",
            changed_at=NOW,
        ),
    )
    assert await get(cases, "/cases", "worker-ada") == []
    assert (await get(cases, f"/cases/{case['id']}", "worker"))["case"]["priority"] == "urgent"


async def test_statistics_never_single_out_violence_cases(cases: RunningService) -> None:
    await register_worker(cases, "worker", ADA, RUMA)
    # Ada: one violence case among three; Ruma: six ordinary cases.
    await deliver(
        cases,
        registered(member(markers=("victim_of_violence",)), municipality=ADA),
        registered(municipality=ADA),
        registered(municipality=ADA),
        *[registered(municipality=RUMA) for _ in range(6)],
    )
    for user in ("analyst", "admin", "supervisor"):
        rows = await get(cases, "/statistics", user)
        cells = {(c["municipality_code"], c["status"]): c for c in rows}
        ada = cells[(ADA, "open")]
        assert ada["violence_cases"] == "<5", (user, ada)
        assert ada["cases"] == "<5", (user, ada)  # 3, of which one is a violence case: not shown as a number
        assert not isinstance(ada["cases"], int)
        assert cells[(RUMA, "open")] == {
            "municipality_code": RUMA,
            "status": "open",
            "cases": 6,
            "violence_cases": 0,
        }
    # Supervisors see their own municipalities only.
    assert {c["municipality_code"] for c in await get(cases, "/statistics", "supervisor-ns")} == set()
    for user in ("worker", "employer"):
        r = await cases.client.get(f"{API}/statistics", headers=cases.auth(user))
        assert r.status_code == 403


async def test_statistics_hide_the_case_count_of_a_cell_with_few_violence_cases(cases: RunningService) -> None:
    """Six cases, one of them violence: showing 6 next to '<5' would let anyone who knew the five others count it."""
    await register_worker(cases, "worker", ADA)
    await deliver(
        cases,
        registered(member(markers=("victim_of_violence",)), municipality=ADA),
        *[registered(municipality=ADA) for _ in range(5)],
    )
    for user in ("analyst", "admin", "supervisor"):
        (cell,) = await get(cases, "/statistics", user)
        assert cell["violence_cases"] == "<5"
        assert not isinstance(cell["cases"], int), (user, cell)


# --- consent and erasure ---------------------------------------------------------------------------------------


async def test_withdrawn_consent_to_case_work_puts_a_notice_on_the_case(cases: RunningService) -> None:
    await register_worker(cases, "worker", ADA)
    head = member()
    event = registered(head)
    await deliver(cases, event)
    case = await only_case(cases, event.household_id, "worker")
    assert case["case_work_consent_withdrawn"] is False
    withdrawn = PersonConsentChangedV1(
        household_id=event.household_id, person_id=head.person_id, purpose="case_work", granted=False, changed_at=NOW
    )
    # Other purposes are not cases' business.
    await deliver(cases, withdrawn.model_copy(update={"purpose": "research"}))
    assert (await only_case(cases, event.household_id, "worker"))["case_work_consent_withdrawn"] is False
    await deliver(cases, withdrawn)
    detail = await get(cases, f"/cases/{case['id']}", "worker")
    assert detail["case"]["case_work_consent_withdrawn"] is True
    assert detail["case"]["status"] == "open"  # the case stays
    timeline = await get(cases, f"/cases/{case['id']}/timeline", "worker")
    assert timeline[-1]["kind"] == "case_work_consent_withdrawn"
    assert timeline[-1]["details"] == {"person_id": str(head.person_id)}
    await deliver(cases, withdrawn.model_copy(update={"granted": True}))
    assert (await only_case(cases, event.household_id, "worker"))["case_work_consent_withdrawn"] is False


async def test_consent_withdrawn_by_one_member_is_not_undone_by_another_granting(cases: RunningService) -> None:
    await register_worker(cases, "worker", ADA)
    a, b = member(), member(relation="spouse")
    event = registered(a, b)
    await deliver(cases, event)
    common = {"household_id": event.household_id, "purpose": "case_work", "changed_at": NOW}
    await deliver(cases, PersonConsentChangedV1(person_id=a.person_id, granted=False, **common))
    await deliver(cases, PersonConsentChangedV1(person_id=b.person_id, granted=True, **common))
    assert (await only_case(cases, event.household_id, "worker"))["case_work_consent_withdrawn"] is True
    await deliver(cases, PersonConsentChangedV1(person_id=a.person_id, granted=True, **common))
    assert (await only_case(cases, event.household_id, "worker"))["case_work_consent_withdrawn"] is False


async def test_erasure_removes_what_cases_copied_and_keeps_the_case(cases: RunningService) -> None:
    await register_worker(cases, "worker", ADA)
    erased = member(
        age=35,
        able_to_work=True,
        markers=("single_parent",),
        consents=("case_work", "activation"),
        skills=("cooking",),
    )
    other = member(age=10, relation="child")
    detail = await active_case(cases, erased, other)
    case = detail["case"]
    url = f"{API}/cases/{case['id']}"
    me = cases.auth("worker")
    service = {
        "kind": "service",
        "service_type": "counselling",
        "person_id": str(erased.person_id),
        "description": "Savetovanje za Jelenu",
        "responsible": "worker",
    }
    child_task = {"kind": "task", "person_id": str(other.person_id), "description": "Upis u školu", "responsible": "w"}
    r = await cases.client.post(f"{url}/plans", json=plan(service, child_task), headers=me)
    assert r.status_code == 201, r.text
    reassessed = needs("moderate")
    reassessed["needs"]["income"] = {"level": "high", "note": "Jelena radi sezonski, bez ugovora"}
    reassessed["summary"] = "Jelena brine sama o detetu"
    r = await cases.client.post(f"{url}/assessments", json=reassessed, headers=me)
    assert r.status_code == 201, r.text
    provider = await create_provider(cases, ADA, service_type="counselling")
    r = await cases.client.post(
        f"{url}/referrals",
        json={"provider_id": provider["id"], "person_id": str(erased.person_id), "note": "Jelena, tel 064 123"},
        headers=me,
    )
    assert r.status_code == 201, r.text

    await deliver(cases, PersonErasedV1(household_id=case["household_id"], person_id=erased.person_id, erased_at=NOW))
    after = await get(cases, f"/cases/{case['id']}", "worker")
    gone = next(m for m in after["members"] if m["person_id"] == str(erased.person_id))
    assert gone["erased"] is True
    assert (gone["skills"], gone["markers"], gone["consents"]) == ([], [], [])
    assert gone["birth_year"] == erased.birth_year  # the year stays, for statistics
    action = after["plan"]["actions"][0]
    assert action["person_erased"] is True and action["description"] is None
    assert after["plan"]["actions"][1]["description"] == "Upis u školu"  # others' actions untouched
    (referral,) = after["referrals"]
    assert referral["person_erased"] is True and referral["note"] is None
    text = json.dumps(after)
    assert "Jelena" not in text and "064 123" not in text
    # Household-level texts may name the person too: assessment notes and summaries and the plan's goals go,
    # the need levels stay.
    assert all(n["note"] is None for a in after["assessments"] for n in a["needs"].values())
    assert all(a["summary"] is None for a in after["assessments"])
    assert after["assessments"][0]["needs"]["income"]["level"] == "high"
    assert after["plan"]["goals"] == ["—"]
    # The case, its state and dates stay.
    assert after["case"]["status"] == "active"
    assert after["case"]["opened_at"] == case["opened_at"] and after["case"]["assessed_at"] == case["assessed_at"]
    assert (await kinds(cases, case["id"]))[-1] == "person_erased"

    # A later update from intake (reason person_erased) does not bring anything back.
    await deliver(
        cases,
        HouseholdUpdatedV1(
            household_id=case["household_id"],
            municipality_code=ADA,
            registered_at=NOW,
            members=[erased.model_copy(update={"skills": [], "markers": [], "consents": []}), other],
            version=5,
            reason="person_erased",
            changed_at=NOW,
        ),
    )
    again = await get(cases, f"/cases/{case['id']}", "worker")
    assert next(m for m in again["members"] if m["person_id"] == str(erased.person_id))["erased"] is True
    # And no work engagement can be planned for the erased person.
    r = await cases.client.post(f"{url}/plans", json=plan(work_engagement(erased.person_id)), headers=me)
    assert r.status_code == 422 and "erased" in r.text


# --- merges ----------------------------------------------------------------------------------------------------


async def test_a_merged_households_case_moves_to_the_survivor(cases: RunningService) -> None:
    await register_worker(cases, "worker", ADA)
    person = member()
    merged = registered(person)
    await deliver(cases, merged)
    case = await only_case(cases, merged.household_id, "worker")
    survivor_id = uuid.uuid4()  # registered before cases existed: no case of its own
    await deliver(
        cases,
        HouseholdMergedV1(
            survivor_household_id=survivor_id,
            merged_household_id=merged.household_id,
            moved_person_ids=[person.person_id],
            merged_at=NOW,
        ),
    )
    moved = await only_case(cases, survivor_id, "worker")
    assert moved["id"] == case["id"] and moved["household_id"] == str(survivor_id)
    r = await cases.client.get(
        f"{API}/cases", params={"household_id": str(merged.household_id)}, headers=cases.auth("worker")
    )
    assert r.json() == []
    assert (await kinds(cases, case["id"]))[-1] == "household_merged"


async def test_when_both_households_have_cases_the_older_one_stays(cases: RunningService) -> None:
    await register_worker(cases, "worker", ADA)
    a, b, same_as_a = member(), member(relation="child", age=7), member()
    survivor = registered(a)
    await deliver(cases, survivor)
    merged = registered(same_as_a, b)
    await deliver(cases, merged)
    older = await only_case(cases, survivor.household_id, "worker")
    newer = await only_case(cases, merged.household_id, "worker")
    await deliver(
        cases,
        HouseholdMergedV1(
            survivor_household_id=survivor.household_id,
            merged_household_id=merged.household_id,
            moved_person_ids=[b.person_id],
            merged_person_ids={same_as_a.person_id: a.person_id},
            merged_at=NOW,
        ),
    )
    both = await get(cases, f"/cases?household_id={survivor.household_id}", "worker")
    by_id = {c["id"]: c for c in both}
    assert set(by_id) == {older["id"], newer["id"]}
    assert by_id[older["id"]]["merged_into_case_id"] is None
    assert by_id[newer["id"]]["merged_into_case_id"] == older["id"]
    old_timeline = await get(cases, f"/cases/{older['id']}/timeline", "worker")
    new_timeline = await get(cases, f"/cases/{newer['id']}/timeline", "worker")
    assert old_timeline[-1]["kind"] == "household_merged"
    assert old_timeline[-1]["details"]["linked_case_id"] == newer["id"]
    assert new_timeline[-1]["kind"] == "merged_into" and new_timeline[-1]["details"]["kept_case_id"] == older["id"]
    # The duplicate person is the survivor person in the newer case too.
    members = {m["person_id"] for m in (await get(cases, f"/cases/{newer['id']}", "worker"))["members"]}
    assert members == {str(a.person_id), str(b.person_id)}
    # A supervisor closes the linked one with reason 'merged'.
    r = await cases.client.post(
        f"{API}/cases/{newer['id']}/status", json={"to": "closed", "reason": "merged"}, headers=cases.auth("supervisor")
    )
    assert r.status_code == 200 and r.json()["case"]["close_reason"] == "merged"


async def test_when_the_merged_households_case_is_the_older_it_becomes_the_survivors_case(
    cases: RunningService,
) -> None:
    await register_worker(cases, "worker", ADA)
    merged = registered(member())
    await deliver(cases, merged)
    survivor = registered(member())
    await deliver(cases, survivor)
    older = await only_case(cases, merged.household_id, "worker")
    newer = await only_case(cases, survivor.household_id, "worker")
    await deliver(
        cases,
        HouseholdMergedV1(
            survivor_household_id=survivor.household_id,
            merged_household_id=merged.household_id,
            moved_person_ids=[m.person_id for m in merged.members],
            merged_at=NOW,
        ),
    )
    both = {c["id"]: c for c in await get(cases, f"/cases?household_id={survivor.household_id}", "worker")}
    assert both[older["id"]]["merged_into_case_id"] is None
    assert both[newer["id"]]["merged_into_case_id"] == older["id"]
    assert await get(cases, f"/cases?household_id={merged.household_id}", "worker") == []


async def test_a_merged_person_is_rekeyed_in_members_plans_and_referrals(cases: RunningService) -> None:
    await register_worker(cases, "worker", ADA)
    duplicate = member(age=30)
    detail = await active_case(cases, duplicate)
    case = detail["case"]
    url = f"{API}/cases/{case['id']}"
    me = cases.auth("worker")
    action = {"kind": "task", "person_id": str(duplicate.person_id), "description": "x", "responsible": "worker"}
    assert (await cases.client.post(f"{url}/plans", json=plan(action), headers=me)).status_code == 201
    provider = await create_provider(cases, ADA)
    r = await cases.client.post(
        f"{url}/referrals", json={"provider_id": provider["id"], "person_id": str(duplicate.person_id)}, headers=me
    )
    assert r.status_code == 201
    survivor = uuid.uuid4()
    await deliver(
        cases,
        PersonMergedV1(
            survivor_person_id=survivor,
            survivor_household_id=uuid.UUID(case["household_id"]),
            merged_person_id=duplicate.person_id,
            merged_household_id=uuid.UUID(case["household_id"]),
            merged_at=NOW,
        ),
    )
    after = await get(cases, f"/cases/{case['id']}", "worker")
    assert [m["person_id"] for m in after["members"]] == [str(survivor)]
    assert after["plan"]["actions"][0]["person_id"] == str(survivor)
    assert after["referrals"][0]["person_id"] == str(survivor)


# --- placements ------------------------------------------------------------------------------------------------


async def test_placements_appear_in_the_timeline_and_their_end_puts_the_case_up_for_review(
    cases: RunningService,
) -> None:
    await register_worker(cases, "worker", ADA)
    person = member(able_to_work=True, consents=("case_work", "activation"))
    case = (await active_case(cases, person))["case"]
    base = {
        "placement_id": uuid.uuid4(),
        "opportunity_id": uuid.uuid4(),
        "person_id": person.person_id,
        "case_id": uuid.UUID(case["id"]),
        "municipality_code": ADA,
    }
    await deliver(cases, PlacementStartedV1(**base, started_at=NOW))
    assert (await kinds(cases, case["id"], "worker"))[-1] == "placement_started"
    assert await get(cases, "/reviews", "worker") == []

    await deliver(cases, PlacementCompletedV1(**base, hours_worked=120, completed_at=NOW))
    timeline = await get(cases, f"/cases/{case['id']}/timeline", "worker")
    assert [t["kind"] for t in timeline[-2:]] == ["placement_completed", "review_requested"]
    assert timeline[-2]["details"]["hours_worked"] == 120
    reviews = await get(cases, "/reviews", "worker")
    assert [r["case"]["id"] for r in reviews] == [case["id"]]
    assert reviews[0]["case"]["review_reason"] == "placement_completed"

    # A new plan version is the review.
    r = await cases.client.post(f"{API}/cases/{case['id']}/plans", json=plan(), headers=cases.auth("worker"))
    assert r.status_code == 201, r.text
    assert r.json()["case"]["review_due_since"] is None
    assert await get(cases, "/reviews", "worker") == []

    # Without a case id, the person's case is found; an early end puts it up for review again.
    ended = base | {"placement_id": uuid.uuid4(), "case_id": None}
    await deliver(cases, PlacementEndedV1(**ended, reason="health", hours_worked=8, ended_at=NOW))
    assert (await kinds(cases, case["id"], "worker"))[-2:] == ["placement_ended", "review_requested"]
    assert [r["case"]["review_reason"] for r in await get(cases, "/reviews", "worker")] == ["placement_ended"]
    caseload = await get(cases, f"/caseload?municipality={ADA}", "supervisor")
    assert caseload["workers"][0]["up_for_review"] == 1


async def test_a_placement_asked_for_before_a_transfer_reaches_the_receiving_case(cases: RunningService) -> None:
    await register_worker(cases, "worker", ADA)
    await register_worker(cases, "worker-ns", NOVI_SAD)
    person = member(able_to_work=True, consents=("case_work", "activation"))
    case = (await active_case(cases, person))["case"]
    await create_agreement(cases, ADA, NOVI_SAD)
    r = await cases.client.post(
        f"{API}/cases/{case['id']}/transfer", json={"to_municipality_code": NOVI_SAD}, headers=cases.auth("worker")
    )
    assert r.status_code == 200, r.text
    new_id = r.json()["case"]["transferred_to_case_id"]
    await deliver(
        cases,
        PlacementEndedV1(
            placement_id=uuid.uuid4(),
            opportunity_id=uuid.uuid4(),
            person_id=person.person_id,
            case_id=uuid.UUID(case["id"]),
            municipality_code=ADA,
            reason="found_other_work",
            hours_worked=40,
            ended_at=NOW,
        ),
    )
    assert (await kinds(cases, new_id, "worker-ns"))[-2:] == ["placement_ended", "review_requested"]
    assert [r["case"]["id"] for r in await get(cases, "/reviews", "worker-ns")] == [new_id]
    assert (await kinds(cases, case["id"], "worker"))[-1] == "transferred"


async def test_a_placement_of_someone_no_case_knows_changes_nothing(cases: RunningService) -> None:
    from shared.messaging.applier import Outcome

    outcome = await deliver(
        cases,
        PlacementStartedV1(
            placement_id=uuid.uuid4(),
            opportunity_id=uuid.uuid4(),
            person_id=uuid.uuid4(),
            municipality_code=ADA,
            started_at=NOW,
        ),
    )
    assert outcome == [Outcome.applied]


# --- work engagement -------------------------------------------------------------------------------------------


async def test_a_work_engagement_sends_activation_a_pseudonymous_candidate_profile(cases: RunningService) -> None:
    await register_worker(cases, "worker", ADA)
    candidate = member(
        age=32,
        sex="F",
        able_to_work=True,
        consents=("case_work", "activation"),
        skills=("cooking", "cleaning"),
        markers=("single_parent", "victim_of_violence", "roma"),
    )
    child = member(age=4, relation="child")
    event = registered(candidate, child, municipality=ADA, below_poverty_line=True)
    await deliver(cases, event)
    case = await only_case(cases, event.household_id, "worker")
    url = f"{API}/cases/{case['id']}"
    me = cases.auth("worker")
    assert (await cases.client.post(f"{url}/assessments", json=needs(), headers=me)).status_code == 201
    engagement = work_engagement(candidate.person_id, unemployed_since="2022-03-01")
    r = await cases.client.post(f"{url}/plans", json=plan(engagement), headers=me)
    assert r.status_code == 201, r.text
    action = r.json()["plan"]["actions"][0]
    assert action["activation_request_id"] is not None

    (request,) = await queued_events(cases, ActivationRequestedV1)
    assert str(request.request_id) == action["activation_request_id"]
    assert request.person_id == candidate.person_id and str(request.case_id) == case["id"]
    assert request.municipality_code == ADA
    assert (request.sex, request.birth_year) == ("F", candidate.birth_year)
    assert request.skills == ["cooking", "cleaning"]
    assert sorted(request.markers) == ["roma", "single_parent"]  # never victim_of_violence
    assert request.availability.hours_per_week_min == 10 and request.availability.hours_per_week_max == 20
    assert request.availability.available_from.isoformat() == engagement["available_from"]
    assert request.unemployed_since == date(2022, 3, 1)
    payload = json.loads(request.model_dump_json())
    flat = json.dumps(payload).lower()
    for key in ("name", "first_name", "last_name", "jmbg", "address", "phone", "description", "note", "goals"):
        assert key not in payload, key
    assert "violence" not in flat
    for text in ("marija", "park", "stable income", "javni"):
        assert text not in flat, text

    # The next plan version with the same engagement asks for nothing new; a changed one does.
    r = await cases.client.post(f"{url}/plans", json=plan(engagement), headers=me)
    assert r.status_code == 201 and r.json()["plan"]["version"] == 2
    assert r.json()["plan"]["actions"][0]["activation_request_id"] == action["activation_request_id"]
    assert len(await queued_events(cases, ActivationRequestedV1)) == 1
    r = await cases.client.post(
        f"{url}/plans", json=plan(work_engagement(candidate.person_id, hours_per_week_max=30)), headers=me
    )
    assert r.status_code == 201
    assert len(await queued_events(cases, ActivationRequestedV1)) == 2
    assert (await kinds(cases, case["id"], "worker")).count("activation_requested") == 2


async def test_a_work_engagement_needs_a_member_who_can_work_and_consented(cases: RunningService) -> None:
    await register_worker(cases, "worker", ADA)
    unable = member(able_to_work=False, consents=("case_work", "activation"))
    no_consent = member(able_to_work=True, consents=("case_work",), relation="spouse")
    case = (await active_case(cases, unable, no_consent))["case"]
    url = f"{API}/cases/{case['id']}/plans"
    me = cases.auth("worker")
    r = await cases.client.post(url, json=plan(work_engagement(unable.person_id)), headers=me)
    assert r.status_code == 422 and "able to work" in r.text
    assert r.json()["errors"][0]["loc"] == ["body", "actions", 0, "person_id"]
    r = await cases.client.post(url, json=plan(work_engagement(no_consent.person_id)), headers=me)
    assert r.status_code == 422 and "not consented to activation" in r.text
    r = await cases.client.post(url, json=plan(work_engagement(uuid.uuid4())), headers=me)
    assert r.status_code == 422 and "not a member" in r.text
    engagement = work_engagement(no_consent.person_id)
    del engagement["person_id"]
    r = await cases.client.post(url, json=plan(engagement), headers=me)
    assert r.status_code == 422 and "choose who" in r.text
    r = await cases.client.post(
        url, json=plan(work_engagement(unable.person_id, hours_per_week_min=30, hours_per_week_max=10)), headers=me
    )
    assert r.status_code == 422
    assert await queued_events(cases, ActivationRequestedV1) == []
    assert (await get(cases, f"/cases/{case['id']}", "worker"))["plan"]["version"] == 1
