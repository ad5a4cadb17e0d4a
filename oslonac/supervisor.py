"""``make run``: the embedded platform on one machine without Docker.

Starts the embedded broker, creates the topics, starts the four services as separate OS processes
(each migrates its own SQLite database at start-up), serves them on one origin, seeds demo data,
restarts a crashed service, replaces a crashed broker on the same port while the services keep running
(topics recreated, outboxes replayed, services told to reconnect: docs/adr/0003-broker-loss.md), and on
Ctrl-C or SIGTERM stops every child, the broker included.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import httpx
import structlog
import uvicorn

from oslonac import demo, registry
from oslonac.gateway import create_gateway
from oslonac.proxy import ReverseProxy, Upstream
from oslonac.serving import CalmServer
from shared.auth import DevIssuer, generate_keypair
from shared.db import create_engine
from shared.messaging.embedded import EmbeddedBroker, free_port, wait_for_port
from shared.messaging.kafka import ensure_topics
from shared.messaging.outbox import replay
from shared.messaging.runtime import BROKER_REPLACED_SIGNAL
from shared.observability.logging import configure_logging
from shared.oidc_provider import DevProvider, web_client
from shared.settings import KafkaSettings

log = structlog.get_logger("oslonac.supervisor")


@dataclass
class Child:
    service: str
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    _log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class PlatformConfig:
    data_dir: Path
    port: int = 8000
    host: str = "127.0.0.1"
    demo_password: str = "demo"
    seed: bool = True
    services: tuple[str, ...] = registry.SERVICES
    session_timeout_ms: int = 3000
    heartbeat_interval_ms: int = 1000
    extra_env: dict[str, str] = field(default_factory=dict)


class _Server(CalmServer):
    """uvicorn without its own signal handling: the supervisor owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[no-untyped-def]
        yield


