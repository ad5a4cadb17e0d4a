"""The fetch wait: short while records flow, growing while fetches come back empty."""

from __future__ import annotations

from shared.messaging.kafka import FetchPacer
from shared.settings import KafkaSettings


def test_the_wait_doubles_while_idle_up_to_the_idle_wait_and_drops_on_the_first_record() -> None:
    pacer = FetchPacer.from_settings(KafkaSettings(fetch_max_wait_ms=10, fetch_max_wait_idle_ms=1000))
    assert pacer.current_ms == 10 and not pacer.idle
    waits = [pacer.after_fetch(False) for _ in range(6)]
    assert waits == [100, 200, 400, 800, 1000, 1000]
    assert pacer.idle
    assert pacer.after_fetch(True) == 10
    assert not pacer.idle


def test_an_idle_wait_shorter_than_the_busy_one_never_shortens_it() -> None:
    # Activation fetches in batches (400 ms): idling must not make it fetch more often.
    pacer = FetchPacer.from_settings(KafkaSettings(fetch_max_wait_ms=400, fetch_max_wait_idle_ms=100))
    assert [pacer.after_fetch(False) for _ in range(3)] == [400, 400, 400]
