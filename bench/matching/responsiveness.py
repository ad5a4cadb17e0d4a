"""(c) The service while the shortlists are recomputed: probes every 50 ms, idle and during each recompute."""

from __future__ import annotations

import asyncio
import json
import os
import random
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable, Coroutine, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.http import KeepAliveConnection
from bench.machine import peak_rss_mib
from bench.matching.data import COMMON_SKILLS, Data, draw_skills
from bench.matching.server import API, Server, Tokens, call
from bench.timing import percentiles
from services.activation import domain
from shared.auth import Role
from shared.reference import skills

PROBE_PERIOD_S = 0.05
PROBE_TIMEOUT_S = 30.0
Request = Callable[[KeepAliveConnection, int], Coroutine[Any, Any, int]]


async def probe_loop(
    server: Server, samples: list[tuple[float, float, int]], request: Request, stop: asyncio.Event, *, limit: int
) -> None:
    """One request every 50 ms on one keep-alive connection (the next at once when one took longer): (sent at,
    epoch seconds; latency from sending to the parsed answer, ms; status, 0 for a timeout or a dropped connection)."""
    conn = server.connection()
    next_at = time.perf_counter()
    n = 0
    try:
        while not stop.is_set() and len(samples) < limit:
            delay = next_at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent, started = time.time(), time.perf_counter()
            try:
                status = await asyncio.wait_for(request(conn, n), PROBE_TIMEOUT_S)
            except (TimeoutError, OSError):
                status = 0
                await conn.close()
                conn = server.connection()
            samples.append((sent, (time.perf_counter() - started) * 1000, status))
            n += 1
            next_at = max(next_at + PROBE_PERIOD_S, time.perf_counter())
    finally:
        await conn.close()


async def health_request(conn: KeepAliveConnection, _n: int) -> int:
    status, _ = await conn.request("GET", "/activation/health/live")
    return status


def shortlist_request(sampled: Sequence[dict[str, Any]], tokens: Tokens) -> Request:
    async def request(conn: KeepAliveConnection, n: int) -> int:
        offer = sampled[n % len(sampled)]
        code = offer["municipality_code"]
        headers = tokens.headers(f"worker-{code}", (Role.case_worker,), [code])
        status, _ = await conn.request("GET", f"{API}/opportunities/{offer['id']}/shortlist?limit=50", headers=headers)
        return status

    return request


