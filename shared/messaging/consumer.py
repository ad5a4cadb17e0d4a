"""Idempotent event consumption.

Each event is applied in one database transaction together with a ``processed_events(consumer,
event_id)`` row, so a redelivered event is a no-op. Offsets are committed only after the transactions
of the records before them committed. A record that cannot be decoded, has an unknown type or fails its
handler after bounded retries goes to ``<topic>.dlq`` with the error in headers; the partition moves on.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError
from aiokafka.structs import OffsetAndMetadata
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.context import correlation
from shared.db import PlumbingTables, is_store_unavailable, unit_of_work
from shared.events.base import EventData
from shared.events.catalogue import EVENT_TYPES, UPCASTERS, UnknownEventType, decode_event
from shared.events.envelope import Envelope, EnvelopeError
from shared.messaging.kafka import FetchPacer, make_consumer, make_producer, set_fetch_wait, topic_name
from shared.messaging.ledger import ProcessedLedger
from shared.observability import metrics
from shared.observability.outage import Outage
from shared.settings import KafkaSettings

log = structlog.get_logger(__name__)

# How long getmany waits for records while they flow, and while the consumer is idle (a local wait: no request).
POLL_BUSY_MS = 500
POLL_IDLE_MS = 2000
# A client stopped while the broker does not answer gives up after this long (on stop: STOP_CLOSE_S).
CLOSE_S = 3.0
STOP_CLOSE_S = 0.5


class BrokerLost(Exception):
    """The broker does not hold what this consumer's client was built on (a commit that never completes, a
    broker that was replaced): the client is rebuilt from scratch."""


Handler = Callable[[AsyncSession, EventData, Envelope], Awaitable[None]]
# Applies many events in one go, in the order given (a service whose handlers gain from seeing a batch at once).
BatchHandler = Callable[[AsyncSession, Sequence[tuple[EventData, Envelope]]], Awaitable[None]]


class Outcome(StrEnum):
    applied = "applied"
    duplicate = "duplicate"
    ignored = "ignored"
    dead_lettered = "dead_lettered"


def _declared_type(record: ConsumerRecord[bytes, bytes]) -> str | None:
    """The record's ``ce_type`` header, read without parsing anything else."""
    for key, value in record.headers or ():
        if key == "ce_type" and value is not None:
            try:
                declared: str = value.decode()
            except UnicodeDecodeError:
                return None
            return declared
    return None


@dataclass
class Prepared:
    """Records decoded for applying: outcomes already known (ignored, dead-lettered) and the work left."""

    outcomes: list[Outcome | None]
    work: list[tuple[int, Envelope, EventData, Handler]]


