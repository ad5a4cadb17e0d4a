"""`make bench`, third part: activation's matching at issue 6's scale, against the raw limit measured in the same run.

Builds 100,000 candidates and 2,000 opportunities (seeded, so the same every run on a given day: ages, unemployment
and start dates are relative to today), on the embedded default (SQLite, WAL):

* agreements (cases' AgreementChangedV1) and a sample of the candidates (cases' ActivationRequestedV1) go through
  activation's real consumer path (decode, ledger, handler, one transaction per batch); the rest of the candidates
  are bulk-inserted with the column values that handler writes (checked equal on the sample);
* organisations, forums (one per district) and opportunities go through the real API of the activation service,
  started as `oslonac serve activation` (uvicorn) on 127.0.0.1 on a free port.

Then (a) GET .../opportunities/{id}/shortlist?limit=50 for random opportunities over HTTP, one at a time, and the
same in this process timed by step (``repository.candidate_pool``, ``matching.Pool.from_rows``, ``matching.evaluate``
+ ``matching.top``, ``matching.explain``); (b) ``service.recompute_shortlists`` with production's sessionmaker, in
this process, twice (run 1 finds no stored shortlists and writes them all, run 2 finds nothing changed and writes
nothing), timed by phase (``repository.shortlist_digests``, ``repository.candidate_rows`` in keyset chunks,
``Pool.from_rows`` and ``service._rank_all`` in the worker thread, ``repository.replace_shortlists``); (c) the
service's responsiveness while the shortlists are recomputed: `oslonac serve activation` again on the same file with
the background refresh every 2 s, GET /health/live (and in two rounds a shortlist too) every 50 ms while idle, then
while the refresh recomputes after 1,000 candidates changed (twice), and while a coordinator's POST
.../shortlists/recompute rewrites nearly every shortlist after the forums' criteria changed (the refresh does not
look at criteria). The recompute's interval is its own ``matching_runs`` row.
The raw limit of the same run: the service's own candidate SELECT run with the sqlite3 module alone, the same
columns made arrays and ranked with numpy alone (its result checked equal to the service's), the stored entries read
and the same entries written with executemany. (b) runs on PostgreSQL too when 127.0.0.1:5432 answers, in a fresh
database dropped afterwards. Results replace this benchmark's own section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import numpy as np
import numpy.typing as npt
from aiokafka.structs import ConsumerRecord
from sqlalchemy import JSON, Table, insert, select
from sqlalchemy.dialects import postgresql as postgresql_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.http import KeepAliveConnection
from bench.machine import describe, peak_rss_mib, replace_section
from services.activation import domain, matching, repository, service
from services.activation.app import MIGRATIONS, create_app
from services.activation.candidates import MATCHING_MARKERS
from services.activation.models import Base, Candidate
from shared.auth import DemoUser, DevIssuer, Role, User, generate_keypair
from shared.context import new_id
from shared.db import create_engine, migrate, migrate_sync, session_factory, unit_of_work, utcnow
from shared.events import ActivationRequestedV1, AgreementChangedV1, Availability, Envelope, EventData
from shared.messaging.embedded import free_port
from shared.reference import municipalities, skills
from shared.settings import Environment, KafkaSettings, Settings

START, END = "<!-- bench:matching:start -->", "<!-- bench:matching:end -->"
API = "/activation/api"
OFFLINE = KafkaSettings(bootstrap_servers="127.0.0.1:9")  # nothing listens: consumer and relay stay off
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"

# The reference list has no population: a unit's kind stands in for its size.
KIND_WEIGHT = {"city": 4, "city_municipality": 3, "municipality": 1}
# Skills a candidate or an opportunity of community and public works most often has (drawn 3× as often).
COMMON_SKILLS = frozenset(
    {"cleaning", "cooking", "gardening", "farming", "construction", "driving_b", "warehouse", "sales", "maintenance"}
)
MARKER_RATES = {"single_parent": 0.08, "roma": 0.10, "disability": 0.07, "without_documents": 0.02}
EMPLOYMENT = {"unemployed": 75, "informal_work": 14, "inactive": 8, "pupil_student": 3}
EDUCATION = {"none": 10, "primary_incomplete": 20, "primary": 35, "secondary": 30, "tertiary": 5}
ORG_KINDS = ("public_enterprise", "public_institution", "civil_society", "private_company")
OPP_TYPES = {"community_work": 40, "public_works": 25, "training": 15, "internship": 10, "job": 10}
ORGS_PER_KIND = {"city": 3, "city_municipality": 2, "municipality": 1}
TODAY = date.today()


# --- the data -------------------------------------------------------------------------------------------------


@dataclass
class Data:
    candidates: list[ActivationRequestedV1]
    agreements: list[AgreementChangedV1]
    forums: dict[str, list[str]]  # district → its municipalities
    organisations: list[dict[str, str]]  # id, name, kind, municipality_code, district
    opportunities: list[dict[str, Any]]  # the POST body without forum_id, plus "district" and "organisation"
    reach: dict[str, frozenset[str]]  # municipality → those its candidates may come from (itself included)
    weights: dict[str, int]


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _weighted(rng: random.Random, table: dict[str, int]) -> str:
    return rng.choices(list(table), list(table.values()))[0]


def _skills(rng: random.Random, codes: Sequence[str], weights: Sequence[int], k: int) -> list[str]:
    chosen: set[str] = set()
    while len(chosen) < k:
        chosen.add(rng.choices(codes, weights)[0])
    return sorted(chosen)


def generate(*, candidates: int, opportunities: int, neighbours: int, seed: int) -> Data:
    rng = random.Random(seed)
    units = municipalities.municipalities()
    codes = sorted(units)
    weights = {c: KIND_WEIGHT[units[c].kind] for c in codes}
    code_weights = [weights[c] for c in codes]
    skill_codes = sorted(skills.skills())
    skill_weights = [3 if s in COMMON_SKILLS else 1 for s in skill_codes]
    base = datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=UTC)

    people = []
    household = _uuid(rng)
    for _ in range(candidates):
        if rng.random() > 0.2:  # one in five shares a household with the candidate before
            household = _uuid(rng)
        markers = [m for m, rate in MARKER_RATES.items() if rng.random() < rate]
        status = _weighted(rng, EMPLOYMENT)
        if status == "unemployed":
            markers.append("unemployed_able_to_work")
        since = None
        if status in ("unemployed", "inactive") or rng.random() < 0.3:
            months = min(180, int(rng.expovariate(1 / 20)))  # about half unemployed for a year or more
            since = TODAY - timedelta(days=months * 30 + rng.randint(0, 29))
        low = rng.choice((4, 8, 10, 16, 20))
        people.append(
            ActivationRequestedV1(
                request_id=_uuid(rng),
                person_id=_uuid(rng),
                household_id=household,
                case_id=_uuid(rng),
                municipality_code=rng.choices(codes, code_weights)[0],
                sex=rng.choice(("F", "M")),
                birth_year=TODAY.year - rng.randint(18, 64),
                education=_weighted(rng, EDUCATION),
                employment_status=status,
                skills=_skills(rng, skill_codes, skill_weights, rng.randint(0, 6)),
                markers=markers,
                below_poverty_line=rng.random() < 0.7,
                unemployed_since=since,
                availability=Availability(
                    hours_per_week_min=low,
                    hours_per_week_max=min(40, low + rng.choice((10, 15, 20, 30))),
                    available_from=TODAY + timedelta(days=rng.randint(-90, 45)),
                ),
                requested_at=base - timedelta(seconds=rng.randint(0, 3 * 365 * 86400)),
            )
        )

    # Each municipality with its nearest neighbours (seat to seat), one agreement per set; a few more cover other
    # services only (activation reads them and leaves them out).
    sets: list[frozenset[str]] = []
    for code in codes:
        near = sorted(codes, key=lambda other: municipalities.distance_km(units[code], units[other]))
        group = frozenset(near[: neighbours + 1])
        if group not in sets:
            sets.append(group)
    agreements = [
        AgreementChangedV1(
            agreement_id=_uuid(rng),
            municipalities=sorted(group),
            service_types=["work_engagement"] if i % 4 else ["home_care", "work_engagement"],
            valid_from=TODAY - timedelta(days=rng.randint(30, 700)),
            changed_at=base - timedelta(days=1),
        )
        for i, group in enumerate(sets)
    ]
    for _ in range(20):
        agreements.append(
            AgreementChangedV1(
                agreement_id=_uuid(rng),
                municipalities=rng.sample(codes, 2),
                service_types=["home_care"],
                valid_from=TODAY - timedelta(days=100),
                changed_at=base - timedelta(days=1),
            )
        )
    reach = {code: frozenset({code}.union(*(g for g in sets if code in g))) for code in codes}

    forums: dict[str, list[str]] = defaultdict(list)
    for code in codes:
        forums[units[code].district].append(code)
    organisations = []
    for code in codes:
        for i in range(ORGS_PER_KIND[units[code].kind]):
            organisations.append(
                {
                    "id": f"org-{code}-{i}",
                    "name": f"{units[code].name_latin} {rng.choice(('JKP', 'Centar', 'Udruženje', 'Preduzeće'))} {i}",
                    "kind": rng.choice(ORG_KINDS),
                    "municipality_code": code,
                    "district": units[code].district,
                }
            )
    orgs_of: dict[str, list[str]] = defaultdict(list)
    for org in organisations:
        orgs_of[org["municipality_code"]].append(org["id"])

    offers = []
    for n in range(opportunities):
        code = rng.choices(codes, code_weights)[0]
        required = _skills(rng, skill_codes, skill_weights, rng.randint(0, 3))
        preferred = [s for s in _skills(rng, skill_codes, skill_weights, rng.randint(0, 3)) if s not in required]
        low = rng.choice((4, 8, 10, 16, 20))
        starts = TODAY + timedelta(days=rng.randint(0, 60))
        offers.append(
            {
                "title": f"Opportunity {n + 1}",
                "type": _weighted(rng, OPP_TYPES),
                "municipality_code": code,
                "place": units[code].name_latin,
                "positions": rng.randint(1, 10),
                "hours_per_week_min": low,
                "hours_per_week_max": min(40, low + rng.choice((0, 10, 20))),
                "starts_on": starts.isoformat(),
                "ends_on": (starts + timedelta(days=rng.choice((30, 90, 180)))).isoformat(),
                "required_skills": required,
                "preferred_skills": preferred,
                "accessible": rng.random() < 0.3,
                "district": units[code].district,
                "organisation": rng.choice(orgs_of[code]),
            }
        )
    return Data(people, agreements, dict(forums), organisations, offers, reach, weights)


# --- loading candidates and agreements ------------------------------------------------------------------------


def candidate_row(event: ActivationRequestedV1, now: datetime) -> dict[str, Any]:
    """The row ``candidates.candidate_requested`` writes for a new candidate (the sample checks it still does)."""
    return {
        "person_id": event.person_id,
        "placed": False,
        "household_id": event.household_id,
        "case_id": event.case_id,
        "request_id": event.request_id,
        "municipality_code": event.municipality_code,
        "sex": event.sex,
        "birth_year": event.birth_year,
        "education": event.education,
        "employment_status": event.employment_status,
        "skills": sorted(event.skills),
        "markers": sorted(set(event.markers) & MATCHING_MARKERS),
        "below_poverty_line": event.below_poverty_line,
        "unemployed_since": event.unemployed_since,
        "hours_min": event.availability.hours_per_week_min,
        "hours_max": event.availability.hours_per_week_max,
        "available_from": event.availability.available_from,
        "requested_at": event.requested_at,
        "able_to_work": True,
        "active": True,
        "updated_at": now,
    }


_offsets = itertools.count()


def record_of(event: EventData) -> ConsumerRecord[bytes, bytes]:
    envelope = Envelope(id=new_id(), source="/bench", type=event.type_name(), data=event.to_data(), subject=event.key)
    value, key = envelope.value(), event.key.encode()
    return ConsumerRecord(
        topic=event.topic,
        partition=0,
        offset=next(_offsets),
        timestamp=0,
        timestamp_type=0,
        key=key,
        value=value,
        checksum=None,
        serialized_key_size=len(key),
        serialized_value_size=len(value),
        headers=envelope.headers(),
    )


async def load_events(data_dir: Path, public_key: Path, data: Data, *, sample: int, batch: int) -> dict[str, Any]:
    """Agreements and the first ``sample`` candidates through the consumer's batch path, the rest bulk-inserted."""
    settings = Settings(
        jwt_public_key_file=public_key,
        env=Environment.test,
        service="activation",
        data_dir=data_dir,
        kafka=OFFLINE,
        run_consumer=False,
        run_relay=False,
        shortlist_refresh_s=0,
        log_level="WARNING",
        log_format="console",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        applier = runtime.applier
        assert applier is not None
        outcomes = await applier.apply([record_of(a) for a in data.agreements])
        started = time.perf_counter()
        for i in range(0, sample, batch):
            outcomes += await applier.apply([record_of(e) for e in data.candidates[i : min(sample, i + batch)]])
        handler_s = time.perf_counter() - started
        if any(str(o) != "applied" for o in outcomes):
            raise RuntimeError(f"events not applied: {sorted({str(o) for o in outcomes})}")
        # The handler's rows and the bulk insert's rows for the same events must agree (updated_at aside).
        table: Table = Candidate.__table__  # type: ignore[assignment]
        async with runtime.sessions() as session:
            stored = {r.person_id: dict(r._mapping) for r in await session.execute(select(table))}
        now = utcnow()
        for event in data.candidates[:sample]:
            mine, theirs = candidate_row(event, now), stored[event.person_id]
            differs = [k for k in mine if k != "updated_at" and mine[k] != theirs[k]]
            if differs:
                raise RuntimeError(f"the bulk rows no longer match the handler's ({differs}): update candidate_row")
        started = time.perf_counter()
        rows = [candidate_row(e, now) for e in data.candidates[sample:]]
        async with runtime.engine.begin() as conn:
            for i in range(0, len(rows), 5000):
                await conn.execute(insert(table), rows[i : i + 5000])
        bulk_s = time.perf_counter() - started
    return {"sample": sample, "handler_s": handler_s, "bulk": len(rows), "bulk_s": bulk_s}


# --- the service over HTTP ------------------------------------------------------------------------------------


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


def percentiles(values: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))]

    return {
        "p50": statistics.median(ordered),
        "p95": at(0.95),
        "p99": at(0.99),
        "max": ordered[-1],
        "mean": statistics.fmean(ordered),
    }


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


