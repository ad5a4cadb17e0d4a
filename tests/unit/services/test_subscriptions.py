"""Each service's handlers (``handlers.subscriptions``) against the catalogue: every event type a service declares a
handler for travels on a topic its consumer group reads, so no handler waits for events that never come,
and it reads no topic only to ignore all of it."""

from __future__ import annotations

import importlib

import pytest

from shared.events.catalogue import SUBSCRIPTIONS


@pytest.mark.parametrize("service", sorted(SUBSCRIPTIONS))
def test_every_handled_event_travels_on_a_topic_the_service_reads(service: str) -> None:
    subscriptions = importlib.import_module(f"services.{service}.handlers").subscriptions
    assert subscriptions, f"{service} reads {SUBSCRIPTIONS[service]} but handles nothing"
    topics = {event_type.topic for event_type in subscriptions.event_types}
    assert topics == set(SUBSCRIPTIONS[service])  # and it reads no topic it handles nothing of
