"""Cases' pages over HTTP (no browser): every page in the three languages, case work through the forms, refusals of
the service layer shown as messages on the page, and who may see what."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from tests.fixtures.auth import ADA, NOVI_SAD, RUMA
from tests.fixtures.cases import API, member, register_worker, registered
from tests.fixtures.delivery import deliver
from tests.fixtures.services import RunningService, running_service

LANGUAGES = {"sr-Latn": "Slučajevi", "sr-Cyrl": "Случајеви", "en": "Cases"}
ALL_DOMAINS = ("income", "employment", "housing", "health", "education", "care", "safety")


def as_user(cases: RunningService, username: str, language: str | None = None) -> dict[str, str]:
    headers = cases.auth(username)
    if language:
        headers["Cookie"] = f"oslonac_lang={language}"
    return headers


async def case_of(cases: RunningService, household_id: object, user: str = "supervisor") -> dict[str, Any]:
    r = await cases.client.get(f"{API}/cases", params={"household_id": str(household_id)}, headers=cases.auth(user))
    assert r.status_code == 200 and len(r.json()) == 1, r.text
    return dict(r.json()[0])


async def new_case(cases: RunningService, *members: Any, municipality: str = ADA) -> dict[str, Any]:
    event = registered(*members, municipality=municipality, below_poverty_line=True)
    await deliver(cases, event)
    return await case_of(cases, event.household_id)


async def provider(cases: RunningService, name: str, municipality: str, service_type: str = "home_help") -> str:
    body = {"name": name, "service_type": service_type, "municipality_code": municipality, "capacity": 5}
    r = await cases.client.post(f"{API}/providers", json=body, headers=cases.auth("admin"))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def agreement(cases: RunningService, *codes: str, services: tuple[str, ...] = ("home_help",)) -> None:
    body = {
        "name": "Sporazum",
        "municipalities": list(codes),
        "service_types": list(services),
        "valid_from": (date.today() - timedelta(days=1)).isoformat(),
    }
    r = await cases.client.post(f"{API}/agreements", json=body, headers=cases.auth("admin"))
    assert r.status_code == 201, r.text


def assessment_form(level: str = "moderate", **overrides: str) -> dict[str, str]:
    return {f"need-{d}": overrides.get(d, level) for d in ALL_DOMAINS} | {"note-income": "Bez prihoda"}


def plan_form(review: date, **action: str) -> dict[str, str]:
    form = {"goals": "Stabilan prihod\nDeca u školi", "review_date": review.isoformat()}
    return form | {f"actions-a1-{k}": v for k, v in action.items()}


def visible_words(html: str, *allowed: str) -> str:
    """Text of the page outside tags, without data typed in Latin (ids, user names, provider names)."""
    text = re.sub(r"<script.*?</script>|<style.*?</style>|<[^>]+>", " ", html, flags=re.S)
    for word in (*allowed, "Oslonac", "English", "Srpski", "(latinica)"):
        text = text.replace(word, " ")
    return re.sub(r"&[a-z]+;|[0-9a-f]{8}-[0-9a-f-]{27}", " ", text)


async def test_every_page_renders_in_the_three_languages(cases: RunningService) -> None:
    await register_worker(cases, "worker", ADA, RUMA)
    case = await new_case(cases, member(age=35, markers=("single_parent",)), member(age=8, relation="child"))
    await provider(cases, "Gerontodomaćice Ada", ADA)
    await agreement(cases, ADA, RUMA)
    pages = [
        ("worker", "/cases/"),
        ("worker", f"/cases/cases/{case['id']}"),
        ("worker", f"/cases/cases/{case['id']}/transfer"),
        ("worker", "/cases/reviews"),
        ("worker", "/cases/referrals"),
        ("worker", "/cases/providers"),
        ("worker", "/cases/agreements"),
        ("supervisor", "/cases/caseload"),
        ("supervisor", f"/cases/cases/{case['id']}"),
    ]
    for language, word in LANGUAGES.items():
        for user, path in pages:
            r = await cases.client.get(path, headers=as_user(cases, user, language))
            assert r.status_code == 200, (language, path, r.text[:800])
            assert f'lang="{language}"' in r.text and word in r.text, (language, path)
            if language == "sr-Cyrl":
                leftover = visible_words(
                    r.text, "worker", "supervisor", "Worker", "Gerontodomaćice Ada", "Sporazum", "admin"
                )
                assert re.search(r"[A-Za-z]{4,}", leftover) is None, (path, re.findall(r"[A-Za-z]{4,}", leftover))


async def test_the_list_shows_the_workers_cases_most_urgent_first(cases: RunningService) -> None:
    await register_worker(cases, "worker", ADA, RUMA)
    low = await new_case(cases, member(age=40))
    urgent = await new_case(cases, member(age=30, markers=("victim_of_violence",)))
    r = await cases.client.get("/cases/", headers=cases.auth("worker"))
    assert r.status_code == 200
    rows = re.findall(r'data-case="([0-9a-f-]+)"', r.text)
    assert rows.index(urgent["id"]) < rows.index(low["id"])
    assert "Ograničen pristup" in r.text and "Ada" in r.text and "Hitan" in r.text
    only_urgent = await cases.client.get("/cases/", params={"priority": "urgent"}, headers=cases.auth("worker"))
    assert re.findall(r'data-case="([0-9a-f-]+)"', only_urgent.text) == [urgent["id"]]
    foreign = await cases.client.get("/cases/", params={"municipality": NOVI_SAD}, headers=cases.auth("worker"))
    assert foreign.status_code == 403 and "message--error" in foreign.text


async def test_case_work_through_the_forms_with_refusals_on_the_page(cases: RunningService) -> None:
    await register_worker(cases, "worker", ADA, RUMA)
    case = await new_case(cases, member(age=35, able_to_work=True, consents=("case_work", "activation")))
    url = f"/cases/cases/{case['id']}"
    me = cases.auth("worker")

    # A plan before the assessment: the service's 409, said on the page.
    early = await cases.client.post(f"{url}/status", data={"to": "active"}, headers=me)
    assert early.status_code == 409 and "message--error" in early.text
    assert "ne može preći u" in early.text  # "A case in state … cannot go to …", translated

    partial = {k: v for k, v in assessment_form().items() if k != "need-safety"}
    r = await cases.client.post(f"{url}/assessment", data=partial, headers=me)
    assert r.status_code == 422 and 'aria-invalid="true"' in r.text and "Bez prihoda" in r.text
    r = await cases.client.post(f"{url}/assessment", data=assessment_form(income="critical"), headers=me)
    assert r.status_code == 303
    page = await cases.client.get(r.headers["location"], headers=me)
    assert "Procena je upisana." in page.text and "Kritična" in page.text
    assert 'id="case-status"><strong>Plan</strong>' in page.text

    past = plan_form(date.today() - timedelta(days=1), kind="task", description="Prijava na biro", responsible="worker")
    r = await cases.client.post(f"{url}/plan", data=past, headers=me)
    assert r.status_code == 422 and "Datum revizije mora biti u budućnosti." in r.text
    review = date.today() + timedelta(days=60)
    plan = plan_form(review, kind="work_engagement", description="Javni radovi", responsible="worker")
    r = await cases.client.post(f"{url}/plan", data=plan, headers=me)
    assert r.status_code == 422  # work engagement needs a member, hours and a start date
    person = (await cases.client.get(f"{API}/cases/{case['id']}", headers=me)).json()["members"][0]["person_id"]
    plan |= {
        "actions-a1-person_id": person,
        "actions-a1-hours_per_week_min": "10",
        "actions-a1-hours_per_week_max": "20",
        "actions-a1-available_from": date.today().strftime("%d.%m.%Y"),
    }
    r = await cases.client.post(f"{url}/plan", data=plan, headers=me)
    assert r.status_code == 303, r.text[:2000]
    page = await cases.client.get(url, headers=me)
    assert "Stabilan prihod" in page.text and "Javni radovi" in page.text and review.strftime("%d.%m.%Y.") in page.text
    assert "Aktivan" in page.text and "Član 1" in page.text

    r = await cases.client.post(f"{url}/status", data={"to": "closed"}, headers=me)
    assert r.status_code == 422 and "Izaberite zašto se slučaj zatvara." in r.text
    r = await cases.client.post(f"{url}/status", data={"to": "closed", "reason": "goals_achieved"}, headers=me)
    assert r.status_code == 303
    page = await cases.client.get(url, headers=me)
    assert "Ciljevi postignuti" in page.text and "Ponovo otvori slučaj" in page.text
    timeline = page.text[page.text.index('id="timeline"') :]
    kinds = re.findall(r'data-kind="([a-z_]+)"', timeline)
    assert kinds[:2] == ["opened", "assigned"] and kinds[-1] == "status_changed"
    assert "Procena je upisana" in timeline and "Plan je dogovoren" in timeline


async def test_a_referral_across_the_border_needs_an_agreement_and_the_page_says_why(cases: RunningService) -> None:
    await register_worker(cases, "worker", ADA, RUMA)
    case = await new_case(cases, member(age=70))
    ruma = await provider(cases, "Pomoć u kući Ruma", RUMA)
    url = f"/cases/cases/{case['id']}"
    page = await cases.client.get(url, headers=cases.auth("worker"))
    assert "Pomoć u kući Ruma" in page.text and "U drugim opštinama" in page.text

    refused = await cases.client.post(f"{url}/referrals", data={"provider_id": ruma}, headers=cases.auth("worker"))
    assert refused.status_code == 409
    assert "nijedan međuopštinski sporazum" in refused.text.lower() and "Ade i Rume" not in refused.text
    assert "Ada" in refused.text and "Ruma" in refused.text
    english = await cases.client.post(
        f"{url}/referrals", data={"provider_id": ruma}, headers=as_user(cases, "worker", "en")
    )
    assert "no inter-municipal agreement valid on" in english.text and "“Home help”" in english.text

    await agreement(cases, ADA, RUMA)
    sent = await cases.client.post(f"{url}/referrals", data={"provider_id": ruma}, headers=cases.auth("worker"))
    assert sent.status_code == 303
    page = await cases.client.get(sent.headers["location"], headers=cases.auth("worker"))
    assert "Uput je poslat pružaocu usluge." in page.text and "Zatražen" in page.text

    # The provider's side answers in the inbox; a decline needs a reason.
    inbox = await cases.client.get("/cases/referrals", headers=cases.auth("worker-ruma"))
    assert inbox.status_code == 200 and "Pomoć u kući Ruma" in inbox.text
    referral = re.search(r'id="referral-([0-9a-f-]+)"', inbox.text)
    assert referral is not None
    decide = f"/cases/referrals/{referral.group(1)}/decision"
    r = await cases.client.post(decide, data={"decision": "declined"}, headers=cases.auth("worker-ruma"))
    assert r.status_code == 422 and "Navedite zašto se uput odbija." in r.text
    r = await cases.client.post(decide, data={"decision": "accepted"}, headers=cases.auth("worker-ada"))
    assert r.status_code == 403 and "message--error" in r.text  # Ada's staff do not answer for Ruma's provider
    r = await cases.client.post(decide, data={"decision": "accepted"}, headers=cases.auth("worker-ruma"))
    assert r.status_code == 303
    r = await cases.client.post(decide, data={"decision": "ended"}, headers=cases.auth("worker-ruma"))
    assert r.status_code == 303
    page = await cases.client.get(url, headers=cases.auth("worker"))
    assert "Završen" in page.text and "Uput prihvaćen od strane pružaoca" in page.text


async def test_a_transfer_without_an_agreement_is_refused_on_the_page(cases: RunningService) -> None:
    await register_worker(cases, "worker", ADA, RUMA)
    case = await new_case(cases, member(age=50))
    url = f"/cases/cases/{case['id']}/transfer"
    r = await cases.client.post(url, data={"to_municipality_code": RUMA}, headers=cases.auth("worker"))
    assert r.status_code == 409 and "ne može preći tamo" in r.text
    await agreement(cases, ADA, RUMA)
    r = await cases.client.post(url, data={"to_municipality_code": RUMA}, headers=cases.auth("worker"))
    assert r.status_code == 303
    page = await cases.client.get(r.headers["location"], headers=cases.auth("worker"))
    assert "Premešten" in page.text and "Slučaj kancelarije koja ga je preuzela" in page.text


async def test_a_supervisor_reassigns_and_sees_the_caseload(databases, tokens) -> None:  # type: ignore[no-untyped-def]
    from tests.fixtures.cases import OFFLINE

    url = await databases.url_for("cases")
    async with running_service(
        "cases", database_url=url, kafka=OFFLINE, tokens=tokens, run_consumer=False, run_relay=False, caseload_norm=1
    ) as svc:
        await register_worker(svc, "ana", ADA)
        await register_worker(svc, "bojan", ADA)
        first = await new_case(svc, member(age=40))
        await new_case(svc, member(age=41))
        await new_case(svc, member(age=42))
        caseload = await svc.client.get("/cases/caseload", headers=svc.auth("supervisor"))
        # Three cases, two workers, a norm of 1: the one with two cases is over it.
        assert caseload.status_code == 200 and caseload.text.count("Iznad norme") == 1
        assert "row--alert" in caseload.text

        page = await svc.client.get(f"/cases/cases/{first['id']}", headers=svc.auth("supervisor"))
        assert 'id="reassign-worker"' in page.text
        worker_page = await svc.client.get(f"/cases/cases/{first['id']}", headers=svc.auth("worker-ada"))
        assert 'id="reassign-worker"' not in worker_page.text
        target = "bojan" if first["assigned_to"] == "ana" else "ana"
        r = await svc.client.post(
            f"/cases/cases/{first['id']}/assignment", data={"worker": target}, headers=svc.auth("supervisor")
        )
        assert r.status_code == 303
        page = await svc.client.get(r.headers["location"], headers=svc.auth("supervisor"))
        assert f'id="assigned-to">{target}<' in page.text and "Slučaj je preraspodeljen." in page.text
        r = await svc.client.post(
            f"/cases/cases/{first['id']}/assignment", data={"worker": "nobody"}, headers=svc.auth("supervisor")
        )
        assert r.status_code == 422 and "nije radnik opštine Ada" in r.text


async def test_registries_are_kept_through_their_forms(cases: RunningService) -> None:
    boss = cases.auth("supervisor")
    form = {"name": "Dom za stare Ruma", "service_type": "residential_care", "municipality_code": RUMA}
    r = await cases.client.post("/cases/providers", data=form | {"capacity": "mnogo"}, headers=boss)
    assert r.status_code == 422 and "Unesite ceo broj." in r.text
    r = await cases.client.post(
        "/cases/providers", data=form | {"capacity": "3", "occupancy": "5", "residential": "yes"}, headers=boss
    )
    assert r.status_code == 422 and "Popunjenost ne može biti veća od kapaciteta." in r.text
    r = await cases.client.post(
        "/cases/providers", data=form | {"capacity": "40", "occupancy": "38", "residential": "yes"}, headers=boss
    )
    assert r.status_code == 303
    listed = await cases.client.get("/cases/providers", headers=cases.auth("analyst"))
    assert listed.status_code == 200 and "Dom za stare Ruma" in listed.text and "provider-form" not in listed.text
    r = await cases.client.post("/cases/providers", data=form | {"capacity": "4"}, headers=cases.auth("worker"))
    assert r.status_code == 403

    agreement_form = {
        "name": "Ada–Ruma",
        "municipalities": [ADA, RUMA],
        "service_types": ["home_help", "day_care", "work_engagement"],
        "valid_from": "01.01.2026",
    }
    r = await cases.client.post("/cases/agreements", data={**agreement_form, "municipalities": [ADA]}, headers=boss)
    assert r.status_code == 422 and "najmanje dve različite opštine" in r.text
    r = await cases.client.post("/cases/agreements", data=agreement_form, headers=cases.auth("supervisor-ns"))
    assert r.status_code == 403 and "obavezuje svaku opštinu" in r.text  # not Novi Sad's supervisor's to bind
    r = await cases.client.post("/cases/agreements", data=agreement_form, headers=boss)
    assert r.status_code == 303
    listed = await cases.client.get("/cases/agreements", headers=boss)
    assert "Ada–Ruma" in listed.text and "Dnevni boravak" in listed.text and "01.01.2026." in listed.text
    table = listed.text[listed.text.index('id="agreements"') : listed.text.index('id="agreement-form"')]
    assert '<span class="tag">Radno angažovanje</span>' in table  # work engagement, which no provider offers
    assert 'value="work_engagement"' in listed.text[listed.text.index('id="agreement-form"') :]


async def test_access_employers_analysts_and_restricted_cases(cases: RunningService) -> None:
    for who in ("employer", "analyst"):
        for path in ("/cases/", "/cases/caseload", "/cases/reviews", "/cases/referrals"):
            r = await cases.client.get(path, headers=cases.auth(who))
            assert r.status_code == 403 and "text/html" in r.headers["content-type"], (who, path)
    r = await cases.client.get("/cases/caseload", headers=cases.auth("worker"))
    assert r.status_code == 403
    r = await cases.client.get("/cases/")
    assert r.status_code == 303 and r.headers["location"].startswith("/cases/login")

    await register_worker(cases, "worker-ada", ADA)
    restricted = await new_case(cases, member(age=30, markers=("victim_of_violence",)))
    assert restricted["assigned_to"] == "worker-ada"
    await register_worker(cases, "worker", ADA)
    other = await cases.client.get("/cases/", params={"scope": "all"}, headers=cases.auth("worker"))
    assert restricted["id"] not in other.text
    page = await cases.client.get(
        f"/cases/cases/{restricted['id']}", headers={**cases.auth("worker"), "Accept": "text/html"}
    )
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    own = await cases.client.get(f"/cases/cases/{restricted['id']}", headers=cases.auth("worker-ada"))
    assert own.status_code == 200 and "žrtva nasilja" in own.text.lower()
    boss = await cases.client.get("/cases/", params={"scope": "all"}, headers=cases.auth("supervisor"))
    assert restricted["id"] in boss.text
