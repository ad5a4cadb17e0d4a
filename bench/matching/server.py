"""The activation service as production runs it (`oslonac serve activation`), set up and asked over its API."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.http import KeepAliveConnection
from bench.machine import peak_rss_mib
from bench.matching.data import OFFLINE, Data
from bench.timing import percentiles
from shared.auth import DemoUser, DevIssuer, Role
from shared.messaging.embedded import free_port

API = "/activation/api"


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def connection(self) -> KeepAliveConnection:
        return KeepAliveConnection("127.0.0.1", self.port)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_server(data_dir: Path, public_key: Path, *, refresh_s: float = 0, timeout_s: float = 60) -> Server:
    """`oslonac serve activation` as production runs it, on 127.0.0.1; no broker (consumer and relay off); the
    background shortlist refresh only where asked (in (a) it would recompute in the middle of the measurement)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OSLONAC_")}
    env.update(
        {
            "OSLONAC_ENV": "development",
            "OSLONAC_DATA_DIR": str(data_dir),
            "OSLONAC_KAFKA_BOOTSTRAP_SERVERS": OFFLINE.bootstrap_servers,
            "OSLONAC_RUN_CONSUMER": "false",
            "OSLONAC_RUN_RELAY": "false",
            "OSLONAC_SHORTLIST_REFRESH_S": f"{refresh_s:g}",
            "OSLONAC_JWT_PUBLIC_KEY_FILE": str(public_key),
            "OSLONAC_LOG_LEVEL": "WARNING",
            "OSLONAC_LOG_FORMAT": "json",
        }
    )
    log_path = data_dir / "activation.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "oslonac", "serve", "activation", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process, port, log_path)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"activation exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/activation/health/live", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise TimeoutError(f"activation was not up in {timeout_s}s:\n{log_path.read_text()[-3000:]}")


class Tokens:
    def __init__(self, private_key: str) -> None:
        self.issuer = DevIssuer(private_key, [], password="bench")
        self._cache: dict[tuple[str, ...], dict[str, str]] = {}

    def headers(self, username: str, roles: tuple[str, ...], codes: Sequence[str], org: str | None = None) -> Any:
        key = (username, *roles, *codes, org or "")
        if key not in self._cache:
            token = self.issuer.issue_for(DemoUser(username, roles, tuple(codes), organisation=org))
            self._cache[key] = {"authorization": f"Bearer {token}"}
        return self._cache[key]


async def call(conn: KeepAliveConnection, method: str, path: str, headers: Any, body: Any = None) -> Any:
    status, answer = await conn.request(method, path, json_body=body, headers=headers)
    if status not in (200, 201):
        raise RuntimeError(f"{method} {path}: {status} {str(answer)[:300]}")
    return answer


async def set_up_over_api(server: Server, data: Data, tokens: Tokens, *, concurrency: int) -> dict[str, Any]:
    """Forums by their districts' coordinators, organisations registered and joined by their employers, the
    opportunities published by them: every one through the service's API."""
    started = time.perf_counter()
    conn = server.connection()
    forum_ids: dict[str, str] = {}
    try:
        for district, codes in sorted(data.forums.items()):
            coordinator = tokens.headers(f"coordinator-{district}", (Role.coordinator,), codes)
            body = {"name": f"Forum {district}", "municipalities": codes, "criteria": {}}
            forum_ids[district] = (await call(conn, "POST", f"{API}/forums", coordinator, body))["id"]
        for org in data.organisations:
            employer = tokens.headers(f"employer-{org['id']}", (Role.employer,), [org["municipality_code"]], org["id"])
            body = {k: org[k] for k in ("name", "kind", "municipality_code")}
            await call(conn, "PUT", f"{API}/organisations/{org['id']}", employer, body)
            forum = forum_ids[org["district"]]
            await call(conn, "POST", f"{API}/forums/{forum}/members", employer, {"organisation_id": org["id"]})
    finally:
        await conn.close()
    queue = list(enumerate(data.opportunities))
    published: dict[int, str] = {}

    async def worker() -> None:
        conn = server.connection()
        try:
            while queue:
                n, offer = queue.pop()
                org = offer["organisation"]
                employer = tokens.headers(f"employer-{org}", (Role.employer,), [offer["municipality_code"]], org)
                body = {k: v for k, v in offer.items() if k not in ("district", "organisation")}
                body["forum_id"] = forum_ids[offer["district"]]
                published[n] = (await call(conn, "POST", f"{API}/opportunities", employer, body))["id"]
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    for n, offer in enumerate(data.opportunities):
        offer["id"] = published[n]
    return {"forums": len(forum_ids), "forum_ids": forum_ids, "seconds": time.perf_counter() - started}


async def shortlists_over_http(
    server: Server, data: Data, tokens: Tokens, *, requests: int, warmup: int, max_s: float, seed: int
) -> dict[str, Any]:
    """One shortlist at a time, as a case worker of the opportunity's municipality asks for it."""
    rng = random.Random(seed + 1)
    chosen = rng.sample(data.opportunities, min(len(data.opportunities), requests + warmup))
    conn = server.connection()
    http_ms, service_ms, eligible, returned, done = [], [], [], [], []
    deadline = time.monotonic() + max_s
    try:
        for i, offer in enumerate(chosen):
            if time.monotonic() > deadline:
                break
            worker = tokens.headers(
                f"worker-{offer['municipality_code']}", (Role.case_worker,), [offer["municipality_code"]]
            )
            path = f"{API}/opportunities/{offer['id']}/shortlist?limit=50"
            started = time.perf_counter()
            answer = await call(conn, "GET", path, worker)
            elapsed = (time.perf_counter() - started) * 1000
            if i < warmup:
                continue
            http_ms.append(elapsed)
            service_ms.append(answer["computed_in_ms"])
            eligible.append(answer["eligible"])
            returned.append(len(answer["matches"]))
            done.append(offer)
    finally:
        await conn.close()
    return {
        "requests": len(http_ms),
        "warmup": warmup,
        "http": percentiles(http_ms),
        "service": percentiles(service_ms),
        "eligible": percentiles(eligible),
        "short": sum(1 for n in returned if n < 50),
        "opportunities": done,
        "rss_mib": peak_rss_mib(server.process.pid) or 0.0,
    }
