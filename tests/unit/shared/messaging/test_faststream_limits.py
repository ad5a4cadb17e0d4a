"""What FastStream does not do for us (docs/adr/0005-faststream-consumer-loop.md), pinned: each test states a
guarantee the consumer loop needs and fails on FastStream as it is, so the loop keeps its own part for it. Should a
FastStream upgrade provide it, the test passes, strict xfail turns that into a failure, and the part can go."""

from __future__ import annotations

import pytest
from aiokafka import ConsumerRecord
from faststream.kafka.message import KafkaAckableMessage
from faststream.kafka.parser import AioKafkaBatchParser


def record(headers: list[tuple[str, bytes]]) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic="intake.household",
        partition=0,
        offset=7,
        timestamp=0,
        timestamp_type=0,
        key=b"k",
        value=b"{}",
        checksum=None,
        serialized_key_size=1,
        serialized_value_size=2,
        headers=headers,
    )


@pytest.mark.xfail(
    strict=True,
    raises=UnicodeDecodeError,
    reason="FastStream's batch parser decodes every header as UTF-8: one such record fails the whole batch, which is "
    "then neither applied nor sought back to (the next acknowledgement commits past it). The loop parses batches "
    "itself (ConsumerLoop._parse) and leaves the records to the applier, which dead-letters that one record.",
)
async def test_faststreams_batch_parser_reads_a_batch_with_a_header_that_is_not_utf8() -> None:
    parser = AioKafkaBatchParser(msg_class=KafkaAckableMessage, regex=None)
    batch = (record([("ce_id", b"1")]), record([("ce_source", b"\xff\xfe")]))
    message = await parser.parse_batch(batch)
    assert message.raw_message == batch
