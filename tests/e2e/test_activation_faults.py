"""Activation killed with SIGKILL while candidates stream in from cases' topic: after the supervisor restarts it,
every candidate is there exactly once (offsets are committed after the transaction, handlers are idempotent)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from aiokafka import AIOKafkaProducer

from oslonac.process import PlatformProcess, start_platform
from shared.context import new_id
from shared.events import ActivationRequestedV1, Availability, Envelope
from shared.settings import KafkaSettings

pytestmark = pytest.mark.e2e
ADA, RUMA = "80012", "80357"
COUNT = 1500


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformProcess]:
    running = start_platform(tmp_path_factory.mktemp("activation-faults"))
    try:
        yield running
    finally:
        running.stop()


def request(i: int) -> ActivationRequestedV1:
    return ActivationRequestedV1(
        request_id=uuid.uuid4(),
        person_id=uuid.uuid4(),
        household_id=uuid.uuid4(),
        case_id=uuid.uuid4(),
        municipality_code=(ADA, RUMA)[i % 2],
        sex=("F", "M")[i % 2],
        birth_year=1970 + i % 30,
        skills=["cleaning"],
        availability=Availability(hours_per_week_min=10, hours_per_week_max=30, available_from=date.today()),
        requested_at=datetime.now(UTC),
    )


async def publish(kafka: KafkaSettings, events: list[ActivationRequestedV1], on_progress: object) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, linger_ms=5)
    await producer.start()
    try:
        for i, event in enumerate(events, start=1):
            envelope = Envelope(id=new_id(), source="/oslonac/cases", type=event.type_name(), data=event.to_data())
            await producer.send(event.topic, envelope.value(), key=event.key.encode(), headers=envelope.headers())
            if i % 100 == 0:
                await producer.flush()
                on_progress(i)  # type: ignore[operator]
                await asyncio.sleep(0.02)
        await producer.flush()
    finally:
        await producer.stop()


def candidates_in(platform: PlatformProcess, ids: list[str]) -> tuple[int, int]:
    with sqlite3.connect(platform.data_dir / "activation.db") as db:
        placeholders = ",".join("?" * len(ids))
        row = db.execute(
            f"SELECT count(*), count(DISTINCT person_id) FROM candidates WHERE person_id IN ({placeholders})",  # noqa: S608 - placeholders only
            [i.replace("-", "") for i in ids],
        ).fetchone()
    return int(row[0]), int(row[1])


def test_kill_9_of_activation_while_candidates_arrive_loses_none_and_doubles_none(platform: PlatformProcess):
    bootstrap = json.loads((platform.data_dir / "pids.json").read_text())["bootstrap"]
    kafka = KafkaSettings(bootstrap_servers=bootstrap)
    events = [request(i) for i in range(COUNT)]
    ids = [str(e.person_id) for e in events]
    pid = platform.pids()["activation"]
    killed: list[int] = []

    def on_progress(done: int) -> None:
        if done >= COUNT // 3 and not killed:
            os.kill(pid, signal.SIGKILL)
            killed.append(done)

    asyncio.run(publish(kafka, events, on_progress))
    assert killed, "activation was not killed mid-stream"
    deadline = time.monotonic() + 120
    found = (0, 0)
    while time.monotonic() < deadline:
        try:
            found = candidates_in(platform, ids)
        except sqlite3.OperationalError:  # the restarted service may still be migrating
            found = (0, 0)
        if found == (COUNT, COUNT):
            break
        time.sleep(0.5)
    assert platform.pids()["activation"] != pid, "the supervisor did not restart activation"
    assert found == (COUNT, COUNT)
