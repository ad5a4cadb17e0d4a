"""The relay's sending rule without a broker (ADR 0004): per partition, a batch at a time, stop at a failure.

A fake producer stands in for the broker here; tests/integration/test_outbox_order.py checks the same rule on the
real broker through what a consumer reads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiokafka.errors import KafkaError, KafkaTimeoutError, MessageSizeTooLargeError, NotLeaderForPartitionError

from shared.messaging.ordered_send import OutboxRecord, partition_for, send_in_partition_order

PARTITIONS = range(3)


class Batch:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.seqs: list[int] = []
        self.closed = False

    def append(self, *, timestamp: Any, key: bytes, value: bytes, headers: Any) -> object | None:
        if self.closed or (self.seqs and len(self.seqs) >= self.capacity):
            self.closed = True
            return None
        self.seqs.append(int(value))
        return object()

    def close(self) -> None:
        self.closed = True


class FakeProducer:
    """Batches of ``capacity`` records; ``fault(seqs)`` decides what a batch's send fails with (None: success)."""

    def __init__(self, fault: Callable[[list[int]], KafkaError | None], capacity: int = 2) -> None:
        self.fault = fault
        self.capacity = capacity
        self.calls: list[tuple[int, list[int]]] = []

    async def partitions_for(self, topic: str) -> set[int]:
        return set(PARTITIONS)

    def create_batch(self) -> Batch:
        return Batch(self.capacity)

    async def send_batch(self, batch: Batch, topic: str, *, partition: int) -> asyncio.Future[None]:
        self.calls.append((partition, list(batch.seqs)))
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        error = self.fault(batch.seqs)
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
        return future


def key_in(partition: int, n: int = 0) -> bytes:
    """The ``n``-th key (of ours) that lands in ``partition``."""
    keys = (f"k{i}".encode() for i in range(10_000))
    return [k for k in keys if partition_for(k, PARTITIONS) == partition][n]


def records(layout: list[tuple[int, int]]) -> list[OutboxRecord]:
    """Rows in outbox order, given as (partition, key number) pairs; seq = position, value = seq."""
    return [
        OutboxRecord(seq=i, topic="t", key=key_in(p, k), value=str(i).encode(), headers=[])
        for i, (p, k) in enumerate(layout)
    ]


LAYOUT = [(0, 0), (1, 0), (0, 1), (0, 0), (1, 0), (0, 1), (2, 0), (0, 0), (2, 0)]


async def test_a_failed_batch_stops_its_partition_and_only_the_prefix_counts_as_sent() -> None:
    producer = FakeProducer(lambda seqs: NotLeaderForPartitionError() if 3 in seqs else None)
    outcome = await send_in_partition_order(producer, records(LAYOUT))  # type: ignore[arg-type]
    # Partition 0 holds seqs 0, 2, 3, 5, 7: batches [0, 2], [3, 5] (fails), and [7] must never be handed over.
    assert [seqs for p, seqs in producer.calls if p == 0] == [[0, 2], [3, 5]]
    assert sorted(outcome.sent) == [0, 1, 2, 4, 6, 8]  # partitions 1 and 2 went on
    assert isinstance(outcome.failure, NotLeaderForPartitionError) and outcome.refused == []


async def test_a_timeout_is_transient_not_a_refusal_of_the_record() -> None:
    producer = FakeProducer(lambda seqs: KafkaTimeoutError() if 0 in seqs else None)
    outcome = await send_in_partition_order(producer, records(LAYOUT))  # type: ignore[arg-type]
    assert outcome.refused == [] and isinstance(outcome.failure, KafkaTimeoutError)
    assert sorted(outcome.sent) == [1, 4, 6, 8]


async def test_a_refused_batch_is_split_to_find_the_row_and_the_rest_of_the_partition_waits() -> None:
    producer = FakeProducer(lambda seqs: MessageSizeTooLargeError() if 5 in seqs else None)
    outcome = await send_in_partition_order(producer, records(LAYOUT))  # type: ignore[arg-type]
    assert [seqs for p, seqs in producer.calls if p == 0] == [[0, 2], [3, 5], [3], [5]]
    assert [seq for seq, _error in outcome.refused] == [5]
    assert sorted(outcome.sent) == [0, 1, 2, 3, 4, 6, 8]  # 7 (after 5 in its partition) waits
    assert outcome.failure is None


async def test_keys_go_where_kafkas_default_partitioner_puts_them() -> None:
    # murmur2 values of the Java client (org.apache.kafka.common.utils.Utils.murmur2), as aiokafka computes them.
    from aiokafka.partitioner import DefaultPartitioner

    for i in range(200):
        key = f"household-{i}".encode()
        assert partition_for(key, [5, 0, 3, 1, 4, 2]) == DefaultPartitioner()(key, list(range(6)), [])
