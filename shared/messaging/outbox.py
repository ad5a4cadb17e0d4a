"""Transactional outbox: the event is written in the same transaction as the state change, and a relay
publishes it afterwards with ``acks=all``. Rows are kept after publishing so that a broker that lost its
data can be repopulated (``replay``)."""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from sqlalchemy import event as sa_event
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from shared.context import causation_id_var, current_correlation_id, new_id
from shared.db import PlumbingTables, is_store_unavailable, transaction_lock, utcnow
from shared.events.base import EventData
from shared.events.envelope import Envelope
from shared.messaging.kafka import topic_name
from shared.messaging.ordered_send import OutboxRecord, send_in_partition_order
from shared.observability import metrics
from shared.observability.outage import Outage
from shared.settings import KafkaSettings

log = structlog.get_logger(__name__)

# A row the broker refuses this many times for a non-retriable reason (too large, no such topic, not
# authorised) is parked: logged, left in the table, skipped until `oslonac outbox-replay` releases it.
MAX_ATTEMPTS = 10

ProducerFactory = Callable[[], AIOKafkaProducer]


@contextlib.asynccontextmanager
async def _transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    lock = transaction_lock(engine)
    async with lock if lock is not None else contextlib.nullcontext(), engine.begin() as conn:
        yield conn


