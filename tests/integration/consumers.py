"""Cases' consumer of intake's household topic with a handler a test chooses, built as ServiceRuntime builds one
(applier, dead letters through the broker, FastStream loop), retrying fast."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition

from services.cases.models import plumbing as cases_plumbing
from shared.db import session_factory
from shared.events import HouseholdRegisteredV2
from shared.messaging.applier import Applier
from shared.messaging.dead_letters import DeadLetterPublisher
from shared.messaging.kafka import topic_name
from shared.messaging.loop import ConsumerLoop
from shared.messaging.outbox import OutboxWriter
from shared.messaging.subscriptions import EventHandler, Subscriptions
from shared.settings import KafkaSettings

TOPIC = "intake.household"


def cases_consumer(cases_db, kafka: KafkaSettings, handler: EventHandler, *, max_attempts: int = 4) -> ConsumerLoop:
    """``handler`` takes ``(event: HouseholdRegisteredV2, ctx: EventContext)``; ``.applier`` applies records
    directly, ``.run()`` consumes from the broker."""
    subscriptions = Subscriptions()
    subscriptions.on(HouseholdRegisteredV2)(handler)
    applier = Applier(
        service="cases",
        subscriptions=subscriptions,
        sessions=session_factory(cases_db),
        tables=cases_plumbing,
        outbox=OutboxWriter(cases_plumbing, source="/tests"),
        logical_topics={topic_name(kafka, TOPIC): TOPIC},
        dead_letters=DeadLetterPublisher(kafka, "cases"),
        max_attempts=max_attempts,
        backoff_base_s=0.01,
    )
    return ConsumerLoop(applier=applier, topics=[TOPIC], kafka=kafka)


async def committed(kafka: KafkaSettings, group: str, topic: str) -> int:
    """How many records of ``topic`` consumer group ``group`` has committed, over all partitions."""
    physical = topic_name(kafka, topic)
    reader = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers, group_id=f"{kafka.topic_prefix}{group}", enable_auto_commit=False
    )
    await reader.start()
    try:
        partitions = [TopicPartition(physical, p) for p in sorted(reader.partitions_for_topic(physical) or ())]
        return sum([await reader.committed(tp) or 0 for tp in partitions])
    finally:
        await reader.stop()
