"""The raw limit: aiokafka producing and consuming N records of a given size on the same broker."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic


@dataclass
class RawResult:
    count: int
    size: int
    produce_per_s: float
    consume_per_s: float
    end_to_end_per_s: float


async def raw_limit(bootstrap: str, *, count: int, size: int, partitions: int = 6, linger_ms: int = 2) -> RawResult:
    topic = f"bench-raw-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        await admin.close()
    payload = os.urandom(size // 2).hex().encode()[:size]
    headers = [("ce_id", b"x" * 36), ("ce_type", b"rs.oslonac.bench.v1"), ("ce_source", b"/bench")]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False, linger_ms=linger_ms)
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=3000,
        heartbeat_interval_ms=500,
        fetch_max_wait_ms=10,
    )
    await producer.start()
    await consumer.start()
    try:
        # Join the group before producing, so consume time is not group-join time.
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=100)
        received = 0
        consume_done = asyncio.get_running_loop().create_future()

        async def consume() -> None:
            nonlocal received
            while received < count:
                batch = await consumer.getmany(timeout_ms=200, max_records=5000)
                for tp, records in batch.items():
                    received += len(records)
                    await consumer.commit({tp: records[-1].offset + 1})
            consume_done.set_result(time.perf_counter())

        consuming = asyncio.create_task(consume())
        started = time.perf_counter()
        futures = []
        for i in range(count):
            futures.append(await producer.send(topic, payload, key=str(i).encode(), headers=headers))
            if len(futures) >= 2000:
                await asyncio.gather(*futures)
                futures.clear()
        await asyncio.gather(*futures)
        produced = time.perf_counter()
        await asyncio.wait_for(consuming, timeout=300)
        finished = consume_done.result()
    finally:
        await producer.stop()
        await consumer.stop()
    produce_s = produced - started
    total_s = finished - started
    # Consume rate alone: a second consumer reading the full topic after the fact.
    reader = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False, group_id=None
    )
    await reader.start()
    try:
        got, t0 = 0, time.perf_counter()
        while got < count:
            batch = await reader.getmany(timeout_ms=500, max_records=10000)
            got += sum(len(r) for r in batch.values())
        consume_s = time.perf_counter() - t0
    finally:
        await reader.stop()
    return RawResult(count, size, count / produce_s, count / consume_s, count / total_s)
