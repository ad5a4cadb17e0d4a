"""Reporting killed with SIGKILL while it consumes: after the supervisor restarts it, its indicators are exactly
those of a rebuild from the topics (``oslonac reporting-rebuild``, run as a command): nothing lost, nothing counted
twice. Offsets are committed after the transaction that applied the batch, and the ledger skips what a
redelivered batch already applied."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bench.reporting_events import generate, publish
from oslonac.process import PlatformProcess, start_platform
from services.reporting.models import plumbing
from shared.events import HouseholdRegisteredV2
from shared.settings import KafkaSettings
from tests.fixtures.reporting import count, differences, store

pytestmark = pytest.mark.e2e
HOUSEHOLDS = 1500
FROM = "2024-01"  # the generated registrations start then; cases open when the cases service reads them (now)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformProcess]:
    running = start_platform(tmp_path_factory.mktemp("reporting-faults"))
    try:
        yield running
    finally:
        running.stop()


def processed(path: Path) -> int:
    try:
        with sqlite3.connect(path) as db:
            return int(db.execute("SELECT count(*) FROM processed_events").fetchone()[0])
    except sqlite3.OperationalError:  # restarting: the store may be busy migrating
        return -1


def country(platform: PlatformProcess, token: str) -> dict[str, object]:
    r = httpx.get(f"{platform.base_url}/reporting/api/summary", headers={"Authorization": f"Bearer {token}"})
    r.raise_for_status()
    row: dict[str, object] = r.json()[-1]
    assert row["municipality_code"] is None
    return row


def test_kill_9_of_reporting_while_it_consumes_ends_with_the_indicators_of_a_rebuild(
    platform: PlatformProcess, tmp_path: Path
):
    bootstrap = json.loads((platform.data_dir / "pids.json").read_text())["bootstrap"]
    kafka = KafkaSettings(bootstrap_servers=bootstrap)
    # Registrations as intake publishes them; the platform's cases service opens a case for each, and reporting
    # reads both topics.
    registrations = [e for e in generate(HOUSEHOLDS, seed=3) if isinstance(e, HouseholdRegisteredV2)]
    assert len(registrations) == HOUSEHOLDS
    persons = sum(len(e.members) for e in registrations)
    live_db = platform.data_dir / "reporting.db"
    pid = platform.pids()["reporting"]
    asyncio.run(publish(registrations, kafka, seed=3))
    # Killed as soon as it has applied something (and long before it has applied everything).
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and processed(live_db) <= 0:
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    applied_before_kill = processed(live_db)
    assert 0 < applied_before_kill < 2 * HOUSEHOLDS, "reporting was not killed while it consumed"

    admin = platform.token("demo-admin")
    deadline = time.monotonic() + 120
    row: dict[str, object] = {}
    while time.monotonic() < deadline:
        try:
            row = country(platform, admin)
        except httpx.HTTPError:  # restarting
            row = {}
        if row.get("households") == HOUSEHOLDS and row.get("open_cases") == HOUSEHOLDS:
            break
        time.sleep(0.5)
    assert platform.pids()["reporting"] != pid, "the supervisor did not restart reporting"
    assert row.get("households") == HOUSEHOLDS and row.get("open_cases") == HOUSEHOLDS, row
    counted = row["persons"]
    assert isinstance(counted, dict) and counted["total"] == persons, counted
    # Everything on the topics was read: two events per household (registered, case opened), each applied once.
    while time.monotonic() < deadline and processed(live_db) < 2 * HOUSEHOLDS:
        time.sleep(0.2)
    assert processed(live_db) == 2 * HOUSEHOLDS

    rebuilt_db = tmp_path / "rebuilt.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OSLONAC_")}
    env |= {"OSLONAC_KAFKA_BOOTSTRAP_SERVERS": bootstrap, "OSLONAC_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "oslonac", "reporting-rebuild", "--database-url", f"sqlite+aiosqlite:///{rebuilt_db}"],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    summary = json.loads(done.stdout.decode().strip().splitlines()[-1])
    assert summary["applied"] == 2 * HOUSEHOLDS and summary["dead_lettered"] == 0, summary

    async def compare() -> tuple[int, list[str]]:
        this_month = datetime.now(UTC).strftime("%Y-%m")
        async with store(f"sqlite+aiosqlite:///{live_db}") as live, store(f"sqlite+aiosqlite:///{rebuilt_db}") as new:
            assert await count(live, plumbing.processed_events) == await count(new, plumbing.processed_events)
            compared, problems, _nonzero = await differences(live, new, FROM, this_month)
        return compared, problems

    compared, problems = asyncio.run(compare())
    assert problems == [], f"{len(problems)} of {compared} tables differ:\n" + "\n".join(problems[:20])
    print(f"\nkilled after {applied_before_kill} of {2 * HOUSEHOLDS} events; {compared} tables equal to a rebuild's")
