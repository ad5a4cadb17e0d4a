"""Providers, inter-municipal agreements and referrals over cases' HTTP API, on SQLite and PostgreSQL: who keeps
the registries, when a referral may cross a municipal border, capacity, the provider side's answers, and the
events each step queues."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

from shared.events import AgreementChangedV1, ProviderChangedV1, ReferralDecidedV1, ReferralRequestedV1
from tests.fixtures.auth import ADA, NOVI_SAD, RUMA
from tests.fixtures.cases import (
    API,
    active_case,
    create_agreement,
    create_provider,
    register_worker,
)
from tests.fixtures.delivery import queued_events
from tests.fixtures.services import RunningService

TODAY = date.today()


async def refer(cases: RunningService, case_id: str, provider_id: str, user: str = "worker", **extra: object):  # type: ignore[no-untyped-def]
    return await cases.client.post(
        f"{API}/cases/{case_id}/referrals", json={"provider_id": provider_id, **extra}, headers=cases.auth(user)
    )


async def decide(cases: RunningService, referral_id: str, decision: str, user: str, reason: str | None = None):  # type: ignore[no-untyped-def]
    body = {"decision": decision} | ({"reason": reason} if reason is not None else {})
    return await cases.client.post(f"{API}/referrals/{referral_id}/decision", json=body, headers=cases.auth(user))


async def provider_occupancy(cases: RunningService, provider_id: str) -> int:
    r = await cases.client.get(f"{API}/providers", headers=cases.auth("analyst"))
    assert r.status_code == 200, r.text
    return next(p["occupancy"] for p in r.json() if p["id"] == provider_id)


# --- the provider registry -------------------------------------------------------------------------------------


async def test_supervisors_of_the_municipality_and_admins_keep_the_provider_registry(cases: RunningService) -> None:
    body = {"name": "Dnevni boravak Ada", "service_type": "day_care", "municipality_code": ADA, "capacity": 10}
    for user in ("worker", "worker-ada", "supervisor-ns", "analyst", "employer"):
        r = await cases.client.post(f"{API}/providers", json=body, headers=cases.auth(user))
        assert r.status_code == 403, (user, r.text)
    r = await cases.client.post(f"{API}/providers", json=body, headers=cases.auth("supervisor"))
    assert r.status_code == 201, r.text
    provider = r.json()
    assert (provider["capacity"], provider["occupancy"], provider["active"]) == (10, 0, True)
    r = await cases.client.post(
        f"{API}/providers", json=body | {"municipality_code": NOVI_SAD}, headers=cases.auth("admin")
    )
    assert r.status_code == 201, r.text

    url = f"{API}/providers/{provider['id']}"
    r = await cases.client.patch(url, json={"capacity": 12}, headers=cases.auth("supervisor-ns"))
    assert r.status_code == 403 and ADA in r.json()["detail"]
    r = await cases.client.patch(url, json={"capacity": 12, "occupancy": 3}, headers=cases.auth("supervisor"))
    assert r.status_code == 200 and (r.json()["capacity"], r.json()["occupancy"]) == (12, 3)
    r = await cases.client.patch(url, json={"active": False}, headers=cases.auth("admin"))
    assert r.status_code == 200 and r.json()["active"] is False

    listed = (await cases.client.get(f"{API}/providers", headers=cases.auth("worker"))).json()
    assert provider["id"] not in [p["id"] for p in listed]  # inactive ones are hidden unless asked for
    listed = (
        await cases.client.get(f"{API}/providers", params={"include_inactive": True}, headers=cases.auth("worker"))
    ).json()
    assert provider["id"] in [p["id"] for p in listed]

    changes = [
        (str(e.provider_id), e.capacity, e.occupancy, e.active) for e in await queued_events(cases, ProviderChangedV1)
    ]
    pid = changes[0][0]
    assert [c for c in changes if c[0] == pid] == [(pid, 10, 0, True), (pid, 12, 3, True), (pid, 12, 3, False)]
    assert len(changes) == 4  # and the Novi Sad provider's registration


async def test_occupancy_beyond_capacity_is_refused(cases: RunningService) -> None:
    body = {"name": "Pomoć u kući", "service_type": "home_help", "municipality_code": ADA, "capacity": 2}
    r = await cases.client.post(f"{API}/providers", json=body | {"occupancy": 3}, headers=cases.auth("admin"))
    assert r.status_code == 422 and "capacity" in r.json()["detail"]
    provider = await create_provider(cases, ADA, service_type="home_help", capacity=2, occupancy=2)
    url = f"{API}/providers/{provider['id']}"
    r = await cases.client.patch(url, json={"capacity": 1}, headers=cases.auth("admin"))
    assert r.status_code == 422 and "cannot exceed capacity" in r.json()["detail"]
    r = await cases.client.patch(url, json={"occupancy": 5}, headers=cases.auth("admin"))
    assert r.status_code == 422
    assert await provider_occupancy(cases, provider["id"]) == 2
    assert len(await queued_events(cases, ProviderChangedV1)) == 1  # refused changes announce nothing


# --- agreements ------------------------------------------------------------------------------------------------


async def test_an_agreement_joins_two_or_more_known_municipalities_with_dates_in_order(cases: RunningService) -> None:
    good = {
        "name": "Ada i Ruma",
        "municipalities": [ADA, RUMA],
        "service_types": ["day_care"],
        "valid_from": TODAY.isoformat(),
    }
    me = cases.auth("supervisor")
    for bad in (
        good | {"municipalities": [ADA]},
        good | {"municipalities": [ADA, ADA]},
        good | {"municipalities": [ADA, "99999"]},
        good | {"valid_to": (TODAY - timedelta(days=1)).isoformat()},
        good | {"service_types": []},
        good | {"service_types": ["juggling"]},
    ):
        r = await cases.client.post(f"{API}/agreements", json=bad, headers=me)
        assert r.status_code == 422, (bad, r.text)
    r = await cases.client.post(f"{API}/agreements", json=good, headers=cases.auth("supervisor-ns"))
    assert r.status_code == 403
    # One side alone does not bind the other: Novi Sad's supervisor cannot record Novi Sad–Ada.
    one_sided = good | {"municipalities": [NOVI_SAD, ADA]}
    r = await cases.client.post(f"{API}/agreements", json=one_sided, headers=cases.auth("supervisor-ns"))
    assert r.status_code == 403 and "all of them" in r.json()["detail"]
    r = await cases.client.post(f"{API}/agreements", json=good, headers=me)
    assert r.status_code == 201, r.text
    agreement = r.json()
    assert agreement["municipalities"] == sorted([ADA, RUMA]) and agreement["valid_to"] is None

    end = f"{API}/agreements/{agreement['id']}/end"
    r = await cases.client.post(end, json={"valid_to": (TODAY - timedelta(days=3)).isoformat()}, headers=me)
    assert r.status_code == 422 and "before it starts" in r.json()["detail"]
    r = await cases.client.post(end, json={"valid_to": TODAY.isoformat()}, headers=cases.auth("supervisor-ns"))
    assert r.status_code == 403
    r = await cases.client.post(end, json={"valid_to": TODAY.isoformat()}, headers=me)
    assert r.status_code == 200 and r.json()["valid_to"] == TODAY.isoformat()
    listed = (await cases.client.get(f"{API}/agreements", headers=cases.auth("analyst"))).json()
    assert [(a["id"], a["valid_to"]) for a in listed] == [(agreement["id"], TODAY.isoformat())]


async def test_an_agreement_concluded_or_ended_is_announced_and_a_refused_change_is_not(cases: RunningService) -> None:
    agreement = await create_agreement(
        cases, RUMA, ADA, service_types=("home_help", "day_care", "home_help"), valid_from=TODAY, as_user="supervisor"
    )
    [concluded] = await queued_events(cases, AgreementChangedV1)
    assert concluded.agreement_id == UUID(agreement["id"]) and concluded.key == agreement["id"]
    assert concluded.topic == "cases.provider"
    assert (concluded.municipalities, concluded.service_types) == (sorted([ADA, RUMA]), ["day_care", "home_help"])
    assert (concluded.valid_from, concluded.valid_to) == (TODAY, None)

    end = f"{API}/agreements/{agreement['id']}/end"
    r = await cases.client.post(
        end, json={"valid_to": (TODAY - timedelta(days=1)).isoformat()}, headers=cases.auth("admin")
    )
    assert r.status_code == 422
    r = await cases.client.post(end, json={"valid_to": TODAY.isoformat()}, headers=cases.auth("supervisor-ns"))
    assert r.status_code == 403
    assert len(await queued_events(cases, AgreementChangedV1)) == 1
    r = await cases.client.post(
        end, json={"valid_to": (TODAY + timedelta(days=90)).isoformat()}, headers=cases.auth("admin")
    )
    assert r.status_code == 200, r.text
    first, ended = await queued_events(cases, AgreementChangedV1)
    assert first == concluded
    assert ended.agreement_id == concluded.agreement_id and ended.valid_to == TODAY + timedelta(days=90)
    assert ended.municipalities == concluded.municipalities and ended.changed_at >= concluded.changed_at


async def test_work_engagement_is_covered_by_agreements_but_is_no_providers_service(cases: RunningService) -> None:
    agreement = await create_agreement(cases, ADA, RUMA, service_types=("work_engagement", "day_care"))
    assert agreement["service_types"] == ["day_care", "work_engagement"]
    [event] = await queued_events(cases, AgreementChangedV1)
    assert event.service_types == ["day_care", "work_engagement"]
    only_work = await create_agreement(cases, ADA, NOVI_SAD, service_types=("work_engagement",))
    assert only_work["service_types"] == ["work_engagement"]

    body = {"name": "Javni radovi", "service_type": "work_engagement", "municipality_code": ADA, "capacity": 10}
    r = await cases.client.post(f"{API}/providers", json=body, headers=cases.auth("admin"))
    assert r.status_code == 422, r.text
    r = await cases.client.get(
        f"{API}/providers", params={"service_type": "work_engagement"}, headers=cases.auth("worker")
    )
    assert r.status_code == 422
    assert await queued_events(cases, ProviderChangedV1) == []

    # An agreement on work engagement alone lets no referral cross.
    await register_worker(cases, "worker", ADA)
    case = (await active_case(cases, municipality=ADA))["case"]
    day_care = await create_provider(cases, NOVI_SAD, service_type="day_care")
    r = await refer(cases, case["id"], day_care["id"])
    assert r.status_code == 409 and "'day_care'" in r.json()["detail"]


# --- referrals across borders ----------------------------------------------------------------------------------


async def test_a_referral_stays_in_the_municipality_or_crosses_only_under_an_agreement(cases: RunningService) -> None:
    await register_worker(cases, "worker", ADA, RUMA)
    case = (await active_case(cases, municipality=ADA))["case"]
    local = await create_provider(cases, ADA)
    ruma = await create_provider(cases, RUMA)
    novi_sad = await create_provider(cases, NOVI_SAD)

    r = await refer(cases, case["id"], local["id"])
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "requested" and r.json()["agreement_id"] is None

    r = await refer(cases, case["id"], ruma["id"])
    assert r.status_code == 409
    assert r.json()["code"] == "referral_refused"
    assert "No inter-municipal agreement" in r.json()["detail"] and RUMA in r.json()["detail"]
    assert r.json()["errors"]["reason"] == "no_agreement"
    assert (r.json()["errors"]["case_municipality_code"], r.json()["errors"]["provider_municipality_code"]) == (
        ADA,
        RUMA,
    )

    agreement = await create_agreement(cases, ADA, RUMA, service_types=("day_care",))
    r = await refer(cases, case["id"], ruma["id"])
    assert r.status_code == 201, r.text
    assert r.json()["agreement_id"] == agreement["id"]
    assert r.json()["provider_municipality_code"] == RUMA
    # Novi Sad is not in the agreement.
    r = await refer(cases, case["id"], novi_sad["id"])
    assert r.status_code == 409 and NOVI_SAD in r.json()["detail"]

    requested = await queued_events(cases, ReferralRequestedV1)
    assert [(str(e.provider_id), e.provider_municipality_code, e.cross_border) for e in requested] == [
        (local["id"], ADA, False),
        (ruma["id"], RUMA, True),
    ]
    timeline = (await cases.client.get(f"{API}/cases/{case['id']}/timeline", headers=cases.auth("worker"))).json()
    assert [t["kind"] for t in timeline].count("referral_requested") == 2
    detail = (await cases.client.get(f"{API}/cases/{case['id']}", headers=cases.auth("worker"))).json()
    assert len(detail["referrals"]) == 2


async def test_the_agreement_must_cover_the_service_and_be_valid_today(cases: RunningService) -> None:
    await register_worker(cases, "worker", ADA, RUMA)
    case = (await active_case(cases, municipality=ADA))["case"]
    home_help = await create_provider(cases, RUMA, service_type="home_help")
    day_care = await create_provider(cases, RUMA, service_type="day_care")

    await create_agreement(cases, ADA, RUMA, service_types=("day_care",))
    r = await refer(cases, case["id"], home_help["id"])
    assert r.status_code == 409 and "'home_help'" in r.json()["detail"]

    # An agreement that has expired, or not started yet, covers nothing.
    await create_agreement(
        cases,
        ADA,
        RUMA,
        service_types=("home_help",),
        valid_from=TODAY - timedelta(days=100),
        valid_to=TODAY - timedelta(days=1),
    )
    r = await refer(cases, case["id"], home_help["id"])
    assert r.status_code == 409 and "No inter-municipal agreement" in r.json()["detail"]
    future = await create_agreement(
        cases, ADA, RUMA, service_types=("home_help",), valid_from=TODAY + timedelta(days=7)
    )
    r = await refer(cases, case["id"], home_help["id"])
    assert r.status_code == 409

    # The day-care one works until it is ended.
    r = await refer(cases, case["id"], day_care["id"])
    assert r.status_code == 201, r.text
    day_care_agreement = r.json()["agreement_id"]
    r = await cases.client.post(
        f"{API}/agreements/{day_care_agreement}/end",
        json={"valid_to": (TODAY - timedelta(days=1)).isoformat()},
        headers=cases.auth("admin"),
    )
    assert r.status_code == 200, r.text
    r = await refer(cases, case["id"], day_care["id"])
    assert r.status_code == 409
    assert future["valid_from"] == (TODAY + timedelta(days=7)).isoformat()


# --- capacity and the provider's side --------------------------------------------------------------------------


async def test_the_provider_side_accepts_declines_and_ends_and_occupancy_follows(cases: RunningService) -> None:
    await register_worker(cases, "worker", ADA, RUMA)
    first = (await active_case(cases, municipality=ADA))["case"]
    second = (await active_case(cases, municipality=ADA))["case"]
    await create_agreement(cases, ADA, RUMA, service_types=("day_care",))
    provider = await create_provider(cases, RUMA, capacity=1)

    one = (await refer(cases, first["id"], provider["id"])).json()
    two = (await refer(cases, second["id"], provider["id"])).json()

    # The provider's answer belongs to the staff of Ruma, not of Ada, and not to administrators.
    for user in ("worker-ada", "supervisor-ns", "admin", "analyst"):
        r = await decide(cases, one["id"], "accepted", user)
        assert r.status_code == 403, (user, r.text)
    inbox = (await cases.client.get(f"{API}/referrals", headers=cases.auth("worker-ruma"))).json()
    assert {r["id"] for r in inbox} == {one["id"], two["id"]}
    assert (await cases.client.get(f"{API}/referrals", headers=cases.auth("worker-ada"))).json() == []

    r = await decide(cases, one["id"], "accepted", "worker-ruma")
    assert r.status_code == 200 and r.json()["status"] == "accepted" and r.json()["decided_by"] == "worker-ruma"
    assert await provider_occupancy(cases, provider["id"]) == 1

    # Full: neither a new referral nor accepting the other one.
    third = (await active_case(cases, municipality=ADA))["case"]
    r = await refer(cases, third["id"], provider["id"])
    assert r.status_code == 409 and "full" in r.json()["detail"]
    assert r.json()["errors"]["reason"] == "provider_full"
    r = await decide(cases, two["id"], "accepted", "worker-ruma")
    assert r.status_code == 409 and "full" in r.json()["detail"]

    # Declining says why.
    r = await decide(cases, two["id"], "declined", "worker-ruma")
    assert r.status_code == 422 and "why" in r.json()["detail"]
    r = await decide(cases, two["id"], "declined", "worker-ruma", reason="  ")
    assert r.status_code == 422
    r = await decide(cases, two["id"], "declined", "worker-ruma", reason="No transport from Ada")
    assert r.status_code == 200 and r.json()["decline_reason"] == "No transport from Ada"

    r = await decide(cases, one["id"], "ended", "supervisor")
    assert r.status_code == 200 and r.json()["status"] == "ended"
    assert await provider_occupancy(cases, provider["id"]) == 0

    decided = [(str(e.referral_id), e.status, e.cross_border) for e in await queued_events(cases, ReferralDecidedV1)]
    assert decided == [
        (one["id"], "accepted", True),
        (two["id"], "declined", True),
        (one["id"], "ended", True),
    ]
    occupancy = [e.occupancy for e in await queued_events(cases, ProviderChangedV1)]
    assert occupancy == [0, 1, 0]  # registered, accepted, ended
    kinds = [
        t["kind"]
        for t in (await cases.client.get(f"{API}/cases/{first['id']}/timeline", headers=cases.auth("worker"))).json()
    ]
    assert kinds[-3:] == ["referral_requested", "referral_accepted", "referral_ended"]


async def test_illegal_referral_steps_are_409s_that_list_the_allowed_ones(cases: RunningService) -> None:
    await register_worker(cases, "worker", ADA)
    case = (await active_case(cases, municipality=ADA))["case"]
    provider = await create_provider(cases, ADA, capacity=3)
    referral = (await refer(cases, case["id"], provider["id"])).json()

    r = await decide(cases, referral["id"], "ended", "worker-ada")
    assert r.status_code == 409
    assert r.json()["errors"]["allowed"] == ["accepted", "cancelled", "declined"]
    assert "cannot become 'ended'" in r.json()["detail"]

    # The case's side cancels a request not yet answered; after that nothing moves.
    r = await decide(cases, referral["id"], "cancelled", "worker-ada")  # not the case's worker
    assert r.status_code == 403
    r = await decide(cases, referral["id"], "cancelled", "worker")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = await decide(cases, referral["id"], "accepted", "worker-ada")
    assert r.status_code == 409 and r.json()["errors"]["allowed"] == []
    assert "final" in r.json()["detail"]
    assert await provider_occupancy(cases, provider["id"]) == 0

    accepted = (await refer(cases, case["id"], provider["id"])).json()
    assert (await decide(cases, accepted["id"], "accepted", "worker-ada")).status_code == 200
    r = await decide(cases, accepted["id"], "declined", "worker-ada", reason="changed our mind")
    assert r.status_code == 409 and r.json()["errors"]["allowed"] == ["ended"]


async def test_a_referral_needs_a_legal_basis_once_consent_to_case_work_is_withdrawn(cases: RunningService) -> None:
    from shared.events import PersonConsentChangedV1
    from tests.fixtures.cases import member
    from tests.fixtures.delivery import deliver

    await register_worker(cases, "worker", ADA)
    head = member()
    detail = await active_case(cases, head, municipality=ADA)
    case = detail["case"]
    provider = await create_provider(cases, ADA)
    await deliver(
        cases,
        PersonConsentChangedV1(
            household_id=case["household_id"],
            person_id=head.person_id,
            purpose="case_work",
            granted=False,
            changed_at=detail["case"]["updated_at"],
        ),
    )
    r = await refer(cases, case["id"], provider["id"], person_id=str(head.person_id))
    assert r.status_code == 422 and "legal basis" in r.json()["detail"]
    assert r.json()["errors"][0]["loc"] == ["body", "legal_basis"]
    r = await refer(cases, case["id"], provider["id"], person_id=str(head.person_id), legal_basis=" ")
    assert r.status_code == 422
    r = await refer(
        cases,
        case["id"],
        provider["id"],
        person_id=str(head.person_id),
        legal_basis="Zakon o socijalnoj zaštiti, čl. 41 (child at risk)",
    )
    assert r.status_code == 201, r.text
    assert r.json()["legal_basis"].startswith("Zakon o socijalnoj zaštiti")
    assert len(await queued_events(cases, ReferralRequestedV1)) == 1


async def test_referrals_refuse_what_is_not_there(cases: RunningService) -> None:
    await register_worker(cases, "worker", ADA)
    case = (await active_case(cases, municipality=ADA))["case"]
    provider = await create_provider(cases, ADA)
    r = await refer(cases, case["id"], "00000000-0000-0000-0000-000000000000")
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "provider_id"]
    r = await refer(cases, case["id"], provider["id"], person_id="00000000-0000-0000-0000-000000000001")
    assert r.status_code == 422 and "not a member" in r.json()["detail"]
    r = await refer(cases, case["id"], "not-a-uuid")
    assert r.status_code == 422
    r = await refer(cases, "00000000-0000-0000-0000-000000000000", provider["id"])
    assert r.status_code == 404
    r = await decide(cases, "00000000-0000-0000-0000-000000000000", "accepted", "worker")
    assert r.status_code == 404
    r = await decide(cases, "00000000-0000-0000-0000-000000000000", "maybe", "worker")
    assert r.status_code == 422
    r = await cases.client.get(f"{API}/referrals", params={"status": "maybe"}, headers=cases.auth("worker"))
    assert r.status_code == 422
