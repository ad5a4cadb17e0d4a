"""A consumer not yet redeployed handles the events of a producer one release ahead (issue 14, item 6).

The producer here is intake after a release that added optional fields to its registrations (top level and in
the members); cases runs today's code, consumes through its real consumer group on the real broker, and must
apply those events, not dead-letter them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from services.cases.models import Case
from services.cases.models import plumbing as cases_plumbing
from shared.context import new_id
from shared.events import Envelope, EventData, HouseholdRegisteredV1, HouseholdRegisteredV2, MemberProfile
from shared.messaging.kafka import ensure_topics
from shared.settings import KafkaSettings
from tests.fixtures.auth import ADA, RUMA, Tokens
from tests.fixtures.databases import DatabaseFactory
from tests.fixtures.kafka_tools import eventually, produce, read_topic
from tests.fixtures.services import running_service


def from_a_newer_producer(event: EventData, **later_fields: Any) -> Envelope:
    """``event`` as a producer one release ahead sends it: the same type and version, with more fields."""
    data = {**event.to_data(), **later_fields}
    data["members"] = [{**member, "languages": ["sr", "hu"]} for member in data.get("members", [])]
    # Not intake's own source: the suite's privacy proof holds what intake itself publishes to its strict models.
    return Envelope(
        id=new_id(), source="/tests/intake-next-release", type=event.type_name(), data=data, subject=event.key
    )


async def test_a_consumer_applies_events_with_fields_it_does_not_know(
    databases: DatabaseFactory, kafka_settings: KafkaSettings, tokens: Tokens
):
    await ensure_topics(kafka_settings)
    member = MemberProfile(person_id=uuid.uuid4(), sex="F", birth_year=1984)
    v2 = HouseholdRegisteredV2(
        household_id=uuid.uuid4(), municipality_code=ADA, registered_at=datetime.now(UTC), members=[member]
    )
    v1 = HouseholdRegisteredV1(
        household_id=uuid.uuid4(), municipality_code=RUMA, registered_at=datetime.now(UTC), members=[member]
    )
    sent = [
        (v2, from_a_newer_producer(v2, registration_channel="counter", household_flags={"seasonal_work": True})),
        (v1, from_a_newer_producer(v1, registration_channel="field_visit")),  # a v1 still on the topic, upcast
    ]
    url = await databases.url_for("cases")
    async with running_service("cases", database_url=url, kafka=kafka_settings, tokens=tokens) as cases:
        for event, envelope in sent:
            await produce(
                kafka_settings, event.topic, envelope.value(), key=event.key.encode(), headers=envelope.headers()
            )
        await eventually(lambda: cases.count(Case.__table__), lambda n: n == 2, timeout_s=30)
        async with cases.runtime.sessions() as session:
            opened = (await session.execute(select(Case.household_id, Case.municipality_code))).all()
            ledger = (await session.execute(select(cases_plumbing.processed_events.c.event_id))).scalars().all()
    assert sorted(opened) == sorted([(v2.household_id, ADA), (v1.household_id, RUMA)])
    assert sorted(ledger) == sorted(envelope.id for _event, envelope in sent)
    assert await read_topic(kafka_settings, "intake.household.dlq") == []