class OutboxWriter:
    """Adds events to the outbox table of one service's database."""

    def __init__(self, tables: PlumbingTables, *, source: str) -> None:
        self.tables = tables
        self.source = source
        self._listeners: list[Callable[[], None]] = []
        self._insert = insert(tables.outbox)  # one statement, compiled once, executed with parameters

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after every commit that wrote outbox rows (wakes the relay at once)."""
        self._listeners.append(callback)

    async def add(self, session: AsyncSession, event: EventData, *, subject: str | None = None) -> Envelope:
        envelope, row = self._row(event, subject)
        await (await session.connection()).execute(self._insert, row)
        self._hook(session.sync_session)
        return envelope

    async def add_many(self, session: AsyncSession, events: list[EventData]) -> list[Envelope]:
        """Queue many events with one executemany (bulk work such as an import)."""
        if not events:
            return []
        pairs = [self._row(event, None) for event in events]
        await (await session.connection()).execute(self._insert, [row for _, row in pairs])
        self._hook(session.sync_session)
        return [envelope for envelope, _ in pairs]

    def _row(self, event: EventData, subject: str | None) -> tuple[Envelope, dict[str, Any]]:
        envelope = Envelope(
            id=new_id(),
            source=self.source,
            type=event.type_name(),
            data=event.to_data(),
            subject=subject if subject is not None else event.key,
            time=utcnow(),
            correlation_id=current_correlation_id(),
            causation_id=causation_id_var.get(),
        )
        return envelope, {
            "event_id": envelope.id,
            "topic": event.topic,
            "key": event.key,
            "event_type": envelope.type,
            "headers": [[k, v.decode()] for k, v in envelope.headers()],
            "payload": envelope.value().decode(),
            "created_at": envelope.time,
        }

    def _hook(self, sync_session: Session) -> None:
        sync_session.info.setdefault(_WRITERS_KEY, set()).add(self)

    def _committed(self) -> None:
        for callback in self._listeners:
            callback()


# The session's writers are told after its commit: one listener on the Session class, registered once (listening
# on each session cost ~40 µs per listener per transaction, on every registration). A rolled-back session's
# writers are not forgotten: at worst a later commit wakes the relay for nothing.
_WRITERS_KEY = "oslonac_outbox_writers"


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    writers: set[OutboxWriter] | None = session.info.pop(_WRITERS_KEY, None)
    for writer in writers or ():
        writer._committed()


@dataclass
class OutboxRelay:
    """Publishes unpublished outbox rows in order, in batches, and marks them published."""

    service: str
    engine: AsyncEngine
    tables: PlumbingTables
    kafka: KafkaSettings
    producer_factory: ProducerFactory
    batch_size: int = 500
    poll_interval_s: float = 1.0
    # Commits in this process wake the relay at once, so its poll is only a safety net (rows written by another
    # process, ``oslonac outbox-replay``): after each empty poll it waits twice as long, up to this.
    idle_poll_max_s: float = 30.0
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _producer: AIOKafkaProducer | None = None
    _stopping: bool = False
    published_total: int = 0

    def notify(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Publish until stopped. No error ends the loop: broker and database outages are waited out, and each
        is logged once when it starts and once when it ends (``outbox.broker_*``, ``outbox.store_*``)."""
        backoff = 0.1
        poll = self.poll_interval_s
        lock_conn: AsyncConnection | None = None
        broker = Outage("outbox.broker", {"service": self.service}, logger=log)
        store = Outage("outbox.store", {"service": self.service}, logger=log)
        try:
            while not self._stopping:
                try:
                    if self.engine.dialect.name == "postgresql":
                        if lock_conn is not None and not await _still_open(lock_conn):
                            lock_conn = None  # the leadership lock went with its connection
                        if lock_conn is None:
                            lock_conn = await self._take_leadership()
                            if lock_conn is None:
                                await self._sleep(2.0)
                                continue
                    count = await self.publish_batch()
                    backoff = 0.1
                    store.recovered()
                    if count:
                        broker.recovered()
                    if count >= self.batch_size:
                        continue
                    # Idle: poll less and less often; a commit here (or a failure) starts again from the base.
                    poll = self.poll_interval_s if count else min(poll * 2, max(self.idle_poll_max_s, poll))
                    if await self._sleep(poll):
                        poll = self.poll_interval_s
                except Exception as exc:
                    if isinstance(exc, KafkaError | OSError):
                        broker.failed(exc, retry_in=backoff)
                    elif is_store_unavailable(exc):
                        store.failed(exc, retry_in=backoff)
                    else:
                        log.warning("outbox.publish_failed", service=self.service, error=repr(exc), retry_in=backoff)
                    if not isinstance(exc, KafkaError):
                        with contextlib.suppress(Exception):
                            if lock_conn is not None:
                                await lock_conn.close()
                        lock_conn = None
                    await self._drop_producer()
                    await self._sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    poll = self.poll_interval_s
        finally:
            if lock_conn is not None:
                with contextlib.suppress(Exception):
                    await lock_conn.close()
            await self._drop_producer()

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` or until woken; True if woken."""
        woken = True
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        except TimeoutError:
            woken = False
        self._wake.clear()
        return woken

    async def _take_leadership(self) -> AsyncConnection | None:
        """On PostgreSQL only one relay per service database publishes (keeps per-key order)."""
        conn = await self.engine.connect()
        key = zlib.crc32(f"oslonac-outbox-{self.service}".encode())
        got = (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})).scalar()
        await conn.commit()
        if got:
            return conn
        await conn.close()
        return None

    async def _get_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = self.producer_factory()
            try:
                await producer.start()
            except BaseException:
                with contextlib.suppress(Exception):
                    await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def _drop_producer(self) -> None:
        """Stop the producer, bounded (a producer whose broker is gone waits long for its last sends)."""
        if self._producer is not None:
            producer, self._producer = self._producer, None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), timeout=0.5 if self._stopping else 3)

    async def publish_batch(self) -> int:
        """Publish the oldest unpublished rows; return how many were taken, raise the first transient failure
        after marking what was published.

        Per-key order (ADR 0004): each partition's rows go out a record batch at a time and only the in-order
        prefix of a partition is marked published — a row that failed holds back the rows behind it in its
        partition (``ordered_send``). A row the broker refuses for good holds them back too, until it has been
        refused ``MAX_ATTEMPTS`` times: then it is parked (logged, skipped) and its successors go on without it;
        ``replay`` releases it later, after them (the one case where a key's order is given up, for the rest of
        the partition's sake; consumers keyed on versions cope, see the ADR).
        """
        outbox = self.tables.outbox
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(
                        outbox.c.seq,
                        outbox.c.topic,
                        outbox.c.key,
                        outbox.c.headers,
                        outbox.c.payload,
                        outbox.c.attempts,
                    )
                    .where(_unpublished(outbox))
                    .order_by(outbox.c.seq)
                    .limit(self.batch_size)
                )
            ).all()
        if not rows:
            metrics.OUTBOX_BACKLOG.labels(self.service).set(0)
            return 0
        producer = await self._get_producer()
        records = [
            OutboxRecord(
                seq=row.seq,
                topic=topic_name(self.kafka, row.topic),
                key=row.key.encode(),
                value=row.payload.encode(),
                headers=[(k, v.encode()) for k, v in row.headers],
            )
            for row in rows
        ]
        outcome = await send_in_partition_order(producer, records)
        attempts = {row.seq: row.attempts for row in rows}
        for seq, error in outcome.refused:
            parked = attempts[seq] + 1 >= MAX_ATTEMPTS
            log.error(
                "outbox.row_parked" if parked else "outbox.row_refused",
                service=self.service,
                seq=seq,
                attempts=attempts[seq] + 1,
                error=repr(error),
            )
        sent, refused = outcome.sent, [seq for seq, _error in outcome.refused]
        async with _transaction(self.engine) as conn:
            if sent:
                await conn.execute(update(outbox).where(outbox.c.seq.in_(sent)).values(published_at=utcnow()))
            if refused:
                # Counted, and parked after MAX_ATTEMPTS so one bad row cannot hold back the rows behind it forever.
                await conn.execute(
                    update(outbox).where(outbox.c.seq.in_(refused)).values(attempts=outbox.c.attempts + 1)
                )
            backlog = 0
            if len(rows) >= self.batch_size:
                backlog = (
                    await conn.execute(select(func.count()).select_from(outbox).where(_unpublished(outbox)))
                ).scalar_one()
        metrics.OUTBOX_BACKLOG.labels(self.service).set(backlog)
        metrics.OUTBOX_PUBLISHED.labels(self.service).inc(len(sent))
        self.published_total += len(sent)
        if outcome.failure is not None:
            raise outcome.failure
        return len(rows)


def _unpublished(outbox: Any) -> Any:
    return outbox.c.published_at.is_(None) & (outbox.c.attempts < MAX_ATTEMPTS)


async def _still_open(conn: AsyncConnection) -> bool:
    try:
        await conn.execute(text("SELECT 1"))
        await conn.commit()
    except Exception:
        return False
    return True


async def replay(engine: AsyncEngine, tables: PlumbingTables, *, since: datetime | None = None) -> int:
    """Mark published events as unpublished again so the relay republishes them (after broker data loss),
    and release parked rows.

    Consumers are idempotent, so events that did survive are applied once.
    """
    outbox = tables.outbox
    stmt = update(outbox).where(outbox.c.published_at.is_not(None) | (outbox.c.attempts >= MAX_ATTEMPTS))
    stmt = stmt.values(published_at=None, attempts=0)
    if since is not None:
        stmt = stmt.where(outbox.c.created_at >= since)
    async with _transaction(engine) as conn:
        result = await conn.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


async def backlog(engine: AsyncEngine, tables: PlumbingTables) -> int:
    outbox = tables.outbox
    async with engine.connect() as conn:
        count = (
            await conn.execute(select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None)))
        ).scalar_one()
    return int(count)
