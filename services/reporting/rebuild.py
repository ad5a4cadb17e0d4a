"""Rebuild reporting's store by replaying every topic it reads from the beginning.

``oslonac reporting-rebuild --database-url URL`` migrates a fresh, empty store, reads every partition of
reporting's topics from offset 0 until it has caught up with the end, and applies the records through the same
applier and projection as the live service (batches of thousands, the ledger of processed events
included, so a record published twice counts once). No announcement is made and nothing is dead-lettered again.

To switch the service over: stop reporting, run the rebuild with ``--commit-group reporting`` (the replayed
positions become the group's committed offsets), point reporting at the new store and start it; it goes on
from where the rebuild stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from sqlalchemy import Index, event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.reporting.app import MIGRATIONS
from services.reporting.handlers import subscriptions
from services.reporting.models import Base, plumbing
from shared.db import create_engine, is_sqlite, migrate, session_factory
from shared.events.catalogue import SUBSCRIPTIONS
from shared.messaging.applier import Applier, Outcome, Prepared
from shared.messaging.kafka import topic_name
from shared.messaging.outbox import OutboxWriter
from shared.settings import Settings

log = structlog.get_logger(__name__)


class RebuildError(RuntimeError):
    pass


@dataclass
class RebuildResult:
    events: int
    applied: int
    duplicates: int
    ignored: int
    dead_lettered: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


async def rebuild(
    settings: Settings,
    database_url: str,
    *,
    commit_group: str | None = None,
    progress: Callable[[int], None] | None = None,
    batch_size: int = 5000,
    idle_s: float = 30.0,
) -> RebuildResult:
    """Replay reporting's topics into the empty store at ``database_url``."""
    engine = create_engine(database_url)
    if is_sqlite(database_url):

        @event.listens_for(engine.sync_engine, "connect")
        def _bigger_cache(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA cache_size=-262144")  # 256 MiB of pages: the indexes grow by millions of rows
            # A crash half-way leaves a store to throw away and rebuild anyway: no need to wait for the disk.
            cur.execute("PRAGMA synchronous=OFF")
            cur.close()

    try:
        await migrate(engine, MIGRATIONS)
        sessions = session_factory(engine)
        async with sessions() as session:
            if await session.scalar(select(func.count()).select_from(plumbing.processed_events)):
                raise RebuildError("the store is not empty: rebuild into a fresh database")
        applier = Applier(
            service="reporting",
            subscriptions=subscriptions,
            sessions=sessions,
            tables=plumbing,
            outbox=OutboxWriter(plumbing, source="/oslonac/reporting"),
            logical_topics={topic_name(settings.kafka, t): t for t in SUBSCRIPTIONS["reporting"]},
            dead_letters=None,  # a poison record went to the dead-letter topic when it was first read
            max_attempts=settings.consumer_max_attempts,
            backoff_base_s=settings.consumer_backoff_base_s,
            fresh_store=True,  # the store started empty and only this replay writes it
            replay=True,  # nothing is announced
        )
        # Millions of short-lived objects: the collector's default thresholds would scan the growing heap over
        # and over. Collect rarely while replaying, as normal afterwards.
        thresholds = gc.get_threshold()
        gc.set_threshold(200_000, 50, 1000)
        deferred = await _drop_query_indexes(engine)
        try:
            result = await _replay(settings, applier, commit_group, progress, batch_size, idle_s)
        finally:
            gc.set_threshold(*thresholds)
            started = time.perf_counter()
            async with engine.begin() as conn:
                for index in deferred:
                    await conn.run_sync(index.create)
        result.seconds += time.perf_counter() - started  # the indexes are part of the rebuild
        return result
    finally:
        await engine.dispose()


# Indexes only the indicator queries use: built once at the end instead of row by row during the replay (which
# reads facts by primary key, and a household's members by household).
_KEPT = frozenset({"ix_person_facts_household_id"})


async def _drop_query_indexes(engine: AsyncEngine) -> list[Index]:
    dropped = []
    async with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in ("outbox", "processed_events", "indicator_feed"):
                continue
            for index in sorted(table.indexes, key=lambda i: str(i.name)):
                if index.name not in _KEPT:
                    await conn.run_sync(index.drop)
                    dropped.append(index)
    return dropped


async def _replay(
    settings: Settings,
    applier: Applier,
    commit_group: str | None,
    progress: Callable[[int], None] | None,
    batch_size: int,
    idle_s: float,
) -> RebuildResult:
    kafka = settings.kafka
    reader = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers,
        client_id=f"{kafka.client_id_prefix}-reporting-rebuild",
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
        request_timeout_ms=kafka.request_timeout_ms,
    )
    await reader.start()
    counts = dict.fromkeys(Outcome, 0)
    started = time.perf_counter()
    try:
        available = await reader.topics()
        partitions = []
        for logical in SUBSCRIPTIONS["reporting"]:
            physical = topic_name(kafka, logical)
            if physical not in available:
                continue
            for p in sorted(reader.partitions_for_topic(physical) or ()):
                partitions.append(TopicPartition(physical, p))
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        # Two stages: the next batch is fetched and decoded while the store writes the previous one.
        queue: asyncio.Queue[tuple[list[ConsumerRecord[bytes, bytes]], Prepared] | None] = asyncio.Queue(maxsize=2)

        async def fetch() -> None:
            idle_since: float | None = None
            try:
                while True:
                    fetched = await reader.getmany(timeout_ms=200, max_records=batch_size)
                    records = [r for rs in fetched.values() for r in rs]
                    if records:
                        idle_since = None
                        await queue.put((records, await applier.prepare(records)))
                        continue
                    # The broker's own end offsets are not trusted (the embedded one reports them wrong): caught
                    # up is every partition at the high-water mark its last fetch reported; ``idle_s`` without a
                    # record or a mark for every partition ends it too (a partition that never answers).
                    if await _caught_up(reader, partitions):
                        return
                    now = time.perf_counter()
                    idle_since = idle_since or now
                    if now - idle_since >= idle_s:
                        return
            finally:
                await queue.put(None)

        fetcher = asyncio.create_task(fetch())
        read = 0
        try:
            while (item := await queue.get()) is not None:
                records, prepared = item
                for outcome in await applier.apply_prepared(records, prepared):
                    counts[outcome] += 1
                read += len(records)
                if progress is not None:
                    progress(read)
        finally:
            if not fetcher.done():
                fetcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await fetcher
        seconds = time.perf_counter() - started
        if commit_group is not None:
            await _commit(settings, partitions, {tp: await reader.position(tp) for tp in partitions}, commit_group)
    finally:
        await reader.stop()
    result = RebuildResult(
        events=sum(counts.values()),
        applied=counts[Outcome.applied],
        duplicates=counts[Outcome.duplicate],
        ignored=counts[Outcome.ignored],
        dead_lettered=counts[Outcome.dead_lettered],
        seconds=seconds,
    )
    log.info("reporting.rebuilt", **{k: v for k, v in result.__dict__.items()})
    return result


async def _caught_up(reader: AIOKafkaConsumer, partitions: list[TopicPartition]) -> bool:
    for tp in partitions:
        high = reader.highwater(tp)
        if high is None:
            return False
        if await reader.position(tp) < high:
            return False
    return True


async def _commit(
    settings: Settings, partitions: list[TopicPartition], positions: dict[TopicPartition, int], group: str
) -> None:
    """Make the replayed positions the committed offsets of ``group`` (the live service must be stopped)."""
    kafka = settings.kafka
    committer = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=f"{kafka.topic_prefix}{group}",
        enable_auto_commit=False,
        request_timeout_ms=kafka.request_timeout_ms,
    )
    await committer.start()
    try:
        committer.assign(partitions)
        await committer.commit(positions)
    finally:
        await committer.stop()


def run(settings: Settings, database_url: str, commit_group: str | None) -> RebuildResult:
    def report(read: int) -> None:
        if read % 100_000 < 5000:
            log.info("reporting.rebuild_progress", records=read)

    return asyncio.run(rebuild(settings, database_url, commit_group=commit_group, progress=report))
