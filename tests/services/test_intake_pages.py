"""Intake's pages over HTTP (no browser): the forms case workers use, their errors, search, languages, access."""

from __future__ import annotations

import re

import pytest
from markupsafe import escape

from services.intake.domain import make_jmbg
from services.intake.web._labels import REFUSALS
from shared.settings import KafkaSettings
from shared.ui.refusals import refusal_text
from tests.fixtures.auth import ADA, NOVI_SAD, Tokens
from tests.fixtures.databases import DatabaseFactory
from tests.fixtures.services import RunningService, running_service

OFFLINE = KafkaSettings(bootstrap_servers="127.0.0.1:9")


@pytest.fixture
async def intake(databases: DatabaseFactory, tokens: Tokens):
    url = await databases.url_for("intake")
    async with running_service(
        "intake", database_url=url, kafka=OFFLINE, tokens=tokens, run_relay=False, run_consumer=False
    ) as running:
        yield running


def household_form(**members: dict[str, str]) -> dict[str, str | list[str]]:
    form: dict[str, str | list[str]] = {
        "municipality_code": ADA,
        "settlement": "Mol",
        "address": "Petefi Šandora 3",
        "housing_type": "rented",
        "income_social_assistance": "12000",
        "income_wages": "",
    }
    for token, fields in members.items():
        for name, value in fields.items():
            form[f"members-{token}-{name}"] = value
    return form


def person(given: str, family: str, born: str, sex: str, **extra: str) -> dict[str, str]:
    return {"given_name": given, "family_name": family, "birth_date": born, "sex": sex, **extra}


def cookie(intake: RunningService, username: str) -> dict[str, str]:
    token = intake.auth(username)["Authorization"].split()[1]
    return {"Cookie": f"oslonac_token={token}"}


async def test_a_page_without_a_sign_in_goes_to_the_login_page(intake: RunningService):
    r = await intake.client.get("/intake/households/new")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/intake/login?next=")


async def test_employers_and_analysts_get_a_403_page(intake: RunningService):
    for who in ("employer", "analyst"):
        r = await intake.client.get("/intake/", headers=intake.auth(who))
        assert r.status_code == 403
        assert "text/html" in r.headers["content-type"]


async def test_registering_through_the_form_corrects_a_rejected_jmbg(intake: RunningService):
    worker = intake.auth("worker")
    page = await intake.client.get("/intake/households/new", headers=worker)
    assert page.status_code == 200
    assert 'for="members-' in page.text  # every field has a label

    good = make_jmbg(__import__("datetime").date(1984, 3, 7), "F", serial=17)
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    form = household_form(
        a1=person("Јелена", "Ђорђевић", "1984-03-07", "F", jmbg=bad, relation="head", consents="case_work"),
        b2=person("Marko", "Đorđević", "2012-05-01", "M", missing_jmbg_reason="not_yet_issued", relation="child"),
        c3=person("Ana", "Đorđević", "2016-09-09", "F", missing_jmbg_reason="not_known", relation="child"),
    )
    rejected = await intake.client.post("/intake/households/new", data=form, headers=worker)
    assert rejected.status_code == 422
    assert "Kontrolna cifra JMBG" in rejected.text or "check digit" in rejected.text
    assert 'aria-invalid="true"' in rejected.text
    assert "Ђорђевић" in rejected.text  # what was typed is kept

    form["members-a1-jmbg"] = good
    accepted = await intake.client.post("/intake/households/new", data=form, headers=worker)
    assert accepted.status_code == 303
    detail = await intake.client.get(accepted.headers["location"], headers=worker)
    assert detail.status_code == 200
    assert "Јелена Ђорђевић" in detail.text and good in detail.text
    assert detail.text.count('class="person"') == 3


