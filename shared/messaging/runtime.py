"""What every service process runs besides its HTTP routes: its database, outbox relay and consumer."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from aiokafka.client import AIOKafkaClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.db import PlumbingTables, create_engine, migrate, ping, session_factory
from shared.events.catalogue import SUBSCRIPTIONS
from shared.messaging.applier import Applier
from shared.messaging.dead_letters import DeadLetterPublisher
from shared.messaging.kafka import make_producer, topic_name
from shared.messaging.loop import ConsumerLoop
from shared.messaging.outbox import OutboxRelay, OutboxWriter
from shared.messaging.subscriptions import Subscriptions
from shared.settings import Settings

log = structlog.get_logger(__name__)

# Long-running work of a service besides relay and consumer (intake's import jobs): started after the migrations,
# cancelled on stop, so it must leave the database consistent at any await (one transaction per step).
BackgroundWork = Callable[["ServiceRuntime"], Awaitable[None]]

# The embedded platform's supervisor sends this after it restarted the (in-memory) broker on the same port and
# replayed the outboxes: the relay looks at its outbox at once and the consumer rebuilds its client.
BROKER_REPLACED_SIGNAL = signal.SIGUSR1
# Stopping takes at most about STOP_GRACE_S + STOP_CANCEL_S + STOP_DISPOSE_S, whatever the broker does: relay
# and consumer get the grace to finish what they are doing, then are cancelled (a cancelled batch rolls back and
# its offsets stay uncommitted: it is applied again later, idempotently).
STOP_GRACE_S = 0.8
STOP_CANCEL_S = 0.3
STOP_DISPOSE_S = 0.3


@dataclass
class ServiceRuntime:
    """A service's database, outbox relay and, when it subscribes to anything, its applier and consumer loop.

    ``subscriptions`` is the service's ``handlers.subscriptions`` (shared/messaging/subscriptions.py): the
    applier routes each event to its handler; the loop consumes the topics the catalogue lists for the service.
    """

    settings: Settings
    tables: PlumbingTables
    migrations: Path
    subscriptions: Subscriptions = field(default_factory=Subscriptions)
    background: Sequence[BackgroundWork] = ()

    engine: AsyncEngine = field(init=False)
    sessions: async_sessionmaker[AsyncSession] = field(init=False)
    outbox: OutboxWriter = field(init=False)
    relay: OutboxRelay = field(init=False)
    # What applies fetched records (tests deliver events through it without a broker), and the loop feeding it.
    applier: Applier | None = field(init=False, default=None)
    consumer: ConsumerLoop | None = field(init=False, default=None)
    _tasks: list[asyncio.Task[None]] = field(init=False, default_factory=list)
    _background_tasks: list[asyncio.Task[None]] = field(init=False, default_factory=list)
    _broker_ok_until: float = field(init=False, default=0.0)

    @property
    def service(self) -> str:
        return self.settings.service

    def __post_init__(self) -> None:
        s = self.settings
        self.engine = create_engine(s.resolved_database_url())
        self.sessions = session_factory(self.engine)
        self.outbox = OutboxWriter(self.tables, source=f"/oslonac/{s.service}")
        self.relay = OutboxRelay(
            service=s.service,
            engine=self.engine,
            tables=self.tables,
            kafka=s.kafka,
            producer_factory=lambda: make_producer(s.kafka, f"{s.service}-relay"),
            batch_size=s.outbox_batch_size,
            poll_interval_s=s.outbox_poll_interval_s,
        )
        self.outbox.on_commit(self.relay.notify)
        topics = SUBSCRIPTIONS.get(self.service, ())
        if topics and self.subscriptions:
            self.applier = Applier(
                service=s.service,
                subscriptions=self.subscriptions,
                sessions=self.sessions,
                tables=self.tables,
                outbox=self.outbox,
                logical_topics={topic_name(s.kafka, t): t for t in topics},
                dead_letters=DeadLetterPublisher(s.kafka, s.service),
                max_attempts=s.consumer_max_attempts,
                backoff_base_s=s.consumer_backoff_base_s,
            )
            self.consumer = ConsumerLoop(
                applier=self.applier, topics=topics, kafka=s.kafka, batch_size=s.consumer_batch_size
            )

    def broker_replaced(self) -> None:
        """The broker was replaced by one that lost everything and the outboxes were marked for replay."""
        log.info("runtime.broker_replaced", service=self.service)
        self.relay.notify()
        if self.consumer is not None:
            self.consumer.rebuild()

    def _listen_for_broker_replacement(self, listen: bool) -> None:
        """Only a process's main thread can take a signal (tests serve apps on other threads: nothing to do)."""
        with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
            loop = asyncio.get_running_loop()
            if listen:
                loop.add_signal_handler(BROKER_REPLACED_SIGNAL, self.broker_replaced)
            else:
                loop.remove_signal_handler(BROKER_REPLACED_SIGNAL)

    async def start(self) -> None:
        self._listen_for_broker_replacement(True)
        if self.settings.migrate_on_start:
            await migrate(self.engine, self.migrations)
        if self.settings.run_relay:
            self._tasks.append(asyncio.create_task(self.relay.run(), name=f"{self.service}-relay"))
        if self.settings.run_consumer and self.consumer is not None:
            self._tasks.append(asyncio.create_task(self.consumer.run(), name=f"{self.service}-consumer"))
        for work in self.background:
            name = f"{self.service}-{getattr(work, '__name__', 'background')}"
            self._background_tasks.append(asyncio.create_task(_background(work(self)), name=name))

    async def stop(self) -> None:
        """Stop within about two seconds whatever the broker and the store do (see STOP_GRACE_S)."""
        self._listen_for_broker_replacement(False)
        for task in self._background_tasks:
            task.cancel()
        await self.relay.stop()
        if self.consumer is not None:
            await self.consumer.stop()
        tasks = [*self._tasks, *self._background_tasks]
        self._tasks.clear()
        self._background_tasks.clear()
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=STOP_GRACE_S)
            for task in pending:
                task.cancel()
            stuck: set[asyncio.Task[None]] = set()
            if pending:
                _done, stuck = await asyncio.wait(pending, timeout=STOP_CANCEL_S)
                if stuck:
                    log.warning("runtime.stop_abandoned", service=self.service, tasks=[t.get_name() for t in stuck])
            for task in tasks:
                if task.done() and not task.cancelled() and task.exception() is not None:
                    log.warning("runtime.stopped_with_error", task=task.get_name(), error=repr(task.exception()))
        if self.applier is not None and isinstance(self.applier.dead_letters, DeadLetterPublisher):
            await self.applier.dead_letters.close(STOP_DISPOSE_S)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.engine.dispose(), timeout=STOP_DISPOSE_S)

    async def check_database(self) -> None:
        await asyncio.wait_for(ping(self.engine), timeout=3)

    async def check_broker(self) -> None:
        """Fetch cluster metadata from the broker (cached for two seconds after success)."""
        if time.monotonic() < self._broker_ok_until:
            return
        client = AIOKafkaClient(bootstrap_servers=self.settings.kafka.bootstrap_servers, request_timeout_ms=3000)
        try:
            await asyncio.wait_for(client.bootstrap(), timeout=3)
        finally:
            await client.close()
        self._broker_ok_until = time.monotonic() + 2.0


async def _background(work: Awaitable[None]) -> None:
    """Run one piece of background work; a crash is logged (a task nobody awaits would swallow it)."""
    try:
        await work
    except Exception:
        log.exception("runtime.background_failed")