# --- all shortlists, by phase ---------------------------------------------------------------------------------

Counter = Callable[[tuple[Any, ...], Any], dict[str, int]]


@dataclass
class Phases:
    """Time the steps a service function calls, by wrapping them where it looks them up (module attributes).

    A phase gets its own time only: a wrapped step called inside another (``evaluate`` in ``_rank_all``,
    ``from_rows`` in ``candidate_pool``) is taken out of the outer one's. The service awaits its steps one after
    another (the worker thread's while the event loop waits for it), so one stack of the open steps suffices."""

    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    calls: list[tuple[str, float, float]] = field(default_factory=list)  # (phase, start, end) of every call
    _open: list[list[float]] = field(default_factory=list)  # per open step: time spent in steps inside it

    @contextmanager
    def patched(self, targets: Sequence[tuple[Any, str, str, Counter | None]]) -> Iterator[None]:
        originals: list[tuple[Any, str, Any]] = []
        try:
            for owner, name, phase, counter in targets:
                original = getattr(owner, name)
                originals.append((owner, name, owner.__dict__[name]))
                setattr(owner, name, self._timed(original, phase, counter, owner is matching.Pool))
            yield
        finally:
            for owner, name, original in reversed(originals):
                setattr(owner, name, original)

    def _begin(self) -> float:
        self._open.append([0.0])
        return time.perf_counter()

    def _end(self, phase: str, started: float) -> None:
        ended = time.perf_counter()
        elapsed = ended - started
        self.calls.append((phase, started, ended))
        inner = self._open.pop()[0]
        self.seconds[phase] += elapsed - inner
        if self._open:
            self._open[-1][0] += elapsed

    def _count(self, counter: Counter | None, args: tuple[Any, ...], result: Any) -> None:
        if counter is not None:
            for key, n in counter(args, result).items():
                self.counts[key] += n

    def _timed(self, original: Callable[..., Any], phase: str, counter: Counter | None, static: bool) -> Any:
        if asyncio.iscoroutinefunction(original):

            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                started = self._begin()
                try:
                    result = await original(*args, **kwargs)
                    self._count(counter, args, result)
                    return result
                finally:
                    self._end(phase, started)

            return timed_async

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = self._begin()
            try:
                result = original(*args, **kwargs)
                self._count(counter, args, result)
                return result
            finally:
                self._end(phase, started)

        return staticmethod(timed) if static else timed


