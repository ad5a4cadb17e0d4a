"""Intake's registry over its HTTP API, on a real database (SQLite and PostgreSQL) and the session's broker:
registration, JMBG rules, search in both scripts, likely duplicates and merging, consent, erasure, poverty lines,
the audit log, who may do what, and the case status cases reports back.

What a user would notice is asserted: status codes, messages, what GET shows, rows, and the events intake queued
(read from its outbox and decoded with the event catalogue, as every consumer decodes them).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import fastapi.routing
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.intake import handlers
from services.intake.app import create_app
from services.intake.domain import jmbg_check_digit, make_jmbg
from services.intake.models import ConsentRecord, Household, Person, plumbing
from shared.context import new_id
from shared.events import (
    CaseOpenedV1,
    Envelope,
    EventData,
    HouseholdMergedV1,
    HouseholdRegisteredV2,
    HouseholdUpdatedV1,
    PersonConsentChangedV1,
    PersonErasedV1,
    PersonMergedV1,
    decode_event,
)
from shared.messaging.applier import Outcome
from shared.messaging.kafka import ensure_topics
from shared.settings import Environment, KafkaSettings, Settings
from tests.fixtures.auth import ADA, NOVI_SAD, RUMA, Tokens
from tests.fixtures.databases import DatabaseFactory
from tests.fixtures.kafka_tools import eventually, produce_event, read_topic
from tests.fixtures.services import RunningService, running_service

API = "/intake/api"
THIS_YEAR = datetime.now(UTC).year
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
OFFLINE = KafkaSettings(bootstrap_servers="127.0.0.1:9")


# --- the running service -------------------------------------------------------------------------------------


@pytest.fixture
async def intake(
    databases: DatabaseFactory, tokens: Tokens, kafka_settings: KafkaSettings, intake_events_on_the_broker: set[str]
):
    """Intake with its relay publishing to the session's broker (topics of this test's own)."""
    await ensure_topics(kafka_settings)
    url = await databases.url_for("intake")
    async with running_service(
        "intake", database_url=url, kafka=kafka_settings, tokens=tokens, run_consumer=False
    ) as running:
        yield running
        # Before the relay stops: what this test queued is on the broker, and the privacy proof may count on it.
        await eventually(lambda: unpublished(running), lambda n: n == 0, timeout_s=30)
        async with running.runtime.sessions() as session:
            intake_events_on_the_broker.update((await session.execute(select(plumbing.outbox.c.event_id))).scalars())


async def unpublished(intake: RunningService) -> int:
    return await intake.count(plumbing.outbox, plumbing.outbox.c.published_at.is_(None))


# --- requests ------------------------------------------------------------------------------------------------


def person(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "given_name": "Jelena",
        "family_name": "Petrović",
        "birth_date": "1984-03-07",
        "sex": "F",
        "missing_jmbg_reason": "not_known",
    }
    body.update(overrides)
    return body


def household(*members: dict[str, Any], municipality: str = ADA, **fields: Any) -> dict[str, Any]:
    return {"municipality_code": municipality, "members": list(members) or [person()], **fields}


async def register(intake: RunningService, body: dict[str, Any], *, user: str = "worker") -> dict[str, Any]:
    r = await intake.client.post(f"{API}/households", json=body, headers=intake.auth(user))
    assert r.status_code == 201, r.text
    return r.json()


async def get_household(intake: RunningService, household_id: str, *, user: str = "worker") -> dict[str, Any]:
    r = await intake.client.get(f"{API}/households/{household_id}", headers=intake.auth(user))
    assert r.status_code == 200, r.text
    return r.json()


async def search(intake: RunningService, q: str, *, user: str = "worker", **params: Any) -> dict[str, Any]:
    r = await intake.client.get(f"{API}/households", params={"q": q, **params}, headers=intake.auth(user))
    assert r.status_code == 200, r.text
    return r.json()


async def set_line(intake: RunningService, amount: float, *, year: int = THIS_YEAR) -> dict[str, Any]:
    r = await intake.client.put(f"{API}/poverty-lines/{year}", json={"amount": amount}, headers=intake.auth("admin"))
    assert r.status_code == 200, r.text
    return r.json()


async def duplicate_queue(intake: RunningService, *, user: str = "supervisor") -> list[dict[str, Any]]:
    r = await intake.client.get(f"{API}/duplicates", headers=intake.auth(user))
    assert r.status_code == 200, r.text
    return r.json()


def errors_at(response: Any, *loc: str | int) -> list[str]:
    """The messages of a 422 for the field at ``loc`` (the path after "body")."""
    wanted = ["body", *loc]
    return [e["msg"] for e in response.json()["errors"] if e["loc"] == wanted]


# --- the events intake queued --------------------------------------------------------------------------------


@dataclass
class Queued:
    event: EventData
    key: str
    headers: dict[str, str]
    payload: str


async def outbox(intake: RunningService) -> list[Queued]:
    """Everything intake queued, in order, decoded as a consumer decodes it."""
    async with intake.runtime.sessions() as session:
        rows = (await session.execute(select(plumbing.outbox).order_by(plumbing.outbox.c.seq))).mappings().all()
    queued = []
    for row in rows:
        headers = dict(row["headers"])
        assert row["topic"] == "intake.household"
        queued.append(
            Queued(decode_event(headers["ce_type"], json.loads(row["payload"])), row["key"], headers, row["payload"])
        )
    return queued


async def queued_since(intake: RunningService, before: int) -> list[EventData]:
    return [q.event for q in (await outbox(intake))[before:]]


async def queued_count(intake: RunningService) -> int:
    return await intake.count(plumbing.outbox)


async def audit_rows(intake: RunningService, *, user: str = "admin", **params: Any) -> list[dict[str, Any]]:
    r = await intake.client.get(f"{API}/audit", params={"limit": 500, **params}, headers=intake.auth(user))
    assert r.status_code == 200, r.text
    return r.json()


# --- a household with everything -----------------------------------------------------------------------------

HEAD_JMBG = make_jmbg(date(1986, 4, 12), "F", region=80, serial=14)
SPOUSE_JMBG = make_jmbg(date(1983, 9, 30), "M", region=80, serial=102)


def full_household() -> dict[str, Any]:
    """Two adults and two children under 14 living on 30,000 RSD a month: 2.1 equivalent adults."""
    return household(
        person(
            given_name="Љиљана",
            family_name="Ђорђевић",
            birth_date="1986-04-12",
            sex="F",
            jmbg=HEAD_JMBG,
            relation="head",
            education="secondary",
            employment_status="unemployed",
            able_to_work=True,
            skills=["cooking", "care_children"],
            phone="+381 64 123 4567",
            markers=["single_parent", "roma"],
            consents=["case_work", "activation", "ethnicity"],
        ),
        person(
            given_name="Dragan",
            family_name="Đorđević",
            birth_date="1983-09-30",
            sex="M",
            jmbg=SPOUSE_JMBG,
            relation="spouse",
            education="primary",
            employment_status="informal_work",
            able_to_work=True,
            skills=["construction"],
            markers=["disability"],
            consents=["case_work"],
        ),
        person(
            given_name="Mila",
            family_name="Đorđević",
            birth_date="2016-02-01",
            sex="F",
            missing_jmbg_reason="no_personal_documents",
            relation="child",
            education="primary_incomplete",
        ),
        person(
            given_name="Vuk",
            family_name="Đorđević",
            birth_date="2020-08-15",
            sex="M",
            missing_jmbg_reason="not_yet_issued",
            relation="child",
        ),
        settlement="Mol",
        address="Petefi Šandora 12",
        housing_type="informal_settlement",
        housing_problems=["no_sewage", "damp_or_unsafe"],
        incomes=[
            {"source": "informal_work", "monthly_amount": 18_000},
            {"source": "child_allowance", "monthly_amount": 7_000},
            {"source": "social_assistance", "monthly_amount": 5_000},
        ],
    )


# === registration ============================================================================================


async def test_a_household_with_every_field_is_shown_back_as_registered(intake: RunningService):
    created = await register(intake, full_household())
    shown = await get_household(intake, created["id"])

    assert shown["municipality_code"] == ADA
    assert (shown["settlement"], shown["address"]) == ("Mol", "Petefi Šandora 12")
    assert shown["housing_type"] == "informal_settlement"
    assert shown["housing_problems"] == ["no_sewage", "damp_or_unsafe"]
    assert [(i["source"], i["monthly_amount"]) for i in shown["incomes"]] == [
        ("informal_work", 18_000),
        ("child_allowance", 7_000),
        ("social_assistance", 5_000),
    ]
    assert shown["registered_by"] == "worker" and shown["version"] == 1 and shown["case_status"] is None
    head, spouse, girl, boy = shown["members"]
    assert head | {"id": None} == {
        "id": None,
        "given_name": "Љиљана",
        "family_name": "Ђорђевић",
        "birth_date": "1986-04-12",
        "sex": "F",
        "jmbg": HEAD_JMBG,
        "missing_jmbg_reason": None,
        "relation": "head",
        "education": "secondary",
        "employment_status": "unemployed",
        "able_to_work": True,
        "skills": ["cooking", "care_children"],
        "phone": "+381 64 123 4567",
        "markers": ["unemployed_able_to_work", "single_parent", "roma"],
        "consents": ["case_work", "activation", "ethnicity"],
        "erased": False,
    }
    assert (spouse["jmbg"], spouse["relation"], spouse["skills"]) == (SPOUSE_JMBG, "spouse", ["construction"])
    assert spouse["markers"] == ["disability"]  # informal work is not unemployment
    assert (girl["jmbg"], girl["missing_jmbg_reason"]) == (None, "no_personal_documents")
    assert girl["markers"] == ["without_documents", "child"]
    assert boy["markers"] == ["child"] and boy["missing_jmbg_reason"] == "not_yet_issued"
    assert created["members"] == shown["members"]


async def test_poverty_of_a_known_household_before_and_after_the_line_is_set(intake: RunningService):
    created = await register(intake, full_household())
    assert created["poverty"] == {
        "monthly_income": 30_000,
        "equivalent_adults": 2.1,
        "income_per_equivalent_adult": 14_285.71,
        "poverty_line": None,
        "year": None,
        "below_poverty_line": None,  # no line yet: unknown, not "not poor"
    }
    await set_line(intake, 15_000)
    shown = await get_household(intake, created["id"])
    assert shown["poverty"] == {
        "monthly_income": 30_000,
        "equivalent_adults": 2.1,
        "income_per_equivalent_adult": 14_285.71,
        "poverty_line": 15_000,
        "year": THIS_YEAR,
        "below_poverty_line": True,
    }


async def test_a_household_registered_after_the_line_is_set_is_flagged_at_once(intake: RunningService):
    await set_line(intake, 15_000)
    poor = await register(intake, full_household())
    enough = await register(
        intake, household(person(), incomes=[{"source": "wages", "monthly_amount": 15_000}])
    )  # one adult exactly on the line
    assert poor["poverty"]["below_poverty_line"] is True and poor["poverty"]["poverty_line"] == 15_000
    assert enough["poverty"]["below_poverty_line"] is False
    assert enough["poverty"]["income_per_equivalent_adult"] == 15_000


async def test_each_registration_wakes_the_relay_once_after_it_commits(intake: RunningService):
    woken: list[int] = []
    intake.runtime.outbox.on_commit(lambda: woken.append(1))
    await register(intake, household())
    await register(intake, household(person(given_name="Ivan", sex="M")))
    assert len(woken) == 2
    r = await intake.client.post(
        f"{API}/households", json=household(municipality="00000"), headers=intake.auth("worker")
    )
    assert r.status_code == 422
    assert len(woken) == 2  # nothing queued, nothing to wake for


async def test_a_registration_right_after_a_line_change_uses_the_new_line(intake: RunningService):
    """Registration keeps the lines in memory; a change of line drops that copy when it commits."""

    def one_adult() -> dict[str, Any]:
        return household(person(), incomes=[{"source": "wages", "monthly_amount": 12_000}])

    before = await register(intake, one_adult())
    await set_line(intake, 15_000)
    poor = await register(intake, one_adult())
    await set_line(intake, 10_000)
    not_poor = await register(intake, one_adult())
    assert before["poverty"]["poverty_line"] is None and before["poverty"]["below_poverty_line"] is None
    assert poor["poverty"]["poverty_line"] == 15_000 and poor["poverty"]["below_poverty_line"] is True
    assert not_poor["poverty"]["poverty_line"] == 10_000 and not_poor["poverty"]["below_poverty_line"] is False


async def test_the_first_member_is_the_head_when_no_one_is_named(intake: RunningService):
    created = await register(intake, household(person(), person(given_name="Ivan", sex="M", relation="spouse")))
    assert [m["relation"] for m in created["members"]] == ["head", "spouse"]


async def test_two_heads_are_refused(intake: RunningService):
    r = await intake.client.post(
        f"{API}/households",
        json=household(person(relation="head"), person(given_name="Ivan", sex="M", relation="head")),
        headers=intake.auth("worker"),
    )
    assert r.status_code == 422
    assert "members 1, 2 are heads" in r.text
    assert await intake.count(Household.__table__) == 0


async def test_registration_queues_one_registered_event_with_the_non_personal_state(intake: RunningService):
    created = await register(intake, full_household())
    [queued] = await outbox(intake)
    assert queued.key == created["id"] and queued.headers["ce_subject"] == created["id"]
    event = queued.event
    assert isinstance(event, HouseholdRegisteredV2)
    assert (str(event.household_id), event.municipality_code, event.version) == (created["id"], ADA, 1)
    assert (event.housing_type, event.equivalent_adults, event.below_poverty_line) == ("informal_settlement", 2.1, None)
    head = event.members[0]
    assert (head.sex, head.birth_year, head.relation, head.skills) == ("F", 1986, "head", ["cooking", "care_children"])
    assert head.markers == ["unemployed_able_to_work", "single_parent", "roma"]
    assert head.consents == ["case_work", "activation", "ethnicity"]
    assert event.members[2].markers == ["without_documents"]  # child is derived by consumers from the birth year
    for personal in ("Љиљана", "Ђорђевић", "Đorđević", HEAD_JMBG, SPOUSE_JMBG, "Petefi", "Mol", "4567", "1986-04-12"):
        assert personal not in queued.payload


# === JMBG and other refusals =================================================================================


def jmbg_with_bad_date() -> str:
    first12 = "310298580012"  # 31 February 1985, region 80, a man
    return first12 + str(jmbg_check_digit(first12))


@pytest.mark.parametrize(
    ("jmbg", "message"),
    [
        ("12345", "JMBG must be exactly 13 digits."),
        ("07039848001ab", "JMBG must be exactly 13 digits."),
        (
            make_jmbg(date(1984, 3, 7), "F")[:12] + str((int(make_jmbg(date(1984, 3, 7), "F")[12]) + 1) % 10),
            "JMBG check digit does not match: the number was probably mistyped.",
        ),
        (jmbg_with_bad_date(), "JMBG does not start with a valid date (DDMMYYY)."),
        (
            make_jmbg(date(1984, 3, 8), "F"),
            "JMBG encodes the birth date 1984-03-08, but the birth date given is 1984-03-07.",
        ),
        (make_jmbg(date(1984, 3, 7), "M"), "JMBG encodes a male person, but the sex given is F."),
    ],
    ids=["length", "not-digits", "check-digit", "date", "birth-date", "sex"],
)
async def test_each_jmbg_problem_has_its_own_message_on_the_member(intake: RunningService, jmbg: str, message: str):
    body = household(person(given_name="Ana", jmbg=None), person(jmbg=jmbg))
    r = await intake.client.post(f"{API}/households", json=body, headers=intake.auth("worker"))
    assert r.status_code == 422, r.text
    assert errors_at(r, "members", 1, "jmbg") == [message]
    assert await intake.count(Household.__table__) == 0 and await queued_count(intake) == 0


async def test_no_jmbg_and_no_reason_is_a_422_that_says_what_to_do(intake: RunningService):
    member = person()
    del member["missing_jmbg_reason"]
    r = await intake.client.post(f"{API}/households", json=household(member), headers=intake.auth("worker"))
    assert r.status_code == 422
    [message] = errors_at(r, "members", 0)
    assert "give the JMBG, or say why there is none (missing_jmbg_reason)" in message
    assert await intake.count(Person.__table__) == 0


async def test_a_registered_jmbg_is_a_409_naming_the_household_it_is_in(intake: RunningService):
    first = await register(intake, full_household())
    r = await intake.client.post(
        f"{API}/households",
        json=household(
            person(given_name="Ljiljana", family_name="Djordjevic", birth_date="1986-04-12", jmbg=HEAD_JMBG)
        ),
        headers=intake.auth("supervisor"),
    )
    assert r.status_code == 409
    assert first["id"] in r.json()["detail"] and HEAD_JMBG in r.json()["detail"]
    assert r.json()["errors"]["existing_household_id"] == first["id"]
    assert await intake.count(Household.__table__) == 1


async def test_a_jmbg_registered_in_another_municipality_is_a_409_that_does_not_say_which_household(
    intake: RunningService,
):
    theirs = await register(
        intake, household(person(jmbg=HEAD_JMBG, birth_date="1986-04-12"), municipality=NOVI_SAD), user="worker-ns"
    )
    r = await intake.client.post(
        f"{API}/households",
        json=household(person(jmbg=HEAD_JMBG, birth_date="1986-04-12")),
        headers=intake.auth("worker"),
    )
    assert r.status_code == 409
    assert "another municipality" in r.json()["detail"]
    assert theirs["id"] not in r.text and not UUID_RE.search(r.text)


async def test_correcting_a_jmbg_to_one_already_registered_is_a_409(intake: RunningService):
    await register(intake, household(person(jmbg=HEAD_JMBG, birth_date="1986-04-12")))
    other = await register(intake, household(person(given_name="Ana", birth_date="1986-04-12")))
    r = await intake.client.patch(
        f"{API}/persons/{other['members'][0]['id']}", json={"jmbg": HEAD_JMBG}, headers=intake.auth("worker")
    )
    assert r.status_code == 409
    assert (await get_household(intake, other["id"]))["members"][0]["jmbg"] is None


async def test_an_unknown_skill_is_a_422_naming_it(intake: RunningService):
    r = await intake.client.post(
        f"{API}/households",
        json=household(person(skills=["cooking", "juggling"])),
        headers=intake.auth("worker"),
    )
    assert r.status_code == 422
    [message] = errors_at(r, "members", 0, "skills")
    assert "not on the skills list: juggling" in message
    assert await intake.count(Household.__table__) == 0


async def test_the_roma_marker_without_ethnicity_consent_is_refused_at_registration_and_on_correction(
    intake: RunningService,
):
    r = await intake.client.post(
        f"{API}/households",
        json=household(person(markers=["roma"], consents=["case_work"])),
        headers=intake.auth("worker"),
    )
    assert r.status_code == 422
    [message] = errors_at(r, "members", 0)
    assert "Roma marker is recorded only with the person's explicit consent ('ethnicity' in consents)" in message
    assert await intake.count(Household.__table__) == 0

    created = await register(intake, household(person(consents=["case_work"])))
    r = await intake.client.patch(
        f"{API}/persons/{created['members'][0]['id']}", json={"markers": ["roma"]}, headers=intake.auth("worker")
    )
    assert r.status_code == 422 and "explicit consent" in r.json()["detail"]
    assert (await get_household(intake, created["id"]))["members"][0]["markers"] == []


async def test_a_correction_cannot_make_a_second_head(intake: RunningService):
    created = await register(intake, household(person(relation="head"), person(given_name="Ivan", sex="M")))
    r = await intake.client.patch(
        f"{API}/persons/{created['members'][1]['id']}", json={"relation": "head"}, headers=intake.auth("worker")
    )
    assert r.status_code == 422, r.text
    relations = [m["relation"] for m in (await get_household(intake, created["id"]))["members"]]
    assert relations.count("head") == 1


# === search ==================================================================================================


async def test_a_name_registered_in_cyrillic_is_found_in_latin_with_or_without_diacritics(intake: RunningService):
    ours = await register(intake, full_household())
    await register(intake, household(person(given_name="Petar", family_name="Đukić", sex="M")))
    for query in ("djordjevic", "Dordevic", "Đorđević ljiljana", "ђорђ", "ЉИЉАНА", "ljilj djord", "Dragan"):
        found = await search(intake, query)
        assert [h["id"] for h in found["results"]] == [ours["id"]], query
        assert found["total"] == 1
    hit = (await search(intake, "djordjevic"))["results"][0]
    assert hit["members"][:2] == ["Љиљана Ђорђевић", "Dragan Đorđević"] and hit["size"] == 4
    assert hit["municipality_code"] == ADA and hit["settlement"] == "Mol"
    assert (await search(intake, "Ljiljana Petrović"))["total"] == 0  # every word must match one member


async def test_a_household_is_found_by_a_members_jmbg(intake: RunningService):
    ours = await register(intake, full_household())
    await register(intake, household(person(jmbg=make_jmbg(date(1984, 3, 7), "F", serial=3))))
    assert [h["id"] for h in (await search(intake, SPOUSE_JMBG))["results"]] == [ours["id"]]
    spaced = f"{SPOUSE_JMBG[:7]} {SPOUSE_JMBG[7:9]} {SPOUSE_JMBG[9:]}"
    assert [h["id"] for h in (await search(intake, spaced))["results"]] == [ours["id"]]
    assert (await search(intake, make_jmbg(date(1984, 3, 7), "F", serial=4)))["total"] == 0


async def test_a_double_surname_is_found_by_either_part(intake: RunningService):
    ours = await register(intake, household(person(family_name="Jovanović Petrović")))
    assert [h["id"] for h in (await search(intake, "Jovanović"))["results"]] == [ours["id"]]
    assert [h["id"] for h in (await search(intake, "Petrović"))["results"]] == [ours["id"]]


async def test_search_shows_only_the_municipalities_one_works_for(intake: RunningService):
    ada = await register(intake, full_household())
    ruma = await register(
        intake, household(person(family_name="Ђорђевић", given_name="Сава", sex="M"), municipality=RUMA)
    )
    novi_sad = await register(
        intake, household(person(family_name="Djordjević", given_name="Ana"), municipality=NOVI_SAD), user="worker-ns"
    )
    assert {h["id"] for h in (await search(intake, "djordjevic"))["results"]} == {ada["id"], ruma["id"]}
    assert {h["id"] for h in (await search(intake, "", user="worker"))["results"]} == {ada["id"], ruma["id"]}
    assert {h["id"] for h in (await search(intake, "djordjevic", user="worker-ns"))["results"]} == {novi_sad["id"]}
    everyone = {ada["id"], ruma["id"], novi_sad["id"]}
    assert {h["id"] for h in (await search(intake, "djordjevic", user="admin"))["results"]} == everyone
    assert {h["id"] for h in (await search(intake, "djordjevic", municipality=RUMA))["results"]} == {ruma["id"]}
    r = await intake.client.get(
        f"{API}/households", params={"q": "djordjevic", "municipality": NOVI_SAD}, headers=intake.auth("worker")
    )
    assert r.status_code == 403 and "not among the municipalities" in r.json()["detail"]
    assert "Ana" not in r.text


async def test_every_search_hit_is_written_to_the_audit_log(intake: RunningService):
    ours = await register(intake, full_household())
    await register(intake, household(person(given_name="Petar", family_name="Đukić", sex="M")))
    assert await audit_rows(intake) == []
    await search(intake, "djordjevic", user="supervisor")
    rows = await audit_rows(intake)
    assert sorted(r["record_id"] for r in rows) == sorted(m["id"] for m in ours["members"])
    assert {(r["actor"], r["action"], r["record_type"], r["municipality_code"]) for r in rows} == {
        ("supervisor", "GET /api/households", "person", ADA)
    }
    await search(intake, "nobody-is-called-this")
    assert len(await audit_rows(intake)) == 4


# === likely duplicates =======================================================================================

ANA = {"given_name": "Ana", "family_name": "Nađ", "birth_date": "1990-01-02", "sex": "F"}
ANA_CYRILLIC = {"given_name": "Ана", "family_name": "Нађ", "birth_date": "1990-01-02", "sex": "F"}
ANA_JMBG = make_jmbg(date(1990, 1, 2), "F", serial=21)


async def likely_pair(
    intake: RunningService, *, older: dict[str, Any] | None = None, newer: dict[str, Any] | None = None
):
    """Ana Nađ registered in Ada, and again (in Cyrillic, with her JMBG and a son) in another household."""
    first = await register(
        intake,
        older
        or household(
            person(**ANA, phone="064 111 222", skills=["sewing"]),
            person(given_name="Lajoš", sex="M", birth_date="1988-05-05", relation="spouse"),
        ),
    )
    second = await register(
        intake,
        newer
        or household(
            person(**ANA_CYRILLIC, jmbg=ANA_JMBG, consents=["research"]),
            person(given_name="Bence", family_name="Нађ", sex="M", birth_date="2015-03-03", relation="child"),
            incomes=[{"source": "wages", "monthly_amount": 40_000}],
        ),
    )
    [pair] = [
        p
        for p in await duplicate_queue(intake)
        if (p["person"]["id"], p["other"]["id"]) == (second["members"][0]["id"], first["members"][0]["id"])
    ]
    return first, second, pair


async def test_a_likely_duplicate_is_registered_and_queued_for_a_supervisor(intake: RunningService):
    first, second, pair = await likely_pair(intake)
    assert pair["status"] == "open" and pair["municipality_code"] == ADA
    assert (pair["person"]["id"], pair["person_household_id"]) == (second["members"][0]["id"], second["id"])
    assert (pair["other"]["id"], pair["other_household_id"]) == (first["members"][0]["id"], first["id"])
    assert (pair["person"]["family_name"], pair["other"]["family_name"]) == ("Нађ", "Nađ")
    assert "same birth date and name" in pair["reason"]
    assert (await get_household(intake, second["id"]))["possible_duplicates"] == 1
    assert (await get_household(intake, first["id"]))["possible_duplicates"] == 1
    assert await intake.count(Person.__table__) == 4  # never merged without a supervisor


async def test_the_registration_response_says_a_likely_duplicate_was_queued(intake: RunningService):
    await register(intake, household(person(**ANA)))
    second = await register(intake, household(person(**ANA_CYRILLIC)))
    assert second["possible_duplicates"] == 1


async def test_different_birth_dates_or_names_are_not_likely_duplicates(intake: RunningService):
    await register(intake, household(person(**ANA)))
    await register(intake, household(person(**{**ANA, "birth_date": "1990-01-03"})))
    await register(intake, household(person(**{**ANA, "given_name": "Anica"})))
    await register(intake, household(person(**{**ANA, "family_name": "Nađi"})))
    assert await duplicate_queue(intake) == []


async def merge(intake: RunningService, pair_id: str, *, user: str = "supervisor", **body: Any) -> Any:
    return await intake.client.post(f"{API}/duplicates/{pair_id}/merge", json=body, headers=intake.auth(user))


async def test_merging_into_the_registered_record_moves_the_jmbg_and_keeps_one_person(intake: RunningService):
    first, second, pair = await likely_pair(intake)
    before = await queued_count(intake)
    r = await merge(intake, pair["id"], keep="other")
    assert r.status_code == 200, r.text
    ana, lajos = first["members"]
    duplicate, bence = second["members"]
    assert r.json() == {
        "survivor_person_id": ana["id"],
        "merged_person_id": duplicate["id"],
        "survivor_household_id": first["id"],
        "merged_household_id": None,
    }
    assert await intake.count(Person.__table__) == 3
    kept = (await get_household(intake, first["id"]))["members"]
    assert [m["id"] for m in kept] == [ana["id"], lajos["id"]]
    assert (kept[0]["jmbg"], kept[0]["missing_jmbg_reason"]) == (ANA_JMBG, None)  # only the merged record had it
    assert (kept[0]["given_name"], kept[0]["phone"], kept[0]["skills"]) == ("Ana", "064 111 222", ["sewing"])
    assert kept[0]["consents"] == ["research"]
    left = await get_household(intake, second["id"])
    assert [m["id"] for m in left["members"]] == [bence["id"]] and left["merged_into"] is None
    assert left["poverty"]["equivalent_adults"] == 1.0
    assert [h["id"] for h in (await search(intake, ANA_JMBG))["results"]] == [first["id"]]
    assert await duplicate_queue(intake) == []

    events = await queued_since(intake, before)
    assert [type(e) for e in events] == [PersonMergedV1, HouseholdUpdatedV1, HouseholdUpdatedV1]
    merged, updated_left, updated_kept = events
    assert isinstance(merged, PersonMergedV1)
    assert (str(merged.survivor_person_id), str(merged.merged_person_id)) == (ana["id"], duplicate["id"])
    assert (str(merged.survivor_household_id), str(merged.merged_household_id)) == (first["id"], second["id"])
    assert isinstance(updated_left, HouseholdUpdatedV1) and isinstance(updated_kept, HouseholdUpdatedV1)
    assert (str(updated_left.household_id), updated_left.reason, updated_left.version) == (second["id"], "merged", 2)
    assert [str(m.person_id) for m in updated_left.members] == [bence["id"]]
    assert (str(updated_kept.household_id), updated_kept.reason, updated_kept.version) == (first["id"], "merged", 2)
    assert updated_kept.members[0].consents == ["research"]


async def test_merging_into_the_new_record_keeps_its_jmbg_and_takes_what_it_lacked(intake: RunningService):
    first, second, pair = await likely_pair(intake)
    r = await merge(intake, pair["id"], keep="person")
    assert r.status_code == 200, r.text
    assert r.json()["survivor_person_id"] == second["members"][0]["id"]
    assert r.json()["survivor_household_id"] == second["id"]
    assert await intake.count(Person.__table__) == 3
    survivor = (await get_household(intake, second["id"]))["members"][0]
    assert (survivor["family_name"], survivor["jmbg"]) == ("Нађ", ANA_JMBG)
    assert (survivor["phone"], survivor["skills"]) == ("064 111 222", ["sewing"])  # taken from the merged record
    assert [m["given_name"] for m in (await get_household(intake, first["id"]))["members"]] == ["Lajoš"]
    assert {type(e) for e in await queued_since(intake, 2)} == {PersonMergedV1, HouseholdUpdatedV1}


async def test_merging_the_whole_household_moves_its_members_and_incomes(intake: RunningService):
    first, second, pair = await likely_pair(intake)
    before = await queued_count(intake)
    r = await merge(intake, pair["id"], keep="other", whole_household=True)
    assert r.status_code == 200, r.text
    assert r.json()["merged_household_id"] == second["id"]
    ana, lajos = first["members"]
    duplicate, bence = second["members"]

    survivor = await get_household(intake, first["id"])
    assert [m["id"] for m in survivor["members"]] == [ana["id"], lajos["id"], bence["id"]]
    assert survivor["members"][0]["jmbg"] == ANA_JMBG
    assert [(i["source"], i["monthly_amount"]) for i in survivor["incomes"]] == [("wages", 40_000)]
    assert survivor["poverty"]["equivalent_adults"] == 1.8  # two adults and Bence, 11
    assert survivor["poverty"]["income_per_equivalent_adult"] == 22_222.22
    gone = await get_household(intake, second["id"])
    assert gone["merged_into"] == first["id"] and gone["members"] == []
    assert [h["id"] for h in (await search(intake, "Bence"))["results"]] == [first["id"]]
    assert (await search(intake, "nad"))["total"] == 1

    events = await queued_since(intake, before)
    assert [type(e) for e in events] == [HouseholdMergedV1, HouseholdUpdatedV1]
    merged, updated = events
    assert isinstance(merged, HouseholdMergedV1) and isinstance(updated, HouseholdUpdatedV1)
    assert (str(merged.survivor_household_id), str(merged.merged_household_id)) == (first["id"], second["id"])
    assert [str(p) for p in merged.moved_person_ids] == [bence["id"]]
    assert {str(k): str(v) for k, v in merged.merged_person_ids.items()} == {duplicate["id"]: ana["id"]}
    assert (str(updated.household_id), updated.reason, len(updated.members)) == (first["id"], "merged", 3)


async def test_merging_away_a_households_only_member_merges_the_household(intake: RunningService):
    first, second, pair = await likely_pair(
        intake, older=household(person(**ANA)), newer=household(person(**ANA_CYRILLIC, jmbg=ANA_JMBG))
    )
    r = await merge(intake, pair["id"], keep="other")
    assert r.status_code == 200, r.text
    assert r.json()["merged_household_id"] == second["id"]
    assert (await get_household(intake, second["id"]))["merged_into"] == first["id"]
    assert (await search(intake, "ana nad"))["total"] == 1


async def test_a_dismissed_pair_leaves_the_queue_and_cannot_be_settled_again(intake: RunningService):
    _, second, pair = await likely_pair(intake)
    r = await intake.client.post(f"{API}/duplicates/{pair['id']}/dismissal", headers=intake.auth("supervisor"))
    assert r.status_code == 204
    assert await duplicate_queue(intake) == []
    assert (await get_household(intake, second["id"]))["possible_duplicates"] == 0
    assert await intake.count(Person.__table__) == 4
    again = await intake.client.post(f"{API}/duplicates/{pair['id']}/dismissal", headers=intake.auth("supervisor"))
    assert again.status_code == 409 and "already dismissed" in again.json()["detail"]
    r = await merge(intake, pair["id"], keep="other")
    assert r.status_code == 409 and "already dismissed" in r.json()["detail"]
    assert await intake.count(Person.__table__) == 4


async def test_a_merged_pair_cannot_be_merged_again(intake: RunningService):
    _, _, pair = await likely_pair(intake)
    assert (await merge(intake, pair["id"], keep="other")).status_code == 200
    before = await queued_count(intake)
    r = await merge(intake, pair["id"], keep="person")
    assert r.status_code == 409 and "already merged" in r.json()["detail"]
    assert await intake.count(Person.__table__) == 3 and await queued_count(intake) == before


async def test_case_workers_cannot_see_or_settle_the_duplicate_queue(intake: RunningService):
    _, _, pair = await likely_pair(intake)
    r = await intake.client.get(f"{API}/duplicates", headers=intake.auth("worker"))
    assert r.status_code == 403 and "Ana" not in r.text
    assert (await merge(intake, pair["id"], user="worker", keep="other")).status_code == 403
    r = await intake.client.post(f"{API}/duplicates/{pair['id']}/dismissal", headers=intake.auth("worker"))
    assert r.status_code == 403
    assert len(await duplicate_queue(intake)) == 1 and await intake.count(Person.__table__) == 4


async def test_an_unknown_pair_is_a_404(intake: RunningService):
    r = await merge(intake, str(uuid.uuid4()), keep="other")
    assert r.status_code == 404


async def test_the_queue_shows_no_personal_data_of_another_municipality(intake: RunningService):
    await register(intake, household(person(**ANA)))
    ns_phone = "021 555 0101"
    await register(
        intake,
        household(person(**ANA_CYRILLIC, jmbg=ANA_JMBG, phone=ns_phone), municipality=NOVI_SAD),
        user="worker-ns",
    )
    r = await intake.client.get(f"{API}/duplicates", headers=intake.auth("supervisor"))
    assert r.status_code == 200
    assert ANA_JMBG not in r.text and ns_phone not in r.text and "Нађ" not in r.text


async def test_a_supervisor_cannot_merge_a_record_of_another_municipality(intake: RunningService):
    first = await register(intake, household(person(**ANA)))
    await register(intake, household(person(**ANA_CYRILLIC), municipality=NOVI_SAD), user="worker-ns")
    [pair] = await duplicate_queue(intake, user="admin")
    r = await merge(intake, pair["id"], keep="other")
    assert r.status_code == 403
    assert await intake.count(Person.__table__) == 2
    assert (await get_household(intake, first["id"]))["possible_duplicates"] == 1


# === consent =================================================================================================


async def change_consent(intake: RunningService, person_id: str, purpose: str, granted: bool) -> Any:
    return await intake.client.put(
        f"{API}/persons/{person_id}/consents",
        json={"purpose": purpose, "granted": granted},
        headers=intake.auth("worker"),
    )


async def test_withdrawing_activation_consent_is_announced(intake: RunningService):
    created = await register(intake, full_household())
    head = created["members"][0]
    before = await queued_count(intake)
    r = await change_consent(intake, head["id"], "activation", False)
    assert r.status_code == 200, r.text
    assert r.json()["consents"] == ["case_work", "ethnicity"]
    shown = await get_household(intake, created["id"])
    assert shown["members"][0]["consents"] == ["case_work", "ethnicity"] and shown["version"] == 2

    changed, updated = await queued_since(intake, before)
    assert isinstance(changed, PersonConsentChangedV1)
    assert (str(changed.household_id), str(changed.person_id)) == (created["id"], head["id"])
    assert (changed.purpose, changed.granted) == ("activation", False)
    assert isinstance(updated, HouseholdUpdatedV1)
    assert (updated.reason, updated.version, updated.members[0].consents) == (
        "consent_changed",
        2,
        ["case_work", "ethnicity"],
    )
    async with intake.runtime.sessions() as session:
        history = (
            await session.execute(
                select(ConsentRecord.purpose, ConsentRecord.granted, ConsentRecord.changed_by)
                .where(ConsentRecord.person_id == uuid.UUID(head["id"]))
                .order_by(ConsentRecord.id)
            )
        ).all()
    assert [tuple(h) for h in history] == [
        ("case_work", True, "worker"),
        ("activation", True, "worker"),
        ("ethnicity", True, "worker"),
        ("activation", False, "worker"),
    ]


async def test_withdrawing_ethnicity_consent_removes_the_roma_marker(intake: RunningService):
    created = await register(intake, full_household())
    head = created["members"][0]
    before = await queued_count(intake)
    r = await change_consent(intake, head["id"], "ethnicity", False)
    assert r.status_code == 200
    assert "roma" not in r.json()["markers"]
    assert (await get_household(intake, created["id"]))["members"][0]["markers"] == [
        "unemployed_able_to_work",
        "single_parent",
    ]
    _, updated = await queued_since(intake, before)
    assert isinstance(updated, HouseholdUpdatedV1)
    assert updated.members[0].markers == ["unemployed_able_to_work", "single_parent"]
    # Granting it again does not bring the marker back: the person has to declare it again.
    assert (await change_consent(intake, head["id"], "ethnicity", True)).json()["markers"] == [
        "unemployed_able_to_work",
        "single_parent",
    ]


async def test_a_consent_change_that_changes_nothing_announces_nothing(intake: RunningService):
    created = await register(intake, full_household())
    head = created["members"][0]
    assert (await change_consent(intake, head["id"], "research", True)).status_code == 200
    after_first = await queued_count(intake)
    [granted] = [e for e in await queued_since(intake, 1) if isinstance(e, PersonConsentChangedV1)]
    assert (granted.purpose, granted.granted) == ("research", True)

    again = await change_consent(intake, head["id"], "research", True)
    assert again.status_code == 200 and "research" in again.json()["consents"]
    assert (await change_consent(intake, head["id"], "case_work", True)).status_code == 200  # held since registration
    assert await queued_count(intake) == after_first
    assert (await get_household(intake, created["id"]))["version"] == 2


# === erasure =================================================================================================


async def erase(intake: RunningService, person_id: str, *, user: str = "supervisor") -> Any:
    return await intake.client.post(f"{API}/persons/{person_id}/erasure", headers=intake.auth(user))


async def test_erasure_removes_the_personal_data_and_is_announced(intake: RunningService):
    created = await register(intake, full_household())
    head = created["members"][0]
    before = await queued_count(intake)
    r = await erase(intake, head["id"])
    assert r.status_code == 200, r.text
    assert r.json()["erased"] is True and r.json()["given_name"] is None

    shown = await get_household(intake, created["id"])
    erased = shown["members"][0]
    for field in ("given_name", "family_name", "birth_date", "jmbg", "phone", "education", "employment_status"):
        assert erased[field] is None, field
    assert (erased["skills"], erased["markers"], erased["consents"]) == ([], [], [])
    assert (erased["id"], erased["sex"], erased["erased"]) == (head["id"], "F", True)
    assert shown["members"][1]["given_name"] == "Dragan"  # the others keep theirs, and so the address stays
    assert shown["address"] == "Petefi Šandora 12"
    assert HEAD_JMBG not in json.dumps(shown) and "Љиљана" not in json.dumps(shown)

    assert (await search(intake, "Ljiljana"))["total"] == 0
    assert (await search(intake, HEAD_JMBG))["total"] == 0
    assert (await search(intake, "Dragan"))["results"][0]["members"] == [
        "Dragan Đorđević",
        "Mila Đorđević",
        "Vuk Đorđević",
    ]

    erased_event, updated = await queued_since(intake, before)
    assert isinstance(erased_event, PersonErasedV1)
    assert (str(erased_event.household_id), str(erased_event.person_id)) == (created["id"], head["id"])
    assert isinstance(updated, HouseholdUpdatedV1) and updated.reason == "person_erased"
    assert (updated.members[0].birth_year, updated.members[0].markers, updated.members[0].consents) == (1986, [], [])


async def test_erasing_twice_or_editing_an_erased_person_is_a_409(intake: RunningService):
    created = await register(intake, full_household())
    head = created["members"][0]
    assert (await erase(intake, head["id"], user="admin")).status_code == 200
    before = await queued_count(intake)
    again = await erase(intake, head["id"])
    assert again.status_code == 409 and "erased" in again.json()["detail"]
    r = await intake.client.patch(
        f"{API}/persons/{head['id']}", json={"given_name": "Lj"}, headers=intake.auth("worker")
    )
    assert r.status_code == 409
    assert (await change_consent(intake, head["id"], "research", True)).status_code == 409
    assert await queued_count(intake) == before


async def test_case_workers_cannot_erase(intake: RunningService):
    created = await register(intake, full_household())
    r = await erase(intake, created["members"][0]["id"], user="worker")
    assert r.status_code == 403
    assert (await get_household(intake, created["id"]))["members"][0]["given_name"] == "Љиљана"
    assert await queued_count(intake) == 1


async def test_erasing_everyone_removes_the_address_too(intake: RunningService):
    created = await register(intake, household(person(), settlement="Utrine", address="Glavna 1"))
    assert (await erase(intake, created["members"][0]["id"])).status_code == 200
    shown = await get_household(intake, created["id"])
    assert (shown["settlement"], shown["address"]) == (None, None)
    assert (await search(intake, ""))["results"][0]["members"] == []


async def test_erasing_one_record_of_a_likely_pair_takes_the_pair_off_the_queue(intake: RunningService):
    _, second, _ = await likely_pair(intake)
    assert (await erase(intake, second["members"][0]["id"])).status_code == 200
    assert await duplicate_queue(intake) == []


# === poverty lines ===========================================================================================


async def test_setting_the_years_line_recomputes_every_household_and_announces_the_changed_ones(intake: RunningService):
    poor = await register(intake, full_household())
    comfortable = await register(intake, household(person(), incomes=[{"source": "wages", "monthly_amount": 20_000}]))
    elsewhere = await register(
        intake,
        household(person(), incomes=[{"source": "pension", "monthly_amount": 10_000}], municipality=NOVI_SAD),
        user="worker-ns",
    )
    before = await queued_count(intake)
    change = await set_line(intake, 15_000)
    assert change["line"]["year"] == THIS_YEAR and change["line"]["amount"] == 15_000
    assert change["line"]["set_by"] == "admin"
    assert (change["households_recomputed"], change["households_changed"]) == (3, 3)
    events = await queued_since(intake, before)
    assert all(isinstance(e, HouseholdUpdatedV1) and e.reason == "poverty_line_changed" for e in events)
    flags = {str(e.household_id): (e.below_poverty_line, e.poverty_year, e.version) for e in events}  # type: ignore[attr-defined]
    assert flags == {
        poor["id"]: (True, THIS_YEAR, 2),
        comfortable["id"]: (False, THIS_YEAR, 2),
        elsewhere["id"]: (True, THIS_YEAR, 2),
    }

    before = await queued_count(intake)
    change = await set_line(intake, 14_000)  # 14,285.71 per equivalent adult is no longer below
    assert (change["households_recomputed"], change["households_changed"]) == (3, 1)
    [updated] = await queued_since(intake, before)
    assert isinstance(updated, HouseholdUpdatedV1)
    assert (str(updated.household_id), updated.below_poverty_line, updated.version) == (poor["id"], False, 3)
    assert (await get_household(intake, poor["id"]))["poverty"]["below_poverty_line"] is False


async def test_a_line_for_another_year_changes_nothing_this_year(intake: RunningService):
    await register(intake, full_household())
    await set_line(intake, 15_000)
    before = await queued_count(intake)
    for year in (THIS_YEAR - 1, THIS_YEAR + 1):
        change = await set_line(intake, 99_000, year=year)
        assert change["households_changed"] == 0, year
    assert await queued_count(intake) == before
    r = await intake.client.get(f"{API}/poverty-lines", headers=intake.auth("worker"))
    assert [(line["year"], line["amount"]) for line in r.json()] == [
        (THIS_YEAR + 1, 99_000),
        (THIS_YEAR, 15_000),
        (THIS_YEAR - 1, 99_000),
    ]


async def test_only_an_administrator_sets_a_line(intake: RunningService):
    created = await register(intake, full_household())
    for user in ("worker", "supervisor", "employer", "analyst"):
        r = await intake.client.put(
            f"{API}/poverty-lines/{THIS_YEAR}", json={"amount": 15_000}, headers=intake.auth(user)
        )
        assert r.status_code == 403, user
    assert (await intake.client.get(f"{API}/poverty-lines", headers=intake.auth("worker"))).json() == []
    assert (await get_household(intake, created["id"]))["poverty"]["below_poverty_line"] is None
    assert await queued_count(intake) == 1


@pytest.mark.parametrize(
    ("year", "amount", "words"),
    [(1999, 15_000, "between 2000 and 2100"), (THIS_YEAR, 0, "greater than 0"), (THIS_YEAR, -5, "greater than 0")],
)
async def test_a_line_out_of_range_is_a_422(intake: RunningService, year: int, amount: float, words: str):
    r = await intake.client.put(f"{API}/poverty-lines/{year}", json={"amount": amount}, headers=intake.auth("admin"))
    assert r.status_code == 422 and words in r.text
    assert (await intake.client.get(f"{API}/poverty-lines", headers=intake.auth("admin"))).json() == []


# === audit log ===============================================================================================


async def test_reading_a_household_writes_one_audit_row_per_member(intake: RunningService):
    created = await register(intake, full_household())
    await get_household(intake, created["id"], user="worker")
    rows = await audit_rows(intake, user="supervisor")
    assert sorted(r["record_id"] for r in rows) == sorted(m["id"] for m in created["members"])
    assert {(r["actor"], r["action"], r["record_type"], r["municipality_code"]) for r in rows} == {
        ("worker", "GET /api/households/{household_id}", "person", ADA)
    }
    head = created["members"][0]["id"]
    await get_household(intake, created["id"], user="admin")
    assert [r["actor"] for r in await audit_rows(intake, record_id=head)] == ["admin", "worker"]  # newest first
    assert len(await audit_rows(intake, actor="admin")) == 4


async def test_a_supervisor_sees_the_audit_log_of_their_municipalities_only(intake: RunningService):
    ada = await register(intake, full_household())
    novi_sad = await register(intake, household(person(), municipality=NOVI_SAD), user="worker-ns")
    await get_household(intake, ada["id"], user="worker")
    await get_household(intake, novi_sad["id"], user="worker-ns")
    assert {r["municipality_code"] for r in await audit_rows(intake, user="supervisor")} == {ADA}
    assert len(await audit_rows(intake, user="supervisor")) == 4
    assert {r["municipality_code"] for r in await audit_rows(intake, user="admin")} == {ADA, NOVI_SAD}
    for user in ("worker", "worker-ns", "employer", "analyst"):
        r = await intake.client.get(f"{API}/audit", headers=intake.auth(user))
        assert r.status_code == 403, user


@pytest.mark.parametrize("how", ["patch-person", "put-household", "put-consent"])
async def test_every_answer_that_shows_personal_data_is_in_the_audit_log(intake: RunningService, how: str):
    created = await register(intake, full_household())
    head = created["members"][0]["id"]
    worker = intake.auth("worker")
    if how == "patch-person":
        r = await intake.client.patch(f"{API}/persons/{head}", json={}, headers=worker)
        shown = [m["id"] for m in created["members"]]
    elif how == "put-household":
        r = await intake.client.put(f"{API}/households/{created['id']}", json={"address": "Nova 2"}, headers=worker)
        shown = [m["id"] for m in created["members"]]
    else:
        r = await change_consent(intake, head, "research", True)
        shown = [head]
    assert r.status_code == 200 and "Љиљана" in r.text
    assert sorted(row["record_id"] for row in await audit_rows(intake)) == sorted(shown)


async def test_a_correction_that_changes_nothing_announces_nothing(intake: RunningService):
    created = await register(intake, full_household())
    head = created["members"][0]
    for body in ({}, {"given_name": head["given_name"], "skills": head["skills"]}):
        r = await intake.client.patch(f"{API}/persons/{head['id']}", json=body, headers=intake.auth("worker"))
        assert r.status_code == 200
    assert (await get_household(intake, created["id"]))["version"] == 1
    assert await queued_count(intake) == 1


# === corrections =============================================================================================


async def test_a_corrected_name_is_searchable_and_announced_without_it(intake: RunningService):
    created = await register(intake, household(person(family_name="Petrovic"), settlement="Mol"))
    me = created["members"][0]["id"]
    r = await intake.client.patch(
        f"{API}/persons/{me}",
        json={"family_name": "Петровић", "jmbg": make_jmbg(date(1984, 3, 7), "F", serial=5), "skills": ["gardening"]},
        headers=intake.auth("worker"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["members"][0]["family_name"] == "Петровић" and r.json()["version"] == 2
    assert r.json()["members"][0]["missing_jmbg_reason"] is None
    assert (await search(intake, "petrović"))["total"] == 1
    [updated] = await queued_since(intake, 1)
    assert isinstance(updated, HouseholdUpdatedV1)
    assert (updated.reason, updated.members[0].skills) == ("edited", ["gardening"])

    r = await intake.client.put(
        f"{API}/households/{created['id']}",
        json={"settlement": "Utrine", "incomes": [{"source": "pension", "monthly_amount": 9_000}]},
        headers=intake.auth("worker"),
    )
    assert r.status_code == 200
    assert (r.json()["settlement"], r.json()["poverty"]["monthly_income"], r.json()["version"]) == ("Utrine", 9_000, 3)


async def test_a_wrong_jmbg_in_a_correction_gets_the_same_message(intake: RunningService):
    created = await register(intake, household(person()))
    r = await intake.client.patch(
        f"{API}/persons/{created['members'][0]['id']}",
        json={"jmbg": make_jmbg(date(1984, 3, 8), "F")},
        headers=intake.auth("worker"),
    )
    assert r.status_code == 422
    assert r.json()["detail"] == "JMBG encodes the birth date 1984-03-08, but the birth date given is 1984-03-07."


# === the case status cases reports ===========================================================================


async def test_a_case_opened_by_cases_shows_on_the_household(intake: RunningService, kafka_settings: KafkaSettings):
    created = await register(intake, full_household())
    event = CaseOpenedV1(
        case_id=uuid.uuid4(),
        household_id=uuid.UUID(created["id"]),
        municipality_code=ADA,
        opened_at=datetime.now(UTC),
        household_registered_at=datetime.fromisoformat(created["registered_at"]),
    )
    envelope = Envelope(
        id=new_id(), source="/oslonac/cases", type=event.type_name(), data=event.to_data(), subject=event.key
    )
    await produce_event(kafka_settings, event, envelope)
    [record] = await read_topic(kafka_settings, "cases.case")
    applier = intake.runtime.applier
    assert applier is not None and applier.subscriptions is handlers.subscriptions
    assert await applier.apply_one(record) == Outcome.applied
    assert (await get_household(intake, created["id"]))["case_status"] == "open"
    assert (await search(intake, "djordjevic"))["results"][0]["case_status"] == "open"
    assert await applier.apply_one(record) == Outcome.duplicate  # a redelivery changes nothing
    assert await queued_count(intake) == 1  # intake announces nothing about a case


# === who may do what =========================================================================================

USERS = ("worker", "supervisor", "employer", "analyst", "admin", "worker-ns", None)  # None: not signed in
OUTSIDERS = ("employer", "analyst", "worker-ns", None)  # none of them may see anything of Ada's households
WORKERS = ("worker", "supervisor", "admin")
EVERYONE = ("worker", "supervisor", "employer", "analyst", "admin", "worker-ns")


def allowed(ok: int, *users: str) -> dict[str | None, int]:
    """``ok`` for ``users``, 401 without a sign-in, 403 for everyone else."""
    return {user: ok if user in users else 401 if user is None else 403 for user in USERS}


def import_file(ref: str) -> dict[str, Any]:
    from services.intake.importing import template_csv

    return {"files": {"file": (f"{ref}.csv", template_csv().replace("ADA-0001", ref).encode(), "text/csv")}}


# (method, route) → (what the request sends, expected status per user). Every route of the API has a row: a new
# endpoint fails test_every_api_route_has_a_row_in_the_access_matrix until someone decides who may call it.
Send = dict[str, Any] | Callable[[int], dict[str, Any]]  # httpx arguments, or made for the n-th caller
ACCESS: dict[tuple[str, str], tuple[Send, dict[str | None, int]]] = {
    ("POST", "/households"): ({"json": household(person(given_name="Nova"))}, allowed(201, *WORKERS)),
    ("GET", "/households"): ({"params": {"q": "nad"}}, allowed(200, *WORKERS, "worker-ns")),  # ns finds nothing
    ("GET", "/households/{household_id}"): ({}, allowed(200, *WORKERS)),
    ("PUT", "/households/{household_id}"): ({"json": {"settlement": "Mol"}}, allowed(200, *WORKERS)),
    ("PATCH", "/persons/{person_id}"): ({"json": {"phone": "064 999 888"}}, allowed(200, *WORKERS)),
    ("PUT", "/persons/{person_id}/consents"): (
        {"json": {"purpose": "research", "granted": True}},
        allowed(200, *WORKERS),
    ),
    ("POST", "/persons/{person_id}/erasure"): ({}, allowed(200, "supervisor", "admin")),
    ("GET", "/duplicates"): ({}, allowed(200, "supervisor", "admin")),
    ("POST", "/duplicates/{duplicate_id}/merge"): ({"json": {"keep": "other"}}, allowed(200, "supervisor", "admin")),
    ("POST", "/duplicates/{duplicate_id}/dismissal"): ({}, allowed(204, "supervisor", "admin")),
    ("GET", "/poverty-lines"): ({}, allowed(200, *WORKERS, "worker-ns")),
    ("PUT", "/poverty-lines/{year}"): ({"json": {"amount": 15_000}}, allowed(200, "admin")),
    ("GET", "/audit"): ({}, allowed(200, "supervisor", "admin")),
    ("GET", "/municipalities"): ({}, allowed(200, *EVERYONE)),
    ("GET", "/skills"): ({}, allowed(200, *EVERYONE)),
    ("GET", "/imports/template.csv"): ({}, allowed(200, *WORKERS, "worker-ns")),
    # Rows are checked in the job, not at upload; each role uploads a file of its own (the same file is one job).
    ("POST", "/imports"): (lambda n: import_file(f"ADA-U{n}"), allowed(202, *WORKERS, "worker-ns")),
    ("GET", "/imports"): ({}, allowed(200, *WORKERS, "worker-ns")),  # the jobs one may see
    ("GET", "/imports/{job_id}"): ({}, allowed(200, *WORKERS)),  # the uploader, their supervisor, admins
    ("GET", "/imports/{job_id}/errors.csv"): ({}, allowed(200, *WORKERS)),
}


def intake_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path after /intake) of every route the intake app serves."""
    found = set()
    for route in fastapi.routing.iter_route_contexts(app.routes):
        path = getattr(route, "path", "")
        for method in getattr(route, "methods", None) or ():
            if method != "HEAD" and path.startswith("/intake/"):
                found.add((method, path.removeprefix("/intake")))
    return found


