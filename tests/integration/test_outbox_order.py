"""The outbox relay keeps each key's order on the real broker when a send fails (issue 14, item 7; ADR 0004).

The relay publishes through a real producer wrapped so that the sends of chosen events fail — a retriable error
once, or a refusal for good — the way a broker answers under a leader change or for a record it will not take.
What a consumer of the topic reads is then checked per key: every event's first appearance comes after those of
the key's earlier events.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Collection
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, MessageSizeTooLargeError, NotLeaderForPartitionError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.intake.models import plumbing as intake_plumbing
from shared.db import create_engine, session_factory, unit_of_work
from shared.events import TOPICS_BY_NAME, HouseholdUpdatedV1, MemberProfile
from shared.messaging.kafka import ensure_topics, make_producer, topic_name
from shared.messaging.ordered_send import partition_for
from shared.messaging.outbox import MAX_ATTEMPTS, OutboxRelay, OutboxWriter, backlog, replay
from shared.settings import KafkaSettings
from tests.fixtures.auth import ADA
from tests.fixtures.databases import DatabaseFactory
from tests.fixtures.kafka_tools import read_topic

TOPIC = "intake.household"
HOUSEHOLDS = 12
VERSIONS = 4


class RecordingBatch:
    """A producer's batch builder that remembers the event ids (``ce_id``) appended to it."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.event_ids: list[str] = []

    def append(self, *, timestamp: Any, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> Any:
        metadata = self.real.append(timestamp=timestamp, key=key, value=value, headers=headers)
        if metadata is not None:
            self.event_ids.append(event_id(headers))
        return metadata

    def close(self) -> None:
        self.real.close()


class FaultyProducer:
    """A real producer, except for the events in ``fail_once`` (a retriable error, once each) and ``refuse`` (a
    refusal for good until ``allow()``). With ``ack_lost`` a failing send reaches the log and only its
    acknowledgement is lost. Both ways of sending are covered: per record (``send``) and per batch."""

    def __init__(
        self,
        real: AIOKafkaProducer,
        *,
        fail_once: Collection[str] = (),
        refuse: Collection[str] = (),
        ack_lost: bool = False,
    ) -> None:
        self.real = real
        self.fail_once = set(fail_once)
        self.refuse = set(refuse)
        self.ack_lost = ack_lost
        self.failed: list[str] = []

    def allow(self) -> None:
        self.refuse.clear()

    def _fault(self, event_ids: list[str]) -> KafkaError | None:
        if refused := [e for e in event_ids if e in self.refuse]:
            self.failed.extend(refused)
            return MessageSizeTooLargeError()
        if once := [e for e in event_ids if e in self.fail_once]:
            self.fail_once.difference_update(once)
            self.failed.extend(once)
            return NotLeaderForPartitionError()
        return None

    async def start(self) -> None:
        await self.real.start()

    async def stop(self) -> None:
        await self.real.stop()

    async def partitions_for(self, topic: str) -> Any:
        return await self.real.partitions_for(topic)

    def create_batch(self) -> RecordingBatch:
        return RecordingBatch(self.real.create_batch())

    async def send_batch(self, batch: RecordingBatch, topic: str, *, partition: int) -> asyncio.Future[Any]:
        fault = self._fault(batch.event_ids)
        if fault is None:
            return await self.real.send_batch(batch.real, topic, partition=partition)
        if self.ack_lost and not isinstance(fault, MessageSizeTooLargeError):
            await (await self.real.send_batch(batch.real, topic, partition=partition))
        return failed(fault)

    async def send(self, topic: str, value: bytes, key: bytes, headers: list[tuple[str, bytes]], **kw: Any) -> Any:
        fault = self._fault([event_id(headers)])
        if fault is None:
            return await self.real.send(topic, value=value, key=key, headers=headers, **kw)
        if self.ack_lost and not isinstance(fault, MessageSizeTooLargeError):
            await (await self.real.send(topic, value=value, key=key, headers=headers, **kw))
        return failed(fault)


def failed(exc: BaseException) -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    future.set_exception(exc)
    return future


def event_id(headers: list[tuple[str, bytes]]) -> str:
    return dict(headers)["ce_id"].decode()


@pytest.fixture
async def intake_db(databases: DatabaseFactory) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(await databases.url_for("intake"))
    yield engine
    await engine.dispose()


async def queue_updates(engine: AsyncEngine) -> dict[str, list[str]]:
    """Queue ``VERSIONS`` updates of ``HOUSEHOLDS`` households, interleaved (every household's v1, then v2, ...);
    return each household's event ids in outbox order."""
    writer = OutboxWriter(intake_plumbing, source="/oslonac/intake")
    households = [uuid.uuid4() for _ in range(HOUSEHOLDS)]
    member = MemberProfile(person_id=uuid.uuid4(), sex="F", birth_year=1990)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    events = [
        HouseholdUpdatedV1(
            household_id=household,
            municipality_code=ADA,
            registered_at=start,
            members=[member],
            version=version,
            reason="edited",
            changed_at=start + timedelta(minutes=version),
        )
        for version in range(1, VERSIONS + 1)
        for household in households
    ]
    async with unit_of_work(session_factory(engine)) as session:
        envelopes = await writer.add_many(session, list(events))
    order: dict[str, list[str]] = {}
    for event, envelope in zip(events, envelopes, strict=True):
        order.setdefault(event.key, []).append(envelope.id)
    return order


async def published_ids(engine: AsyncEngine) -> set[str]:
    outbox = intake_plumbing.outbox
    async with engine.connect() as conn:
        rows = await conn.execute(select(outbox.c.event_id).where(outbox.c.published_at.is_not(None)))
        return set(rows.scalars())


async def attempts_of(engine: AsyncEngine, event_id: str) -> tuple[int, datetime | None]:
    outbox = intake_plumbing.outbox
    async with engine.connect() as conn:
        row = (
            await conn.execute(select(outbox.c.attempts, outbox.c.published_at).where(outbox.c.event_id == event_id))
        ).one()
    return row.attempts, row.published_at


async def outbox_seqs(engine: AsyncEngine) -> dict[str, int]:
    outbox = intake_plumbing.outbox
    async with engine.connect() as conn:
        return {row.event_id: row.seq for row in await conn.execute(select(outbox.c.event_id, outbox.c.seq))}


async def first_appearances(kafka: KafkaSettings) -> dict[str, list[str]]:
    """Per key, the event ids in the order a consumer of the topic first reads them (later copies skipped, as the
    idempotent consumers skip them); also checks each record sits in the partition the relay computed."""
    seen: dict[str, list[str]] = {}
    for record in await read_topic(kafka, TOPIC):
        assert record.partition == partition_of(record.key.decode())
        ids = seen.setdefault(record.key.decode(), [])
        if (eid := event_id(record.headers)) not in ids:
            ids.append(eid)
    return seen


def relay_for(engine: AsyncEngine, kafka: KafkaSettings, producer: FaultyProducer) -> OutboxRelay:
    return OutboxRelay(
        service="intake", engine=engine, tables=intake_plumbing, kafka=kafka, producer_factory=lambda: producer
    )


def partition_of(key: str) -> int:
    return partition_for(key.encode(), range(TOPICS_BY_NAME[TOPIC].partitions))


@pytest.mark.parametrize("ack_lost", [False, True], ids=["send-failed", "ack-lost"])
async def test_a_transient_failure_holds_back_the_rest_of_its_partition_and_keeps_each_keys_order(
    intake_db: AsyncEngine, kafka_settings: KafkaSettings, ack_lost: bool
):
    # Small batches: a partition's rows span several, so a later batch could overtake a failed one.
    kafka = kafka_settings.model_copy(update={"max_batch_size": 2048})
    await ensure_topics(kafka)
    order = await queue_updates(intake_db)
    victim_key = next(iter(order))
    victim = order[victim_key][1]  # the household's second update
    producer = FaultyProducer(make_producer(kafka, "order-test"), fail_once={victim}, ack_lost=ack_lost)
    relay = relay_for(intake_db, kafka, producer)
    try:
        with pytest.raises(KafkaError):
            await relay.publish_batch()
        assert producer.failed == [victim]
        published = await published_ids(intake_db)
        # The victim's key: the failed update and everything after it are not marked published (the first update
        # may or may not be, as it may have shared the failed update's batch).
        assert not published & set(order[victim_key][1:])
        outbox_seq = await outbox_seqs(intake_db)
        for key, ids in order.items():
            marked = [eid in published for eid in ids]
            assert marked == sorted(marked, reverse=True), f"{key}: not an in-order prefix: {marked}"
            if partition_of(key) != partition_of(victim_key):
                assert all(marked), f"{key}: another partition waited for the failed one"
            else:  # nothing of the victim's partition after the failed row is marked published
                assert all(outbox_seq[eid] < outbox_seq[victim] for eid in ids if eid in published)

        assert await relay.publish_batch() == HOUSEHOLDS * VERSIONS - len(published)
        assert await backlog(intake_db, intake_plumbing) == 0
    finally:
        await relay._drop_producer()
    assert await first_appearances(kafka) == order


async def test_a_refused_row_holds_its_partition_until_parked_then_replay_releases_it(
    intake_db: AsyncEngine, kafka_settings: KafkaSettings
):
    await ensure_topics(kafka_settings)
    order = await queue_updates(intake_db)
    victim_key = next(iter(order))
    victim = order[victim_key][1]
    producer = FaultyProducer(make_producer(kafka_settings, "parking-test"), refuse={victim})
    relay = relay_for(intake_db, kafka_settings, producer)
    try:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            await relay.publish_batch()  # a refusal is not raised: it is counted
            assert await attempts_of(intake_db, victim) == (attempt, None)
            published = await published_ids(intake_db)
            # Held: the victim's later updates (and its partition's later rows) wait while it is retried ...
            assert [eid in published for eid in order[victim_key]] == [True] + [False] * (VERSIONS - 1)
            elsewhere = [
                eid for key, ids in order.items() if partition_of(key) != partition_of(victim_key) for eid in ids
            ]
            assert elsewhere and all(eid in published for eid in elsewhere)
        # ... until it is parked (refused MAX_ATTEMPTS times): then its successors go on without it.
        await relay.publish_batch()
        published = await published_ids(intake_db)
        assert [eid in published for eid in order[victim_key]] == [True, False] + [True] * (VERSIONS - 2)
        assert published == {eid for ids in order.values() for eid in ids} - {victim}
        assert set(producer.failed) == {victim}

        # The operator fixes the cause and replays: the parked event is published, after its successors.
        producer.allow()
        assert await replay(intake_db, intake_plumbing) == HOUSEHOLDS * VERSIONS
        while await relay.publish_batch():
            pass
        assert await backlog(intake_db, intake_plumbing) == 0
    finally:
        await relay._drop_producer()
    seen = await first_appearances(kafka_settings)
    expected = {**order, victim_key: [eid for eid in order[victim_key] if eid != victim] + [victim]}
    assert seen == expected  # the documented price of parking: one event of one key arrives late


async def test_the_relay_puts_a_key_where_the_producers_partitioner_does(kafka_settings: KafkaSettings):
    await ensure_topics(kafka_settings)
    producer = make_producer(kafka_settings, "partitioner-test")
    await producer.start()
    try:
        for i in range(40):
            key = str(uuid.UUID(int=i * 7919)).encode()
            metadata = await producer.send_and_wait(topic_name(kafka_settings, TOPIC), value=b"{}", key=key)
            partitions = await producer.partitions_for(topic_name(kafka_settings, TOPIC))
            assert metadata.partition == partition_for(key, list(partitions))
    finally:
        await producer.stop()
