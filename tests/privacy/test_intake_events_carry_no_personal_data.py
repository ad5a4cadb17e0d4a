"""Intake's events carry no personal data: intake publishes every kind of event for a household with as much
personal data as a household can have, and the check reads every record of that test's intake topic.

The check itself (what an intake event may contain) is in ``tests/fixtures/privacy.py``; it also runs at the end of
every other test that has topics of its own (``kafka_settings``), on whatever reached its intake topic. The tests
here prove that it catches what it must, and that it reads every event intake published, so that it cannot pass
by reading the wrong topic or nothing at all. No test here depends on another or on the order of the run.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select

from services.intake.domain import make_jmbg
from services.intake.models import plumbing
from shared.events import Envelope, HouseholdMergedV1, HouseholdRegisteredV2, MemberProfile
from shared.messaging.kafka import ensure_topics
from shared.settings import KafkaSettings
from tests.fixtures.auth import ADA, NOVI_SAD, Tokens
from tests.fixtures.databases import DatabaseFactory
from tests.fixtures.kafka_tools import eventually, produce
from tests.fixtures.privacy import (
    CURRENT_TYPES,
    SOURCE,
    TOPIC,
    assert_intake_events_carry_no_personal_data,
    check_record,
    personal_data_in,
)
from tests.fixtures.services import RunningService, running_service

# --- the check catches what it must --------------------------------------------------------------------------


def registered_event() -> tuple[dict[str, str], dict[str, Any]]:
    event = HouseholdRegisteredV2(
        household_id=uuid.uuid4(),
        municipality_code=ADA,
        registered_at=datetime.fromisoformat("2026-03-01T10:00:00+00:00"),
        members=[
            MemberProfile(
                person_id=uuid.uuid4(),
                sex="F",
                birth_year=1986,
                relation="head",
                employment_status="unemployed",
                able_to_work=True,
                skills=["cooking"],
                markers=["roma", "single_parent"],
                consents=["ethnicity"],
            )
        ],
        housing_type="informal_settlement",
        equivalent_adults=2.1,
        below_poverty_line=True,
        poverty_year=2026,
    )
    envelope = Envelope(
        id=str(uuid.uuid4()), source=SOURCE, type=event.type_name(), data=event.to_data(), subject=event.key
    )
    return {k: v.decode() for k, v in envelope.headers()}, envelope.data


def test_an_event_as_intake_publishes_it_passes():
    headers, data = registered_event()
    assert personal_data_in(headers, data) == []
    merged = HouseholdMergedV1(
        survivor_household_id=uuid.uuid4(),
        merged_household_id=uuid.uuid4(),
        merged_person_ids={uuid.uuid4(): uuid.uuid4()},
        merged_at=datetime.fromisoformat("2026-03-01T10:00:00+00:00"),
    )
    assert personal_data_in(headers, merged.to_data()) == []


@pytest.mark.parametrize(
    ("doctor", "caught"),
    [
        (lambda d: d["members"][0].update(given_name="Ljiljana"), "data.members[0].given_name: a key that names"),
        (lambda d: d.update(family_name="Đorđević"), "data.family_name: a key that names personal data"),
        (lambda d: d.update(head_name="Ljiljana"), "data.head_name: a key that names personal data"),
        (lambda d: d["members"][0].update(jmbg=None), "data.members[0].jmbg: a key that names personal data"),
        (lambda d: d.update(address={"street": "Glavna"}), "data.address: a key that names personal data"),
        (lambda d: d.update(contact_phone="064 123 4567"), "data.contact_phone: a key that names personal data"),
        (lambda d: d.update(housing_type="Petefi Šandora 12, Mol"), "data.housing_type: free text"),
        (lambda d: d["members"][0]["skills"].append("Ljiljana Đorđević"), "data.members[0].skills[1]: free text"),
        (lambda d: d.update(note="1204986805146"), "data.note: 13 digits in a row"),
        (lambda d: d.update(reference=1204986805146), "data.reference: a number of 13 digits or more"),
        (lambda d: d.update({"Ljiljana": True}), "data.Ljiljana: a key that is neither a field name nor an id"),
    ],
    ids=lambda v: v.split(":")[0].removeprefix("data.") if isinstance(v, str) else "doctored",
)
def test_the_check_catches_personal_data_added_to_an_event(doctor, caught: str):
    headers, data = registered_event()
    doctor(data)
    problems = personal_data_in(headers, data)
    assert any(p.startswith(caught) for p in problems), problems


def test_a_given_name_in_a_published_record_fails_the_proof_even_when_the_catalogue_would_refuse_it():
    headers, data = registered_event()
    data["members"][0]["given_name"] = "Ljiljana"
    envelope = Envelope(id=headers["ce_id"], source=SOURCE, type=headers["ce_type"], data=data, subject=None)
    event_id, _, problems = check_record(envelope.headers(), envelope.value())
    assert event_id == envelope.id
    assert any("given_name: a key that names personal data" in p for p in problems)
    assert any("cannot read" in p for p in problems)  # read as strictly as a producer writes: no undeclared field


def test_a_jmbg_is_caught_in_any_record_on_the_topic_even_one_that_is_no_event():
    jmbg = make_jmbg(date(1986, 4, 12), "F", serial=14).encode()
    assert check_record([], b"garbage " + jmbg)[2] == ["13 digits in a row in the record's value"]
    assert check_record([], b"\x00\x01 not json") == (None, None, [])
    headers, data = registered_event()
    data["members"][0]["given_name"] = "Ljiljana"
    foreign = Envelope(id="x", source="/t", type=headers["ce_type"], data=data)
    assert check_record(foreign.headers(), foreign.value())[2] == [
        "data.members[0].given_name: a key that names personal data"
    ]


# --- the proof: intake publishes every kind of event, and none carries personal data ----------------------------


def person(**fields: Any) -> dict[str, Any]:
    return {"birth_date": "1986-04-12", "sex": "F", "missing_jmbg_reason": "not_known", **fields}


async def published(intake: RunningService) -> list[tuple[str, str]]:
    async with intake.runtime.sessions() as session:
        rows = await session.execute(
            select(plumbing.outbox.c.event_id, plumbing.outbox.c.event_type, plumbing.outbox.c.published_at)
        )
        return [(event_id, event_type) for event_id, event_type, at in rows if at is not None]


@pytest.mark.parametrize("databases", ["sqlite"], indirect=True)
async def test_every_kind_of_event_intake_publishes_for_a_household_full_of_personal_data_carries_none(
    databases: DatabaseFactory, tokens: Tokens, kafka_settings: KafkaSettings
):
    await ensure_topics(kafka_settings)
    url = await databases.url_for("intake")
    async with running_service(
        "intake", database_url=url, kafka=kafka_settings, tokens=tokens, run_consumer=False
    ) as intake:
        worker, supervisor = intake.auth("worker"), intake.auth("supervisor")

        async def call(method: str, path: str, expected: int, headers: dict[str, str], **body: Any) -> Any:
            r = await intake.client.request(method, f"/intake/api{path}", headers=headers, **body)
            assert r.status_code == expected, r.text
            return r.json() if r.content else None

        full = {
            "municipality_code": ADA,
            "settlement": "Mol",
            "address": "Petefi Šandora 12",
            "housing_type": "informal_settlement",
            "housing_problems": ["no_sewage"],
            "incomes": [{"source": "informal_work", "monthly_amount": 18_000}],
            "members": [
                person(
                    given_name="Љиљана",
                    family_name="Ђорђевић",
                    jmbg=make_jmbg(date(1986, 4, 12), "F", serial=14),
                    relation="head",
                    employment_status="unemployed",
                    able_to_work=True,
                    skills=["cooking"],
                    phone="+381 64 123 4567",
                    markers=["roma", "single_parent"],
                    consents=["case_work", "activation", "ethnicity"],
                ),
                person(given_name="Mila", family_name="Ђорђевић", birth_date="2016-02-01", relation="child"),
            ],
        }
        first = await call("POST", "/households", 201, worker, json=full)
        # The same woman registered twice more (likely duplicates of the head), each time with a son.
        again = {
            "municipality_code": ADA,
            "address": "Glavna 1",
            "members": [
                person(given_name="Ljiljana", family_name="Djordjevic", phone="064 765 4321"),
                person(given_name="Marko", family_name="Djordjevic", birth_date="2012-05-01", sex="M"),
            ],
        }
        second = await call("POST", "/households", 201, worker, json=again)
        third = await call("POST", "/households", 201, worker, json=again)
        elsewhere = {**again, "municipality_code": NOVI_SAD}
        await call("POST", "/households", 201, intake.auth("worker-ns"), json=elsewhere)
        year = datetime.now(UTC).year
        await call("PUT", f"/poverty-lines/{year}", 200, intake.auth("admin"), json={"amount": 15_000})
        head = first["members"][0]["id"]
        await call("PUT", f"/persons/{head}/consents", 200, worker, json={"purpose": "activation", "granted": False})
        await call("PATCH", f"/persons/{head}", 200, worker, json={"phone": "+381 63 000 1111"})
        pairs = {
            (p["person_household_id"], p["other_household_id"]): p["id"]
            for p in await call("GET", "/duplicates", 200, supervisor)
        }
        keep_first = {"keep": "other"}
        await call("POST", f"/duplicates/{pairs[(second['id'], first['id'])]}/merge", 200, supervisor, json=keep_first)
        await call(
            "POST",
            f"/duplicates/{pairs[(third['id'], first['id'])]}/merge",
            200,
            supervisor,
            json={"keep": "other", "whole_household": True},
        )
        await call("POST", f"/persons/{first['members'][1]['id']}/erasure", 200, supervisor)

        outbox_size = await intake.count(plumbing.outbox)
        events = await eventually(lambda: published(intake), lambda done: len(done) == outbox_size, timeout_s=30)
    assert {event_type for _, event_type in events} == CURRENT_TYPES

    proof = await assert_intake_events_carry_no_personal_data(kafka_settings, {event_id for event_id, _ in events})
    assert set(proof.types) == CURRENT_TYPES
    kinds = ", ".join(f"{n} {t.removeprefix('rs.oslonac.intake.')}" for t, n in sorted(proof.types.items()))
    print(f"\nprivacy proof: {proof.records} records on the intake topic; {len(proof.seen)} intake events: {kinds}")


# --- the check reads the topic: it fails on what is there and on what is missing --------------------------------


async def topics_of_its_own(kafka_bootstrap: str) -> KafkaSettings:
    """Topics that no fixture checks when the test ends: what the tests below put there is meant to fail."""
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap, topic_prefix=f"p{uuid.uuid4().hex[:10]}.")
    await ensure_topics(kafka)
    return kafka


async def test_an_intake_event_with_a_name_on_the_topic_fails_the_check(kafka_bootstrap: str):
    kafka = await topics_of_its_own(kafka_bootstrap)
    headers, data = registered_event()
    clean = Envelope(id=headers["ce_id"], source=SOURCE, type=headers["ce_type"], data=data)
    await produce(kafka, TOPIC, clean.value(), headers=clean.headers())
    assert (await assert_intake_events_carry_no_personal_data(kafka, {clean.id})).seen == {clean.id}

    data["members"][0]["given_name"] = "Ljiljana"
    named = Envelope(id=str(uuid.uuid4()), source=SOURCE, type=headers["ce_type"], data=data)
    await produce(kafka, TOPIC, named.value(), headers=named.headers())
    with pytest.raises(AssertionError, match="given_name: a key that names personal data"):
        await assert_intake_events_carry_no_personal_data(kafka, {clean.id})


async def test_an_event_intake_published_that_is_not_on_the_topic_fails_the_check(kafka_bootstrap: str):
    kafka = await topics_of_its_own(kafka_bootstrap)
    headers, data = registered_event()
    there = Envelope(id=headers["ce_id"], source=SOURCE, type=headers["ce_type"], data=data)
    await produce(kafka, TOPIC, there.value(), headers=there.headers())
    with pytest.raises(AssertionError, match="1 of 2 events intake published were not on its topic"):
        await assert_intake_events_carry_no_personal_data(kafka, {there.id, str(uuid.uuid4())})