def test_every_api_route_has_a_row_in_the_access_matrix(tokens: Tokens):
    app = create_app(Settings(env=Environment.test, jwt_public_key=tokens.public_key_pem))
    api = {(method, path.removeprefix("/api")) for method, path in intake_routes(app) if path.startswith("/api/")}
    assert api == set(ACCESS), "add a row to ACCESS for each new endpoint (and remove rows of removed ones)"


@dataclass
class World:
    """Ada's households (one of them a likely duplicate of the other) that every access check acts on."""

    household_id: str
    person_id: str
    duplicate_id: str
    job_id: str
    secrets: tuple[str, ...]

    def path(self, route: str) -> str:
        return route.format(
            household_id=self.household_id,
            person_id=self.person_id,
            duplicate_id=self.duplicate_id,
            job_id=self.job_id,
            year=THIS_YEAR,
        )


@pytest.fixture
async def offline_intake(databases: DatabaseFactory, tokens: Tokens):
    """Intake without a broker (the access checks publish nothing that matters)."""
    url = await databases.url_for("intake")
    async with running_service(
        "intake", database_url=url, kafka=OFFLINE, tokens=tokens, run_relay=False, run_consumer=False
    ) as running:
        yield running


async def ada_world(intake: RunningService, *, number: int = 0, with_import: bool = False) -> World:
    """Worlds sharing a database differ in birth dates, so they are never likely duplicates of each other."""
    day = f"{number + 1:02d}"
    jmbg = make_jmbg(date(1990, 1, number + 1), "F", serial=100 + number)
    older = household(
        person(**{**ANA, "birth_date": f"1990-01-{day}"}, phone="064 111 222"),
        person(given_name="Lajoš", family_name="Nađ", sex="M", birth_date=f"1988-05-{day}", relation="spouse"),
    )
    newer = household(
        person(**{**ANA_CYRILLIC, "birth_date": f"1990-01-{day}"}, jmbg=jmbg),
        person(given_name="Bence", family_name="Нађ", sex="M", birth_date=f"2015-03-{day}", relation="child"),
    )
    first, _, pair = await likely_pair(intake, older=older, newer=newer)
    job_id = str(uuid.uuid4())
    if with_import:
        r = await intake.client.post(f"{API}/imports", **import_file(f"ADA-W{number}"), headers=intake.auth("worker"))
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
    return World(
        household_id=first["id"],
        person_id=first["members"][0]["id"],
        duplicate_id=pair["id"],
        job_id=job_id,
        secrets=(jmbg, "064 111 222", "Lajoš", "Нађ", "Bence"),
    )


