"""kill -9 of the embedded broker while registrations stream in: intake keeps taking them (into its outbox), the
supervisor replaces the broker on the same port, and every accepted registration gets exactly one case."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from oslonac.demo import demo_household
from oslonac.process import PlatformProcess, alive, start_platform

pytestmark = pytest.mark.e2e
ADA, RUMA = "80012", "80357"
RATE_PER_S = 20
SECONDS = 20
KILL_AFTER_S = 5
# The brief's bound for the refusal window; what a user would call "the registration form stopped working".
MAX_REFUSAL_S = 5.0


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformProcess]:
    running = start_platform(tmp_path_factory.mktemp("broker-loss"))
    try:
        yield running
    finally:
        running.stop()


@dataclass
class Attempt:
    sent: float
    ended: float
    household_id: str | None  # None: refused (non-2xx or no answer)


async def stream_registrations(base_url: str, token: str, on_second: dict[int, object]) -> list[Attempt]:
    """RATE_PER_S registrations a second for SECONDS, each on its own schedule whatever the others do;
    ``on_second[n]()`` runs when second n starts."""
    rng = random.Random(14)
    attempts: list[Attempt] = []

    async def one(client: httpx.AsyncClient, body: dict) -> None:
        sent = time.monotonic()
        household = None
        try:
            r = await client.post("/intake/api/households", json=body, headers={"Authorization": f"Bearer {token}"})
            if 200 <= r.status_code < 300:
                household = r.json()["id"]
        except httpx.HTTPError:
            pass
        attempts.append(Attempt(sent, time.monotonic(), household))

    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        started = time.monotonic()
        tasks = []
        for i in range(RATE_PER_S * SECONDS):
            at = started + i / RATE_PER_S
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            if i % RATE_PER_S == 0 and (action := on_second.get(i // RATE_PER_S)) is not None:
                action()  # type: ignore[operator]
            body = demo_household(rng, ADA if i % 2 else RUMA, members=1 + i % 3)
            tasks.append(asyncio.create_task(one(client, body)))
        await asyncio.gather(*tasks)
    return attempts


def refusal_window(attempts: list[Attempt]) -> float:
    """From the first refused attempt to the end of the last one (0 when none was refused)."""
    refused = [a for a in attempts if a.household_id is None]
    if not refused:
        return 0.0
    return max(a.ended for a in refused) - min(a.sent for a in refused)


def cases_of(data_dir: Path, household_ids: list[str]) -> tuple[int, int]:
    with sqlite3.connect(data_dir / "cases.db") as db:
        placeholders = ",".join("?" * len(household_ids))
        found = db.execute(
            f"SELECT count(*), count(DISTINCT household_id) FROM cases WHERE household_id IN ({placeholders})",  # noqa: S608 - placeholders only
            [h.replace("-", "") for h in household_ids],
        ).fetchone()
    return int(found[0]), int(found[1])


def test_kill_9_of_the_broker_under_load_refuses_little_and_loses_nothing(platform: PlatformProcess) -> None:
    token = platform.token("demo-worker")
    before = platform.pids()
    killed: list[float] = []

    def kill_broker() -> None:
        os.kill(before["broker"], signal.SIGKILL)
        killed.append(time.monotonic())

    attempts = asyncio.run(stream_registrations(platform.base_url, token, {KILL_AFTER_S: kill_broker}))
    assert killed, "the broker was not killed"
    window = refusal_window(attempts)
    accepted = [a.household_id for a in attempts if a.household_id is not None]
    print(
        f"\nbroker killed after {KILL_AFTER_S} s of {SECONDS} s at {RATE_PER_S}/s: "
        f"{len(accepted)}/{len(attempts)} registrations accepted, refused for {window:.2f} s"
    )
    assert window < MAX_REFUSAL_S

    after = platform.pids()
    assert after["broker"] != before["broker"] and alive(after["broker"]), "the supervisor did not replace the broker"

    deadline = time.monotonic() + 120
    found = (0, 0)
    while time.monotonic() < deadline:
        found = cases_of(platform.data_dir, accepted)
        if found[1] == len(accepted):
            break
        time.sleep(0.5)
    waited = time.monotonic() - killed[0]
    print(f"every accepted registration had its case {waited:.1f} s after the kill")
    assert found == (len(accepted), len(accepted)), "a registration was lost or got two cases"
    with sqlite3.connect(platform.data_dir / "cases.db") as db:
        doubled = db.execute("SELECT household_id FROM cases GROUP BY household_id HAVING count(*) > 1").fetchall()
    assert doubled == []


def test_a_service_told_to_stop_stops_promptly_while_the_broker_hangs(platform: PlatformProcess) -> None:
    """SIGSTOP leaves the broker alive but silent (the worst case for a client: no refusal, no answer)."""
    pids = platform.pids()
    os.kill(pids["broker"], signal.SIGSTOP)
    try:
        time.sleep(2)  # let the clients get stuck on it
        os.kill(pids["cases"], signal.SIGTERM)
        asked = time.monotonic()
        while alive(pids["cases"]) and time.monotonic() - asked < 30:
            time.sleep(0.02)
        took = time.monotonic() - asked
    finally:
        os.kill(pids["broker"], signal.SIGCONT)
    print(f"\ncases stopped {took:.2f} s after SIGTERM while the broker hung")
    assert not alive(pids["cases"])
    # The target is 2 s; the assertion leaves room for a loaded machine, and still fails the old 10 s + 10 s.
    assert took < 5
