"""Faults on the real broker: an unreachable broker, handlers that fail for a while or for good."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from services.cases.models import plumbing as cases_plumbing
from services.intake.models import plumbing as intake_plumbing
from shared.db import create_engine
from shared.events import HouseholdRegisteredV2
from shared.messaging.applier import Outcome
from shared.messaging.embedded import EmbeddedBroker, free_port
from shared.messaging.kafka import ensure_topics
from shared.messaging.outbox import backlog
from shared.messaging.subscriptions import EventContext
from shared.settings import KafkaSettings
from tests.fixtures.auth import ADA, Tokens
from tests.fixtures.databases import DatabaseFactory, _admin_dsn
from tests.fixtures.kafka_tools import eventually, produce, produce_event, read_topic
from tests.fixtures.services import running_service
from tests.integration.consumers import cases_consumer, committed
from tests.integration.test_pipeline import registered

MEMBER = {
    "given_name": "Vesna",
    "family_name": "Kovač",
    "birth_date": "1979-09-09",
    "sex": "F",
    "missing_jmbg_reason": "not_known",
}


async def test_events_committed_while_the_broker_is_down_are_published_once_it_answers(
    databases: DatabaseFactory, tokens: Tokens, tmp_path
):
    port = free_port()
    kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}", request_timeout_ms=2000)
    url = await databases.url_for("intake")
    async with running_service("intake", database_url=url, kafka=kafka, tokens=tokens) as intake:
        ids = []
        for _ in range(5):
            r = await intake.client.post(
                "/intake/api/households",
                json={"municipality_code": ADA, "members": [MEMBER]},
                headers=intake.auth("worker"),
            )
            assert r.status_code == 201  # the registration does not depend on the broker
            ids.append(r.json()["id"])
        await asyncio.sleep(1.0)
        assert await backlog(intake.runtime.engine, intake_plumbing) == 5
        ready = await intake.client.get("/intake/health/ready")
        assert ready.status_code == 503 and ready.json()["checks"]["broker"].startswith("unavailable")

        with EmbeddedBroker(port=port, log_path=tmp_path / "late-broker.log"):
            await ensure_topics(kafka)
            await eventually(lambda: backlog(intake.runtime.engine, intake_plumbing), lambda n: n == 0, timeout_s=30)
            records = await read_topic(kafka, "intake.household")
            keys = sorted(r.key.decode() for r in records)
            assert keys == sorted(ids)  # each event exactly once
            assert (await intake.client.get("/intake/health/ready")).status_code == 200


@pytest.fixture
async def cases_db(databases: DatabaseFactory):
    engine = create_engine(await databases.url_for("cases"))
    yield engine
    await engine.dispose()


async def test_a_handler_failing_for_a_while_is_retried_and_applied_once(cases_db, kafka_settings: KafkaSettings):
    await ensure_topics(kafka_settings)
    calls: list[str] = []

    async def flaky(event: HouseholdRegisteredV2, ctx: EventContext) -> None:
        calls.append(ctx.envelope.id)
        if len(calls) < 3:
            raise RuntimeError("database hiccup")

    consumer = cases_consumer(cases_db, kafka_settings, flaky, max_attempts=4)
    event, envelope = registered()
    await produce_event(kafka_settings, event, envelope)
    records = await read_topic(kafka_settings, "intake.household")
    assert await consumer.applier.apply_one(records[0]) == Outcome.applied
    assert await consumer.applier.apply_one(records[0]) == Outcome.duplicate
    assert calls == [envelope.id] * 3
    async with cases_db.connect() as conn:
        ledger = (await conn.execute(select(cases_plumbing.processed_events.c.event_id))).scalars().all()
    assert ledger == [envelope.id]


async def test_a_handler_that_keeps_failing_goes_to_the_dlq_and_the_next_event_is_processed(
    cases_db, kafka_settings: KafkaSettings
):
    await ensure_topics(kafka_settings)
    applied: list[uuid.UUID] = []
    doomed_event, doomed_env = registered()

    async def handler(event: HouseholdRegisteredV2, ctx: EventContext) -> None:
        if event.household_id == doomed_event.household_id:
            raise ValueError("this household breaks a rule")
        applied.append(event.household_id)

    consumer = cases_consumer(cases_db, kafka_settings, handler, max_attempts=3)
    good_event, good_env = registered()
    await produce_event(kafka_settings, doomed_event, doomed_env)
    await produce_event(kafka_settings, good_event, good_env)
    task = asyncio.create_task(consumer.run())
    try:
        # When both land in one fetch the shared attempt is rolled back and the good one is applied again alone.
        await eventually(lambda: asyncio.sleep(0, applied), lambda a: good_event.household_id in a, timeout_s=30)
        dead = await eventually(
            lambda: read_topic(kafka_settings, "intake.household.dlq"), lambda recs: len(recs) == 1, timeout_s=10
        )
    finally:
        await consumer.stop()
        await asyncio.wait_for(task, timeout=15)
    assert set(applied) == {good_event.household_id}
    headers = {k: v.decode() for k, v in dead[0].headers}
    assert headers["dlq_error_type"] == "ValueError"
    assert headers["dlq_error_message"] == "this household breaks a rule"
    assert headers["dlq_attempts"] == "3"
    assert headers["ce_id"] == doomed_env.id
    assert json.loads(dead[0].value)["household_id"] == str(doomed_event.household_id)
    async with cases_db.connect() as conn:
        ledger = (await conn.execute(select(cases_plumbing.processed_events.c.event_id))).scalars().all()
    assert ledger == [good_env.id]  # the failed event left nothing behind


async def test_a_batch_with_one_failing_event_still_applies_the_others_once(cases_db, kafka_settings: KafkaSettings):
    """Records of a partition share a transaction; one failure rolls it back and each is retried alone."""
    await ensure_topics(kafka_settings)
    events = [registered() for _ in range(5)]
    doomed = events[2][0].household_id
    applied: list[uuid.UUID] = []

    async def handler(event: HouseholdRegisteredV2, ctx: EventContext) -> None:
        if event.household_id == doomed:
            raise ValueError("breaks a rule")
        applied.append(event.household_id)

    consumer = cases_consumer(cases_db, kafka_settings, handler, max_attempts=2)
    key = b"same-partition"
    for _event, envelope in events:
        await produce(kafka_settings, "intake.household", envelope.value(), key=key, headers=envelope.headers())
    records = await read_topic(kafka_settings, "intake.household")
    assert len(records) == 5
    outcomes = await consumer.applier.apply(records)
    assert outcomes == [Outcome.applied, Outcome.applied, Outcome.dead_lettered, Outcome.applied, Outcome.applied]
    again = await consumer.applier.apply(records[:2] + records[3:])
    assert again == [Outcome.duplicate] * 4
    survivors = [e.household_id for e, _ in events if e.household_id != doomed]
    # The failed shared attempt was rolled back: each survivor was applied in the batch try and once alone.
    assert sorted(set(applied)) == sorted(survivors)
    async with cases_db.connect() as conn:
        ledger = (await conn.execute(select(cases_plumbing.processed_events.c.event_id))).scalars().all()
    assert sorted(ledger) == sorted(env.id for e, env in events if e.household_id != doomed)


async def test_a_database_outage_is_waited_out_not_dead_lettered(cases_db, kafka_settings: KafkaSettings):
    await ensure_topics(kafka_settings)
    calls: list[str] = []

    async def handler(event: HouseholdRegisteredV2, ctx: EventContext) -> None:
        calls.append(ctx.envelope.id)
        if len(calls) <= 5:  # more failures than max_attempts allows for a bad event
            raise OperationalError("INSERT ...", {}, ConnectionError("server closed the connection unexpectedly"))

    consumer = cases_consumer(cases_db, kafka_settings, handler, max_attempts=2)
    event, envelope = registered()
    await produce_event(kafka_settings, event, envelope)
    records = await read_topic(kafka_settings, "intake.household")
    assert await consumer.applier.apply_one(records[0]) == Outcome.applied
    assert len(calls) == 6
    assert await read_topic(kafka_settings, "intake.household.dlq") == []


async def test_the_relay_survives_its_database_connections_being_killed(
    databases: DatabaseFactory, tokens: Tokens, kafka_settings: KafkaSettings
):
    if databases.backend != "postgresql":
        pytest.skip("kills PostgreSQL server connections; SQLite has none")
    await ensure_topics(kafka_settings)
    url = await databases.url_for("intake")
    async with running_service("intake", database_url=url, kafka=kafka_settings, tokens=tokens) as intake:
        body = {"municipality_code": ADA, "members": [MEMBER]}
        first = await intake.client.post("/intake/api/households", json=body, headers=intake.auth("worker"))
        assert first.status_code == 201
        await eventually(lambda: backlog(intake.runtime.engine, intake_plumbing), lambda n: n == 0)

        # A database restart: connections refused for a while, every existing one killed.
        database = url.rsplit("/", 1)[1]
        admin = await asyncpg.connect(_admin_dsn())
        try:
            await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
            killed = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1", database
            )
            assert killed >= 1  # at least the relay's leadership connection
            during = await intake.client.get(
                f"/intake/api/households/{first.json()['id']}", headers=intake.auth("worker")
            )
            assert during.status_code == 503 and "database" in during.json()["detail"]
            await asyncio.sleep(1.5)  # the relay polls meanwhile and fails to connect
        finally:
            await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
            await admin.close()

        second = await intake.client.post("/intake/api/households", json=body, headers=intake.auth("worker"))
        assert second.status_code == 201
        await eventually(lambda: backlog(intake.runtime.engine, intake_plumbing), lambda n: n == 0, timeout_s=30)
        keys = sorted(r.key.decode() for r in await read_topic(kafka_settings, "intake.household"))
        assert keys == sorted([first.json()["id"], second.json()["id"]])


async def test_a_record_whose_header_is_not_utf8_goes_to_the_dlq_and_its_neighbours_are_applied(
    cases_db, kafka_settings: KafkaSettings
):
    """The running loop on the real broker: a record FastStream's own parser could not read (a header that is not
    UTF-8) shares a fetch with good ones; the good ones are applied, it is dead-lettered, all are committed."""
    await ensure_topics(kafka_settings)
    applied: list[uuid.UUID] = []

    async def handler(event: HouseholdRegisteredV2, ctx: EventContext) -> None:
        applied.append(event.household_id)

    before, before_env = registered()
    after, after_env = registered()
    _, broken_env = registered()
    broken_headers = [(k, b"\xff\xfe not utf-8" if k == "ce_source" else v) for k, v in broken_env.headers()]
    key = str(uuid.uuid4()).encode()  # one key: one partition, in this order
    await produce(kafka_settings, "intake.household", before_env.value(), key=key, headers=before_env.headers())
    await produce(kafka_settings, "intake.household", broken_env.value(), key=key, headers=broken_headers)
    await produce(kafka_settings, "intake.household", after_env.value(), key=key, headers=after_env.headers())
    consumer = cases_consumer(cases_db, kafka_settings, handler, max_attempts=2)
    task = asyncio.create_task(consumer.run())
    try:
        await eventually(lambda: asyncio.sleep(0, applied), lambda a: len(a) == 2, timeout_s=30)
        dead = await eventually(
            lambda: read_topic(kafka_settings, "intake.household.dlq"), lambda recs: len(recs) == 1, timeout_s=10
        )
        await eventually(lambda: committed(kafka_settings, "cases", "intake.household"), lambda n: n == 3, timeout_s=10)
    finally:
        await consumer.stop()
        await asyncio.wait_for(task, timeout=15)
    assert applied == [before.household_id, after.household_id]
    headers = {k: v.decode() for k, v in dead[0].headers}
    assert headers["dlq_error_type"] == "EnvelopeError" and "ce_source" in headers["dlq_error_message"]
    assert headers["ce_id"] == broken_env.id and headers["ce_source"] == "\ufffd\ufffd not utf-8"
    assert dead[0].value == broken_env.value()
