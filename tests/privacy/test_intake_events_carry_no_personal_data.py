"""Intake's events carry no personal data: read every intake event the test suite published and prove it.

tests/conftest.py moves this module to the very end of the run, so the last test here reads every record of every
``*intake.household`` topic on the session's broker — whatever test, prefix or service put it there. Run alone,
the module first drives intake through every kind of event itself, with as much personal data as a household can
have. Every test of intake that publishes to the broker adds the ids of its events to
``intake_events_on_the_broker``; the proof must find each of them, so it cannot pass by reading the wrong broker or
nothing at all.

What an intake event may contain: keys that are field names (or ids), and as string values only UUIDs, ISO dates
and times, known municipality codes, the values of the catalogue's enumerations, skill codes and the record's own
CloudEvents attributes. Never a key that names personal data, never a 13-digit number.
"""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any, get_args

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import select

from services.intake.domain import make_jmbg
from services.intake.models import plumbing
from services.intake.schemas import HousingProblem, HousingType, IncomeSource, MissingJmbgReason
from shared.events import (
    Envelope,
    EnvelopeError,
    HouseholdMergedV1,
    HouseholdRegisteredV1,
    HouseholdRegisteredV2,
    MemberProfile,
    decode_event,
)
from shared.events.intake import (
    INTAKE_EVENTS,
    Education,
    EmploymentStatus,
    Marker,
    Purpose,
    Relation,
    Sex,
    UpdateReason,
)
from shared.messaging.kafka import ensure_topics
from shared.reference import municipalities, skills
from shared.settings import KafkaSettings
from tests.fixtures.auth import ADA, NOVI_SAD, Tokens
from tests.fixtures.databases import DatabaseFactory
from tests.fixtures.kafka_tools import eventually
from tests.fixtures.services import RunningService, running_service

TOPIC = "intake.household"
SOURCE = "/oslonac/intake"
# Event types intake publishes today (v1 of registered is only ever read, upcast to v2).
CURRENT_TYPES = {t.type_name() for t in INTAKE_EVENTS} - {HouseholdRegisteredV1.type_name()}

# --- the check -----------------------------------------------------------------------------------------------

PERSONAL_KEYS = {
    "given_name",
    "family_name",
    "name",
    "full_name",
    "first_name",
    "last_name",
    "surname",
    "maiden_name",
    "jmbg",
    "address",
    "street",
    "settlement",
    "phone",
    "mobile",
    "email",
    "birth_date",
    "date_of_birth",
}
PERSONAL_WORDS = ("name", "jmbg", "address", "phone", "settlement", "birth_date", "email", "street")
ENUMERATIONS = frozenset(
    value
    for alias in (
        Sex,
        Relation,
        Education,
        EmploymentStatus,
        Marker,
        Purpose,
        UpdateReason,
        HousingType,
        HousingProblem,
        IncomeSource,
        MissingJmbgReason,
    )
    for value in get_args(alias)
)
CE_HEADERS = {
    "ce_specversion",
    "ce_id",
    "ce_source",
    "ce_type",
    "ce_time",
    "ce_subject",
    "ce_correlationid",
    "ce_causationid",
    "content-type",
}
# Attributes intake sets itself (a correlation id may come from a client's X-Correlation-ID: anything at all).
STABLE_ATTRIBUTES = ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_subject", "content-type")
THIRTEEN_DIGITS = re.compile(r"\d{13}")
RAW_THIRTEEN_DIGITS = re.compile(rb"(?<![\d.])\d{13}")  # not the tail of a JSON float's decimals
FIELD_NAME = re.compile(r"[a-z][a-z0-9_]*")
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def is_uuid(text: str) -> bool:
    return bool(UUID_TEXT.fullmatch(text))


def is_iso_date_or_time(text: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:\d{2})?)?", text):
        return False
    try:
        (datetime if len(text) > 10 else date).fromisoformat(text)
    except ValueError:
        return False
    return True


def allowed_string(text: str, headers: dict[str, str]) -> bool:
    return (
        is_uuid(text)
        or is_iso_date_or_time(text)
        or (bool(re.fullmatch(r"\d{5}", text)) and municipalities.is_known(text))
        or text in ENUMERATIONS
        or skills.is_known(text)
        or text in {headers.get(attribute) for attribute in STABLE_ATTRIBUTES}
    )


def personal_data_in(headers: dict[str, str], data: Any, *, strict_values: bool = True) -> list[str]:
    """Why the event with these CloudEvents ``headers`` and ``data`` may carry personal data (empty: it does not).

    ``strict_values`` also refuses every string that is not an id, a date or time, a code or an enumeration value;
    records another test put on the topic by hand (not from intake) are held to the key and number rules only.
    """
    problems: list[str] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                where = f"{path}.{key}"
                lowered = str(key).lower()
                if lowered in PERSONAL_KEYS or any(word in lowered for word in PERSONAL_WORDS):
                    problems.append(f"{where}: a key that names personal data")
                elif not (FIELD_NAME.fullmatch(str(key)) or is_uuid(str(key))):
                    problems.append(f"{where}: a key that is neither a field name nor an id")
                walk(item, where)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]")
        elif isinstance(value, bool) or value is None:
            return
        elif isinstance(value, int | float):
            if abs(value) >= 10**12:
                problems.append(f"{path}: a number of 13 digits or more ({value!r})")
        elif isinstance(value, str):
            if THIRTEEN_DIGITS.search(value):
                problems.append(f"{path}: 13 digits in a row ({value!r})")
            elif strict_values and not allowed_string(value, headers):
                problems.append(f"{path}: free text ({value!r})")
        else:
            problems.append(f"{path}: unexpected {type(value).__name__}")

    for key, value in headers.items():
        if key not in CE_HEADERS:
            problems.append(f"header {key}: not a CloudEvents attribute")
        if THIRTEEN_DIGITS.search(value):
            problems.append(f"header {key}: 13 digits in a row ({value!r})")
    walk(data, "data")
    return problems