@dataclass
class EventConsumer:
    """One consumer group of one service over the topics it subscribes to."""

    service: str
    topics: Sequence[str]
    handlers: Mapping[type[EventData], Handler]
    sessions: async_sessionmaker[AsyncSession]
    tables: PlumbingTables
    kafka: KafkaSettings
    max_attempts: int = 4
    backoff_base_s: float = 0.05
    batch_size: int = 500
    group_id: str | None = None
    batch_handler: BatchHandler | None = None
    # False in a replay: a poison record already went to the dead-letter topic when it was first read.
    publish_dead_letters: bool = True
    _stopping: bool = False
    _consumer: AIOKafkaConsumer | None = None
    _dlq_producer: AIOKafkaProducer | None = None
    # The current client's session (start, fetch, apply, commit): cancelled at once when it is only waiting.
    _session: asyncio.Task[None] | None = None
    _waiting: bool = False
    _rebuild: bool = False
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self._by_type = {cls.type_name(): handler for cls, handler in self.handlers.items()}
        # Known types this consumer has no handler for, even after upcasting: ignored without reading their data.
        self._not_ours = frozenset(
            t.type_name() for t in EVENT_TYPES if t.type_name() not in self._by_type and t.type_name() not in UPCASTERS
        )
        self.ledger = ProcessedLedger(self.tables, self.service)
        self._physical_to_logical = {topic_name(self.kafka, t): t for t in self.topics}
        self._broker_outage = Outage("consumer.broker", {"service": self.service}, logger=log)
        self._store_outage = Outage("consumer.store", {"service": self.service}, logger=log)

    @property
    def group(self) -> str:
        return self.group_id or self.service

    async def stop(self) -> None:
        """Stop consuming: a client waiting for records stops at once; one applying a batch finishes it first
        (ServiceRuntime.stop bounds that too)."""
        self._stopping = True
        self._interrupt_wait()

    def rebuild(self) -> None:
        """Drop the client and build a new one (the broker was replaced and knows neither our group nor our
        offsets): the new client joins afresh and reads from the committed offsets, or from the beginning."""
        self._rebuild = True
        self._interrupt_wait()

    def _interrupt_wait(self) -> None:
        self._wake.set()
        if self._waiting and self._session is not None and not self._session.done():
            self._session.cancel()

    async def run(self) -> None:
        """Consume until stopped. After broker or store trouble the client starts again from the last
        committed offset (handlers are idempotent), so no error ends the loop."""
        backoff = 0.2
        while not self._stopping:
            self._session = asyncio.create_task(self._run_once(), name=f"{self.service}-consumer-session")
            try:
                await self._session
                backoff = 0.2
            except asyncio.CancelledError:
                me = asyncio.current_task()
                if me is not None and me.cancelling():
                    raise  # run() itself was cancelled
                if self._rebuild and not self._stopping:
                    log.info("consumer.rebuilding", service=self.service)
            except Exception as exc:
                if self._stopping:
                    break
                self._broker_outage.failed(exc, retry_in=backoff)
                log.debug("consumer.restarting", service=self.service, error=repr(exc), retry_in=backoff)
                self._wake.clear()
                with contextlib.suppress(TimeoutError):  # stop() and rebuild() end the wait
                    await asyncio.wait_for(self._wake.wait(), timeout=backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                self._rebuild = False
                await self._close()

    async def _close(self) -> None:
        consumer, self._consumer = self._consumer, None
        producer, self._dlq_producer = self._dlq_producer, None
        timeout = STOP_CLOSE_S if self._stopping else CLOSE_S
        clients = [client for client in (consumer, producer) if client is not None]
        await asyncio.gather(*(_stop_within(client, timeout) for client in clients))

    async def _run_once(self) -> None:
        consumer = make_consumer(self.kafka, self.group, self.topics)
        self._consumer = consumer
        self._waiting = True
        try:
            await consumer.start()
        finally:
            self._waiting = False
        self.ready.set()
        pacer = FetchPacer.from_settings(self.kafka)
        while not (self._stopping or self._rebuild):
            self._waiting = True
            try:
                batches = await consumer.getmany(
                    timeout_ms=min(POLL_IDLE_MS, max(POLL_BUSY_MS, pacer.current_ms)), max_records=self.batch_size
                )
            finally:
                self._waiting = False
            self._broker_outage.recovered()
            before = pacer.current_ms
            if pacer.after_fetch(bool(batches)) != before:
                set_fetch_wait(consumer, pacer.current_ms)
            if not batches:
                await self._record_lag(consumer)
                continue
            # One transaction for everything fetched (per-partition order kept), then one offset commit.
            await self.process_batch([record for records in batches.values() for record in records])
            offsets = {tp: OffsetAndMetadata(records[-1].offset + 1, "") for tp, records in batches.items()}
            await self._commit(consumer, offsets)
            await self._record_lag(consumer)

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        """Commit, bounded: aiokafka retries a commit for as long as the group coordinator is unknown, which after
        a broker that lost its groups is forever. Then the client is rebuilt (handlers are idempotent)."""
        try:
            await asyncio.wait_for(consumer.commit(offsets), timeout=self._commit_timeout_s())
        except CommitFailedError as exc:
            # Rebalanced meanwhile: the new owner re-reads from the last commit; handlers are idempotent.
            log.info("consumer.commit_failed", service=self.service, error=str(exc))
        except TimeoutError as exc:
            raise BrokerLost(f"offset commit did not complete in {self._commit_timeout_s():.0f} s") from exc

    def _commit_timeout_s(self) -> float:
        return max(self.kafka.request_timeout_ms, self.kafka.session_timeout_ms) / 1000

    async def _record_lag(self, consumer: AIOKafkaConsumer) -> None:
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is None:
                continue
            with contextlib.suppress(Exception):
                position = await consumer.position(tp)
                logical = self._physical_to_logical.get(tp.topic, tp.topic)
                metrics.CONSUMER_LAG.labels(self.service, logical, str(tp.partition)).set(max(0, high - position))

    async def process(self, record: ConsumerRecord[bytes, bytes]) -> Outcome:
        """Apply one record (idempotently) or dead-letter it. Never raises for a bad record."""
        return (await self.process_batch([record]))[0]

    async def process_batch(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> list[Outcome]:
        """Apply the records of one partition, in order, in one transaction.

        If anything in the shared transaction fails, it rolls back whole and each record is applied in a
        transaction of its own, with retries, so one bad event cannot take its neighbours down with it.
        """
        return await self.apply_prepared(records, await self.prepare(records))

    async def prepare(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> Prepared:
        """Decode ``records``: what is not ours is ignored, what cannot be decoded is dead-lettered, the rest is
        work for ``apply_prepared`` (a replay decodes the next batch while the store writes this one)."""
        outcomes: list[Outcome | None] = [None] * len(records)
        work: list[tuple[int, Envelope, EventData, Handler]] = []
        ignored: Counter[str] = Counter()
        for i, record in enumerate(records):
            logical_topic = self._physical_to_logical.get(record.topic, record.topic)
            declared = _declared_type(record)
            if declared in self._not_ours:
                ignored[declared] += 1
                outcomes[i] = Outcome.ignored
                continue
            try:
                envelope = Envelope.from_record(list(record.headers or []), record.value)
                event = decode_event(envelope.type, envelope.data)
            except (EnvelopeError, UnknownEventType, ValidationError) as exc:
                await self.dead_letter(record, logical_topic, exc, attempts=0)
                metrics.EVENTS_PROCESSED.labels(self.service, "undecodable", Outcome.dead_lettered).inc()
                outcomes[i] = Outcome.dead_lettered
                continue
            handler = self._by_type.get(event.type_name())  # after upcasting: an old version reaches the new handler
            if handler is None:
                ignored[envelope.type] += 1
                outcomes[i] = Outcome.ignored
                continue
            work.append((i, envelope, event, handler))
        for event_type, n in ignored.items():
            metrics.EVENTS_PROCESSED.labels(self.service, event_type, Outcome.ignored).inc(n)
        return Prepared(outcomes, work)

    async def apply_prepared(
        self, records: Sequence[ConsumerRecord[bytes, bytes]], prepared: Prepared
    ) -> list[Outcome]:
        outcomes, work = prepared.outcomes, prepared.work
        if len(work) > 1 and await self._apply_together(work, outcomes):
            return [o or Outcome.ignored for o in outcomes]
        for i, envelope, event, handler in work:
            outcomes[i] = await self._apply_with_retries(records[i], envelope, event, handler)
        return [o or Outcome.ignored for o in outcomes]

    async def _apply_together(
        self, work: list[tuple[int, Envelope, EventData, Handler]], outcomes: list[Outcome | None]
    ) -> bool:
        started = time.perf_counter()
        results: list[Outcome] = []
        try:
            async with unit_of_work(self.sessions) as session:
                if self.batch_handler is not None:
                    claimed = await self.ledger.claim_many(session, [envelope for _i, envelope, _e, _h in work])
                    fresh = [
                        (event, envelope) for (_i, envelope, event, _h), ok in zip(work, claimed, strict=True) if ok
                    ]
                    if fresh:
                        await self.batch_handler(session, fresh)
                    results = [Outcome.applied if ok else Outcome.duplicate for ok in claimed]
                for _i, envelope, event, handler in work if self.batch_handler is None else ():
                    with correlation(envelope.correlation_id, envelope.id):
                        if await self.ledger.claim(session, envelope):
                            await handler(session, event, envelope)
                            results.append(Outcome.applied)
                        else:
                            results.append(Outcome.duplicate)
        except Exception as exc:
            log.info("consumer.batch_fallback", service=self.service, size=len(work), error=repr(exc))
            if self.ledger.known is not None:  # rolled back: those ids were not claimed after all
                self.ledger.known.difference_update(envelope.id for _i, envelope, _e, _h in work)
            return False
        share = (time.perf_counter() - started) / len(work)
        counted: Counter[tuple[str, Outcome]] = Counter()
        for (i, envelope, _event, _handler), outcome in zip(work, results, strict=True):
            outcomes[i] = outcome
            counted[envelope.type, outcome] += 1
        # Once per type and batch (a metric update per event costs more than many events' handling here).
        for event_type in {t for t, _o in counted}:
            metrics.HANDLER_LATENCY.labels(self.service, event_type).observe(share)
        for (event_type, outcome), n in counted.items():
            metrics.EVENTS_PROCESSED.labels(self.service, event_type, outcome).inc(n)
        return True

    async def _apply_with_retries(
        self, record: ConsumerRecord[bytes, bytes], envelope: Envelope, event: EventData, handler: Handler
    ) -> Outcome:
        """Retry a failing handler, then dead-letter it. An unreachable or locked database is not the event's
        fault: that is waited out for as long as it lasts (the offset stays uncommitted meanwhile)."""
        logical_topic = self._physical_to_logical.get(record.topic, record.topic)
        attempt = 0
        outage_wait = self.backoff_base_s
        while True:
            started = time.perf_counter()
            try:
                outcome = await self.apply(handler, event, envelope)
            except Exception as exc:
                if is_store_unavailable(exc):
                    if self._stopping:
                        raise
                    self._store_outage.failed(exc)
                    await asyncio.sleep(outage_wait)
                    outage_wait = min(outage_wait * 2, 5.0)
                    continue
                attempt += 1
                if attempt >= self.max_attempts:
                    log.error(
                        "consumer.handler_failed",
                        service=self.service,
                        event_id=envelope.id,
                        event_type=envelope.type,
                        attempts=attempt,
                        error=repr(exc),
                    )
                    await self.dead_letter(record, logical_topic, exc, attempts=attempt)
                    metrics.EVENTS_PROCESSED.labels(self.service, envelope.type, Outcome.dead_lettered).inc()
                    return Outcome.dead_lettered
                await asyncio.sleep(self.backoff_base_s * 2 ** (attempt - 1))
                continue
            self._store_outage.recovered()
            metrics.HANDLER_LATENCY.labels(self.service, envelope.type).observe(time.perf_counter() - started)
            metrics.EVENTS_PROCESSED.labels(self.service, envelope.type, outcome).inc()
            return outcome

    async def apply(self, handler: Handler, event: EventData, envelope: Envelope) -> Outcome:
        """Run ``handler`` and the ledger insert in one transaction."""
        with correlation(envelope.correlation_id, envelope.id):
            async with unit_of_work(self.sessions) as session:
                if not await self.ledger.claim(session, envelope):
                    return Outcome.duplicate
                if self.batch_handler is not None:
                    await self.batch_handler(session, [(event, envelope)])
                else:
                    await handler(session, event, envelope)
        return Outcome.applied

    async def dead_letter(
        self, record: ConsumerRecord[bytes, bytes], logical_topic: str, exc: BaseException, *, attempts: int
    ) -> None:
        if not self.publish_dead_letters:
            metrics.DLQ_TOTAL.labels(self.service, logical_topic).inc()
            log.warning(
                "consumer.skipped_poison",
                service=self.service,
                topic=logical_topic,
                partition=record.partition,
                offset=record.offset,
                error=str(exc)[:500],
            )
            return
        if self._dlq_producer is None:
            producer = make_producer(self.kafka, f"{self.service}-dlq")
            await producer.start()
            self._dlq_producer = producer
        error_headers = [
            ("dlq_error_type", type(exc).__name__),
            ("dlq_error_message", str(exc)[:2000]),
            ("dlq_error_trace", "".join(traceback.format_exception(exc))[-4000:]),
            ("dlq_consumer", self.service),
            ("dlq_attempts", str(attempts)),
            ("dlq_original_topic", logical_topic),
            ("dlq_original_partition", str(record.partition)),
            ("dlq_original_offset", str(record.offset)),
        ]
        headers = list(record.headers or []) + [(k, v.encode()) for k, v in error_headers]
        await self._dlq_producer.send_and_wait(
            topic_name(self.kafka, f"{logical_topic}.dlq"),
            value=record.value,
            key=record.key,
            headers=headers,
        )
        metrics.DLQ_TOTAL.labels(self.service, logical_topic).inc()
        log.warning(
            "consumer.dead_lettered",
            service=self.service,
            topic=logical_topic,
            partition=record.partition,
            offset=record.offset,
            error=str(exc)[:500],
        )


async def _stop_within(client: AIOKafkaConsumer | AIOKafkaProducer, timeout_s: float) -> None:
    """Stop a client, giving up after ``timeout_s`` (a client whose broker is gone can wait much longer)."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(client.stop(), timeout=timeout_s)


__all__ = ["BatchHandler", "EventConsumer", "Handler", "Outcome", "Prepared", "ProcessedLedger", "TopicPartition"]
