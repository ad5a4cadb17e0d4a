"""Applying fetched records: decode, upcast, ledger and handlers in one transaction.

Each event is applied in one database transaction together with a ``processed_events(consumer, event_id)`` row,
so a redelivered event is a no-op. The records of one fetch share a transaction; if anything in it fails it rolls
back whole and each record is applied alone, with retries, so one bad event cannot take its neighbours down. A
record that cannot be decoded, has an unknown type or fails its handler after bounded retries is a dead letter;
an unreachable or locked database is waited out, not blamed on the event.

The applier knows nothing of where records come from: the consumer loop (shared/messaging/loop.py) hands it what
it fetched and commits the offsets after ``apply`` returns; the reporting rebuild hands it a replay.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, TypeAlias

import structlog
from aiokafka import ConsumerRecord
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.context import correlation
from shared.db import PlumbingTables, is_store_unavailable, unit_of_work
from shared.events.base import EventData
from shared.events.catalogue import EVENT_TYPES, UPCASTERS, UnknownEventType, decode_event
from shared.events.envelope import Envelope, EnvelopeError
from shared.messaging.ledger import ProcessedLedger
from shared.messaging.outbox import OutboxWriter
from shared.messaging.subscriptions import BatchContext, EventContext, EventHandler, Subscriptions
from shared.observability import metrics
from shared.observability.outage import Outage

log = structlog.get_logger(__name__)

Record: TypeAlias = ConsumerRecord[bytes, bytes]


class Outcome(StrEnum):
    applied = "applied"
    duplicate = "duplicate"
    ignored = "ignored"
    dead_lettered = "dead_lettered"


class DeadLetters(Protocol):
    """Where a record that cannot be applied goes: ``<topic>.dlq`` with the error in headers."""

    async def publish(self, record: Record, *, topic: str, error: BaseException, attempts: int) -> None: ...


@dataclass
class Work:
    """One decoded record to apply: its index in the fetch, envelope and typed event."""

    index: int
    envelope: Envelope
    event: EventData


@dataclass
class Prepared:
    """Records decoded for applying: outcomes already known (ignored, dead-lettered) and the work left."""

    outcomes: list[Outcome | None]
    work: list[Work]


def _declared_type(record: Record) -> str | None:
    """The record's ``ce_type`` header, read without parsing anything else."""
    for key, value in record.headers or ():
        if key == "ce_type" and value is not None:
            try:
                declared: str = value.decode()
            except UnicodeDecodeError:
                return None
            return declared
    return None