def check_record(raw_headers: list[tuple[str, bytes]], value: bytes | None) -> tuple[str | None, str | None, list[str]]:
    """(event id, event type, problems) of one record of an intake topic; the id is None for what is no event
    (bytes another test put there to see them dead-lettered)."""
    if value is not None and RAW_THIRTEEN_DIGITS.search(value):
        return None, None, ["13 digits in a row in the record's value"]
    try:
        envelope = Envelope.from_record(raw_headers, value)
    except EnvelopeError:
        return None, None, []
    headers = {k: v.decode() for k, v in raw_headers}
    from_intake = envelope.source == SOURCE
    problems = personal_data_in(headers, envelope.data, strict_values=from_intake)
    if from_intake:
        try:
            # As strict as producing: consumers read tolerantly, but intake must publish only what its models declare.
            decode_event(envelope.type, envelope.data, unknown_fields="forbid")
        except Exception as exc:
            problems.append(f"intake published what the catalogue cannot read: {exc!r}"[:300])
        if not is_uuid(envelope.id) or (envelope.subject is not None and not is_uuid(envelope.subject)):
            problems.append(f"ce_id or ce_subject is not an id ({envelope.id!r}, {envelope.subject!r})")
    return (envelope.id if from_intake else None), envelope.type, problems


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


# --- intake publishes (so that the proof has something to read when this module runs alone) --------------------


def person(**fields: Any) -> dict[str, Any]:
    return {"birth_date": "1986-04-12", "sex": "F", "missing_jmbg_reason": "not_known", **fields}


async def published(intake: RunningService) -> list[tuple[str, str]]:
    async with intake.runtime.sessions() as session:
        rows = await session.execute(
            select(plumbing.outbox.c.event_id, plumbing.outbox.c.event_type, plumbing.outbox.c.published_at)
        )
        return [(event_id, event_type) for event_id, event_type, at in rows if at is not None]


@pytest.mark.parametrize("databases", ["sqlite"], indirect=True)
async def test_intake_publishes_every_kind_of_event_of_a_household_full_of_personal_data(
    databases: DatabaseFactory, tokens: Tokens, kafka_settings: KafkaSettings, intake_events_on_the_broker: set[str]
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
    intake_events_on_the_broker.update(event_id for event_id, _ in events)


# --- the proof -----------------------------------------------------------------------------------------------


async def every_intake_record(bootstrap: str, *, timeout_s: float = 120.0) -> tuple[list[Any], list[str]]:
    """Every record of every ``*intake.household`` topic on the broker, read to the end of each partition."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        names = sorted(t for t in await consumer.topics() if t == TOPIC or t.endswith(f".{TOPIC}"))
        partitions = [TopicPartition(t, p) for t in names for p in sorted(consumer.partitions_for_topic(t) or ())]
        if not partitions:
            return [], names
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[Any] = []
        deadline = time.monotonic() + timeout_s
        while True:
            behind = [tp for tp in partitions if await consumer.position(tp) < ends[tp]]
            if not behind:
                break
            assert time.monotonic() < deadline, f"{len(behind)} partitions not read to their end: {behind[:5]}"
            for batch in (await consumer.getmany(*behind, timeout_ms=500, max_records=5000)).values():
                records.extend(batch)
        return records, names
    finally:
        await consumer.stop()


async def test_every_intake_event_published_during_the_suite_carries_no_personal_data(
    kafka_bootstrap: str, intake_events_on_the_broker: set[str]
):
    records, topics = await every_intake_record(kafka_bootstrap)
    seen: set[str] = set()
    types: Counter[str] = Counter()
    problems: list[str] = []
    for record in records:
        event_id, event_type, found = check_record(list(record.headers or []), record.value)
        problems += [f"{record.topic}[{record.partition}]@{record.offset} {event_type}: {p}" for p in found]
        if event_id is not None:
            seen.add(event_id)
            types[str(event_type)] += 1

    assert problems == []
    expected = intake_events_on_the_broker
    assert len(expected) > 0, "no test told the proof which events it published"
    assert expected - seen == set(), f"{len(expected - seen)} of {len(expected)} published events were not read"
    assert len(seen) >= len(expected)
    assert set(types) >= CURRENT_TYPES, f"never saw {CURRENT_TYPES - set(types)}"
    kinds = ", ".join(f"{n} {t.removeprefix('rs.oslonac.intake.')}" for t, n in sorted(types.items()))
    print(f"\nprivacy proof: {len(records)} records on {len(topics)} intake topics; {len(seen)} intake events: {kinds}")