# Who may do what does not depend on the store: SQLite only, to keep the matrix quick. Each role acts on a world
# of its own (fresh households, pair and import job), so one role's erasure or merge cannot change another's answer.
@pytest.mark.parametrize("databases", ["sqlite"], indirect=True)
@pytest.mark.parametrize("route", sorted(ACCESS), ids=[f"{m} {p}" for m, p in sorted(ACCESS)])
async def test_access_matrix(offline_intake: RunningService, route: tuple[str, str]):
    method, template = route
    send, expected = ACCESS[route]
    answered: dict[str | None, int] = {}
    for number, user in enumerate(USERS):
        world = await ada_world(offline_intake, number=number, with_import="{job_id}" in template)
        headers = offline_intake.auth(user) if user else {}
        sent = send(number) if callable(send) else send
        r = await offline_intake.client.request(method, API + world.path(template), **sent, headers=headers)
        answered[user] = r.status_code
        if user in OUTSIDERS:
            assert not [s for s in world.secrets if s in r.text], (user, r.text)
    assert answered == expected


PUBLIC = {
    "/login",
    "/logout",
    "/auth/callback",
    "/signed-out",
    "/language",
    "/health/live",
    "/health/ready",
    "/metrics",
    "/openapi.json",
    "/docs",
}
REFERENCE = {("GET", "/api/municipalities"), ("GET", "/api/skills")}