async def test_the_forms_refusals_are_said_by_code_in_the_pages_language(intake: RunningService):
    def speaking(language: str) -> dict[str, str]:
        return intake.auth("worker") | {"Cookie": f"oslonac_lang={language}"}

    jmbg = make_jmbg(__import__("datetime").date(1979, 4, 2), "F", serial=41)
    form = household_form(a1=person("Vesna", "Tot", "1979-04-02", "F", jmbg=jmbg, consents="case_work"))
    first = await intake.client.post("/intake/households/new", data=form, headers=speaking("en"))
    assert first.status_code == 303
    again = await intake.client.post("/intake/households/new", data=form, headers=speaking("sr-Cyrl"))
    assert again.status_code == 422
    assert escape(refusal_text(REFUSALS, "jmbg_registered", language="sr-Cyrl")) in again.text
    assert first.headers["location"].split("?")[0] in again.text  # the household already registered is linked

    roma = household_form(a1=person("Vesna", "Tot", "1979-04-02", "F", missing_jmbg_reason="not_known", markers="roma"))
    refused = await intake.client.post("/intake/households/new", data=roma, headers=speaking("en"))
    assert refused.status_code == 422
    assert escape(refusal_text(REFUSALS, "roma_needs_consent", language="en")) in refused.text
    assert re.search(r'id="members-a1-marker-roma"[^>]*aria-invalid="true"', refused.text)  # the field it is about

    elsewhere = {**form, "municipality_code": NOVI_SAD, "members-a1-jmbg": ""}
    elsewhere["members-a1-missing_jmbg_reason"] = "not_known"
    foreign = await intake.client.post("/intake/households/new", data=elsewhere, headers=speaking("sr-Latn"))
    assert foreign.status_code == 422
    assert escape(refusal_text(REFUSALS, "municipality_not_yours", language="sr-Latn")) in foreign.text


async def test_inline_jmbg_check_explains_the_problem(intake: RunningService):
    jmbg = make_jmbg(__import__("datetime").date(1990, 1, 2), "M", serial=3)
    form = {"token": "x", "members-x-jmbg": jmbg, "members-x-birth_date": "1990-01-02", "members-x-sex": "F"}
    r = await intake.client.post("/intake/households/check-jmbg", data=form, headers=intake.auth("worker"))
    assert r.status_code == 200 and "field__error" in r.text
    form["members-x-sex"] = "M"
    r = await intake.client.post("/intake/households/check-jmbg", data=form, headers=intake.auth("worker"))
    assert r.text == ""


async def test_search_finds_a_cyrillic_name_with_a_latin_query_and_speaks_cyrillic(intake: RunningService):
    worker = intake.auth("worker")
    form = household_form(a1=person("Љиљана", "Ђорђевић", "1975-04-04", "F", missing_jmbg_reason="not_known"))
    assert (await intake.client.post("/intake/households/new", data=form, headers=worker)).status_code == 303
    r = await intake.client.get("/intake/", params={"q": "djordjevic ljiljana"}, headers=worker)
    assert r.status_code == 200
    assert "Љиљана Ђорђевић" in r.text
    cyrillic = await intake.client.get(
        "/intake/", params={"q": "Dordevic"}, headers={**worker, "Cookie": "oslonac_lang=sr-Cyrl"}
    )
    assert 'lang="sr-Cyrl"' in cyrillic.text
    assert "Претрага домаћинстава" in cyrillic.text
    assert re.search(r"[A-Za-z]{4,}", _visible_words(cyrillic.text)) is None


def _visible_words(html: str) -> str:
    """Text of the page outside tags, scripts, codes and people's names typed in Latin (none here)."""
    text = re.sub(r"<script.*?</script>|<style.*?</style>|<[^>]+>", " ", html, flags=re.S)
    text = re.sub(
        r"&[a-z]+;|\bworker\b|Oslonac|RSD|JMBG|English|Srpski|\(latinica\)|[0-9a-f]{8}-[0-9a-f-]{27}", " ", text
    )
    return text


async def test_a_worker_cannot_open_another_municipalitys_household(intake: RunningService):
    form = household_form(a1=person("Ana", "Kiš", "1980-01-01", "F", missing_jmbg_reason="not_known"))
    created = await intake.client.post("/intake/households/new", data=form, headers=intake.auth("worker"))
    location = created.headers["location"].split("?")[0]
    other = await intake.client.get(location, headers={**intake.auth("worker-ns"), "Accept": "text/html"})
    assert other.status_code == 403
    assert "text/html" in other.headers["content-type"] and "Kiš" not in other.text
    missing = await intake.client.get(
        "/intake/households/00000000-0000-4000-8000-000000000000",
        headers={**intake.auth("worker"), "Accept": "text/html"},
    )
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]


