"""The stream sent to the broker as the services' outbox relays send their events."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from bench.reporting_events.stream import event_time
from shared.events import Envelope, EventData
from shared.events.catalogue import TOPICS_BY_NAME
from shared.settings import KafkaSettings


def _compression() -> str | None:
    from aiokafka.codec import has_lz4

    return "lz4" if has_lz4() else None


async def publish(
    events: Iterable[EventData],
    kafka: KafkaSettings,
    *,
    source_prefix: str = "/oslonac",
    duplicates: float = 0.0,
    seed: int = 7,
    linger_ms: int = 20,
    max_batch_size: int = 1024 * 1024,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Send ``events`` as the services' outbox relays do; return how many records were sent.

    Each record is a CloudEvents 1.0 envelope in binary mode (``ce_*`` headers, JSON data), with the source of
    the service that owns the event's topic (``/oslonac/intake``...), the time of the event, a new id, and the
    event's key as the record key, on ``topic_name(kafka, event.topic)``. ``duplicates`` re-sends that fraction
    of the records again a little later with the same envelope id, as a redelivery would (counted in the
    result). Sent with ``acks=all``, ``linger_ms`` and large batches, lz4 when the codec is installed.
    """
    from aiokafka import AIOKafkaProducer

    from shared.messaging.kafka import topic_name

    rng = random.Random(seed ^ 0x5EED)
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap_servers,
        client_id=f"{kafka.client_id_prefix}-bench-reporting",
        acks="all",
        enable_idempotence=kafka.enable_idempotence,
        linger_ms=linger_ms,
        max_batch_size=max_batch_size,
        compression_type=_compression(),
        request_timeout_ms=max(kafka.request_timeout_ms, 60_000),
    )
    topics: dict[str, tuple[str, str]] = {}
    sent = 0
    pending: list[asyncio.Future[Any]] = []
    again: list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]] = []
    await producer.start()
    try:
        for event in events:
            if event.topic not in topics:
                owner = TOPICS_BY_NAME[event.topic].owner
                topics[event.topic] = (topic_name(kafka, event.topic), f"{source_prefix}/{owner}")
            topic, source = topics[event.topic]
            key = event.key
            envelope = Envelope(
                id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                source=source,
                type=event.type_name(),
                data=event.to_data(),
                subject=key,
                time=event_time(event),
                correlation_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            )
            record = (topic, envelope.value(), key.encode(), envelope.headers())
            pending.append(await producer.send(record[0], record[1], key=record[2], headers=record[3]))
            sent += 1
            if duplicates and rng.random() < duplicates:
                again.append(record)
            if len(pending) >= 10_000:
                for topic_, value, key_, headers in again:  # redelivered a batch later, same envelope id
                    pending.append(await producer.send(topic_, value, key=key_, headers=headers))
                sent += len(again)
                again.clear()
                await asyncio.gather(*pending)
                pending.clear()
                if progress is not None:
                    progress(sent)
        for topic_, value, key_, headers in again:
            pending.append(await producer.send(topic_, value, key=key_, headers=headers))
        sent += len(again)
        await asyncio.gather(*pending)
        if progress is not None:
            progress(sent)
    finally:
        await producer.stop()
    return sent
