"""Intake's registration API on a real database (SQLite and PostgreSQL), without a broker."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from services.intake.domain import make_jmbg
from services.intake.models import Household, Person, plumbing
from shared.events import HouseholdRegisteredV2, decode_event
from shared.settings import KafkaSettings
from tests.fixtures.auth import ADA, NOVI_SAD, Tokens
from tests.fixtures.databases import DatabaseFactory
from tests.fixtures.services import RunningService, running_service

OFFLINE = KafkaSettings(bootstrap_servers="127.0.0.1:9")


def member(**overrides: Any) -> dict[str, Any]:
    body = {
        "given_name": "Jelena",
        "family_name": "Đorđević",
        "birth_date": "1984-03-07",
        "sex": "F",
        "missing_jmbg_reason": "not_known",
    }
    body.update(overrides)
    return body


@pytest.fixture
async def intake(databases: DatabaseFactory, tokens: Tokens):
    url = await databases.url_for("intake")
    async with running_service(
        "intake", database_url=url, kafka=OFFLINE, tokens=tokens, run_relay=False, run_consumer=False
    ) as running:
        yield running


async def nothing_written(intake: RunningService) -> bool:
    return (
        await intake.count(Household.__table__) == 0
        and await intake.count(Person.__table__) == 0
        and await intake.count(plumbing.outbox) == 0
    )


async def test_registering_stores_the_household_and_queues_one_event_without_personal_data(intake: RunningService):
    jmbg = make_jmbg(date(1984, 3, 7), "F", serial=123)
    body = {
        "municipality_code": ADA,
        "members": [member(jmbg=jmbg), member(given_name="Marko", sex="M", birth_date="2010-05-01")],
    }
    r = await intake.client.post("/intake/api/households", json=body, headers=intake.auth("worker"))
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["municipality_code"] == ADA
    assert [m["given_name"] for m in created["members"]] == ["Jelena", "Marko"]

    r = await intake.client.get(f"/intake/api/households/{created['id']}", headers=intake.auth("worker"))
    assert r.status_code == 200
    assert r.json()["members"][0]["jmbg"] == jmbg

    async with intake.runtime.sessions() as session:
        rows = (await session.execute(select(plumbing.outbox))).mappings().all()
    assert len(rows) == 1
    assert rows[0]["topic"] == "intake.household" and rows[0]["key"] == created["id"]
    headers = dict(rows[0]["headers"])
    assert headers["ce_type"] == HouseholdRegisteredV2.type_name()
    assert headers["ce_subject"] == created["id"]
    event = decode_event(headers["ce_type"], json.loads(rows[0]["payload"]))
    assert isinstance(event, HouseholdRegisteredV2)
    assert sorted((m.sex, m.birth_year) for m in event.members) == [("F", 1984), ("M", 2010)]
    for personal in ("Jelena", "Marko", "Đorđević", jmbg):
        assert personal not in rows[0]["payload"]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"municipality_code": "99999", "members": [member()]}, "municipality_code", "unknown municipality"),
        ({"municipality_code": "8001", "members": [member()]}, "municipality_code", "pattern"),
        ({"municipality_code": ADA, "members": []}, "members", "at least 1"),
        ({"municipality_code": ADA, "members": [member(sex="X")]}, "sex", "'F' or 'M'"),
        ({"municipality_code": ADA, "members": [member(birth_date="2999-01-01")]}, "birth_date", "future"),
        ({"municipality_code": ADA, "members": [{"given_name": "A"}]}, "family_name", "required"),
        ({"municipality_code": ADA, "members": [member(jmbg="0703984800120")]}, "jmbg", "check digit"),
        (
            {"municipality_code": ADA, "members": [member(jmbg=make_jmbg(date(1984, 3, 8), "F"))]},
            "jmbg",
            "birth date 1984-03-08",
        ),
        ({"municipality_code": ADA, "members": [member(jmbg=make_jmbg(date(1984, 3, 7), "M"))]}, "jmbg", "male"),
        ({"municipality_code": ADA, "members": [member(jmbg="12345")]}, "jmbg", "13 digits"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(
    intake: RunningService, body: dict[str, Any], field: str, words: str
):
    r = await intake.client.post("/intake/api/households", json=body, headers=intake.auth("worker"))
    assert r.status_code == 422, r.text
    payload = r.json()
    assert isinstance(payload["detail"], str) and payload["detail"]
    matching = [e for e in payload["errors"] if field in [str(p) for p in e["loc"]]]
    assert matching, payload
    assert any(words in e["msg"] for e in matching), matching
    assert await nothing_written(intake)


async def test_malformed_json_is_a_422(intake: RunningService):
    r = await intake.client.post(
        "/intake/api/households",
        content=b'{"municipality_code": "80012", "members": [',
        headers={**intake.auth("worker"), "content-type": "application/json"},
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["type"] == "json_invalid"
    assert await nothing_written(intake)


async def test_a_registered_jmbg_is_a_409_pointing_at_the_existing_household(intake: RunningService):
    jmbg = make_jmbg(date(1984, 3, 7), "F", serial=7)
    first = await intake.client.post(
        "/intake/api/households",
        json={"municipality_code": ADA, "members": [member(jmbg=jmbg)]},
        headers=intake.auth("worker"),
    )
    assert first.status_code == 201
    again = await intake.client.post(
        "/intake/api/households",
        json={"municipality_code": ADA, "members": [member(given_name="Other", jmbg=jmbg)]},
        headers=intake.auth("worker"),
    )
    assert again.status_code == 409
    assert again.json()["errors"]["existing_household_id"] == first.json()["id"]
    assert await intake.count(Household.__table__) == 1
    assert await intake.count(plumbing.outbox) == 1


async def test_the_same_jmbg_twice_in_one_household_is_refused(intake: RunningService):
    jmbg = make_jmbg(date(1984, 3, 7), "F", serial=9)
    r = await intake.client.post(
        "/intake/api/households",
        json={"municipality_code": ADA, "members": [member(jmbg=jmbg), member(jmbg=jmbg)]},
        headers=intake.auth("worker"),
    )
    assert r.status_code == 422
    assert "same JMBG as member 1" in r.text
    assert await nothing_written(intake)


async def test_access_follows_roles_and_municipalities(intake: RunningService):
    body = {"municipality_code": ADA, "members": [member()]}
    assert (await intake.client.post("/intake/api/households", json=body)).status_code == 401
    for username in ("employer", "analyst"):
        r = await intake.client.post("/intake/api/households", json=body, headers=intake.auth(username))
        assert r.status_code == 403, username
    r = await intake.client.post("/intake/api/households", json=body, headers=intake.auth("worker-ns"))
    assert r.status_code == 403
    assert "not among the municipalities" in r.json()["detail"]
    assert await nothing_written(intake)

    created = await intake.client.post("/intake/api/households", json=body, headers=intake.auth("worker"))
    household = created.json()["id"]
    assert (
        await intake.client.get(f"/intake/api/households/{household}", headers=intake.auth("worker-ns"))
    ).status_code == 403
    assert (
        await intake.client.get(f"/intake/api/households/{household}", headers=intake.auth("analyst"))
    ).status_code == 403
    assert (
        await intake.client.get(f"/intake/api/households/{household}", headers=intake.auth("admin"))
    ).status_code == 200


async def test_municipalities_reference_list_is_served(intake: RunningService):
    r = await intake.client.get("/intake/api/municipalities", headers=intake.auth("analyst"))
    assert r.status_code == 200
    by_code = {m["code"]: m for m in r.json()}
    assert len(by_code) > 150
    assert by_code[ADA]["name_latin"] == "Ada" and by_code[ADA]["name_cyrillic"] == "Ада"
    assert by_code[NOVI_SAD]["district"] == "Južnobački"


async def test_unknown_household_is_a_404(intake: RunningService):
    r = await intake.client.get(
        "/intake/api/households/00000000-0000-0000-0000-000000000000", headers=intake.auth("worker")
    )
    assert r.status_code == 404


async def test_a_jmbg_registered_elsewhere_is_a_409_that_does_not_say_where(intake: RunningService):
    jmbg = make_jmbg(date(1984, 3, 7), "F", serial=77)
    body = {"municipality_code": NOVI_SAD, "members": [member(jmbg=jmbg)]}
    assert (
        await intake.client.post("/intake/api/households", json=body, headers=intake.auth("worker-ns"))
    ).status_code == 201
    again = await intake.client.post(
        "/intake/api/households",
        json={"municipality_code": ADA, "members": [member(jmbg=jmbg)]},
        headers=intake.auth("worker"),
    )
    assert again.status_code == 409
    assert "another municipality" in again.json()["detail"]
    assert "existing_household_id" not in again.json()["errors"]