def last_run_row(db: sqlite3.Connection) -> tuple[Any, ...] | None:
    row: tuple[Any, ...] | None = db.execute(
        "SELECT id, started_at, finished_at, candidates, opportunities, entries FROM matching_runs "
        "ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return row


def epoch(stored: str) -> float:
    moment = datetime.fromisoformat(stored)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def stored_shortlists(db_path: Path) -> dict[str, frozenset[tuple[str, int, float]]]:
    lists: dict[str, set[tuple[str, int, float]]] = defaultdict(set)
    with closing(sqlite3.connect(db_path, timeout=30)) as db:
        for opportunity, person, rank, score in db.execute(
            "SELECT opportunity_id, person_id, rank, score FROM shortlist_entries"
        ):
            lists[opportunity].add((person, rank, score))
    return {k: frozenset(v) for k, v in lists.items()}


def change_candidates(db_path: Path, rng: random.Random, count: int) -> int:
    """``count`` random active candidates get other skills and hours, ``updated_at`` now (as the intake handler's
    update would leave them), in one transaction from this process: the stored shortlists are stale."""
    skill_codes = sorted(skills.skills())
    skill_weights = [3 if s in COMMON_SKILLS else 1 for s in skill_codes]
    with closing(sqlite3.connect(db_path, timeout=30)) as db:
        ids = [r[0] for r in db.execute("SELECT person_id FROM candidates WHERE active = 1 ORDER BY person_id")]
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's text for a UTCDateTime on SQLite
        values = []
        for person in rng.sample(ids, min(count, len(ids))):
            low = rng.choice((4, 8, 10, 16, 20))
            values.append(
                (
                    json.dumps(draw_skills(rng, skill_codes, skill_weights, rng.randint(0, 6))),
                    low,
                    min(40, low + rng.choice((10, 15, 20, 30))),
                    now,
                    person,
                )
            )
        with db:
            db.executemany(
                "UPDATE candidates SET skills = ?, hours_min = ?, hours_max = ?, updated_at = ? WHERE person_id = ?",
                values,
            )
    return len(values)


def window(samples: Sequence[tuple[float, float, int]], start: float, end: float) -> dict[str, Any] | None:
    """The probes whose request overlapped [start, end] (epoch seconds)."""
    inside = [(sent, ms, status) for sent, ms, status in samples if sent <= end and sent + ms / 1000 >= start]
    if not inside:
        return None
    ok = [ms for _, ms, status in inside if status == 200]
    stats: dict[str, Any] = percentiles(ok) if ok else {}
    worst = max(inside, key=lambda probe: probe[1])
    stats.update(
        {
            "count": len(inside),
            "failed": len(inside) - len(ok),
            "over_200": sum(1 for m in ok if m > 200),
            "worst_at_s": worst[0] - start,  # when the slowest was sent, from the window's start
        }
    )
    return stats


@dataclass
class Round:
    name: str
    kinds: Mapping[str, Request]
    trigger: Callable[[], Coroutine[Any, Any, Any]]
    prepare: Callable[[], Coroutine[Any, Any, Any]] | None = None


async def probe_round(server: Server, db_path: Path, spec: Round, *, idle_s: float, max_s: float) -> dict[str, Any]:
    """Warm up, probe ``idle_s`` with nothing to recompute, trigger, probe until the next ``matching_runs`` row
    is there (at most ``max_s``); the stored shortlists compared before and after."""
    for request in spec.kinds.values():  # a fresh process: its first requests warm caches
        conn = server.connection()
        try:
            for n in range(5):
                await asyncio.wait_for(request(conn, n), PROBE_TIMEOUT_S)
        finally:
            await conn.close()
    if spec.prepare is not None:
        await spec.prepare()
    before = await asyncio.to_thread(stored_shortlists, db_path)
    limit = int((idle_s + max_s) / PROBE_PERIOD_S) + 100
    samples: dict[str, list[tuple[float, float, int]]] = {kind: [] for kind in spec.kinds}
    stop = asyncio.Event()
    trigger: asyncio.Task[Any] | None = None
    run: tuple[Any, ...] | None = None
    with closing(sqlite3.connect(db_path, timeout=30)) as db:
        last = last_run_row(db)
        last_id = last[0] if last else 0
        tasks = [
            asyncio.create_task(probe_loop(server, samples[kind], request, stop, limit=limit))
            for kind, request in spec.kinds.items()
        ]
        try:
            idle_from = time.time()
            await asyncio.sleep(idle_s)
            idle_to = time.time()
            unprompted = (last_run_row(db) or (0,))[0] != last_id  # a recompute started by itself while idle
            triggered = time.time()
            trigger = asyncio.create_task(spec.trigger())
            deadline = time.monotonic() + max_s
            while time.monotonic() < deadline:
                found = last_run_row(db)
                if found is not None and found[0] != last_id:
                    run = found
                    break
                await asyncio.sleep(0.2)
            await asyncio.sleep(0.2)
        finally:
            stop.set()
            await asyncio.gather(*tasks)
            trigger_result = await asyncio.wait_for(trigger, PROBE_TIMEOUT_S * 10) if trigger else None
    after = await asyncio.to_thread(stored_shortlists, db_path)
    changed = sum(1 for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    result: dict[str, Any] = {
        "name": spec.name,
        "kinds": list(spec.kinds),
        "unprompted": unprompted,
        "trigger": trigger_result,
        "changed_shortlists": changed,
        "idle": {kind: window(s, idle_from, idle_to) for kind, s in samples.items()},
    }
    if run is None:
        result["timed_out_s"] = max_s
        return result
    started, finished = epoch(run[1]), epoch(run[2])
    result.update(
        {
            "run_s": finished - started,
            "wait_s": started - triggered,
            "candidates": run[3],
            "entries": run[5],
            "during": {kind: window(s, started, finished) for kind, s in samples.items()},
        }
    )
    return result


async def responsiveness(
    server: Server,
    db_path: Path,
    data: Data,
    tokens: Tokens,
    sampled: Sequence[dict[str, Any]],
    forum_ids: dict[str, str],
    *,
    refresh_s: float,
    changes: int,
    idle_s: float,
    max_s: float,
    seed: int,
) -> dict[str, Any]:
    rng = random.Random(seed + 2)
    shortlists = shortlist_request(sampled, tokens)
    groups_without_women = [g for g in domain.PRIORITY_GROUPS if g != "woman"]

    async def candidates_changed() -> dict[str, Any]:
        return {"changed_candidates": await asyncio.to_thread(change_candidates, db_path, rng, changes)}

    async def criteria_changed() -> None:
        conn = server.connection()
        try:
            for district, forum_id in sorted(forum_ids.items()):
                coordinator = tokens.headers(f"coordinator-{district}", (Role.coordinator,), data.forums[district])
                body = {"priority_groups": groups_without_women}
                await call(conn, "PUT", f"{API}/forums/{forum_id}/criteria", coordinator, body)
        finally:
            await conn.close()

    async def recompute_requested() -> dict[str, Any]:
        conn = server.connection()
        coordinator = tokens.headers("coordinator-bench", (Role.coordinator,), sorted(data.reach))
        try:
            started = time.perf_counter()
            answer = await call(conn, "POST", f"{API}/shortlists/recompute", coordinator)
            return {"post_s": time.perf_counter() - started, "entries": answer["entries"]}
        finally:
            await conn.close()

    health = {"health": health_request}
    both = {"health": health_request, "shortlist": shortlists}
    rounds = (
        Round("refresh", health, candidates_changed),
        Round("refresh+shortlists", both, candidates_changed),
        Round("api+shortlists", both, recompute_requested, prepare=criteria_changed),
    )
    load = os.getloadavg()[0]
    found = []
    for spec in rounds:
        found.append(await probe_round(server, db_path, spec, idle_s=idle_s, max_s=max_s))
    return {
        "loadavg": load,
        "refresh_s": refresh_s,
        "changes": changes,
        "idle_s": idle_s,
        "rounds": found,
        "rss_mib": peak_rss_mib(server.process.pid) or 0.0,
    }