def _rows(_args: tuple[Any, ...], result: Any) -> dict[str, int]:
    return {"rows": len(result), "queries": 1}


def _written(args: tuple[Any, ...], _result: Any) -> dict[str, int]:
    return {"written_opportunities": len(args[1]), "written_entries": len(args[2]), "write_transactions": 1}


def _stored(_args: tuple[Any, ...], result: Any) -> dict[str, int]:
    return {"stored_digests": len(result)}


RECOMPUTE_STEPS: tuple[tuple[Any, str, str, Counter | None], ...] = (
    (repository, "shortlist_digests", "stored", _stored),
    (service, "_candidate_rows", "load_tx", None),
    (repository, "candidate_rows", "load", _rows),
    (matching.Pool, "from_rows", "pool", None),
    (service, "_rank_all", "rank_rest", None),
    (matching, "evaluate", "rank", None),
    (matching, "top", "rank", None),
    (service, "_write_changes", "write_rest", None),
    (repository, "replace_shortlists", "write", _written),
)
RECOMPUTE_PHASES = ("stored", "load", "load_tx", "pool", "rank", "rank_rest", "write", "write_rest", "other")
SHORTLIST_STEPS: tuple[tuple[Any, str, str, Counter | None], ...] = (
    (repository, "candidate_pool", "load", _rows),
    (matching.Pool, "from_rows", "pool", None),
    (matching, "evaluate", "rank", None),
    (matching, "top", "rank", None),
    (matching, "explain", "explain", None),
)


@contextmanager
def counted_transactions(phases: Phases) -> Iterator[None]:
    """Count the units of work ``service`` opens (``service.unit_of_work`` is ``shared.db``'s, imported there)."""
    original = getattr(service, "unit_of_work")  # noqa: B009

    def counting(factory: Any) -> Any:
        phases.counts["transactions"] += 1
        return original(factory)

    setattr(service, "unit_of_work", counting)  # noqa: B010
    try:
        yield
    finally:
        setattr(service, "unit_of_work", original)  # noqa: B010


STALL_TICK_S, STALL_S = 0.005, 0.02


async def watch_loop(stalls: list[tuple[float, float]], stop: asyncio.Event) -> None:
    """The event loop's stalls: a 5 ms sleep that wakes more than 20 ms late means nothing else could run
    (requests included, in the service) for that long; (start, seconds)."""
    last = time.perf_counter()
    while not stop.is_set():
        await asyncio.sleep(STALL_TICK_S)
        now = time.perf_counter()
        lag = now - last - STALL_TICK_S
        if lag > STALL_S:
            stalls.append((last + STALL_TICK_S, lag))
        last = now


def stalled_in(phases: Phases, start: float, seconds: float) -> str:
    """The step a stall happened in: of the calls covering most of it, the innermost (shortest)."""
    end = start + seconds
    overlaps = [(min(end, e) - max(start, s), e - s, phase) for phase, s, e in phases.calls if s < end and e > start]
    best = max((o for o, _, _ in overlaps), default=0.0)
    if best < seconds / 2:
        return "other"
    return min((d, phase) for o, d, phase in overlaps if o >= 0.8 * best)[1]


async def timed_recompute(url: str) -> dict[str, Any]:
    """``service.recompute_shortlists`` with production's engine and sessionmaker, as the refresh and the API call
    it, timed by phase, with the event loop watched for stalls (in the service they hold up every request)."""
    engine = create_engine(url)
    phases = Phases()
    stalls: list[tuple[float, float]] = []
    stop = asyncio.Event()
    try:
        with phases.patched(RECOMPUTE_STEPS), counted_transactions(phases):
            watcher = asyncio.create_task(watch_loop(stalls, stop))
            await asyncio.sleep(STALL_TICK_S * 2)
            started = time.perf_counter()
            try:
                run = await service.recompute_shortlists(session_factory(engine))
            finally:
                total = time.perf_counter() - started
                stop.set()
                await watcher
    finally:
        await engine.dispose()
    worst = sorted(stalls, key=lambda stall: -stall[1])
    stalled = {
        "count": len(stalls),
        "seconds": sum(lag for _, lag in stalls),
        "worst": [(lag, stalled_in(phases, at, lag), max(0.0, at - started)) for at, lag in worst[:3]],
    }
    split = {key: phases.seconds.get(key, 0.0) for key in RECOMPUTE_PHASES if key != "other"}
    split["other"] = total - sum(split.values())
    return {
        "total_s": total,
        "entries": run.entries,
        "candidates": run.candidates,
        "opportunities": run.opportunities,
        "split": split,
        "stalls": stalled,
        "counts": {
            key: phases.counts.get(key, 0)
            for key in (
                "rows",
                "queries",
                "stored_digests",
                "written_opportunities",
                "written_entries",
                "write_transactions",
                "transactions",
            )
        },
    }