@pytest.mark.parametrize("databases", ["sqlite"], indirect=True)
@pytest.mark.parametrize("user", ["employer", "analyst"])
async def test_employers_and_analysts_are_refused_every_page_and_endpoint_but_the_reference_lists(
    offline_intake: RunningService, user: str
):
    world = await ada_world(offline_intake)
    routes = {(m, p) for m, p in intake_routes(offline_intake.app) if p not in PUBLIC} - REFERENCE
    assert len(routes) > len(ACCESS)  # pages and API alike
    answered = {}
    for method, template in sorted(routes):
        r = await offline_intake.client.request(
            method, "/intake" + world.path(template), headers=offline_intake.auth(user)
        )
        answered[(method, template)] = r.status_code
        assert not [s for s in world.secrets if s in r.text], (method, template)
    assert {route for route, status in answered.items() if status != 403} == set(), answered


@pytest.mark.parametrize(
    "route",
    [
        ("GET", "/households/{household_id}"),
        ("PUT", "/households/{household_id}"),
        ("PATCH", "/persons/{person_id}"),
        ("PUT", "/persons/{person_id}/consents"),
        ("POST", "/persons/{person_id}/erasure"),
        ("POST", "/duplicates/{duplicate_id}/merge"),
        ("POST", "/duplicates/{duplicate_id}/dismissal"),
        ("GET", "/imports/{job_id}"),
        ("GET", "/imports/{job_id}/errors.csv"),
    ],
    ids=lambda r: f"{r[0]} {r[1]}",
)
async def test_an_unknown_record_is_a_404(offline_intake: RunningService, route: tuple[str, str]):
    method, template = route
    missing = str(uuid.uuid4())
    path = API + template.format(household_id=missing, person_id=missing, duplicate_id=missing, job_id=missing)
    send = ACCESS[route][0]
    assert not callable(send)
    r = await offline_intake.client.request(method, path, **send, headers=offline_intake.auth("admin"))
    assert r.status_code == 404 and missing in r.json()["detail"]
