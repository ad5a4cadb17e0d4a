"""Activation's pages over HTTP (no browser): every page in the three languages for each role, employers seeing
codes and never a person id, the forms posting and redirecting (or showing the marked fields), every placement
step through its buttons, refusals of the service layer shown as messages on the page, and the fairness report."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from tests.fixtures.activation import (
    ADA,
    API,
    RUMA,
    add_candidates,
    forum,
    organisation,
    post_opportunity,
    requested,
)
from tests.fixtures.services import RunningService

LANGUAGES = {"sr-Latn": "Aktivacija", "sr-Cyrl": "Активација", "en": "Activation"}
CODE = re.compile(r"K-[A-Z2-7]{8}")


def as_user(activation: RunningService, username: str, language: str | None = None) -> dict[str, str]:
    headers = activation.auth(username)
    if language:
        headers["Cookie"] = f"oslonac_lang={language}"
    return headers


def visible_words(html: str, *allowed: str) -> str:
    """Text of the page outside tags, without data typed in Latin (ids, codes, user and organisation names)."""
    text = re.sub(r"<script.*?</script>|<style.*?</style>|<[^>]+>", " ", html, flags=re.S)
    for word in (*allowed, "Oslonac", "English", "Srpski", "(latinica)"):
        text = text.replace(word, " ")
    text = CODE.sub(" ", text)
    return re.sub(r"&[a-z]+;|[0-9a-f]{8}-[0-9a-f-]{27}", " ", text)


async def setup(activation: RunningService, **opportunity: Any) -> dict[str, Any]:
    """A forum of Ada, org-1 in it, two candidates of Ada and an opportunity they both fit."""
    f = await forum(activation, ADA)
    await organisation(activation, f["id"])
    woman = requested(sex="F", skills=("cleaning", "gardening"), unemployed_months=30)
    man = requested(sex="M", skills=("cleaning",), unemployed_months=3)
    await add_candidates(activation, woman, man)
    opp = await post_opportunity(activation, f["id"], required_skills=["cleaning"], **opportunity)
    return {"forum": f, "opportunity": opp, "woman": woman, "man": man}


async def propose(activation: RunningService, opportunity_id: str, person_id: object, user: str = "worker") -> str:
    url = f"/activation/opportunities/{opportunity_id}/proposals"
    back = f"/activation/opportunities/{opportunity_id}"
    r = await activation.client.post(
        url, data={"person_id": str(person_id), "back": back}, headers=as_user(activation, user)
    )
    assert r.status_code == 303, r.text[:2000]
    assert r.headers["location"] == f"{back}?done=proposed"
    placements = await activation.client.get(
        f"{API}/opportunities/{opportunity_id}/placements", headers=activation.auth(user)
    )
    return str(next(p for p in placements.json() if p["person_id"] == str(person_id))["id"])


async def step(activation: RunningService, placement_id: str, action: str, user: str, **form: str) -> Any:
    return await activation.client.post(
        f"/activation/placements/{placement_id}/{action}",
        data={"back": "/activation/placements", **form},
        headers=as_user(activation, user),
    )


async def test_every_page_renders_in_the_three_languages_for_each_role(activation: RunningService) -> None:
    s = await setup(activation)
    f, opp = s["forum"], s["opportunity"]
    await propose(activation, opp["id"], s["woman"].person_id)
    pages = [
        ("employer", "/activation/"),
        ("employer", "/activation/organisation"),
        ("employer", "/activation/opportunities"),
        ("employer", "/activation/opportunities/new"),
        ("employer", f"/activation/opportunities/{opp['id']}"),
        ("employer", "/activation/placements"),
        ("worker", "/activation/"),
        ("worker", "/activation/candidates"),
        ("worker", f"/activation/candidates/{s['woman'].person_id}"),
        ("worker", "/activation/opportunities"),
        ("worker", f"/activation/opportunities/{opp['id']}"),
        ("worker", "/activation/placements"),
        ("supervisor", "/activation/"),
        ("supervisor", f"/activation/forums/{f['id']}/fairness"),
        ("coordinator", "/activation/"),
        ("coordinator", "/activation/forums"),
        ("coordinator", f"/activation/forums/{f['id']}"),
        ("coordinator", f"/activation/forums/{f['id']}/fairness"),
        ("coordinator", f"/activation/forums/{f['id']}/fairness?opportunity={opp['id']}"),
        ("coordinator", f"/activation/opportunities/{opp['id']}"),
        ("analyst", "/activation/"),
        ("analyst", f"/activation/forums/{f['id']}/fairness"),
        ("admin", "/activation/"),
        ("admin", f"/activation/opportunities/{opp['id']}"),
        ("admin", "/activation/opportunities/new"),
    ]
    for language, word in LANGUAGES.items():
        for user, path in pages:
            r = await activation.client.get(path, headers=as_user(activation, user, language))
            assert r.status_code == 200, (language, user, path, r.text[:800])
            assert f'lang="{language}"' in r.text and word in r.text, (language, path)
            if language == "sr-Cyrl":
                names = ("Organisation org-1", "Park maintenance", "City park", "Forum", "coordinator")
                leftover = visible_words(r.text, *names, "employer", "worker", "supervisor", "analyst", "admin")
                assert re.search(r"[A-Za-z]{4,}", leftover) is None, (path, re.findall(r"[A-Za-z]{4,}", leftover))


async def test_employers_see_codes_and_the_breakdown_never_a_person(activation: RunningService) -> None:
    s = await setup(activation)
    opp = s["opportunity"]
    await propose(activation, opp["id"], s["woman"].person_id)
    people = [str(s["woman"].person_id), str(s["man"].person_id), str(s["woman"].case_id), str(s["man"].case_id)]
    for path in (f"/activation/opportunities/{opp['id']}", "/activation/placements", "/activation/opportunities"):
        r = await activation.client.get(path, headers=activation.auth("employer"))
        assert r.status_code == 200
        assert not any(p in r.text for p in people), path
        assert "/cases/cases/" not in r.text
    page = (
        await activation.client.get(f"/activation/opportunities/{opp['id']}", headers=activation.auth("employer"))
    ).text
    ranking = page[page.index('id="shortlist"') : page.index('id="placements"')]
    codes = re.findall(r'data-code="(K-[A-Z2-7]{8})"', ranking)
    assert len(codes) == 2 and len(set(codes)) == 2
    assert "Veštine" in ranking and "score-bar__part--skills" in ranking and "40,00 / 40" in ranking
    assert "Radno sposoban" in ranking  # the criteria met, without their details
    assert "forum prima" not in ranking and "Pristupačno radno mesto" not in ranking
    assert "Predloži" not in ranking  # employers do not propose

    # The case worker sees the same ranking with their candidates identifiable and proposable.
    worker = (
        await activation.client.get(f"/activation/opportunities/{opp['id']}", headers=activation.auth("worker"))
    ).text
    assert str(s["man"].person_id) in worker and f"/cases/cases/{s['man'].case_id}" in worker
    assert "Predloži" in worker and "forum prima 18–64" in worker
    # The coordinator sees codes.
    coordinator = await activation.client.get(
        f"/activation/opportunities/{opp['id']}", headers=activation.auth("coordinator")
    )
    assert set(re.findall(r'data-code="(K-[A-Z2-7]{8})"', coordinator.text)) == set(codes)
    assert not any(p in coordinator.text for p in people)


async def test_an_employer_registers_joins_and_posts_through_the_forms(activation: RunningService) -> None:
    f = await forum(activation, ADA, RUMA)
    me = activation.auth("employer-2")
    start = await activation.client.get("/activation/", headers=me)
    assert 'id="register-first"' in start.text and 'id="organisation-form"' in start.text

    # Joining before registering is refused on the page; an empty form shows its marked fields.
    refused = await activation.client.post(f"/activation/forums/{f['id']}/join", headers=me)
    assert refused.status_code == 409 and "Upišite organizaciju pre nego što pristupi forumu." in refused.text
    r = await activation.client.post("/activation/organisation", data={"name": "", "kind": "civil_society"}, headers=me)
    assert r.status_code == 422 and r.text.count('aria-invalid="true"') == 2
    body = {"name": "Udruženje Ruma", "kind": "civil_society", "municipality_code": RUMA}
    r = await activation.client.post("/activation/organisation", data=body, headers=me)
    assert r.status_code == 303 and r.headers["location"] == "/activation/organisation?done=registered"
    page = await activation.client.get(r.headers["location"], headers=me)
    assert (
        "Organizacija je upisana." in page.text and "Udruženje Ruma" in page.text and "Udruženje građana" in page.text
    )
    r = await activation.client.post(f"/activation/forums/{f['id']}/join", headers=me)
    assert r.status_code == 303
    page = await activation.client.get(r.headers["location"], headers=me)
    assert "Organizacija je pristupila forumu." in page.text and "Član" in page.text

    form = await activation.client.get("/activation/opportunities/new", headers=me)
    assert f'value="{f["id"]}" selected' in form.text and "Baštovanstvo i uređenje zelenih površina" in form.text
    post = {
        "title": "Čišćenje obale",
        "type": "public_works",
        "forum_id": f["id"],
        "municipality_code": RUMA,
        "place": "Borkovac",
        "positions": "3",
        "hours_per_week_min": "30",
        "hours_per_week_max": "20",
        "starts_on": (date.today() + timedelta(days=7)).strftime("%d.%m.%Y"),
        "required_skills": ["cleaning", "gardening"],
        "preferred_skills": "driving_b",
        "accessible": "yes",
    }
    r = await activation.client.post("/activation/opportunities", data=post, headers=me)
    assert r.status_code == 422 and "Najmanji broj sati je veći od najvećeg." in r.text
    marked = re.search(r'id="field-hours_per_week_min"[^>]*aria-invalid="true"', r.text)
    assert marked is not None and 'value="Čišćenje obale"' in r.text  # the form keeps what was typed
    r = await activation.client.post("/activation/opportunities", data=post | {"positions": "many"}, headers=me)
    assert r.status_code == 422 and "Unesite ceo broj." in r.text
    r = await activation.client.post("/activation/opportunities", data=post | {"hours_per_week_max": "40"}, headers=me)
    assert r.status_code == 303, r.text[:2000]
    page = await activation.client.get(r.headers["location"], headers=me)
    assert "Ponuda je objavljena." in page.text and "Čišćenje obale" in page.text and "Javni radovi" in page.text
    assert "Ruma, Borkovac" in page.text and "30–40" in page.text and "Vozačka dozvola B kategorije" in page.text
    opportunity_id = r.headers["location"].split("/")[-1].split("?")[0]
    r = await activation.client.get(f"{API}/opportunities/{opportunity_id}", headers=me)
    assert r.json()["required_skills"] == ["cleaning", "gardening"] and r.json()["accessible"] is True

    mine = await activation.client.get("/activation/opportunities", headers=me)
    assert "Moje ponude" in mine.text and "Čišćenje obale" in mine.text
    r = await activation.client.post(f"/activation/opportunities/{opportunity_id}/close", headers=me)
    assert r.status_code == 303
    page = await activation.client.get(r.headers["location"], headers=me)
    assert "Ponuda je zatvorena." in page.text and 'id="opportunity-status">Zatvorena' in page.text
    again = await activation.client.post(f"/activation/opportunities/{opportunity_id}/close", headers=me)
    assert again.status_code == 409 and "Ova ponuda je već zatvorena." in again.text


async def test_a_placement_goes_through_every_step_on_the_pages(activation: RunningService) -> None:
    s = await setup(activation)
    pid = await propose(activation, s["opportunity"]["id"], s["woman"].person_id)

    # Starting before both said yes: the service's 409, said on the page with the state.
    early = await step(activation, pid, "start", "employer")
    assert early.status_code == 409 and "message--error" in early.text
    assert "Angažovanje koje je „Predloženo“ ne može postati „Počelo“." in early.text
    english = await activation.client.post(
        f"/activation/placements/{pid}/start",
        data={"back": "/activation/placements"},
        headers=as_user(activation, "employer", "en"),
    )
    assert "A placement that is “Proposed” cannot become “Started”." in english.text

    r = await step(activation, pid, "accept", "employer", party="employer")
    assert r.status_code == 303 and r.headers["location"] == "/activation/placements?done=employer_accept"
    r = await step(activation, pid, "accept", "employer", party="candidate")
    assert r.status_code == 403 and "Odgovor kandidata upisuje voditelj slučaja" in r.text
    r = await step(activation, pid, "accept", "worker", party="candidate")
    assert r.status_code == 303
    page = await activation.client.get("/activation/placements", headers=activation.auth("employer"))
    assert f'id="placement-{pid}-status" data-status="accepted">Prihvaćeno' in page.text
    r = await step(activation, pid, "start", "employer")
    assert r.status_code == 303
    page = await activation.client.get(r.headers["location"], headers=activation.auth("employer"))
    assert "Angažovanje je počelo." in page.text and 'data-status="started">Počelo' in page.text

    r = await step(activation, pid, "hours", "employer", month="2020-13", hours="40")
    assert r.status_code == 422 and re.search(r'id="month-[^"]+"[^>]*aria-invalid="true"', r.text)
    r = await step(activation, pid, "hours", "employer", month="2020-01", hours="40")
    assert r.status_code == 422 and "Sati se upisuju za mesec od početka" in r.text
    month = date.today().strftime("%Y-%m")
    r = await step(activation, pid, "hours", "employer", month=month, hours="64")
    assert r.status_code == 303
    page = await activation.client.get(r.headers["location"], headers=activation.auth("employer"))
    assert "Sati su upisani." in page.text and f"{month}: 64 sata" in page.text

    r = await step(activation, pid, "end", "worker")
    assert r.status_code == 422 and "Izaberite zašto je angažovanje prekinuto pre roka." in r.text
    r = await step(activation, pid, "end", "worker", reason="found_other_work")
    assert r.status_code == 303
    page = await activation.client.get("/activation/placements", headers=activation.auth("worker"))
    assert 'data-status="ended">Prekinuto pre roka' in page.text and "Našao/la drugi posao" in page.text
    assert f"/cases/cases/{s['woman'].case_id}" in page.text


async def test_a_case_worker_proposes_from_the_candidates_best_opportunities(activation: RunningService) -> None:
    s = await setup(activation)
    woman = s["woman"].person_id
    listing = await activation.client.get("/activation/candidates", headers=activation.auth("worker"))
    assert str(woman) in listing.text and f"/cases/cases/{s['woman'].case_id}" in listing.text
    assert "Ženski" in listing.text and "Čišćenje i održavanje prostora" in listing.text

    page = await activation.client.get(f"/activation/candidates/{woman}", headers=activation.auth("worker"))
    assert s["opportunity"]["id"] in page.text and "Predloži" in page.text and "ista opština" in page.text
    back = f"/activation/candidates/{woman}"
    url = f"/activation/opportunities/{s['opportunity']['id']}/proposals"
    r = await activation.client.post(
        url, data={"person_id": str(woman), "back": back}, headers=activation.auth("worker")
    )
    assert r.status_code == 303 and r.headers["location"] == f"{back}?done=proposed"
    page = await activation.client.get(r.headers["location"], headers=activation.auth("worker"))
    assert "Kandidat je predložen" in page.text and "Zabeleži da kandidat prihvata" in page.text
    again = await activation.client.post(
        url, data={"person_id": str(woman), "back": back}, headers=activation.auth("worker")
    )
    assert again.status_code == 409 and "Ovaj kandidat je već predložen za ovu ponudu." in again.text

    # Another municipality's worker does not see the candidate: a translated 404 on the page, never a 500.
    foreign = await activation.client.get(f"/activation/candidates/{woman}", headers=activation.auth("worker-ns"))
    assert foreign.status_code == 404 and "Nema takvog kandidata" in foreign.text
    other = await activation.client.get(
        f"/activation/opportunities/{s['opportunity']['id']}", headers=activation.auth("employer-2")
    )
    assert other.status_code == 404 and "Nema takve ponude" in other.text
    forbidden = await activation.client.get("/activation/forums", headers=activation.auth("worker"))
    assert forbidden.status_code == 403


async def test_a_coordinator_sets_up_a_forum_and_its_criteria_and_recomputes(activation: RunningService) -> None:
    me = activation.auth("coordinator")
    body = {
        "name": "Forum Ada–Ruma",
        "municipalities": [ADA, RUMA],
        "min_age": "18",
        "max_age": "60",
        "require_able_to_work": "yes",
        "exclude_placed": "yes",
        "priority_groups": ["woman", "roma"],
        "scope": "same",
    }
    r = await activation.client.post("/activation/forums", data=body | {"municipalities": []}, headers=me)
    assert r.status_code == 422 and 'aria-invalid="true"' in r.text
    foreign = await activation.client.post("/activation/forums", data=body | {"municipalities": ["89010"]}, headers=me)
    assert foreign.status_code == 403 and "Forum osniva administrator ili koordinator" in foreign.text
    r = await activation.client.post("/activation/forums", data=body, headers=me)
    assert r.status_code == 303
    page = await activation.client.get(r.headers["location"], headers=me)
    assert "Forum je osnovan." in page.text and "Ada, Ruma" in page.text and "Samo opština ponude" in page.text
    forum_id = r.headers["location"].split("/")[-1].split("?")[0]
    stored = (await activation.client.get(f"{API}/forums/{forum_id}", headers=me)).json()["criteria"]
    assert stored["max_age"] == 60 and stored["exclude_in_education"] is False
    assert stored["priority_groups"] == ["roma", "woman"] and stored["scope"] == "same"

    criteria = {"min_age": "50", "max_age": "30", "priority_groups": ["disability"], "scope": "agreement"}
    r = await activation.client.post(f"/activation/forums/{forum_id}/criteria", data=criteria, headers=me)
    assert r.status_code == 422 and "Najniža starost je iznad najviše." in r.text
    assert re.search(r'id="field-min_age"[^>]*aria-invalid="true"', r.text)
    r = await activation.client.post(
        f"/activation/forums/{forum_id}/criteria", data=criteria | {"max_age": ""}, headers=me
    )
    assert r.status_code == 303
    stored = (await activation.client.get(f"{API}/forums/{forum_id}", headers=me)).json()["criteria"]
    assert stored["min_age"] == 50 and stored["max_age"] is None and stored["priority_groups"] == ["disability"]
    r = await activation.client.post(
        f"/activation/forums/{forum_id}/criteria", data=criteria, headers=activation.auth("coordinator-ns")
    )
    assert r.status_code == 403 and "message--error" in r.text

    forums = await activation.client.get("/activation/forums", headers=me)
    assert "Još nisu izračunate." in forums.text
    r = await activation.client.post("/activation/shortlists/recompute", headers=me)
    assert r.status_code == 303
    forums = await activation.client.get(r.headers["location"], headers=me)
    assert "Uže liste su ponovo izračunate." in forums.text and "Poslednji put izračunate:" in forums.text


async def test_the_fairness_report_shows_shares_ratios_and_the_womens_flag(activation: RunningService) -> None:
    f = await forum(activation, ADA, exclude_placed=False)  # the placed stay eligible: shares are comparable
    await organisation(activation, f["id"])
    women = [requested(sex="F", skills=("cleaning",)) for _ in range(2)]
    men = [requested(sex="M", skills=("cleaning",)) for _ in range(2)]
    await add_candidates(activation, *women, *men)
    opp = await post_opportunity(activation, f["id"], positions=3)
    for person in (women[0], men[0], men[1]):
        pid = await propose(activation, opp["id"], person.person_id)
        assert (await step(activation, pid, "accept", "employer", party="employer")).status_code == 303
        assert (await step(activation, pid, "accept", "worker", party="candidate")).status_code == 303
        assert (await step(activation, pid, "start", "employer")).status_code == 303
    r = await activation.client.post("/activation/shortlists/recompute", headers=activation.auth("coordinator"))
    assert r.status_code == 303

    r = await activation.client.get(f"/activation/forums/{f['id']}/fairness", headers=activation.auth("coordinator"))
    assert r.status_code == 200
    forum_table = r.text[r.text.index('id="fairness-forum"') : r.text.index('id="per-opportunity"')]
    women_row = forum_table[forum_table.index('data-group="women"') :].split("</tr>")[0]
    cells = re.findall(r'data-stage="(\w+)">\s*<span class="fairness__count">(\d+) / (\d+)</span><br>\s*'
                       r'<strong class="fairness__share">([^<]+)</strong>', women_row)  # fmt: skip
    assert ("eligible", "2", "4", "50,0%") in cells and ("shortlisted", "2", "4", "50,0%") in cells
    assert ("placed", "1", "3", "33,3%") in cells and ("proposed", "1", "3", "33,3%") in cells
    assert "odnos 0,67" in women_row and "cell--alert" in women_row
    assert 'data-flag="women_under_target"' in forum_table and "Žene su ispod 50% angažovanih:" in forum_table
    assert "1 od 3 angažovanih." in forum_table
    per_opportunity = r.text[r.text.index('id="per-opportunity"') :]
    assert f'data-opportunity="{opp["id"]}"' in per_opportunity and 'data-flag="women_under_target"' in per_opportunity

    english = await activation.client.get(
        f"/activation/forums/{f['id']}/fairness", headers=as_user(activation, "coordinator", "en")
    )
    assert "Women are under 50% of the placements:" in english.text and "33.3%" in english.text
    # An analyst sees the same report with the small cells suppressed.
    analyst = await activation.client.get(
        f"/activation/forums/{f['id']}/fairness", headers=as_user(activation, "analyst", "en")
    )
    assert "Women are under 50% of the placements:" in analyst.text and "&lt;5 / 3" in analyst.text
    assert "33.3%" not in analyst.text
    refused = await activation.client.get(
        f"/activation/forums/{f['id']}/fairness", headers=activation.auth("supervisor-ns")
    )
    assert refused.status_code == 403 and "Izveštaj o pravičnosti je za koordinatore" in refused.text
