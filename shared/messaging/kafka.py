"""Kafka clients built from settings, and explicit topic creation.

Client settings that differ between the embedded broker (Tansu) and Apache Kafka come from
``KafkaSettings``: idempotence, group timeouts. ``auto_offset_reset`` is always ``earliest``
(consumers build their state from the whole log; Tansu also mis-reports the end offset).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from shared.events.catalogue import DLQ_PARTITIONS, TOPICS
from shared.settings import KafkaSettings

FETCH_LOOP_IDLE_MS = 1000


def topic_name(settings: KafkaSettings, name: str) -> str:
    """The physical topic for a logical one (a prefix isolates tests sharing one broker)."""
    return f"{settings.topic_prefix}{name}"


def make_producer(settings: KafkaSettings, client_id: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        client_id=f"{settings.client_id_prefix}-{client_id}",
        acks="all",
        enable_idempotence=settings.enable_idempotence,
        linger_ms=settings.linger_ms,
        max_batch_size=settings.max_batch_size,
        compression_type=settings.compression_type,
        request_timeout_ms=settings.request_timeout_ms,
    )


def make_consumer(settings: KafkaSettings, group_id: str, topics: Iterable[str]) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        *[topic_name(settings, t) for t in topics],
        bootstrap_servers=settings.bootstrap_servers,
        client_id=f"{settings.client_id_prefix}-{group_id}",
        group_id=f"{settings.topic_prefix}{group_id}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=settings.session_timeout_ms,
        heartbeat_interval_ms=settings.heartbeat_interval_ms,
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        fetch_min_bytes=settings.fetch_min_bytes,
        request_timeout_ms=max(settings.request_timeout_ms, settings.session_timeout_ms + 5000),
        # How often aiokafka's fetch loop looks around when nothing happens (default 200 ms): a finished fetch,
        # a consumed batch or a rebalance wakes it anyway, so a long one costs no latency, only idle wake-ups.
        consumer_timeout_ms=FETCH_LOOP_IDLE_MS,
    )


@dataclass
class FetchPacer:
    """The fetch wait a consumer should use next: ``busy_ms`` while fetches return records; after an empty one,
    doubling (from ``FIRST_IDLE_STEP_MS``) up to ``idle_ms``. A short lull keeps the wait short; only a long quiet
    spell costs its first record up to ``idle_ms`` (the records after it flow at once again)."""

    busy_ms: int
    idle_ms: int
    current_ms: int = 0

    FIRST_IDLE_STEP_MS = 100

    @classmethod
    def from_settings(cls, settings: KafkaSettings) -> FetchPacer:
        return cls(settings.fetch_max_wait_ms, max(settings.fetch_max_wait_idle_ms, settings.fetch_max_wait_ms))

    def __post_init__(self) -> None:
        self.current_ms = self.busy_ms

    @property
    def idle(self) -> bool:
        return self.current_ms > self.busy_ms

    def after_fetch(self, got_records: bool) -> int:
        if got_records:
            self.current_ms = self.busy_ms
        else:
            self.current_ms = min(self.idle_ms, max(self.current_ms * 2, self.FIRST_IDLE_STEP_MS, self.busy_ms))
        return self.current_ms


def set_fetch_wait(consumer: AIOKafkaConsumer, wait_ms: int) -> bool:
    """Change the fetch wait of a running consumer (aiokafka has no public setter: its fetcher reads
    ``_fetch_max_wait_ms`` for every fetch request it builds). False if this aiokafka has no such attribute; a
    test pins the attribute, so an aiokafka upgrade that renames it fails there, not silently here."""
    fetcher = getattr(consumer, "_fetcher", None)
    if fetcher is None or not hasattr(fetcher, "_fetch_max_wait_ms"):
        return False
    fetcher._fetch_max_wait_ms = wait_ms
    return True


def wanted_topics(settings: KafkaSettings) -> dict[str, int]:
    wanted: dict[str, int] = {}
    for topic in TOPICS:
        wanted[topic_name(settings, topic.name)] = topic.partitions
        wanted[topic_name(settings, topic.dlq)] = DLQ_PARTITIONS
    return wanted


async def ensure_topics(settings: KafkaSettings, *, timeout_s: float = 30.0) -> list[str]:
    """Create every registered topic (and its DLQ) that does not exist yet; return the ones created."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=settings.bootstrap_servers,
            client_id=f"{settings.client_id_prefix}-admin",
            request_timeout_ms=settings.request_timeout_ms,
        )
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = {n: p for n, p in wanted_topics(settings).items() if n not in existing}
            created: list[str] = []
            for name, partitions in missing.items():
                try:
                    await admin.create_topics([NewTopic(name, partitions, settings.replication_factor)])
                    created.append(name)
                except TopicAlreadyExistsError:
                    pass
            return created
        except KafkaError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)
        finally:
            await admin.close()