async def shortlist_split(url: str, sampled: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """(a) by step, in this process: ``service.shortlist`` for the first of the sampled opportunities."""
    engine = create_engine(url)
    phases, total = Phases(), 0.0
    try:
        with phases.patched(SHORTLIST_STEPS):
            for offer in sampled:
                code = offer["municipality_code"]
                user = User(f"worker-{code}", frozenset({Role.case_worker.value}), frozenset({code}))
                async with unit_of_work(session_factory(engine)) as session:
                    started = time.perf_counter()
                    await service.shortlist(session=session, user=user, opportunity_id=uuid.UUID(offer["id"]), limit=50)
                    total += time.perf_counter() - started
    finally:
        await engine.dispose()
    split = {key: phases.seconds.get(key, 0.0) for key in ("load", "pool", "rank", "explain")}
    split["other"] = total - sum(split.values())
    return {"count": len(sampled), "total_s": total, "split": split, "rows": phases.counts["rows"]}


def candidate_select() -> Any:
    """The statement ``repository.candidate_pool`` runs for every municipality (the text columns)."""
    return select(*repository._RAW_COLUMNS).where(Candidate.active.is_(True))


def candidate_sql(dialect: Any, municipalities: Sequence[str] | None = None) -> str:
    """That statement as the database receives it, for the raw driver alone (the floor reads exactly the same)."""
    stmt = candidate_select()
    if municipalities is not None:
        stmt = stmt.where(Candidate.municipality_code.in_(list(municipalities)))
    return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


async def load_split(url: str) -> dict[str, float]:
    """Every candidate read in one query as ``candidate_pool`` does, in three steps: the query with SQLAlchemy's
    rows, the ``RawCandidate`` tuples, ``Pool.from_rows``."""
    engine = create_engine(url)
    try:
        async with unit_of_work(session_factory(engine)) as session:
            started = time.perf_counter()
            rows = (await session.execute(candidate_select())).all()
            fetched = time.perf_counter()
        raw = [matching.RawCandidate(*row) for row in rows]
        tupled = time.perf_counter()
        matching.Pool.from_rows(raw)
        pooled = time.perf_counter()
    finally:
        await engine.dispose()
    return {"query_s": fetched - started, "tuples_s": tupled - fetched, "pool_s": pooled - tupled, "rows": len(raw)}


# --- the raw limit --------------------------------------------------------------------------------------------

Ints = npt.NDArray[np.int64]


@dataclass
class Arrays:
    """The candidates column by column, as numpy alone would hold them (person ids as their sort rank)."""

    person_ids: list[str]
    pid_rank: Ints
    municipality: Ints
    birth_year: Ints
    ok: npt.NDArray[np.bool_]  # able to work, not in education, not placed
    woman: Ints
    groups: Ints  # single parent + roma + disability
    disability: npt.NDArray[np.bool_]
    hours_min: Ints
    hours_max: Ints
    skills: npt.NDArray[np.uint64]
    available_from: Ints
    unemployed_day: Ints
    unemployed_month: Ints
    by_municipality: dict[int, Ints]

    @classmethod
    def of(cls, rows: list[tuple[Any, ...]]) -> Arrays:
        index = matching.municipality_index()
        n = len(rows)
        cols: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [[] for _ in range(13)]

        def days(values: Sequence[str | None]) -> Ints:
            return np.array([date.fromisoformat(v).toordinal() if v else 0 for v in values], np.int64)

        def months(values: Sequence[str | None]) -> Ints:
            return np.array([int(v[:4]) * 12 + int(v[5:7]) if v else 0 for v in values], np.int64)

        markers = [json.loads(m) for m in cols[7]]
        muni = np.array([index.get(c, len(index)) for c in cols[1]], np.int64)
        order = np.argsort(np.array(cols[0]), kind="stable")
        pid_rank = np.empty(n, np.int64)
        pid_rank[order] = np.arange(n)
        by: dict[int, Ints] = {}
        for m in np.unique(muni):
            by[int(m)] = np.flatnonzero(muni == m)
        return cls(
            person_ids=list(cols[0]),
            pid_rank=pid_rank,
            municipality=muni,
            birth_year=np.array(cols[3], np.int64),
            ok=np.array(cols[4], np.bool_)
            & (np.array(cols[5], dtype=object) != "pupil_student")
            & ~np.array(cols[12], np.bool_),
            woman=(np.array(cols[2]) == "F").astype(np.int64),
            groups=np.array([("single_parent" in m) + ("roma" in m) + ("disability" in m) for m in markers], np.int64),
            disability=np.array(["disability" in m for m in markers], np.bool_),
            hours_min=np.array(cols[8], np.int64),
            hours_max=np.array(cols[9], np.int64),
            skills=np.array([matching.skill_mask(json.loads(s)) for s in cols[6]], np.uint64),
            available_from=days(cols[10]),
            unemployed_day=days(cols[11]),
            unemployed_month=months(cols[11]),
            by_municipality=by,
        )


def _r2(x: Any) -> Any:
    return np.floor(x * 100 + 0.5) / 100


def raw_rank(a: Arrays, offer: dict[str, Any], reach: frozenset[str], on: date, size: int) -> list[int]:
    """The top ``size`` rows for one opportunity with default criteria: domain.eligibility and domain.score's
    rule in plain numpy, ties to the smaller person id."""
    index = matching.municipality_index()
    home = offer["municipality_code"]
    units = municipalities.municipalities()
    parts = [a.by_municipality.get(index[c], np.empty(0, np.int64)) for c in sorted(reach)]
    rows = np.concatenate(parts)
    age = on.year - a.birth_year[rows]
    hmin, hmax = int(offer["hours_per_week_min"]), int(offer["hours_per_week_max"])
    overlap = np.minimum(a.hours_max[rows], hmax) - np.maximum(a.hours_min[rows], hmin)
    keep = a.ok[rows] & (age >= 18) & (age <= 64) & (overlap >= 0)
    if not offer["accessible"]:
        keep &= ~a.disability[rows]
    rows, overlap = rows[keep], overlap[keep]
    masks = a.skills[rows]
    required, preferred = offer["required_skills"], offer["preferred_skills"]
    covered: Any = (
        np.bitwise_count(masks & np.uint64(matching.skill_mask(required))) / len(required) if required else 1.0
    )
    bonus: Any = (
        np.bitwise_count(masks & np.uint64(matching.skill_mask(preferred))) / len(preferred) / 4 if preferred else 0.0
    )
    skill_points = _r2(np.minimum(1.0, covered + bonus) * 40.0)
    points = np.zeros(len(index) + 1)
    for c in reach:
        km = municipalities.distance_km(units[c], units[home])
        points[index[c]] = 20.0 if c == home else max(5.0, 20.0 - km / 5)
    distance = _r2(points[a.municipality[rows]])
    uday = a.unemployed_day[rows]
    months = np.where((uday == 0) | (uday > on.toordinal()), 0, on.year * 12 + on.month - a.unemployed_month[rows])
    count = a.groups[rows] + a.woman[rows] + (months >= 12)
    priority = _r2(np.minimum(3, count) * 15.0 / 3)
    share = np.maximum(0, overlap + 1) / (hmax - hmin + 1)
    avail = a.available_from[rows]
    ready = np.where((avail == 0) | (avail <= date.fromisoformat(offer["starts_on"]).toordinal()), 0.5, 0.0)
    availability = _r2(15.0 * (0.5 * share + ready))
    unemployed = _r2(10.0 * np.minimum(1.0, months / 24))
    scores = _r2(skill_points + distance + priority + availability + unemployed)
    if len(rows) > size:
        kth = np.partition(scores, len(rows) - size)[len(rows) - size]
        chosen = np.flatnonzero(scores >= kth)
        rows, scores = rows[chosen], scores[chosen]
    order = np.lexsort((a.pid_rank[rows], -scores))[:size]
    return [int(r) for r in rows[order]]


def raw_sqlite(db_path: Path, data: Data, sampled: list[dict[str, Any]], size: int, *, by_step: int) -> dict[str, Any]:
    """The floor of each step: the service's own candidate SELECT with sqlite3 alone, its rows made arrays and
    ranked with numpy alone, the stored entries read, the entries written with executemany (delete and insert in
    one transaction, with production's pragmas); checked against the service's stored entries."""
    dialect = sqlite_dialect.dialect()
    db = sqlite3.connect(db_path, isolation_level=None)
    try:
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "mmap_size=268435456"):
            db.execute(f"PRAGMA {pragma}")
        started = time.perf_counter()
        rows = db.execute(candidate_sql(dialect)).fetchall()
        select_s = time.perf_counter() - started
        started = time.perf_counter()
        arrays = Arrays.of(rows)
        arrays_s = time.perf_counter() - started
        on = date.today()
        started = time.perf_counter()
        ranked = {
            offer["id"]: raw_rank(arrays, offer, data.reach[offer["municipality_code"]], on, size)
            for offer in data.opportunities
        }
        rank_s = time.perf_counter() - started
        entries = [
            (uuid.UUID(opp).hex, arrays.person_ids[row], rank)
            for opp, rows_ in ranked.items()
            for rank, row in enumerate(rows_, start=1)
        ]
        started = time.perf_counter()
        stored = db.execute("SELECT opportunity_id, person_id, rank, score FROM shortlist_entries").fetchall()
        stored_s = time.perf_counter() - started
        same = {(o, p, r) for o, p, r, _ in stored} == set(entries)
        scores = {(o, p): s for o, p, _, s in stored}
        values = [(o, p, r, scores.get((o, p), 0.0)) for o, p, r in entries]
        started = time.perf_counter()
        db.execute("BEGIN")
        db.execute("DELETE FROM shortlist_entries")
        db.executemany(
            "INSERT INTO shortlist_entries (opportunity_id, person_id, rank, score) VALUES (?, ?, ?, ?)", values
        )
        db.execute("COMMIT")
        write_s = time.perf_counter() - started
        # One opportunity's floor: its reachable candidates' rows read (the service's statement), then ranked on
        # the arrays already in memory; for the first ``by_step`` also those rows made arrays (what from_rows does).
        one_ms, select_ms, arrays_ms, rank_ms = [], [], [], []
        for n, offer in enumerate(sampled):
            sql = candidate_sql(dialect, sorted(data.reach[offer["municipality_code"]]))
            started = time.perf_counter()
            found = db.execute(sql).fetchall()
            selected = time.perf_counter()
            raw_rank(arrays, offer, data.reach[offer["municipality_code"]], on, 50)
            done = time.perf_counter()
            one_ms.append((done - started) * 1000)
            if n < by_step:
                select_ms.append((selected - started) * 1000)
                rank_ms.append((done - selected) * 1000)
                started = time.perf_counter()
                Arrays.of(found)
                arrays_ms.append((time.perf_counter() - started) * 1000)
    finally:
        db.close()
    return {
        "select_s": select_s,
        "rows": len(rows),
        "arrays_s": arrays_s,
        "rank_s": rank_s,
        "stored_s": stored_s,
        "stored": len(stored),
        "write_s": write_s,
        "entries": len(entries),
        "same_as_service": same,
        "one": percentiles(one_ms) if one_ms else None,
        "by_step": {
            "count": len(select_ms),
            "select_ms": statistics.fmean(select_ms) if select_ms else 0.0,
            "arrays_ms": statistics.fmean(arrays_ms) if arrays_ms else 0.0,
            "rank_ms": statistics.fmean(rank_ms) if rank_ms else 0.0,
        },
    }