class Platform:
    def __init__(self, config: PlatformConfig) -> None:
        self.config = config
        self.data_dir = config.data_dir.resolve()
        self.logs = self.data_dir / "logs"
        self._ports_taken = {config.port}
        self.broker = EmbeddedBroker(port=self.free_port(), log_path=self.logs / "broker.log")
        self.children = {name: Child(name, self.free_port(), self.logs / f"{name}.log") for name in config.services}
        self._stop = asyncio.Event()
        self.public_key_path: Path | None = None

    def free_port(self) -> int:
        """A free port not handed out yet, nor the platform's own (bound last, by the proxy): a port that is free
        now may be given again by the next look, and a child on the platform's port stops the platform starting."""
        while (port := free_port()) in self._ports_taken:
            pass
        self._ports_taken.add(port)
        return port

    @property
    def kafka(self) -> KafkaSettings:
        return KafkaSettings(
            bootstrap_servers=self.broker.bootstrap_servers,
            session_timeout_ms=self.config.session_timeout_ms,
            heartbeat_interval_ms=self.config.heartbeat_interval_ms,
        )

    @property
    def origin(self) -> str:
        """The public origin as browsers and the services reach it; its proxy forwards ``/auth`` to the
        development OIDC provider in the gateway (started after the services, but before anyone can sign in)."""
        host = self.config.host
        if host in {"", "0.0.0.0", "::"}:  # noqa: S104 - a wildcard bind is reached on loopback
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.config.port}"

    @property
    def oidc_issuer(self) -> str:
        return f"{self.origin}/auth"

    def child_env(self, child: Child) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OSLONAC_")}
        env.update(
            {
                "OSLONAC_ENV": "development",
                "OSLONAC_SERVICE": child.service,
                "OSLONAC_DATA_DIR": str(self.data_dir),
                "OSLONAC_KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap_servers,
                "OSLONAC_KAFKA_SESSION_TIMEOUT_MS": str(self.config.session_timeout_ms),
                "OSLONAC_KAFKA_HEARTBEAT_INTERVAL_MS": str(self.config.heartbeat_interval_ms),
                "OSLONAC_JWT_PUBLIC_KEY_FILE": str(self.public_key_path),
                "OSLONAC_OIDC_ISSUER": self.oidc_issuer,
                "OSLONAC_LOG_FORMAT": "json",
            }
        )
        for key in ("OSLONAC_LOG_LEVEL",):
            if key in os.environ:
                env[key] = os.environ[key]
        env.update(self.config.extra_env)
        return env

    # --- children ------------------------------------------------------------------------------

    def start_child(self, child: Child) -> None:
        child.log_path.parent.mkdir(parents=True, exist_ok=True)
        child._log = child.log_path.open("ab")
        child.process = subprocess.Popen(
            [sys.executable, "-m", "oslonac", "serve", child.service, "--port", str(child.port)],
            env=self.child_env(child),
            stdout=child._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.info("supervisor.child_started", service=child.service, pid=child.process.pid, port=child.port)

    def stop_child(self, child: Child, *, timeout_s: float = 15.0) -> None:
        proc, child.process = child.process, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if child._log is not None:
            child._log.close()
            child._log = None

    async def stop_children(self, children: list[Child]) -> None:
        """SIGTERM them all at once, then wait off the event loop (the proxy keeps answering meanwhile)."""
        for child in children:
            if child.process is not None and child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        await asyncio.gather(*(asyncio.to_thread(self.stop_child, child) for child in children))

    async def wait_ready(self, child: Child, *, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if child.process is None or child.process.poll() is not None:
                    raise RuntimeError(f"{child.service} exited during start-up; see {child.log_path}")
                with contextlib.suppress(httpx.HTTPError):
                    response = await client.get(f"{child.url}/{child.service}/health/ready")
                    if response.status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise TimeoutError(f"{child.service} was not ready after {timeout_s}s; see {child.log_path}")

    # --- broker --------------------------------------------------------------------------------

    async def start_broker(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        self.broker.start()
        created = await ensure_topics(self.kafka)
        log.info("supervisor.broker_started", bootstrap=self.broker.bootstrap_servers, topics_created=len(created))

    async def replay_outboxes(self) -> None:
        """After broker amnesia every service's published events go out again (consumers are idempotent)."""
        for name in self.children:
            url = f"sqlite+aiosqlite:///{self.data_dir / f'{name}.db'}"
            if not (self.data_dir / f"{name}.db").exists():
                continue
            engine = create_engine(url)
            try:
                count = await replay(engine, registry.plumbing(name))
            finally:
                await engine.dispose()
            log.info("supervisor.outbox_replayed", service=name, events=count)

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        _private, self.public_key_path = generate_keypair(self.data_dir / "keys")
        await self.start_broker()
        await self.replay_outboxes()  # a fresh in-memory broker knows none of the stored events
        for child in self.children.values():
            self.start_child(child)
        await asyncio.gather(*(self.wait_ready(c) for c in self.children.values()))
        self.write_pids()

    def issuer(self) -> DevIssuer:
        private_path, _ = generate_keypair(self.data_dir / "keys")
        return DevIssuer(
            private_path.read_text(), demo.demo_users(), password=self.config.demo_password, issuer=self.oidc_issuer
        )

    def provider(self, issuer: DevIssuer) -> DevProvider:
        """Pages come back to the origin the browser used (the proxy forwards its host): on loopback, either name."""
        origins = [self.origin]
        if self.origin.startswith("http://127.0.0.1:"):
            origins.append(f"http://localhost:{self.config.port}")
        return DevProvider(issuer, [web_client(origins, list(self.children))])

    async def replace_broker(self) -> None:
        """A new broker on the same port while the services keep running (intake keeps taking registrations
        into its outbox meanwhile): topics created again, every outbox replayed, then each service told to wake
        its relay and rebuild its consumer. Only if the port cannot be had again are the services restarted too
        (their clients know the old address)."""
        started = time.monotonic()
        try:
            self.broker = EmbeddedBroker(port=self.broker.port, log_path=self.logs / "broker.log")
            await self.start_broker()
        except OSError as exc:
            log.error("supervisor.broker_port_lost", port=self.broker.port, error=repr(exc))
            await self.stop_children(list(self.children.values()))
            self.broker = EmbeddedBroker(log_path=self.logs / "broker.log")
            await self.start_broker()
            await self.replay_outboxes()
            for child in self.children.values():
                self.start_child(child)
            self.write_pids()
            return
        await self.replay_outboxes()
        for child in self.children.values():
            if child.process is not None and child.process.poll() is None:
                child.process.send_signal(BROKER_REPLACED_SIGNAL)
        self.write_pids()
        log.info("supervisor.broker_replaced", port=self.broker.port, seconds=round(time.monotonic() - started, 3))

    async def watch(self) -> None:
        """Restart a crashed service; replace a crashed broker (see ``replace_broker``)."""
        while not self._stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=1.0)
            if self._stop.is_set():
                return
            if not self.broker.alive():
                log.error("supervisor.broker_died", hint="a new broker on the same port; outboxes replayed")
                await self.replace_broker()
                continue
            for child in self.children.values():
                if child.process is not None and child.process.poll() is not None:
                    child.restarts += 1
                    log.error("supervisor.child_died", service=child.service, code=child.process.returncode)
                    await self.stop_children([child])
                    await asyncio.sleep(min(2**child.restarts * 0.1, 5))
                    self.start_child(child)
                    self.write_pids()

    def shutdown_children(self) -> None:
        for child in self.children.values():
            if child.process is not None and child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        for child in self.children.values():
            self.stop_child(child)
        self.broker.stop()

    def write_pids(self) -> None:
        """``pids.json`` in the data directory: which process runs what (for operators and fault tests)."""
        pids = {name: c.process.pid for name, c in self.children.items() if c.process is not None}
        if self.broker.process is not None:
            pids["broker"] = self.broker.process.pid
        pids["supervisor"] = os.getpid()
        ports = {name: c.port for name, c in self.children.items()}
        path = self.data_dir / "pids.json"
        path.write_text(json.dumps({"pids": pids, "ports": ports, "bootstrap": self.broker.bootstrap_servers}))

    def request_stop(self) -> None:
        self._stop.set()


async def seed_demo_data(base_url: str, issuer: DevIssuer, data_dir: Path, *, households: int = 12) -> int:
    """Register cases' workers, providers and an agreement, then a few demo households, the Ada–Ruma employers'
    forum with two opportunities, and work engagements in some of the demo cases (so the rankings have
    candidates), once per data directory."""
    marker = data_dir / "demo-seeded"
    if marker.exists():
        return 0
    rng = random.Random(2026)
    worker = issuer.issue_for(issuer.users["demo-worker"])
    employer = issuer.issue_for(issuer.users["demo-employer"])
    admin = issuer.issue_for(issuer.users["demo-admin"])
    codes = list(issuer.users["demo-worker"].municipalities)
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        # A line for this year first, so the demo households get their poverty flag at registration.
        r = await client.put(
            f"/intake/api/poverty-lines/{datetime.now(UTC).year}",
            json={"amount": demo.DEMO_POVERTY_LINE},
            headers={"Authorization": f"Bearer {admin}"},
        )
        r.raise_for_status()
        await seed_cases_registries(client, {"Authorization": f"Bearer {admin}"})
        for body in demo.likely_duplicate_pair(codes[0]):  # something for the duplicate review queue
            r = await client.post("/intake/api/households", json=body, headers={"Authorization": f"Bearer {worker}"})
            r.raise_for_status()
        registered = []
        for i in range(households):
            body = demo.demo_household(rng, codes[i % len(codes)])
            r = await client.post("/intake/api/households", json=body, headers={"Authorization": f"Bearer {worker}"})
            r.raise_for_status()
            registered.append(r.json())
        coordinator = issuer.issue_for(issuer.users["demo-coordinator"])
        await seed_activation(
            client, {"Authorization": f"Bearer {coordinator}"}, {"Authorization": f"Bearer {employer}"}
        )
        await seed_work_engagements(client, issuer, registered)
    marker.write_text("seeded\n")
    return households


async def seed_activation(client: httpx.AsyncClient, coordinator: dict[str, str], employer: dict[str, str]) -> None:
    """The Ada–Ruma employers' forum, the demo employer's organisation in it, and two opportunities."""
    r = await client.post("/activation/api/forums", json=demo.demo_forum(), headers=coordinator)
    r.raise_for_status()
    forum_id = r.json()["id"]
    r = await client.put(
        "/activation/api/organisations/demo-forum-ada", json=demo.demo_organisation(), headers=employer
    )
    r.raise_for_status()
    r = await client.post(
        f"/activation/api/forums/{forum_id}/members", json={"organisation_id": "demo-forum-ada"}, headers=employer
    )
    r.raise_for_status()
    starts_on = datetime.now(UTC).date() + timedelta(days=14)
    for body in demo.demo_opportunities(forum_id, starts_on):
        r = await client.post("/activation/api/opportunities", json=body, headers=employer)
        r.raise_for_status()


async def seed_work_engagements(
    client: httpx.AsyncClient, issuer: DevIssuer, households: list[dict[str, Any]], *, timeout_s: float = 20.0
) -> int:
    """Some demo cases assessed and planned with a work engagement for members who can work and consented, so the
    employers' rankings have candidates. Best effort: a case not opened within ``timeout_s`` is skipped."""
    engaged = 0
    deadline = asyncio.get_running_loop().time() + timeout_s
    for household in households:
        members = demo.engageable_members(household)
        if not members:
            continue
        case = await _case_of(client, issuer, household["id"], deadline)
        if case is None or case.get("assigned_to") not in issuer.users:
            continue
        headers = {"Authorization": f"Bearer {issuer.issue_for(issuer.users[case['assigned_to']])}"}
        r = await client.post(
            f"/cases/api/cases/{case['id']}/assessments", json=demo.demo_assessment(), headers=headers
        )
        if r.status_code != 201:
            continue
        r = await client.post(
            f"/cases/api/cases/{case['id']}/plans", json=demo.demo_plan(members, case["assigned_to"]), headers=headers
        )
        engaged += len(members) if r.status_code == 201 else 0
    return engaged


async def _case_of(
    client: httpx.AsyncClient, issuer: DevIssuer, household_id: str, deadline: float
) -> dict[str, Any] | None:
    supervisor = {"Authorization": f"Bearer {issuer.issue_for(issuer.users['demo-supervisor'])}"}
    while asyncio.get_running_loop().time() < deadline:
        r = await client.get("/cases/api/cases", params={"household_id": household_id}, headers=supervisor)
        if r.status_code == 200 and r.json():
            found: dict[str, Any] = r.json()[0]
            return found
        await asyncio.sleep(0.2)
    return None


async def seed_cases_registries(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    """Cases' workers, providers and the Ada–Ruma agreement, before any household (so cases get assigned).
    Safe to run again: workers are upserted, providers and the agreement are looked up by name first."""
    for sub, body in demo.demo_workers().items():
        r = await client.put(f"/cases/api/workers/{sub}", json=body, headers=admin)
        r.raise_for_status()
    r = await client.get("/cases/api/providers", params={"include_inactive": "true"}, headers=admin)
    r.raise_for_status()
    known = {p["name"] for p in r.json()}
    for body in demo.demo_providers():
        if body["name"] not in known:
            r = await client.post("/cases/api/providers", json=body, headers=admin)
            r.raise_for_status()
    agreement = demo.demo_agreement(datetime.now(UTC).date().replace(month=1, day=1))
    r = await client.get("/cases/api/agreements", headers=admin)
    r.raise_for_status()
    if agreement["name"] not in {a["name"] for a in r.json()}:
        r = await client.post("/cases/api/agreements", json=agreement, headers=admin)
        r.raise_for_status()


def _print_on_terminal(*args: Any, **kwargs: Any) -> None:
    """For a person at a terminal; a log file gets only JSON lines (``supervisor.ready`` says the same)."""
    if sys.stdout.isatty():
        print(*args, **kwargs)


async def run_platform(config: PlatformConfig) -> None:
    configure_logging("supervisor", fmt=os.environ.get("OSLONAC_LOG_FORMAT", "auto"))
    platform = Platform(config)
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    serving = False

    def on_signal() -> None:
        platform.request_stop()
        if not serving and main is not None:
            main.cancel()  # still starting: stop waiting and clean up what was started

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    server: _Server | None = None
    serve_task: asyncio.Task[None] | None = None
    proxy: ReverseProxy | None = None
    try:
        await platform.start()
        issuer = platform.issuer()
        gateway = create_gateway(
            list(platform.children),
            platform.provider(issuer),
            password_hint="Password: the value of OSLONAC_DEMO_PASSWORD (default 'demo').",
        )
        internal_port = platform.free_port()
        server = _Server(
            uvicorn.Config(
                gateway, host="127.0.0.1", port=internal_port, log_level="warning", access_log=False, log_config=None
            )
        )
        serve_task = asyncio.create_task(server.serve())
        await asyncio.to_thread(wait_for_port, internal_port, timeout_s=15)
        # The one origin: service paths go straight to their process, the rest to the issuer/landing app.
        proxy = ReverseProxy(
            {name: Upstream("127.0.0.1", child.port) for name, child in platform.children.items()},
            Upstream("127.0.0.1", internal_port),
        )
        await proxy.start(config.host, config.port)
        origin = f"http://{config.host}:{config.port}"
        if config.seed:
            seeded = await seed_demo_data(origin, issuer, platform.data_dir)
            if seeded:
                log.info("supervisor.demo_seeded", households=seeded)
        log.info("supervisor.ready", origin=origin, data_dir=str(platform.data_dir), logs=str(platform.logs))
        _print_on_terminal(
            f"\nOslonac is running at {origin}/\n"
            f"  data directory: {platform.data_dir}\n"
            f"  logs:           {platform.logs}/\n"
            f"  demo logins:    {', '.join(issuer.users)} — password from OSLONAC_DEMO_PASSWORD "
            f"(default 'demo')\n"
            f"  token:          curl -d 'username=demo-worker&password=demo' {origin}/auth/token\n"
            f"Press Ctrl-C to stop.\n",
            flush=True,
        )
        serving = True
        await platform.watch()
    except asyncio.CancelledError:
        log.info("supervisor.start_interrupted")
    finally:
        if proxy is not None:
            await proxy.stop()
        if server is not None:
            server.should_exit = True
        if serve_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(serve_task, timeout=10)
        platform.shutdown_children()
        log.info("supervisor.stopped")
