"""The three services' event flow over a real Kafka-protocol broker, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections import Counter
from contextlib import AsyncExitStack
from datetime import UTC, datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from services.cases.models import Case
from services.cases.models import plumbing as cases_plumbing
from services.intake.models import plumbing as intake_plumbing
from shared.context import new_id
from shared.events import Envelope, HouseholdRegisteredV1, HouseholdRegisteredV2, MemberProfile
from shared.events.catalogue import EVENT_TYPES, SUBSCRIPTIONS, TOPICS_BY_NAME, UPCASTERS, subscribers
from shared.messaging.kafka import ensure_topics
from shared.settings import KafkaSettings
from tests.fixtures.activation import forum, organisation
from tests.fixtures.auth import ADA, RUMA, Tokens
from tests.fixtures.databases import DatabaseFactory
from tests.fixtures.kafka_tools import eventually, produce, produce_event, read_topic
from tests.fixtures.services import RunningService, running_service


def registered(
    household_id: uuid.UUID | None = None, municipality: str = ADA
) -> tuple[HouseholdRegisteredV2, Envelope]:
    event = HouseholdRegisteredV2(
        household_id=household_id or uuid.uuid4(),
        municipality_code=municipality,
        registered_at=datetime.now(UTC),
        members=[MemberProfile(person_id=uuid.uuid4(), sex="F", birth_year=1980)],
    )
    envelope = Envelope(
        id=new_id(), source="/oslonac/intake", type=event.type_name(), data=event.to_data(), subject=event.key
    )
    return event, envelope


async def case_count(cases: RunningService) -> int:
    return await cases.count(Case.__table__)


@pytest.fixture
async def topics(kafka_settings: KafkaSettings) -> KafkaSettings:
    await ensure_topics(kafka_settings)
    return kafka_settings


@pytest.fixture
async def platform(databases: DatabaseFactory, topics: KafkaSettings, tokens: Tokens):
    """The four services in this process, each with its own database, sharing only the broker."""
    async with AsyncExitStack() as stack:
        running = {}
        for service in ("intake", "cases", "activation", "reporting"):
            url = await databases.url_for(service)
            running[service] = await stack.enter_async_context(
                running_service(service, database_url=url, kafka=topics, tokens=tokens)
            )
        for service, subscribed in SUBSCRIPTIONS.items():
            consumer = running[service].runtime.consumer
            assert consumer is not None and tuple(consumer.topics) == subscribed
        yield running


def dead_letterers(platform: dict[str, RunningService], topic: str, declared_type: str | None) -> Counter[str]:
    """The consumer groups that dead-letter an undecodable record of ``topic`` whose ``ce_type`` is
    ``declared_type``: every subscriber of the topic (the catalogue's SUBSCRIPTIONS), except those that ignore a
    known type unread because they have no handler for it (nor for what it is upcast to)."""
    known = {cls.type_name() for cls in EVENT_TYPES}
    groups: Counter[str] = Counter()
    for service in subscribers(topic):
        applier = platform[service].runtime.applier
        assert applier is not None
        if declared_type not in known or applier.handles(declared_type) or declared_type in UPCASTERS:
            groups[service] += 1
    return groups


async def test_registration_opens_one_case_and_is_counted(platform: dict[str, RunningService]):
    intake, cases, reporting = platform["intake"], platform["cases"], platform["reporting"]
    body = {
        "municipality_code": RUMA,
        "members": [
            {
                "given_name": "Ana",
                "family_name": "Ilić",
                "birth_date": "1990-01-02",
                "sex": "F",
                "missing_jmbg_reason": "not_known",
            },
            {
                "given_name": "Ivan",
                "family_name": "Ilić",
                "birth_date": "1988-11-30",
                "sex": "M",
                "missing_jmbg_reason": "not_known",
            },
        ],
    }
    r = await intake.client.post("/intake/api/households", json=body, headers=intake.auth("worker"))
    assert r.status_code == 201
    household_id = r.json()["id"]

    async def cases_of_household():
        return (
            await cases.client.get(f"/cases/api/cases?household_id={household_id}", headers=cases.auth("supervisor"))
        ).json()

    found = await eventually(cases_of_household, lambda c: len(c) == 1)
    assert found[0]["municipality_code"] == RUMA and found[0]["status"] == "open"

    async def ruma():
        r = await reporting.client.get(f"/reporting/api/summary?municipality={RUMA}", headers=reporting.auth("admin"))
        return r.json()[0]

    row = await eventually(ruma, lambda r: r["households"] == 1 and r["open_cases"] == 1)
    assert row["persons"] == {"female": 1, "male": 1, "total": 2}
    assert row["municipality_name"] == "Ruma"


async def test_an_old_event_version_is_upcast_and_handled(platform: dict[str, RunningService], topics: KafkaSettings):
    """A v1 registration still on the topic (published before v2) opens its case like a v2 one."""
    cases, intake = platform["cases"], platform["intake"]
    old = HouseholdRegisteredV1(
        household_id=uuid.uuid4(),
        municipality_code=ADA,
        registered_at=datetime.now(UTC),
        members=[MemberProfile(person_id=uuid.uuid4(), sex="M", birth_year=1970)],
    )
    envelope = Envelope(
        id=new_id(), source="/oslonac/intake", type=old.type_name(), data=old.to_data(), subject=old.key
    )
    await produce_event(topics, old, envelope)
    await eventually(lambda: case_count(cases), lambda n: n == 1)
    async with cases.runtime.sessions() as session:
        assert (await session.execute(select(Case.household_id))).scalars().all() == [old.household_id]

    async def case_status_in_intake() -> int:
        # intake learns of the case from cases' event (here for a household it does not hold: nothing breaks)
        return await intake.count(intake_plumbing.processed_events)

    await eventually(case_status_in_intake, lambda n: n == 1)


async def test_a_redelivered_event_is_applied_once(platform: dict[str, RunningService], topics: KafkaSettings):
    cases = platform["cases"]
    event, envelope = registered()
    for _ in range(3):
        await produce_event(topics, event, envelope)
    # A second, different event for the same household (say, a replay after a restore) opens nothing new.
    _, other = registered()
    other = Envelope(id=new_id(), source=other.source, type=other.type, data=event.to_data(), subject=event.key)
    await produce_event(topics, event, other)
    marker, marker_env = registered()
    await produce_event(topics, marker, marker_env)

    await eventually(lambda: case_count(cases), lambda n: n == 2)
    async with cases.runtime.sessions() as session:
        households = (await session.execute(select(Case.household_id))).scalars().all()
        ledger = (await session.execute(select(cases_plumbing.processed_events.c.event_id))).scalars().all()
        outbox = (await session.execute(select(cases_plumbing.outbox.c.event_type))).scalars().all()
    assert sorted(households) == sorted([event.household_id, marker.household_id])
    assert sorted(ledger) == sorted([envelope.id, other.id, marker_env.id])
    assert outbox == ["rs.oslonac.cases.case.opened.v1"] * 2


async def test_poison_messages_go_to_the_dlq_and_the_partition_keeps_moving(
    platform: dict[str, RunningService], topics: KafkaSettings
):
    cases = platform["cases"]
    key = str(uuid.uuid4()).encode()  # one key: everything lands on one partition, in this order
    await produce(topics, "intake.household", b"\x00\x01 not json", key=key)
    bad_event, bad_env = registered()
    broken = Envelope(
        id=new_id(), source="/t", type=bad_env.type, data={**bad_event.to_data(), "municipality_code": "abc"}
    )
    await produce(topics, "intake.household", broken.value(), key=key, headers=broken.headers())
    unknown = Envelope(id=new_id(), source="/t", type="rs.oslonac.intake.household.exploded.v9", data={})
    await produce(topics, "intake.household", unknown.value(), key=key, headers=unknown.headers())
    good, good_env = registered()
    await produce(topics, "intake.household", good_env.value(), key=key, headers=good_env.headers())

    await eventually(lambda: case_count(cases), lambda n: n == 1)
    # Each consumer group of the topic dead-letters what it cannot read, unless it ignores that type unread.
    expected: Counter[str] = Counter()
    for poison in (None, broken.type, unknown.type):
        expected += dead_letterers(platform, "intake.household", poison)
    assert expected["cases"] == 3
    everything = await eventually(
        lambda: read_topic(topics, "intake.household.dlq"), lambda recs: len(recs) >= expected.total()
    )
    by_group = Counter(dict(rec.headers)["dlq_consumer"].decode() for rec in everything)
    assert by_group == expected
    dead = [rec for rec in everything if ("dlq_consumer", b"cases") in rec.headers]
    headers = [dict((k, v.decode()) for k, v in rec.headers) for rec in dead]
    assert [h["dlq_error_type"] for h in headers] == ["EnvelopeError", "ValidationError", "UnknownEventType"]
    assert all(h["dlq_consumer"] == "cases" and h["dlq_original_topic"] == "intake.household" for h in headers)
    assert "municipality_code" in headers[1]["dlq_error_message"]
    assert dead[0].value == b"\x00\x01 not json"
    async with cases.runtime.sessions() as session:
        assert (await session.execute(select(Case.household_id))).scalars().all() == [good.household_id]


async def test_a_published_opportunity_is_counted_and_bad_ones_are_refused(platform: dict[str, RunningService]):
    activation, reporting = platform["activation"], platform["reporting"]
    f = await forum(activation, ADA)
    await organisation(activation, f["id"])
    body = {"title": "Javni radovi: uređenje parka", "municipality_code": ADA, "positions": 5, "forum_id": f["id"]}
    assert (await activation.client.post("/activation/api/opportunities", json=body)).status_code == 401
    r = await activation.client.post("/activation/api/opportunities", json=body, headers=activation.auth("worker"))
    assert r.status_code == 403
    for bad, field in (
        ({**body, "municipality_code": "12345"}, "municipality_code"),
        ({**body, "positions": 0}, "positions"),
        ({**body, "title": ""}, "title"),
    ):
        r = await activation.client.post("/activation/api/opportunities", json=bad, headers=activation.auth("employer"))
        assert r.status_code == 422 and field in str(r.json()["errors"]), r.text
    r = await activation.client.post("/activation/api/opportunities", json=body, headers=activation.auth("employer"))
    assert r.status_code == 201
    assert r.json()["organisation"] == "org-1"

    async def ada():
        r = await reporting.client.get(f"/reporting/api/summary?municipality={ADA}", headers=reporting.auth("admin"))
        return r.json()[0]

    row = await eventually(ada, lambda r: r["opportunities_published"] == 1)
    assert row["households"] == 0
    r = await reporting.client.get("/reporting/api/summary", headers=reporting.auth("employer"))
    assert r.status_code == 403


async def test_the_correlation_id_follows_a_registration_through_the_events_it_causes(
    platform: dict[str, RunningService], topics: KafkaSettings
):
    intake, cases = platform["intake"], platform["cases"]
    body = {
        "municipality_code": ADA,
        "members": [
            {
                "given_name": "Ana",
                "family_name": "Nađ",
                "birth_date": "1990-01-02",
                "sex": "F",
                "missing_jmbg_reason": "not_known",
            }
        ],
    }
    r = await intake.client.post(
        "/intake/api/households", json=body, headers={**intake.auth("worker"), "X-Correlation-ID": "req-42"}
    )
    assert r.status_code == 201 and r.headers["x-correlation-id"] == "req-42"
    await eventually(lambda: case_count(cases), lambda n: n == 1)
    registered_records = await eventually(lambda: read_topic(topics, "intake.household"), lambda recs: len(recs) == 1)
    case_records = await eventually(lambda: read_topic(topics, "cases.case"), lambda recs: len(recs) == 1)
    registered_env = Envelope.from_record(list(registered_records[0].headers), registered_records[0].value)
    case_envs = [Envelope.from_record(list(rec.headers), rec.value) for rec in case_records]
    assert [e.type for e in case_envs] == ["rs.oslonac.cases.case.opened.v1"]
    assert registered_env.correlation_id == "req-42"
    for env in case_envs:
        assert env.correlation_id == "req-42"
        assert env.causation_id == registered_env.id
        assert env.data["household_id"] == r.json()["id"]


async def test_metrics_show_requests_handlers_lag_backlog_and_dead_letters(
    platform: dict[str, RunningService], topics: KafkaSettings
):
    intake, cases = platform["intake"], platform["cases"]
    # Metrics are per process and tests share this one: compare before and after.
    before = parse_metrics((await cases.client.get("/cases/metrics")).text)
    intake_before = parse_metrics((await intake.client.get("/intake/metrics")).text)
    await produce(topics, "intake.household", b"garbage", key=b"k")
    event, envelope = registered()
    await produce_event(topics, event, envelope)
    await eventually(lambda: case_count(cases), lambda n: n == 1)
    await intake.client.get("/intake/api/municipalities", headers=intake.auth("worker"))

    partitions = TOPICS_BY_NAME["intake.household"].partitions

    def lags_of(samples: dict[tuple[str, frozenset[tuple[str, str]]], float]) -> list[float]:
        return [
            v
            for (name, labels), v in samples.items()
            if name == "oslonac_consumer_lag" and ("service", "cases") in labels
        ]

    async def cases_metrics() -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        return parse_metrics((await cases.client.get("/cases/metrics")).text)

    # The consumer records lag after committing the batch and the relay its backlog after publishing: both may
    # come a moment after the case row. At least one lag gauge per partition of the topic it read.
    after = await eventually(
        cases_metrics,
        lambda m: (
            len(lags_of(m)) >= partitions
            and 0 in lags_of(m)
            and ("oslonac_outbox_backlog", frozenset({("service", "cases")})) in m
        ),
    )

    def grew(key, samples_before, samples_after) -> float:
        return samples_after.get(key, 0.0) - samples_before.get(key, 0.0)

    dlq = ("oslonac_dlq_messages_total", frozenset({("service", "cases"), ("topic", "intake.household")}))
    assert grew(dlq, before, after) == 1
    handled = frozenset({("service", "cases"), ("event_type", event.type_name())})
    assert grew(("oslonac_handler_duration_seconds_count", handled), before, after) == 1
    intake_after = parse_metrics((await intake.client.get("/intake/metrics")).text)
    route = frozenset({("service", "intake"), ("method", "GET"), ("route", "/api/municipalities"), ("status", "200")})
    assert grew(("http_request_duration_seconds_count", route), intake_before, intake_after) == 1


def parse_metrics(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples
