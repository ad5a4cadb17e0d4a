"""The consumer loop: one consumer group of one service, on FastStream (docs/adr/0005-faststream-consumer-loop.md).

A FastStream ``KafkaBroker`` with one batch subscriber over the service's topics fetches; each fetched batch goes
to the applier (shared/messaging/applier.py), and only after ``apply`` returned, i.e. after the transactions of
its records committed, is the batch acknowledged (manual acknowledgement: the offsets the fetch reached are
committed). What FastStream does not do for us stays here, around it:

- the fetch wait adapts (FetchPacer): short while records flow, growing while the group is idle, so an idle
  service does not ask the broker every few milliseconds;
- a commit is bounded: one that does not complete (a broker that lost its groups) rebuilds the client;
- a batch the applier could not finish is not skipped: it is sought back to and the client is rebuilt with
  backoff, so a later acknowledgement cannot commit past it;
- start, stop and rebuild are bounded whatever the broker does; the per-partition lag is kept as a metric.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import CommitFailedError
from faststream.kafka import KafkaBroker
from faststream.kafka.message import KafkaAckableMessage
from faststream.middlewares import AckPolicy

from shared.messaging.applier import Applier, Record
from shared.messaging.kafka import FETCH_LOOP_IDLE_MS, FetchPacer, set_fetch_wait, topic_name
from shared.observability import metrics
from shared.observability.outage import Outage
from shared.settings import KafkaSettings

log = structlog.get_logger(__name__)

# How long the subscriber's getmany waits for records the client fetched (a local wait, no request; it returns as
# soon as records are there). After an empty one FastStream sleeps as long again while the client goes on fetching:
# an idle loop wakes every two seconds (as the aiokafka loop did), and the first record after a quiet spell may
# wait up to this long more than the fetch wait (records that follow flow at once).
LOCAL_WAIT_MS = 1000
# The fetch wait steps down from busy to idle at most this often (one step per quiet spell this long); once it is at
# the idle wait, the loop looks again (and records the lag) only this seldom.
PACER_STEP_MIN_MS = 500
IDLE_TICK_MS = 10_000
# A client stopped while the broker does not answer gives up after this long (on stop: STOP_CLOSE_S).
CLOSE_S = 3.0
STOP_CLOSE_S = 0.5
LAG_TIMEOUT_S = 2.0


# FastStream's own log lines: its errors only (it warns at every start that a consumer-only broker creates no topics;
# shared.messaging.kafka.ensure_topics creates them all).
FASTSTREAM_LOG = logging.getLogger("oslonac.faststream")
FASTSTREAM_LOG.setLevel(logging.ERROR)


class BrokerLost(Exception):
    """The broker does not hold what this consumer's client was built on (a commit that never completes, a
    broker that was replaced): the client is rebuilt from scratch."""


class ConsumerLoop:
    """Consumes the topics of one service with its applier until stopped."""

    def __init__(
        self,
        *,
        applier: Applier,
        topics: Sequence[str],
        kafka: KafkaSettings,
        batch_size: int = 500,
        group_id: str | None = None,
    ) -> None:
        self.applier = applier
        self.topics = tuple(topics)
        self.kafka = kafka
        self.batch_size = batch_size
        self.group = group_id or applier.service
        self.ready = asyncio.Event()
        self._broker: KafkaBroker | None = None
        self._client: AIOKafkaConsumer | None = None
        self._pacer = FetchPacer.from_settings(kafka)
        self._stopping = False
        self._rebuild = False
        self._failure: BaseException | None = None
        self._fetched = False
        self._applying = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._wake = asyncio.Event()
        # The current client's session (start, wait, stop): cancelled at once while it only waits for the broker.
        self._session: asyncio.Task[None] | None = None
        self._starting = False
        self._broker_outage = Outage("consumer.broker", {"service": applier.service}, logger=log)

    @property
    def service(self) -> str:
        return self.applier.service

    @property
    def client(self) -> AIOKafkaConsumer | None:
        """The Kafka client the subscriber is consuming with (None between clients)."""
        return self._client

    async def stop(self) -> None:
        """Stop consuming: a client waiting for records stops at once; a batch being applied is finished first
        (ServiceRuntime.stop bounds that too)."""
        self._stopping = True
        self.applier.stop()
        self._interrupt_wait()

    def rebuild(self) -> None:
        """Drop the client and build a new one (the broker was replaced and knows neither our group nor our
        offsets): the new client joins afresh and reads from the committed offsets, or from the beginning."""
        self._rebuild = True
        self._interrupt_wait()

    def _interrupt_wait(self) -> None:
        self._wake.set()
        if self._starting and self._session is not None and not self._session.done():
            self._session.cancel()

    async def run(self) -> None:
        """Consume until stopped. After broker or store trouble the client starts again from the last committed
        offset (handlers are idempotent), so no error ends the loop."""
        backoff = 0.2
        while not self._stopping:
            self._session = asyncio.create_task(self._run_session(), name=f"{self.service}-consumer-session")
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
                self._failure = None
                await self._close()

    async def _run_session(self) -> None:
        broker = self._build_broker()
        self._broker = broker
        self._starting = True
        try:
            await broker.start()
        finally:
            self._starting = False
        self._client = self._subscriber.consumer
        self.ready.set()
        self._broker_outage.recovered()
        self._pacer = FetchPacer.from_settings(self.kafka)
        while not (self._stopping or self._rebuild):
            if self._failure is not None:
                raise self._failure
            self._wake.clear()
            self._fetched = False
            pacer = self._pacer
            tick_ms = IDLE_TICK_MS if pacer.current_ms >= pacer.idle_ms else max(PACER_STEP_MIN_MS, pacer.current_ms)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=tick_ms / 1000)
            if not (self._fetched or self._applying or self._failure):
                self._pace(got_records=False)
                await self._record_lag()
        await self._idle.wait()  # a batch under way finishes first (and is acknowledged)

    def _build_broker(self) -> KafkaBroker:
        s = self.kafka
        broker = KafkaBroker(
            s.bootstrap_servers,
            client_id=f"{s.client_id_prefix}-{self.group}",
            request_timeout_ms=max(s.request_timeout_ms, s.session_timeout_ms + 5000),
            consumer_only=True,  # dead letters go through their own broker (shared/messaging/dead_letters.py)
            graceful_timeout=None,  # the loop waits for a batch under way itself, bounded by the runtime
            logger=FASTSTREAM_LOG,
            log_level=logging.DEBUG,  # FastStream's per-batch "received"/"processed" lines
            apply_types=False,
        )
        subscriber = broker.subscriber(
            *[topic_name(s, t) for t in self.topics],
            group_id=f"{s.topic_prefix}{self.group}",
            batch=True,
            max_records=self.batch_size,
            batch_timeout_ms=LOCAL_WAIT_MS,
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset="earliest",
            session_timeout_ms=s.session_timeout_ms,
            heartbeat_interval_ms=s.heartbeat_interval_ms,
            fetch_max_wait_ms=self._pacer.busy_ms,
            fetch_min_bytes=s.fetch_min_bytes,
            # How often aiokafka's fetch loop looks around when nothing happens (default 200 ms): a finished fetch,
            # a consumed batch or a rebalance wakes it anyway, so a long one costs no latency, only idle wake-ups.
            consumer_timeout_ms=FETCH_LOOP_IDLE_MS,
            parser=self._parse,
            decoder=_as_is,
        )
        subscriber(self._on_batch)
        self._subscriber = subscriber
        return broker

    async def _parse(self, records: tuple[Record, ...]) -> KafkaAckableMessage:
        """The batch as FastStream's message, unparsed: the applier reads the records itself. (FastStream's own
        parser decodes every header as UTF-8 and drops the whole batch, uncommitted but skipped, when one is not.)"""
        client = self._subscriber.consumer
        self._client = client
        first = records[0]
        return KafkaAckableMessage(
            raw_message=records,
            body=records,
            message_id=f"{first.topic}-{first.partition}-{first.offset}",
            consumer=client,
        )

    async def _on_batch(self, message: KafkaAckableMessage) -> None:
        records: tuple[Record, ...] = message.raw_message
        self._fetched = True
        if self._failure is not None or self._rebuild or self._stopping:
            await message.nack()  # seek back: the next client reads this batch again
            return
        self._applying += 1
        self._idle.clear()
        try:
            await self.applier.apply(records)
            await self._acknowledge(message)
        except asyncio.CancelledError:
            raise  # the client is being stopped: nothing committed, the batch is read again later
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await message.nack()
            self._failure = exc
            self._wake.set()
            return
        finally:
            self._applying -= 1
            if not self._applying:
                self._idle.set()
        self._broker_outage.recovered()
        self._pace(got_records=True)
        await self._record_lag()

    async def _acknowledge(self, message: KafkaAckableMessage) -> None:
        """Commit what the fetch reached, bounded: aiokafka retries a commit for as long as the group coordinator
        is unknown, which after a broker that lost its groups is forever. Then the client is rebuilt."""
        timeout = max(self.kafka.request_timeout_ms, self.kafka.session_timeout_ms) / 1000
        try:
            await asyncio.wait_for(message.ack(), timeout=timeout)
        except CommitFailedError as exc:
            # Rebalanced meanwhile: the new owner re-reads from the last commit; handlers are idempotent.
            log.info("consumer.commit_failed", service=self.service, error=str(exc))
        except TimeoutError as exc:
            raise BrokerLost(f"offset commit did not complete in {timeout:.0f} s") from exc

    def _pace(self, *, got_records: bool) -> None:
        before = self._pacer.current_ms
        if self._pacer.after_fetch(got_records) != before and self._client is not None:
            set_fetch_wait(self._client, self._pacer.current_ms)

    async def _record_lag(self) -> None:
        client = self._client
        if client is None:
            return
        logical = {topic_name(self.kafka, t): t for t in self.topics}
        with contextlib.suppress(Exception):
            async with asyncio.timeout(LAG_TIMEOUT_S):
                for tp in client.assignment():
                    high = client.highwater(tp)
                    if high is None:
                        continue
                    position = await client.position(tp)
                    topic = logical.get(tp.topic, tp.topic)
                    metrics.CONSUMER_LAG.labels(self.service, topic, str(tp.partition)).set(max(0, high - position))

    async def _close(self) -> None:
        broker, self._broker = self._broker, None
        self._client = None
        timeout = STOP_CLOSE_S if self._stopping else CLOSE_S
        if broker is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(broker.stop(), timeout=timeout)
        dead_letters = self.applier.dead_letters
        close = getattr(dead_letters, "close", None)
        if close is not None:
            await close(timeout)


async def _as_is(message: Any) -> Any:
    """The decoder: the handler takes FastStream's message itself (the applier decodes the records)."""
    return message
