"""The four services as OS processes behind one origin, as `make run` starts them."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from oslonac.demo import demo_household
from oslonac.process import PlatformProcess, alive, start_platform
from shared.messaging.embedded import free_port

pytestmark = pytest.mark.e2e
ADA, RUMA = "80012", "80357"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformProcess]:
    running = start_platform(tmp_path_factory.mktemp("platform"))
    try:
        yield running
    finally:
        running.stop()


def indicators(client: httpx.Client, token: str, code: str) -> dict:
    r = client.get(f"/reporting/api/summary?municipality={code}", headers={"Authorization": f"Bearer {token}"})
    r.raise_for_status()
    return r.json()[0]


def test_register_then_case_opened_then_indicator_counted(platform: PlatformProcess):
    worker, analyst = platform.token("demo-worker"), platform.token("demo-supervisor")  # exact figures of Ada and Ruma
    with httpx.Client(base_url=platform.base_url, timeout=10) as client:
        before = indicators(client, analyst, RUMA)
        body = {
            "municipality_code": RUMA,
            "members": [
                {
                    "given_name": "Мирјана",
                    "family_name": "Јовић",
                    "birth_date": "1971-02-03",
                    "sex": "F",
                    "missing_jmbg_reason": "not_known",
                }
            ],
        }
        started = time.monotonic()
        r = client.post("/intake/api/households", json=body, headers={"Authorization": f"Bearer {worker}"})
        assert r.status_code == 201, r.text
        household = r.json()["id"]

        case = None
        while time.monotonic() - started < 10 and case is None:
            found = client.get(
                f"/cases/api/cases?household_id={household}", headers={"Authorization": f"Bearer {worker}"}
            ).json()
            case = found[0] if found else None
            time.sleep(0.02)
        assert case is not None, "no case opened within 10 s"
        assert case["municipality_code"] == RUMA

        after = before
        while time.monotonic() - started < 10 and after["open_cases"] < before["open_cases"] + 1:
            after = indicators(client, analyst, RUMA)
            time.sleep(0.02)
        elapsed = time.monotonic() - started
    assert after["households"] == before["households"] + 1
    assert after["persons"]["female"] == before["persons"]["female"] + 1
    assert after["open_cases"] == before["open_cases"] + 1
    print(f"register → case → indicator: {elapsed * 1000:.0f} ms")


async def _register_many(base_url: str, token: str, count: int, on_progress, *, concurrency: int = 16) -> list[str]:
    import random

    rng = random.Random(7)
    bodies = [demo_household(rng, ADA if i % 2 else RUMA, members=1 + i % 3) for i in range(count)]
    ids: list[str] = []
    queue: asyncio.Queue[dict] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            for attempt in range(50):
                r = await client.post("/intake/api/households", json=body, headers={"Authorization": f"Bearer {token}"})
                if r.status_code == 201:
                    ids.append(r.json()["id"])
                    on_progress(len(ids))
                    break
                await asyncio.sleep(0.05 * (attempt + 1))
            else:
                raise AssertionError(f"registration kept failing: {r.status_code} {r.text}")

    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return ids


def test_kill_9_of_cases_during_2000_registrations_loses_nothing_and_duplicates_nothing(platform: PlatformProcess):
    worker, analyst = platform.token("demo-worker"), platform.token("demo-supervisor")  # exact figures of Ada and Ruma
    with httpx.Client(base_url=platform.base_url, timeout=10) as client:
        before = {code: indicators(client, analyst, code) for code in (ADA, RUMA)}
    cases_pid = platform.pids()["cases"]
    killed: list[int] = []

    def on_progress(done: int) -> None:
        if done >= 700 and not killed:
            os.kill(cases_pid, signal.SIGKILL)
            killed.append(done)

    ids = asyncio.run(_register_many(platform.base_url, worker, 2000, on_progress))
    assert len(set(ids)) == 2000 and killed, "cases was not killed mid-run"

    deadline = time.monotonic() + 120
    with httpx.Client(base_url=platform.base_url, timeout=10) as client:
        while True:
            now = {code: indicators(client, analyst, code) for code in (ADA, RUMA)}
            households = sum(now[c]["households"] - before[c]["households"] for c in now)
            open_cases = sum(now[c]["open_cases"] - before[c]["open_cases"] for c in now)
            if (households, open_cases) == (2000, 2000) or time.monotonic() > deadline:
                break
            time.sleep(0.25)
    assert platform.pids()["cases"] != cases_pid, "the supervisor did not restart cases"
    assert (households, open_cases) == (2000, 2000)

    with sqlite3.connect(platform.data_dir / "cases.db") as db:
        placeholders = ",".join("?" * len(ids))
        rows = db.execute(
            f"SELECT count(*), count(DISTINCT household_id) FROM cases WHERE household_id IN ({placeholders})",  # noqa: S608 - placeholders only
            [i.replace("-", "") for i in ids],
        ).fetchone()
    assert rows == (2000, 2000)


def test_a_broker_that_lost_everything_is_repopulated_and_nothing_is_counted_twice(platform: PlatformProcess):
    """kill -9 of the in-memory broker: the supervisor starts a new one on the same port, recreates the topics,
    replays every outbox and tells the services to reconnect; consumers skip what they already applied."""
    worker, analyst = platform.token("demo-worker"), platform.token("demo-supervisor")  # exact figures of Ada and Ruma
    with httpx.Client(base_url=platform.base_url, timeout=10) as client:
        before = indicators(client, analyst, ADA)
        old = platform.pids()
        os.kill(old["broker"], signal.SIGKILL)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                restarted = platform.pids()["broker"] != old["broker"]
                ready = restarted and all(
                    client.get(f"/{s}/health/ready").status_code == 200 for s in ("intake", "cases", "reporting")
                )
            except (httpx.HTTPError, ValueError):
                ready = False
            if ready:
                break
            time.sleep(0.25)
        assert ready, "the platform did not come back after the broker was killed"
        assert indicators(client, analyst, ADA) == before  # replayed events were not applied again

        body = {
            "municipality_code": ADA,
            "members": [
                {
                    "given_name": "Ilona",
                    "family_name": "Sabo",
                    "birth_date": "1966-06-06",
                    "sex": "F",
                    "missing_jmbg_reason": "not_known",
                }
            ],
        }
        r = client.post("/intake/api/households", json=body, headers={"Authorization": f"Bearer {worker}"})
        assert r.status_code == 201
        # Reporting reads intake's and cases' topics independently, so either count may move first.
        after = before
        while time.monotonic() < deadline and (
            after["households"] < before["households"] + 1 or after["open_cases"] < before["open_cases"] + 1
        ):
            time.sleep(0.1)
            after = indicators(client, analyst, ADA)
    assert after["households"] == before["households"] + 1
    assert after["open_cases"] == before["open_cases"] + 1


def test_sigterm_stops_every_child_including_the_broker(tmp_path: Path):
    running = start_platform(tmp_path / "stop")
    pids = running.pids()
    assert set(pids) == {"intake", "cases", "activation", "reporting", "broker", "supervisor"}
    assert all(alive(pid) for pid in pids.values())
    code = running.stop(timeout_s=40)
    assert code == 0
    assert [name for name, pid in pids.items() if alive(pid)] == []


def _children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def test_ctrl_c_during_start_up_leaves_nothing_running(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OSLONAC_")}
    env.update({"OSLONAC_PORT": str(free_port()), "OSLONAC_DATA_DIR": str(tmp_path)})
    process = subprocess.Popen(
        [sys.executable, "-m", "oslonac", "run", "--no-seed"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        children: list[int] = []
        while time.monotonic() < deadline and len(children) < 5:  # the broker and the four services
            children = _children_of(process.pid)
            time.sleep(0.05)
        assert len(children) == 5, children
        assert not (tmp_path / "pids.json").exists(), "start-up finished before the signal: nothing proven"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=40) == 0
        assert [pid for pid in children if alive(pid)] == []
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