# --- PostgreSQL -----------------------------------------------------------------------------------------------


def _async_url(dsn: str, database: str) -> str:
    return dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{database}"


@asynccontextmanager
async def fresh_postgres(dsn: str) -> AsyncIterator[tuple[str, str]]:
    name = f"oslonac_bench_matching_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield _async_url(dsn, name), dsn.rsplit("/", 1)[0] + f"/{name}"
    finally:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


async def copy_tables(source: AsyncEngine, target: AsyncEngine, raw_dsn: str) -> None:
    """The SQLite database's activation rows, table by table, read through SQLAlchemy's types (the same data);
    the candidates with COPY, the small tables with inserts."""
    for name in ("organisations", "forums", "forum_members", "agreements", "opportunities", "candidates"):
        table = Base.metadata.tables[name]
        async with source.connect() as src:
            rows = [dict(r._mapping) for r in await src.execute(select(table))]
        if name != "candidates":
            async with target.begin() as dst:
                await dst.execute(insert(table), rows)
            continue
        columns = [c.name for c in table.columns]
        as_text = {c.name for c in table.columns if isinstance(c.type, JSON)}
        records = [tuple(json.dumps(r[c]) if c in as_text else r[c] for c in columns) for r in rows]
        conn = await asyncpg.connect(raw_dsn)
        try:
            await conn.copy_records_to_table(name, records=records, columns=columns)
            await conn.execute("ANALYZE")
        finally:
            await conn.close()


