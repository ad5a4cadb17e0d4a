"""Dead letters: a record no handler can apply goes to ``<topic>.dlq``, published through a FastStream broker, with
the error in headers; its value and key are kept as they were."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback

from faststream.kafka import KafkaBroker

from shared.messaging.applier import Record
from shared.messaging.kafka import topic_name
from shared.settings import KafkaSettings


class DeadLetterPublisher:
    """Publishes dead letters of one service; its broker connects on the first one (most processes have none)."""

    def __init__(self, kafka: KafkaSettings, service: str) -> None:
        self.kafka = kafka
        self.service = service
        self._broker: KafkaBroker | None = None
        self._lock = asyncio.Lock()

    async def _connected(self) -> KafkaBroker:
        async with self._lock:
            if self._broker is None:
                s = self.kafka
                broker = KafkaBroker(
                    s.bootstrap_servers,
                    client_id=f"{s.client_id_prefix}-{self.service}-dlq",
                    request_timeout_ms=s.request_timeout_ms,
                    acks="all",
                    enable_idempotence=s.enable_idempotence,
                    linger_ms=s.linger_ms,
                    max_batch_size=s.max_batch_size,
                    compression_type=s.compression_type,
                    allow_auto_create_topics=False,  # shared.messaging.kafka.ensure_topics creates every topic
                    logger=logging.getLogger("oslonac.faststream"),
                    log_level=logging.DEBUG,
                    apply_types=False,
                )
                try:
                    await broker.connect()
                except BaseException:
                    await _stop_within(broker, 1.0)
                    raise
                self._broker = broker
            return self._broker

    async def publish(self, record: Record, *, topic: str, error: BaseException, attempts: int) -> None:
        """Publish ``record`` (read from the logical ``topic``) to ``<topic>.dlq`` and wait for the broker's ack.

        FastStream takes headers as text: a header of the original record that is not UTF-8 (a reason to be here)
        is carried with U+FFFD where its bytes did not decode."""
        headers = {key: (value or b"").decode(errors="replace") for key, value in record.headers or ()}
        headers |= {
            "dlq_error_type": type(error).__name__,
            "dlq_error_message": str(error)[:2000],
            "dlq_error_trace": "".join(traceback.format_exception(error))[-4000:],
            "dlq_consumer": self.service,
            "dlq_attempts": str(attempts),
            "dlq_original_topic": topic,
            "dlq_original_partition": str(record.partition),
            "dlq_original_offset": str(record.offset),
        }
        broker = await self._connected()
        await broker.publish(
            record.value or b"", topic_name(self.kafka, f"{topic}.dlq"), key=record.key, headers=headers
        )

    async def close(self, timeout_s: float) -> None:
        broker, self._broker = self._broker, None
        if broker is not None:
            await _stop_within(broker, timeout_s)


async def _stop_within(broker: KafkaBroker, timeout_s: float) -> None:
    """Stop ``broker``, giving up after ``timeout_s`` (a client whose broker is gone can wait much longer)."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(broker.stop(), timeout=timeout_s)
