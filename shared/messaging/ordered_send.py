"""Sending outbox rows so that a failed send cannot change the order of one key's events (ADR 0004).

The rule: rows are grouped by partition — the one the producer's default partitioner gives the row's key — and
each partition's rows are sent as explicit record batches, **one batch at a time**: the next batch of a partition
goes to the producer only after the broker acknowledged the one before. A record batch is appended to the log
whole or not at all. So when a batch fails, nothing after it in its partition has reached the log, and nothing
more is sent to that partition in this round; only the in-order prefix of each partition is reported sent (and
marked published). The retry starts at the first unsent row. A batch whose acknowledgement was lost may be in the
log already and is sent again — a duplicate *after* it, which consumers skip — so every key's events make their
first appearance in the log in outbox order, and that is the order consumers apply them in.

Why not let the producer pipeline every row (what ``producer.send`` per row does): it keeps one batch in flight
per partition and retries it, but when a batch finally fails (expired or refused) the batches queued behind it are
still sent; a later event of a key would then be in the log before an earlier one that is retried later.

Partitions are independent: a failure in one holds back only that partition's later rows, the others go on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, KafkaTimeoutError, ProducerClosed
from aiokafka.partitioner import murmur2


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """One outbox row, ready to send (the topic is the physical one)."""

    seq: int
    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


@dataclass
class SendOutcome:
    """What one round of sending did: the rows now in the log, the rows the broker refused for good (each refusal
    is an attempt; the row blocks its partition until it is parked), and the first transient failure met."""

    sent: list[int] = field(default_factory=list)
    refused: list[tuple[int, KafkaError]] = field(default_factory=list)
    failure: BaseException | None = None

    def add(self, other: SendOutcome) -> None:
        self.sent.extend(other.sent)
        self.refused.extend(other.refused)
        if self.failure is None:
            self.failure = other.failure


def refuses_the_record(exc: KafkaError) -> bool:
    """A refusal about the record or its topic (too large, invalid, not authorised): sending it again will not help.
    A timeout or a closed producer says nothing about the record, although aiokafka marks them not retriable."""
    return not exc.retriable and not isinstance(exc, KafkaTimeoutError | ProducerClosed)


def partition_for(key: bytes, partitions: Sequence[int]) -> int:
    """The partition the producer's default partitioner (Kafka's: murmur2 of the key) chooses for ``key``."""
    ordered = sorted(partitions)
    hashed: int = murmur2(key)
    return ordered[(hashed & 0x7FFFFFFF) % len(ordered)]


async def send_in_partition_order(producer: AIOKafkaProducer, records: Sequence[OutboxRecord]) -> SendOutcome:
    """Send ``records`` (in outbox order) keeping each partition's order; see the module docstring."""
    outcome = SendOutcome()
    by_topic: dict[str, list[OutboxRecord]] = {}
    for record in records:
        by_topic.setdefault(record.topic, []).append(record)
    by_partition: dict[tuple[str, int], list[OutboxRecord]] = {}
    for topic, topic_records in by_topic.items():
        try:
            partitions = await producer.partitions_for(topic)
        except KafkaError as exc:  # no metadata for the topic: none of its rows goes this round
            outcome.failure = outcome.failure or exc
            continue
        for record in topic_records:
            by_partition.setdefault((topic, partition_for(record.key, list(partitions))), []).append(record)
    results = await asyncio.gather(
        *(_send_partition(producer, topic, partition, rows) for (topic, partition), rows in by_partition.items()),
        return_exceptions=True,
    )
    for result in results:
        if isinstance(result, SendOutcome):
            outcome.add(result)
        elif isinstance(result, Exception):
            outcome.failure = outcome.failure or result
        else:  # a BaseException (cancellation) ends the round at once
            raise result
    return outcome


async def _send_partition(
    producer: AIOKafkaProducer,
    topic: str,
    partition: int,
    records: Sequence[OutboxRecord],
    *,
    one_by_one: bool = False,
) -> SendOutcome:
    """Send one partition's records, a batch at a time, stopping at the first batch that fails."""
    outcome = SendOutcome()
    start = 0
    while start < len(records):
        batch = producer.create_batch()
        taken = 0
        for record in records[start:]:
            if one_by_one and taken:
                break
            if batch.append(key=record.key, value=record.value, timestamp=None, headers=record.headers) is None:
                break  # full (the first record always fits)
            taken += 1
        batch.close()
        chunk = records[start : start + taken]
        try:
            await (await producer.send_batch(batch, topic, partition=partition))
        except KafkaError as exc:
            if not refuses_the_record(exc):
                outcome.failure = exc
            elif len(chunk) > 1:
                # Refused for good: find the row it is about by sending the batch's rows one by one.
                outcome.add(await _send_partition(producer, topic, partition, chunk, one_by_one=True))
            else:
                outcome.refused.append((chunk[0].seq, exc))
            return outcome
        outcome.sent.extend(record.seq for record in chunk)
        start += taken
    return outcome