class Applier:
    """Applies the records of one service's subscriptions.

    ``dead_letters`` None: poison records are counted and logged, not published (a replay: they went to the
    dead-letter topic when first read). ``fresh_store``: this applier alone writes a store that started empty, so
    the ledger keeps the ids in memory instead of looking them up. ``replay`` is what batch handlers see as
    ``ctx.replay``.
    """

    def __init__(
        self,
        *,
        service: str,
        subscriptions: Subscriptions,
        sessions: async_sessionmaker[AsyncSession],
        tables: PlumbingTables,
        outbox: OutboxWriter,
        logical_topics: dict[str, str] | None = None,
        dead_letters: DeadLetters | None,
        max_attempts: int = 4,
        backoff_base_s: float = 0.05,
        fresh_store: bool = False,
        replay: bool = False,
    ) -> None:
        self.service = service
        self.subscriptions = subscriptions
        self.sessions = sessions
        self.outbox = outbox
        self.dead_letters = dead_letters
        self.max_attempts = max_attempts
        self.backoff_base_s = backoff_base_s
        self.replay = replay
        self.ledger = ProcessedLedger(tables, service, fresh_store=fresh_store)
        self._logical = logical_topics or {}
        self._by_type = {cls.type_name(): cls for cls in subscriptions.event_types}
        # Known types this service has no handler for, even after upcasting: ignored without reading their data.
        self._not_ours = frozenset(
            t.type_name() for t in EVENT_TYPES if t.type_name() not in self._by_type and t.type_name() not in UPCASTERS
        )
        self._store_outage = Outage("consumer.store", {"service": service}, logger=log)
        self._stopping = False

    def stop(self) -> None:
        """Stop waiting out a store outage: the batch under way fails (its offsets stay uncommitted)."""
        self._stopping = True

    def handles(self, event_type: str) -> bool:
        return event_type in self._by_type

    def logical_topic(self, record: Record) -> str:
        return self._logical.get(record.topic) or str(record.topic)

    async def apply_one(self, record: Record) -> Outcome:
        """Apply one record (idempotently) or dead-letter it. Never raises for a bad record."""
        return (await self.apply([record]))[0]

    async def apply(self, records: Sequence[Record]) -> list[Outcome]:
        """Apply fetched records, per-partition order kept, in one transaction if they all succeed (see module)."""
        return await self.apply_prepared(records, await self.prepare(records))

    async def prepare(self, records: Sequence[Record]) -> Prepared:
        """Decode ``records``: what is not ours is ignored, what cannot be decoded is dead-lettered, the rest is
        work for ``apply_prepared`` (a replay decodes the next batch while the store writes this one)."""
        outcomes: list[Outcome | None] = [None] * len(records)
        work: list[Work] = []
        ignored: Counter[str] = Counter()
        for i, record in enumerate(records):
            declared = _declared_type(record)
            if declared in self._not_ours:
                ignored[declared] += 1
                outcomes[i] = Outcome.ignored
                continue
            try:
                envelope = Envelope.from_record(list(record.headers or []), record.value)
                event = decode_event(envelope.type, envelope.data)
            except (EnvelopeError, UnknownEventType, ValidationError) as exc:
                await self._dead_letter(record, exc, attempts=0, event_type="undecodable")
                outcomes[i] = Outcome.dead_lettered
                continue
            if event.type_name() not in self._by_type:  # after upcasting: an old version reaches the new handler
                ignored[envelope.type] += 1
                outcomes[i] = Outcome.ignored
                continue
            work.append(Work(i, envelope, event))
        for event_type, n in ignored.items():
            metrics.EVENTS_PROCESSED.labels(self.service, event_type, Outcome.ignored).inc(n)
        return Prepared(outcomes, work)

    async def apply_prepared(self, records: Sequence[Record], prepared: Prepared) -> list[Outcome]:
        outcomes, work = prepared.outcomes, prepared.work
        if len(work) > 1 and await self._apply_together(work, outcomes):
            return [o or Outcome.ignored for o in outcomes]
        for item in work:
            outcomes[item.index] = await self._apply_with_retries(records[item.index], item)
        return [o or Outcome.ignored for o in outcomes]

    async def _apply_together(self, work: list[Work], outcomes: list[Outcome | None]) -> bool:
        started = time.perf_counter()
        try:
            async with unit_of_work(self.sessions) as session:
                results = await self._apply_in(session, work)
        except Exception as exc:
            log.info("consumer.batch_fallback", service=self.service, size=len(work), error=repr(exc))
            self.ledger.forget([item.envelope.id for item in work])  # rolled back: not claimed after all
            return False
        share = (time.perf_counter() - started) / len(work)
        counted: Counter[tuple[str, Outcome]] = Counter()
        for item, outcome in zip(work, results, strict=True):
            outcomes[item.index] = outcome
            counted[item.envelope.type, outcome] += 1
        # Once per type and batch (a metric update per event costs more than many events' handling here).
        for event_type in {t for t, _o in counted}:
            metrics.HANDLER_LATENCY.labels(self.service, event_type).observe(share)
        for (event_type, outcome), n in counted.items():
            metrics.EVENTS_PROCESSED.labels(self.service, event_type, outcome).inc(n)
        return True

    async def _apply_in(self, session: AsyncSession, work: Sequence[Work]) -> list[Outcome]:
        """Claim and apply ``work`` in ``session``'s transaction, in order; duplicates are skipped."""
        batch = self.subscriptions.batch_handler
        if batch is not None:
            claimed = await self.ledger.claim_many(session, [item.envelope for item in work])
            fresh = [(item.event, item.envelope) for item, ok in zip(work, claimed, strict=True) if ok]
            if fresh:
                await batch(fresh, BatchContext(session=session, outbox=self.outbox, replay=self.replay))
            return [Outcome.applied if ok else Outcome.duplicate for ok in claimed]
        results: list[Outcome] = []
        for item in work:
            with correlation(item.envelope.correlation_id, item.envelope.id):
                if not await self.ledger.claim(session, item.envelope):
                    results.append(Outcome.duplicate)
                    continue
                handler = self._handler(item.event)
                await handler(item.event, EventContext(session=session, outbox=self.outbox, envelope=item.envelope))
                results.append(Outcome.applied)
        return results

    def _handler(self, event: EventData) -> EventHandler:
        handler = self.subscriptions.handler_for(type(event))
        if handler is None:  # pragma: no cover - prepare() keeps only handled types
            raise LookupError(f"no handler for {event.type_name()}")
        return handler

    async def _apply_with_retries(self, record: Record, item: Work) -> Outcome:
        """Retry a failing handler, then dead-letter it. An unreachable or locked database is not the event's
        fault: that is waited out for as long as it lasts (the offset stays uncommitted meanwhile)."""
        envelope = item.envelope
        attempt = 0
        outage_wait = self.backoff_base_s
        while True:
            started = time.perf_counter()
            try:
                with correlation(envelope.correlation_id, envelope.id):
                    async with unit_of_work(self.sessions) as session:
                        [outcome] = await self._apply_in(session, [item])
            except Exception as exc:
                self.ledger.forget([envelope.id])
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
                    await self._dead_letter(record, exc, attempts=attempt, event_type=envelope.type)
                    return Outcome.dead_lettered
                await asyncio.sleep(self.backoff_base_s * 2 ** (attempt - 1))
                continue
            self._store_outage.recovered()
            metrics.HANDLER_LATENCY.labels(self.service, envelope.type).observe(time.perf_counter() - started)
            metrics.EVENTS_PROCESSED.labels(self.service, envelope.type, outcome).inc()
            return outcome

    async def _dead_letter(self, record: Record, exc: BaseException, *, attempts: int, event_type: str) -> None:
        topic = self.logical_topic(record)
        if self.dead_letters is not None:
            await self.dead_letters.publish(record, topic=topic, error=exc, attempts=attempts)
        metrics.DLQ_TOTAL.labels(self.service, topic).inc()
        metrics.EVENTS_PROCESSED.labels(self.service, event_type, Outcome.dead_lettered).inc()
        log.warning(
            "consumer.dead_lettered" if self.dead_letters is not None else "consumer.skipped_poison",
            service=self.service,
            topic=topic,
            partition=record.partition,
            offset=record.offset,
            error=str(exc)[:500],
        )