async def test_supervisor_pages_render(intake: RunningService):
    for path in ("/intake/duplicates", "/intake/audit", "/intake/poverty-lines"):
        r = await intake.client.get(path, headers=intake.auth("supervisor"))
        assert r.status_code == 200, (path, r.text[:500])
    r = await intake.client.get("/intake/duplicates", headers=intake.auth("worker"))
    assert r.status_code == 403


async def test_an_admin_sets_a_poverty_line_on_the_page(intake: RunningService):
    r = await intake.client.post(
        "/intake/poverty-lines", data={"year": "2026", "amount": "15000"}, headers=intake.auth("admin")
    )
    assert r.status_code == 200
    assert "15.000" in r.text
    r = await intake.client.post(
        "/intake/poverty-lines", data={"year": "2026", "amount": "-1"}, headers=intake.auth("admin")
    )
    assert r.status_code == 422


async def test_an_upload_shows_a_progress_page_that_finishes_with_an_error_report_link(intake: RunningService):
    worker = intake.auth("worker")
    rows = [
        "household_ref,municipality_code,given_name,family_name,birth_date,sex,jmbg,missing_jmbg_reason,relation",
        "P-1,80012,Ана,Пап,1981-01-01,F,,not_known,head",
        "P-2,80012,Eva,Kiš,1982-02-02,F,,not_known,head",
        "P-bad,99999,Eva,Kiš,1982-02-02,F,,not_known,head",
    ]
    files = {"file": ("teren.csv", ("\n".join(rows) + "\n").encode(), "text/csv")}
    r = await intake.client.post("/intake/imports", files=files, headers=worker)
    assert r.status_code == 303, r.text[:500]
    job_page = r.headers["location"]
    progress = job_page + "/progress"
    for _ in range(200):
        fragment = await intake.client.get(progress, headers=worker)
        if "hx-trigger" not in fragment.text:
            break
        await __import__("asyncio").sleep(0.05)
    assert fragment.status_code == 200
    assert "hx-trigger" not in fragment.text  # finished: the page stops polling
    assert 'value="100.0"' in fragment.text
    assert "errors.csv" in fragment.text
    again = await intake.client.post("/intake/imports", files=files, headers=worker)
    assert again.status_code == 303 and again.headers["location"] == job_page + "?again=1"
    empty = await intake.client.post(
        "/intake/imports", files={"file": ("x.csv", b"just,a,header\n", "text/csv")}, headers=worker
    )
    assert empty.status_code == 422 and 'role="alert"' in empty.text


async def test_pages_answer_odd_input_with_a_message_not_a_crash(intake: RunningService):
    worker = intake.auth("worker")
    short = await intake.client.post(
        "/intake/households/check-jmbg", data={"token": "x", "members-x-jmbg": "123"}, headers=worker
    )
    assert short.status_code == 200 and "field__error" in short.text
    form = household_form(a1=person("Ana", "Kiš", "1980-01-01", "F", missing_jmbg_reason="not_known"))
    location = (await intake.client.post("/intake/households/new", data=form, headers=worker)).headers["location"]
    household = await intake.client.get(location.split("?")[0].replace("/intake/", "/intake/api/"), headers=worker)
    head = household.json()["members"][0]["id"]
    bad = await intake.client.post(
        f"/intake/persons/{head}/consents", data={"purpose": "marketing", "granted": "yes"}, headers=worker
    )
    assert bad.status_code == 422
    # A household whose only member is no longer the head still shows.
    r = await intake.client.patch(f"/intake/api/persons/{head}", json={"relation": "spouse"}, headers=worker)
    assert r.status_code == 200
    assert (await intake.client.get(location.split("?")[0], headers=worker)).status_code == 200
    no_reason = await intake.client.patch(
        f"/intake/api/persons/{head}", json={"missing_jmbg_reason": None}, headers=worker
    )
    assert no_reason.status_code == 422 and "JMBG" in no_reason.json()["detail"]
    for amount in ("nan", "inf", "1e12"):
        r = await intake.client.post(
            "/intake/poverty-lines", data={"year": "2026", "amount": amount}, headers=intake.auth("admin")
        )
        assert r.status_code == 422, amount