async def postgres_phase(sqlite_url: str, dsn: str) -> dict[str, Any]:
    try:
        probe = await asyncio.wait_for(asyncpg.connect(dsn), timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        return {"skipped": f"PostgreSQL at {dsn.split('@')[-1]} is not reachable ({type(exc).__name__})"}
    version = await probe.fetchval("SHOW server_version")
    await probe.close()
    async with fresh_postgres(dsn) as (url, raw_dsn):
        engine = create_engine(url)
        source = create_engine(sqlite_url)
        try:
            await migrate(engine, MIGRATIONS)
            started = time.perf_counter()
            await copy_tables(source, engine, raw_dsn)
            copy_s = time.perf_counter() - started
        finally:
            await source.dispose()
            await engine.dispose()
        first = await timed_recompute(url)
        second = await timed_recompute(url)
        split = await load_split(url)
        conn = await asyncpg.connect(raw_dsn)
        try:
            started = time.perf_counter()
            rows = await conn.fetch(candidate_sql(postgresql_dialect.dialect()))  # type: ignore[no-untyped-call]
            select_s = time.perf_counter() - started
            started = time.perf_counter()
            stored = await conn.fetch("SELECT opportunity_id, person_id, rank, score FROM shortlist_entries")
            stored_s = time.perf_counter() - started
            entries = [tuple(r) for r in stored]
            started = time.perf_counter()
            async with conn.transaction():
                await conn.execute("DELETE FROM shortlist_entries")
                await conn.executemany(
                    "INSERT INTO shortlist_entries (opportunity_id, person_id, rank, score) VALUES ($1, $2, $3, $4)",
                    entries,
                )
            write_s = time.perf_counter() - started
        finally:
            await conn.close()
    return {
        "version": version,
        "copy_s": copy_s,
        "first": first,
        "second": second,
        "load_split": split,
        "raw": {
            "select_s": select_s,
            "rows": len(rows),
            "stored_s": stored_s,
            "write_s": write_s,
            "entries": len(entries),
        },
    }


# --- (c) the service while the shortlists are recomputed ------------------------------------------------------

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
                    json.dumps(_skills(rng, skill_codes, skill_weights, rng.randint(0, 6))),
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


# --- the report -----------------------------------------------------------------------------------------------

PHASE_LABELS = {
    "stored": "read the stored shortlists' digests (`repository.shortlist_digests`, one per opportunity)",
    "load": "read the candidates (`repository.candidate_rows`: the keyset queries and `RawCandidate` rows)",
    "load_tx": "their short transactions (the rest of `service._candidate_rows`)",
    "pool": "columns (`matching.Pool.from_rows`, worker thread)",
    "rank": "rank every opportunity (`matching.evaluate` + `matching.top`, worker thread)",
    "rank_rest": "the rest of `service._rank_all` (distance vectors; entries as (`uuid.UUID`, rank, score) lists)",
    "write": "write the changed shortlists (`repository.replace_shortlists`)",
    "write_rest": "the rest of `service._write_changes` (comparing, entry rows, the write transactions and commits)",
    "other": "the rest (opportunities, criteria, agreements, the run's row, thread hand-offs)",
}
FLOOR_RUN = {"stored": "second", "write": "first"}  # the run where the phase does all its work (else run 2)
PHASE_SHORT = {
    "stored": "`shortlist_digests`",
    "load": "`candidate_rows`",
    "load_tx": "`_candidate_rows`",
    "pool": "`Pool.from_rows`",
    "rank": "`evaluate`/`top`",
    "rank_rest": "`_rank_all`",
    "write": "`replace_shortlists`",
    "write_rest": "`_write_changes`",
    "other": "none of the wrapped steps (opportunities, criteria, agreements, the run's row)",
}


def _stalls(first: dict[str, Any], second: dict[str, Any]) -> str:
    parts = []
    for n, run in ((1, first), (2, second)):
        st = run["stalls"]
        worst = ", ".join(
            f"{lag * 1000:.0f} ms in {PHASE_SHORT[phase]} (at +{at:.1f} s)" for lag, phase, at in st["worst"]
        )
        parts.append(f"run {n}: {st['count']}, {st['seconds']:.2f} s in all; the longest {worst or '—'}")
    return (
        f"Event-loop stalls over {STALL_S * 1000:.0f} ms while it ran (a task sleeping {STALL_TICK_S * 1000:.0f} ms "
        "in the same loop woke that late; in the service no request is answered meanwhile, "
        "`/health/live` included): " + "; ".join(parts) + "."
    )


def _split_rows(first: dict[str, Any], second: dict[str, Any], floors: dict[str, float]) -> list[str]:
    out = []
    runs = {"first": first, "second": second}
    for key, label in PHASE_LABELS.items():
        floor = ""
        if key in floors:
            run = FLOOR_RUN.get(key, "second")
            ratio = runs[run]["split"][key] / floors[key]
            floor = f"{floors[key]:.2f} s ({ratio:.1f}× run {1 if run == 'first' else 2})"
        a, b = first["split"][key], second["split"][key]
        out.append(
            f"| {label} | {a:.2f} s ({a / first['total_s']:.0%}) | {b:.2f} s ({b / second['total_s']:.0%}) | {floor} |"
        )
    out.append(f"| total | **{first['total_s']:.2f} s** | **{second['total_s']:.2f} s** | |")
    return out


def _run_rows(first: dict[str, Any], second: dict[str, Any], target: bool) -> list[str]:
    out = []
    for n, run, what in ((1, first, "no stored shortlists"), (2, second, "nothing changed")):
        c = run["counts"]
        met = ""
        if target:
            met = " < 60 s: " + ("met" if run["total_s"] < 60 else "**missed**")
        out.append(
            f"| {n} ({what}) | **{run['total_s']:.1f} s** | {c['written_opportunities']:,} | "
            f"{c['written_entries']:,} | {c['transactions']} ({c['queries']} candidate chunks, "
            f"{c['write_transactions']} writes) |{met} |"
        )
    return out


def _probe(stats: dict[str, Any] | None, *, at: bool = False) -> str:
    if not stats or "p50" not in stats:
        return "—"
    failed = f", {stats['failed']} failed" if stats["failed"] else ""
    when = f" (sent at +{stats['worst_at_s']:.1f} s)" if at else ""
    return f"{stats['count']} · {stats['p50']:.1f} · {stats['p99']:.1f} · **{stats['max']:.0f}**{when}{failed}"


def _round_rows(c: dict[str, Any]) -> list[str]:
    out = []
    for n, rnd in enumerate(c["rounds"], start=1):
        if rnd["name"] == "api+shortlists":
            trig = rnd["trigger"] or {}
            trigger = (
                "the forums' criteria changed over the API (women no longer a priority group); no recompute followed "
                f"in {c['idle_s']:.0f} s{' (**one did**)' if rnd['unprompted'] else ''}; then a coordinator's POST "
                f".../shortlists/recompute (answered in {trig.get('post_s', float('nan')):.1f} s)"
            )
        else:
            trigger = (
                f"{c['changes']:,} candidates' skills and hours changed; the refresh started "
                f"{rnd.get('wait_s', float('nan')):.1f} s later"
            )
        took = f"{rnd['run_s']:.1f} s" if "run_s" in rnd else f"none within {rnd['timed_out_s']:.0f} s"
        for i, kind in enumerate(rnd["kinds"]):
            during = rnd.get("during", {}).get(kind)
            over = f"{during['over_200']}" if during else "—"
            head = f"| {n} | {trigger} | {took} | {rnd['changed_shortlists']:,} " if i == 0 else "| | | | "
            label = "`GET /health/live`" if kind == "health" else "`GET .../shortlist?limit=50`"
            out.append(f"{head}| {label} | {_probe(rnd['idle'].get(kind))} | {_probe(during, at=True)} | {over} |")
    return out


def write_section(path: Path, machine: dict[str, str], r: dict[str, Any]) -> None:
    g, load, setup, a, raw, bs = r["generated"], r["load"], r["setup"], r["http"], r["raw"], r["by_step"]
    sq1, sq2, ls, pg, c = r["sqlite_first"], r["sqlite_second"], r["load_split"], r["postgres"], r["responsive"]
    # Making the rows arrays with numpy alone (Arrays.of: every row decoded) is slower than Pool.from_rows (each
    # distinct text decoded once), so it is shown beside it but is no floor of that step, nor in the sums.
    floors = {"stored": raw["stored_s"], "load": raw["select_s"], "rank": raw["rank_s"], "write": raw["write_s"]}
    floor_1 = raw["select_s"] + raw["rank_s"] + raw["write_s"]
    floor_2 = raw["stored_s"] + raw["select_s"] + raw["rank_s"]
    one, rs = raw["one"], raw["by_step"]
    met_a = "met" if a["http"]["p95"] < 200 else "**missed**"
    step_floor = {"load": rs["select_ms"], "rank": rs["rank_ms"]}
    lines = [
        START,
        "## Matching at scale (activation, issue 6)",
        "",
        f"Measured by `make bench` (`bench/matching.py`) on {r['date']}, on {machine['cpu']} ({machine['cores']} "
        f"cores, {machine['memory']}), {machine['os']}, Python {machine['python']}, SQLite {machine['sqlite']}; "
        f"whole benchmark {r['wall_s']:.0f} s; 1-minute load average {r['loadavg'][0]:.1f} at its start and "
        f"{r['loadavg'][1]:.1f} at its end (anything else running on the two cores shows in the figures).",
        "",
        f"**Data** (seed {r['seed']}, generated in {g['seconds']:.1f} s; dates relative to the day of the run): "
        f"{g['candidates']:,} candidates spread over the {g['municipalities']} units of "
        "`shared/reference/municipalities.csv`, weighted by kind as a stand-in for size (the list has no "
        "population): a city 4, a Belgrade city municipality 3, a municipality 1; sex F/M 50/50; ages 18–64 "
        "uniform; 0–6 skills of the 35 (the 9 commonest in community work drawn 3× as often); single parent 8%, "
        "Roma 10%, disability 7%, without documents 2%; unemployed 75%, informal work 14%, inactive 8%, in "
        "education 3% (off every list); unemployed since a date for "
        f"{g['with_since']:.0%} (exponential, mean 20 months: {g['long_term']:.0%} of all a year or more); hours "
        "from 4–20 up to 14–40 a week; available from 90 days ago to 45 days ahead. "
        f"{g['agreements']} inter-municipal agreements (`AgreementChangedV1`): each municipality with its "
        f"{r['neighbours']} nearest seats, {g['work_agreements']} covering `work_engagement`, the rest other "
        f"services only; a municipality reaches {g['reach_mean']:.1f} municipalities on average (max "
        f"{g['reach_max']}). {g['forums']} forums, one per district, with default criteria; {g['organisations']} "
        "organisations (1 per municipality, 2 per Belgrade city municipality, 3 per city), each a member of its "
        f"district's forum; {g['opportunities']:,} opportunities spread like the candidates, 0–3 required and 0–3 "
        "preferred skills, 4–20 up to 4–40 hours, 30% accessible, starting within 60 days.",
        "",
        f"**Loading.** The agreements and the first {load['sample']:,} candidates went through activation's real "
        f"consumer path (decode, ledger, `candidates.candidate_requested`, one transaction per batch of "
        f"{r['batch']}): {load['sample'] / load['handler_s']:,.0f} candidates/s. The other {load['bulk']:,} were "
        "inserted directly into `candidates` (SQLAlchemy Core, 5,000 rows per statement) with the column values "
        "that handler writes, checked equal to the handler's own rows on the sample: "
        f"{load['bulk'] / load['bulk_s']:,.0f} rows/s. Forums, organisations and opportunities went through the "
        f"API ({setup['seconds']:.1f} s): the activation service ran as `oslonac serve activation` (uvicorn) on "
        "127.0.0.1 with its SQLite database, without a broker (consumer and relay off) and, for (a), without the "
        "background shortlist refresh, which would otherwise recompute in the middle of the measurement; (c) "
        f"starts it again with the refresh every {c['refresh_s']:g} s.",
        "",
        "### (a) One opportunity's ranked top 50, live",
        "",
        f"`GET /activation/api/opportunities/{{id}}/shortlist?limit=50` for {a['requests']} random opportunities "
        f"(after {a['warmup']} unmeasured), one at a time, each as a case worker of the opportunity's municipality, "
        "over HTTP with keep-alive. HTTP is the client's time from sending the request to its parsed answer; "
        "service is the answer's `computed_in_ms` (`service.shortlist`, from loading the opportunity to the "
        "explained matches).",
        "",
        "| measure | p50 | p95 | p99 | max | mean | target |",
        "|---|---|---|---|---|---|---|",
        f"| HTTP | {a['http']['p50']:.0f} ms | **{a['http']['p95']:.0f} ms** | {a['http']['p99']:.0f} ms "
        f"| {a['http']['max']:.0f} ms | {a['http']['mean']:.0f} ms | p95 < 200 ms: {met_a} |",
        f"| service (`computed_in_ms`) | {a['service']['p50']:.0f} ms | {a['service']['p95']:.0f} ms "
        f"| {a['service']['p99']:.0f} ms | {a['service']['max']:.0f} ms | {a['service']['mean']:.0f} ms | |",
        "| raw floor: the reachable candidates' rows read with sqlite3 (the service's own statement), ranked "
        f"with numpy on arrays already in memory | {one['p50']:.1f} ms "
        f"| {one['p95']:.1f} ms | {one['p99']:.1f} ms | {one['max']:.1f} ms | {one['mean']:.1f} ms | |",
        f"| eligible candidates per opportunity | {a['eligible']['p50']:,.0f} | {a['eligible']['p95']:,.0f} "
        f"| {a['eligible']['p99']:,.0f} | {a['eligible']['max']:,.0f} | {a['eligible']['mean']:,.0f} | |",
        "",
        f"**Ratio HTTP/raw: {a['http']['p50'] / one['p50']:.1f}× at p50, {a['http']['p95'] / one['p95']:.1f}× at "
        f"p95.** The floor keeps the arrays in memory; the service builds them per request (`Pool.from_rows`, "
        f"below; the same rows made arrays with numpy alone, decoding every row, took {rs['arrays_ms']:.1f} ms on "
        f"average, so that is no floor for the step). {a['short']} of the "
        f"opportunities had fewer than 50 eligible. Peak RSS of the service process: {a['rss_mib']:.0f} MiB.",
        "",
        f"Where the time goes: `service.shortlist` for the first {bs['count']} of those opportunities again, in the "
        "benchmark's process on the same file, timed by step (each step its own time; mean per shortlist; "
        f"{bs['rows'] / bs['count']:,.0f} candidate rows loaded per shortlist on average), with the same step "
        f"done by sqlite3 and numpy alone for the same {rs['count']} opportunities:",
        "",
        "| step | mean | share | raw floor (ratio) |",
        "|---|---|---|---|",
        *[
            f"| {label} | {bs['split'][key] / bs['count'] * 1000:.1f} ms | {bs['split'][key] / bs['total_s']:.0%} | "
            + (
                f"{step_floor[key]:.1f} ms ({bs['split'][key] / bs['count'] * 1000 / step_floor[key]:.1f}×)"
                if key in step_floor and step_floor[key] > 0
                else ""
            )
            + " |"
            for key, label in (
                ("load", "read the reachable candidates (`repository.candidate_pool`: query, `RawCandidate` rows)"),
                ("pool", "columns (`matching.Pool.from_rows`)"),
                ("rank", "rank (`matching.evaluate` + `matching.top`)"),
                ("explain", "explain the top 50 (`matching.explain`: the domain candidate built, eligibility, score)"),
                (
                    "other",
                    "the rest (opportunity, criteria, agreements and the municipalities reached, the 50 rows, "
                    "placements)",
                ),
            )
        ],
        f"| total | {bs['total_s'] / bs['count'] * 1000:.1f} ms | | |",
        "",
        f"Reading costs {bs['split']['load'] / bs['rows'] * 1e6:.1f} µs per candidate row and the columns "
        f"{bs['split']['pool'] / bs['rows'] * 1e6:.1f} µs; the sqlite3 floor reads the same rows at "
        f"{raw['select_s'] / raw['rows'] * 1e6:.1f} µs per row.",
        "",
        "### (b) Every shortlist recomputed",
        "",
        f"`service.recompute_shortlists(sessions)` over all {sq1['opportunities']:,} published opportunities and "
        f"{sq1['candidates']:,} candidates, in the benchmark's process with production's engine and sessionmaker "
        "(SQLite, WAL), as the refresh and the API call it: the candidates read in keyset chunks of "
        f"{service.READ_CHUNK:,}, each in its own transaction; columns and ranking in a worker thread outside any "
        f"transaction; only the changed shortlists written, about {service.WRITE_CHUNK:,} entries per transaction. "
        "Timed by wrapping the functions it calls, each phase its own time (a step inside another taken out of "
        "it). Run 1 found no stored shortlists and wrote them all; run 2 found nothing changed and wrote nothing "
        "(the refresh's steady state).",
        "",
        "| run | total | shortlists written | entries written | transactions | target |",
        "|---|---|---|---|---|---|",
        *_run_rows(sq1, sq2, True),
        "",
        "By phase (share of the run's total), with the raw floor of the same step where there is one (against "
        "run 1 for writing, run 2 for the rest):",
        "",
        "| phase | run 1 | run 2 | raw floor (ratio) |",
        "|---|---|---|---|",
        *_split_rows(sq1, sq2, floors),
        "",
        _stalls(sq1, sq2),
        "",
        f"Every candidate in one query, as `candidate_pool` reads them, measured again after the runs: the query "
        f"with SQLAlchemy's rows {ls['query_s']:.2f} s, `RawCandidate` tuples {ls['tuples_s']:.2f} s, "
        f"`Pool.from_rows` {ls['pool_s']:.2f} s ({ls['rows']:,} rows); run 2's keyset chunks took "
        f"{sq2['split']['load'] + sq2['split']['load_tx']:.2f} s for the same rows.",
        "",
        "The raw floor, in the same run on the same file: the service's own candidate statement run with the "
        f"`sqlite3` module alone ({raw['rows']:,} rows, {raw['select_s']:.2f} s); those rows made numpy arrays "
        f"({raw['arrays_s']:.2f} s) and every shortlist ranked with numpy alone (the same rule, ties to the smaller "
        f"person id: {raw['rank_s']:.2f} s), the result "
        f"{'identical to' if raw['same_as_service'] else '**different from**'} the {raw['entries']:,} entries the "
        f"service stored; the stored entries read ({raw['stored']:,} rows, {raw['stored_s']:.2f} s); the entries "
        f"deleted and written again with `executemany` in one transaction ({raw['write_s']:.2f} s). Making the rows "
        f"arrays decodes every row's texts, which `Pool.from_rows` does once per distinct text, so it is no floor "
        f"for the columns and is left out of the sums. **Ratio service/raw: {sq1['total_s'] / floor_1:.1f}× for "
        f"run 1** (over read, rank and write: {floor_1:.2f} s), **{sq2['total_s'] / floor_2:.1f}× for run 2** "
        f"(over reading the stored entries, read and rank: {floor_2:.2f} s).",
        "",
    ]
    if "skipped" in pg:
        lines += ["### (b) on PostgreSQL", "", f"Skipped: {pg['skipped']}.", ""]
    else:
        p1, p2, praw, pls = pg["first"], pg["second"], pg["raw"], pg["load_split"]
        lines += [
            "### (b) on PostgreSQL",
            "",
            f"PostgreSQL {pg['version']} at 127.0.0.1:5432 on the same machine, in a fresh database (dropped "
            "afterwards) migrated with activation's migrations, holding the SQLite database's rows copied table by "
            f"table through SQLAlchemy's types (candidates with COPY; {pg['copy_s']:.1f} s) and then `ANALYZE`d. "
            "Same call, same process (asyncpg).",
            "",
            "| run | total | shortlists written | entries written | transactions | target |",
            "|---|---|---|---|---|---|",
            *_run_rows(p1, p2, True),
            "",
            "| phase | run 1 | run 2 | raw floor (ratio) |",
            "|---|---|---|---|",
            *_split_rows(p1, p2, {"stored": praw["stored_s"], "load": praw["select_s"], "write": praw["write_s"]}),
            "",
            _stalls(p1, p2),
            "",
            f"Every candidate in one query: the query {pls['query_s']:.2f} s, `RawCandidate` tuples "
            f"{pls['tuples_s']:.2f} s, `Pool.from_rows` {pls['pool_s']:.2f} s. Raw floors: the service's candidate "
            f"statement with asyncpg alone ({praw['rows']:,} rows, {praw['select_s']:.2f} s); the stored entries "
            f"fetched with asyncpg ({praw['stored_s']:.2f} s); the entries deleted and inserted again with asyncpg's "
            f"`executemany` in one transaction ({praw['write_s']:.2f} s).",
            "",
        ]
    lines += [
        "### (c) The service while the shortlists are recomputed",
        "",
        f"`oslonac serve activation` again on the same SQLite file, now with `OSLONAC_SHORTLIST_REFRESH_S="
        f"{c['refresh_s']:g}` (1-minute load average {c['loadavg']:.1f} at its start). Each round: five unmeasured "
        "requests of each kind, then probes every 50 ms, each kind on its own keep-alive connection, one at a time "
        "(the next at once when one took longer): `GET /activation/health/live` (no database: it waits only for "
        "the event loop), and in rounds 2 and 3 also a case worker's `GET .../shortlist?limit=50` of the (a) "
        f"opportunities in turn. First {c['idle_s']:.0f} s idle (nothing stale; the refresh still checks every "
        f"{c['refresh_s']:g} s), then the trigger, until the recompute's `matching_runs` row is there. *During* "
        "counts the probes whose request overlapped that row's started–finished interval. Cells: probes · p50 · "
        "p99 · max, in ms (HTTP, from sending to the parsed answer; for the slowest during, when it was sent from the "
        "recompute's start).",
        "",
        "| round | trigger | recompute | shortlists rewritten | probe | idle | during | during > 200 ms |",
        "|---|---|---|---|---|---|---|---|",
        *_round_rows(c),
        "",
        f"Peak RSS of that service process: {c['rss_mib']:.0f} MiB.",
        "",
        END,
    ]
    replace_section(path, START, END, "\n".join(lines))


# --- main -----------------------------------------------------------------------------------------------------


def describe_data(data: Data, seconds: float) -> dict[str, Any]:
    on = date.today()
    with_since = [c for c in data.candidates if c.unemployed_since is not None]
    long_term = sum(
        1
        for c in with_since
        if c.unemployed_since is not None
        and (on.year - c.unemployed_since.year) * 12 + on.month - c.unemployed_since.month >= 12
    )
    reach = [len(r) for r in data.reach.values()]
    return {
        "seconds": seconds,
        "candidates": len(data.candidates),
        "municipalities": len(data.reach),
        "with_since": len(with_since) / len(data.candidates),
        "long_term": long_term / len(data.candidates),
        "agreements": len(data.agreements),
        "work_agreements": sum(1 for a in data.agreements if "work_engagement" in a.service_types),
        "reach_mean": statistics.fmean(reach),
        "reach_max": max(reach),
        "forums": len(data.forums),
        "organisations": len(data.organisations),
        "opportunities": len(data.opportunities),
    }


def step(message: str, started: float) -> None:
    print(f"[{time.perf_counter() - started:6.1f} s] {message}", flush=True)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    wall = time.perf_counter()
    load_before = os.getloadavg()[0]
    data_dir = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="oslonac-bench-matching-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    db_path = data_dir / "activation.db"
    url = f"sqlite+aiosqlite:///{db_path.resolve()}"
    started = time.perf_counter()
    data = generate(
        candidates=args.candidates, opportunities=args.opportunities, neighbours=args.neighbours, seed=args.seed
    )
    generated = describe_data(data, time.perf_counter() - started)
    step(f"generated {len(data.candidates):,} candidates, {len(data.opportunities):,} opportunities", wall)
    await asyncio.to_thread(migrate_sync, url, MIGRATIONS)
    private_path, public_path = generate_keypair(data_dir / "keys")
    sample = min(args.handler_sample, args.candidates)
    load = await load_events(data_dir, public_path, data, sample=sample, batch=args.batch)
    step(f"loaded: {json.dumps(load)}", wall)
    data.candidates.clear()  # this process then holds about what the service's does (collections walk the heap)
    gc.collect()
    tokens = Tokens(private_path.read_text())
    server = await asyncio.to_thread(start_server, data_dir, public_path)
    try:
        step(f"activation up on 127.0.0.1:{server.port} (pid {server.process.pid})", wall)
        setup = await set_up_over_api(server, data, tokens, concurrency=args.concurrency)
        forum_ids = setup.pop("forum_ids")
        step(f"forums, organisations, opportunities through the API in {setup['seconds']:.1f} s", wall)
        http = await shortlists_over_http(
            server, data, tokens, requests=args.requests, warmup=args.warmup, max_s=args.max_request_s, seed=args.seed
        )
        step(
            f"(a) {http['requests']} shortlists: {json.dumps({k: http[k] for k in ('http', 'service', 'eligible')})}",
            wall,
        )
    finally:
        await asyncio.to_thread(server.stop)
    sampled = http.pop("opportunities")
    by_step = await shortlist_split(url, sampled[: args.split_requests])
    step(f"(a) by step: {json.dumps(by_step)}", wall)
    first = await timed_recompute(url)
    step(f"(b) run 1: {first['total_s']:.1f} s, {json.dumps(first['split'])}, {json.dumps(first['counts'])}", wall)
    second = await timed_recompute(url)
    step(f"(b) run 2: {second['total_s']:.1f} s, {json.dumps(second['split'])}, {json.dumps(second['counts'])}", wall)
    split = await load_split(url)
    step(f"load in one query: {json.dumps(split)}", wall)
    raw = await asyncio.to_thread(raw_sqlite, db_path, data, sampled, 50, by_step=args.split_requests)
    step(f"raw: {json.dumps({k: v for k, v in raw.items() if k != 'one'})}", wall)
    if not raw["same_as_service"]:
        print("WARNING: the numpy floor's entries differ from the service's", flush=True)
    if args.no_postgres:
        pg: dict[str, Any] = {"skipped": "--no-postgres was given"}
    else:
        pg = await postgres_phase(url, args.pg_dsn)
        step(f"postgres: {json.dumps(pg, default=str)[:1500]}", wall)
    server = await asyncio.to_thread(start_server, data_dir, public_path, refresh_s=args.refresh_s)
    try:
        step(f"activation up again with the refresh every {args.refresh_s:g} s (pid {server.process.pid})", wall)
        responsive = await responsiveness(
            server,
            db_path,
            data,
            tokens,
            sampled,
            forum_ids,
            refresh_s=args.refresh_s,
            changes=args.changes,
            idle_s=args.idle_s,
            max_s=args.max_recompute_s,
            seed=args.seed,
        )
    finally:
        await asyncio.to_thread(server.stop)
    for rnd in responsive["rounds"]:
        step(f"(c) {json.dumps(rnd, default=str)}", wall)
    return {
        "date": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "seed": args.seed,
        "neighbours": args.neighbours,
        "batch": args.batch,
        "generated": generated,
        "load": load,
        "setup": setup,
        "http": http,
        "by_step": by_step,
        "sqlite_first": first,
        "sqlite_second": second,
        "load_split": split,
        "raw": raw,
        "postgres": pg,
        "responsive": responsive,
        "wall_s": time.perf_counter() - wall,
        "loadavg": (load_before, os.getloadavg()[0]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--candidates", type=int, default=100_000)
    parser.add_argument("--opportunities", type=int, default=2_000)
    parser.add_argument("--neighbours", type=int, default=3, help="nearest municipalities in each agreement")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--handler-sample", type=int, default=2_000, help="candidates through the consumer path")
    parser.add_argument("--batch", type=int, default=500, help="events per consumer batch")
    parser.add_argument("--concurrency", type=int, default=4, help="clients publishing the opportunities")
    parser.add_argument("--requests", type=int, default=300, help="shortlists measured in (a)")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--split-requests", type=int, default=60, help="shortlists timed by step in-process")
    parser.add_argument("--max-request-s", type=float, default=90.0, help="time bound of (a)")
    parser.add_argument("--refresh-s", type=float, default=2.0, help="the background refresh's interval in (c)")
    parser.add_argument("--changes", type=int, default=1_000, help="candidates changed to make (c)'s shortlists stale")
    parser.add_argument("--idle-s", type=float, default=5.0, help="(c)'s idle probing per round")
    parser.add_argument("--max-recompute-s", type=float, default=120.0, help="time bound of each (c) recompute")
    parser.add_argument("--pg-dsn", default=os.environ.get("OSLONAC_TEST_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--data-dir", help="keep the database here (default: a new temporary folder)")
    parser.add_argument("--report", default="docs/benchmarks.md")
    parser.add_argument("--no-report", action="store_true", help="print the figures only")
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    if not args.no_report:
        write_section(Path(args.report), describe(), results)
    a, s2 = results["http"], results["sqlite_second"]
    probes = []
    for rnd in results["responsive"]["rounds"]:
        for kind, during in rnd.get("during", {}).items():
            idle = rnd["idle"].get(kind) or {}
            if during and "max" in during:
                probes.append(f"{rnd['name']} {kind} max {idle.get('max', float('nan')):.0f} → {during['max']:.0f} ms")
    print(
        f"\n(a) shortlist p50 {a['http']['p50']:.0f} ms · p95 {a['http']['p95']:.0f} ms · "
        f"p99 {a['http']['p99']:.0f} ms "
        f"(service p95 {a['service']['p95']:.0f} ms, eligible mean {a['eligible']['mean']:,.0f}) · "
        f"(b) recompute {results['sqlite_first']['total_s']:.1f} s / {s2['total_s']:.1f} s, {s2['entries']:,} entries"
        f"\n(c) idle → during: {'; '.join(probes)}" + ("" if args.no_report else f"\nwritten to {args.report}")
    )


if __name__ == "__main__":
    main()
