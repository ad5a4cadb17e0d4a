"""`make bench`, third part: activation's matching at issue 6's scale, against the raw limit measured in the same run.

Builds 100,000 candidates and 2,000 opportunities (seeded, so the same every run on a given day: ages, unemployment
and start dates are relative to today), on the embedded default (SQLite, WAL):

* agreements (cases' AgreementChangedV1) and a sample of the candidates (cases' ActivationRequestedV1) go through
  activation's real consumer path (decode, ledger, handler, one transaction per batch); the rest of the candidates
  are bulk-inserted with the column values that handler writes (checked equal on the sample);
* organisations, forums (one per district) and opportunities go through the real API of the activation service,
  started as `oslonac serve activation` (uvicorn) on 127.0.0.1 on a free port.

Then (a) GET .../opportunities/{id}/shortlist?limit=50 for random opportunities over HTTP, one at a time, and
(b) ``service.recompute_shortlists`` over all opportunities in one transaction, in this process, timed by phase.
The raw limit of the same run: the candidate rows read with the sqlite3 module alone, the same ranking done with
numpy alone on arrays already in memory (its result checked equal to the service's), the same entries written with
executemany. (b) runs on PostgreSQL too when 127.0.0.1:5432 answers, in a fresh database dropped afterwards.
Results replace this benchmark's own section of docs/benchmarks.md.
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
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
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
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.http import KeepAliveConnection
from bench.machine import describe, peak_rss_mib
from services.activation import matching, repository, service
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
        consumer = runtime.consumer
        assert consumer is not None
        outcomes = await consumer.process_batch([record_of(a) for a in data.agreements])
        started = time.perf_counter()
        for i in range(0, sample, batch):
            outcomes += await consumer.process_batch(
                [record_of(e) for e in data.candidates[i : min(sample, i + batch)]]
            )
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


def start_server(data_dir: Path, public_key: Path, *, timeout_s: float = 60) -> Server:
    """`oslonac serve activation` as production runs it, on 127.0.0.1; no broker (consumer and relay off) and no
    background shortlist refresh (it would recompute in the middle of the measurement)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OSLONAC_")}
    env.update(
        {
            "OSLONAC_ENV": "development",
            "OSLONAC_DATA_DIR": str(data_dir),
            "OSLONAC_KAFKA_BOOTSTRAP_SERVERS": OFFLINE.bootstrap_servers,
            "OSLONAC_RUN_CONSUMER": "false",
            "OSLONAC_RUN_RELAY": "false",
            "OSLONAC_SHORTLIST_REFRESH_S": "0",
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
    return {"forums": len(forum_ids), "seconds": time.perf_counter() - started}


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


@dataclass
class Phases:
    """Time the steps a service function calls, by wrapping them where it looks them up (module attributes)."""

    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    rows: int = 0

    @contextmanager
    def patched(self, targets: Sequence[tuple[Any, str, str]]) -> Iterator[None]:
        originals: list[tuple[Any, str, Any]] = []
        for owner, name, phase in targets:
            original = getattr(owner, name)
            originals.append((owner, name, owner.__dict__[name]))
            setattr(owner, name, self._timed(original, phase, owner is matching.Pool))
        try:
            yield
        finally:
            for owner, name, original in reversed(originals):
                setattr(owner, name, original)

    def _timed(self, original: Callable[..., Any], phase: str, static: bool) -> Any:
        if asyncio.iscoroutinefunction(original):

            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    result = await original(*args, **kwargs)
                    if phase == "load":
                        self.rows += len(result)
                    return result
                finally:
                    self.seconds[phase] += time.perf_counter() - started

            return timed_async

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[phase] += time.perf_counter() - started

        return staticmethod(timed) if static else timed


RECOMPUTE_STEPS = (
    (repository, "matchable_candidates", "load"),
    (matching.Pool, "of", "pool"),
    (matching, "evaluate", "rank"),
    (matching, "top", "rank"),
    (repository, "replace_shortlists", "write"),
)
SHORTLIST_STEPS = (
    (repository, "matchable_candidates", "load"),
    (matching.Pool, "of", "pool"),
    (matching, "rank", "rank"),
)


async def timed_recompute(url: str) -> dict[str, Any]:
    engine = create_engine(url)
    phases = Phases()
    try:
        with phases.patched(RECOMPUTE_STEPS):
            started = time.perf_counter()
            async with unit_of_work(session_factory(engine)) as session:
                run = await service.recompute_shortlists(session)
                body_done = time.perf_counter()
            total = time.perf_counter() - started
    finally:
        await engine.dispose()
    split = dict(phases.seconds)
    split["commit"] = total - (body_done - started)
    split["other"] = total - sum(split.values())
    return {
        "total_s": total,
        "entries": run.entries,
        "candidates": run.candidates,
        "opportunities": run.opportunities,
        "split": split,
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
    split = dict(phases.seconds)
    split["other"] = total - sum(split.values())
    return {"count": len(sampled), "total_s": total, "split": split, "rows": phases.rows}


async def load_split(url: str) -> dict[str, float]:
    """The load phase in two: the query with SQLAlchemy's rows, then making them the domain's candidates."""
    engine = create_engine(url)
    try:
        async with unit_of_work(session_factory(engine)) as session:
            started = time.perf_counter()
            stmt = select(*repository._POOL_COLUMNS).where(Candidate.active.is_(True))
            rows = (await session.execute(stmt)).all()
            fetched = time.perf_counter()
            candidates = [repository.as_domain(r) for r in rows]
            converted = time.perf_counter()
            matching.Pool.of(candidates)
            pooled = time.perf_counter()
    finally:
        await engine.dispose()
    return {"query_s": fetched - started, "as_domain_s": converted - fetched, "pool_s": pooled - converted}


# --- the raw limit --------------------------------------------------------------------------------------------

RAW_COLUMNS = (
    "person_id, municipality_code, sex, birth_year, able_to_work, employment_status, skills, markers, "
    "hours_min, hours_max, available_from, unemployed_since, placed"
)
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


def raw_sqlite(db_path: Path, data: Data, sampled: list[dict[str, Any]], size: int) -> dict[str, Any]:
    """The floor of each step: rows read with sqlite3 alone, ranked with numpy alone, entries written with
    executemany (delete and insert in one transaction, with production's pragmas); checked against the service."""
    db = sqlite3.connect(db_path, isolation_level=None)
    try:
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "mmap_size=268435456"):
            db.execute(f"PRAGMA {pragma}")
        started = time.perf_counter()
        rows = db.execute(f"SELECT {RAW_COLUMNS} FROM candidates WHERE active = 1").fetchall()  # noqa: S608
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
        stored = db.execute("SELECT opportunity_id, person_id, rank, score FROM shortlist_entries").fetchall()
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
        # One opportunity's floor: its reachable candidates' rows read, then ranked (arrays already in memory).
        one_ms = []
        for offer in sampled:
            reach = sorted(data.reach[offer["municipality_code"]])
            marks = ", ".join("?" * len(reach))
            started = time.perf_counter()
            db.execute(
                f"SELECT {RAW_COLUMNS} FROM candidates WHERE active = 1 AND municipality_code IN ({marks})",  # noqa: S608
                reach,
            ).fetchall()
            raw_rank(arrays, offer, data.reach[offer["municipality_code"]], on, 50)
            one_ms.append((time.perf_counter() - started) * 1000)
    finally:
        db.close()
    return {
        "select_s": select_s,
        "rows": len(rows),
        "arrays_s": arrays_s,
        "rank_s": rank_s,
        "write_s": write_s,
        "entries": len(entries),
        "same_as_service": same,
        "one": percentiles(one_ms) if one_ms else None,
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
            rows = await conn.fetch(f"SELECT {RAW_COLUMNS} FROM candidates WHERE active")  # noqa: S608
            select_s = time.perf_counter() - started
            entries = [
                tuple(r)
                for r in await conn.fetch("SELECT opportunity_id, person_id, rank, score FROM shortlist_entries")
            ]
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
        "raw": {"select_s": select_s, "rows": len(rows), "write_s": write_s, "entries": len(entries)},
    }


# --- the report -----------------------------------------------------------------------------------------------


def _split_rows(run: dict[str, Any], raw: dict[str, float] | None) -> list[str]:
    s = run["split"]
    names = {
        "load": "load the candidates (`repository.matchable_candidates`: query and `as_domain`)",
        "pool": "columns (`matching.Pool.of`)",
        "rank": "rank every opportunity (`matching.evaluate` + `matching.top`)",
        "write": "write the entries (`repository.replace_shortlists`)",
        "commit": "commit",
        "other": "the rest (opportunities, forums, agreements, distance vectors, entry dicts, the run's row)",
    }
    out = []
    for key, label in names.items():
        floor = ""
        if raw and key in raw:
            floor = f"{raw[key]:.2f} s ({s[key] / raw[key]:.1f}×)"
        out.append(f"| {label} | {s[key]:.2f} s | {s[key] / run['total_s']:.0%} | {floor} |")
    return out


def write_section(path: Path, machine: dict[str, str], r: dict[str, Any]) -> None:
    g, load, setup, a, raw, bs = r["generated"], r["load"], r["setup"], r["http"], r["raw"], r["by_step"]
    sq1, sq2, ls, pg = r["sqlite_first"], r["sqlite_second"], r["load_split"], r["postgres"]
    raw_total = raw["select_s"] + raw["rank_s"] + raw["write_s"]
    floors = {"load": raw["select_s"], "rank": raw["rank_s"], "write": raw["write_s"]}
    one = raw["one"]
    met_a = "met" if a["http"]["p95"] < 200 else "**missed**"
    met_b = "met" if sq2["total_s"] < 60 and sq1["total_s"] < 60 else "**missed**"
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
        "127.0.0.1 with its SQLite database, without a broker (consumer and relay off) and without the background "
        "shortlist refresh, which would otherwise recompute in the middle of the measurement.",
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
        f"| raw floor: the reachable candidates' rows read with sqlite3, ranked with numpy on arrays in memory "
        f"| {one['p50']:.1f} ms "
        f"| {one['p95']:.1f} ms | {one['p99']:.1f} ms | {one['max']:.1f} ms | {one['mean']:.1f} ms | |",
        f"| eligible candidates per opportunity | {a['eligible']['p50']:,.0f} | {a['eligible']['p95']:,.0f} "
        f"| {a['eligible']['p99']:,.0f} | {a['eligible']['max']:,.0f} | {a['eligible']['mean']:,.0f} | |",
        "",
        f"**Ratio HTTP/raw: {a['http']['p50'] / one['p50']:.1f}× at p50, {a['http']['p95'] / one['p95']:.1f}× at "
        f"p95.** (Building those arrays from the rows would add {raw['arrays_s'] / raw['rows'] * 1e6:.1f} µs per row; "
        f"see (b).) {a['short']} of the opportunities had fewer than 50 eligible. Peak RSS of the service process: "
        f"{a['rss_mib']:.0f} MiB.",
        "",
        f"Where the time goes: `service.shortlist` for the first {bs['count']} of those opportunities again, in the "
        "benchmark's process on the same file, timed by step (mean per shortlist; "
        f"{bs['rows'] / bs['count']:,.0f} candidate rows loaded per shortlist on average):",
        "",
        "| step | mean | share |",
        "|---|---|---|",
        *[
            f"| {label} | {bs['split'][key] / bs['count'] * 1000:.1f} ms | {bs['split'][key] / bs['total_s']:.0%} |"
            for key, label in (
                ("load", "load the reachable candidates (`repository.matchable_candidates`: query and `as_domain`)"),
                ("pool", "columns (`matching.Pool.of`)"),
                ("rank", "rank and explain the top 50 (`matching.rank`)"),
                ("other", "the rest (opportunity, criteria, agreements, the 50 rows, placements)"),
            )
        ],
        f"| total | {bs['total_s'] / bs['count'] * 1000:.1f} ms | |",
        "",
        f"Loading costs {bs['split']['load'] / bs['rows'] * 1e6:.0f} µs per candidate row; the sqlite3 floor above "
        f"reads the same rows at {raw['select_s'] / raw['rows'] * 1e6:.1f} µs per row.",
        "",
        "### (b) Every shortlist recomputed",
        "",
        f"`service.recompute_shortlists` over all {sq1['opportunities']:,} published opportunities and "
        f"{sq1['candidates']:,} candidates in one transaction, in the benchmark's process with production's "
        "engine (SQLite, WAL), timed by wrapping the functions it calls. Run 1 found the stored shortlists empty; "
        "run 2 replaced run 1's (the steady state).",
        "",
        "| run | total | entries written | target |",
        "|---|---|---|---|",
        f"| 1 (empty table) | **{sq1['total_s']:.1f} s** | {sq1['entries']:,} | < 60 s: {met_b} |",
        f"| 2 (replacing) | **{sq2['total_s']:.1f} s** | {sq2['entries']:,} | < 60 s |",
        "",
        "Run 2 by phase, with the raw floor of the same step where there is one:",
        "",
        "| phase | time | share | raw floor (ratio) |",
        "|---|---|---|---|",
        *_split_rows(sq2, floors),
        "",
        f"The load alone, measured again after the runs: the query with SQLAlchemy's rows {ls['query_s']:.2f} s, "
        f"`as_domain` for every row {ls['as_domain_s']:.2f} s, `Pool.of` {ls['pool_s']:.2f} s.",
        "",
        "The raw floor, in the same run on the same file: every active candidate's 13 pool columns read with the "
        f"`sqlite3` module alone ({raw['rows']:,} rows, {raw['select_s']:.2f} s); the same {raw['entries']:,} "
        "entries ranked with numpy alone on arrays already in memory (the same rule, ties to the smaller person "
        f"id; building the arrays from the rows took {raw['arrays_s']:.2f} s more), and the result "
        f"{'identical to' if raw['same_as_service'] else '**different from**'} the entries the service stored "
        f"({raw['rank_s']:.2f} s); the entries deleted and written again with `executemany` in one transaction "
        f"({raw['write_s']:.2f} s). **Ratio service/raw: {sq2['total_s'] / raw_total:.1f}×** (run 2's total "
        f"over the three floors' sum, {raw_total:.2f} s).",
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
            "| run | total | entries written |",
            "|---|---|---|",
            f"| 1 (empty table) | **{p1['total_s']:.1f} s** | {p1['entries']:,} |",
            f"| 2 (replacing) | **{p2['total_s']:.1f} s** | {p2['entries']:,} |",
            "",
            "| phase | time | share | raw floor (ratio) |",
            "|---|---|---|---|",
            *_split_rows(p2, {"load": praw["select_s"], "write": praw["write_s"]}),
            "",
            f"Load alone: the query {pls['query_s']:.2f} s, `as_domain` {pls['as_domain_s']:.2f} s, `Pool.of` "
            f"{pls['pool_s']:.2f} s. Raw floors: the same columns fetched with asyncpg alone ({praw['rows']:,} rows, "
            f"{praw['select_s']:.2f} s); the entries deleted and inserted again with asyncpg's `executemany` in one "
            f"transaction ({praw['write_s']:.2f} s).",
            "",
        ]
    lines.append(END)
    section = "\n".join(lines)
    text_ = path.read_text() if path.exists() else "# Benchmarks\n"
    if START in text_ and END in text_:
        before, rest = text_.split(START, 1)
        text_ = before + section + rest.split(END, 1)[1]
    else:
        text_ = text_.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text_)


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
    step(f"(b) run 1: {first['total_s']:.1f} s, {json.dumps(first['split'])}", wall)
    second = await timed_recompute(url)
    step(f"(b) run 2: {second['total_s']:.1f} s, {json.dumps(second['split'])}", wall)
    split = await load_split(url)
    raw = await asyncio.to_thread(raw_sqlite, db_path, data, sampled, 50)
    step(f"raw: {json.dumps({k: v for k, v in raw.items() if k != 'one'})}", wall)
    if not raw["same_as_service"]:
        print("WARNING: the numpy floor's entries differ from the service's", flush=True)
    if args.no_postgres:
        pg: dict[str, Any] = {"skipped": "--no-postgres was given"}
    else:
        pg = await postgres_phase(url, args.pg_dsn)
        step(f"postgres: {json.dumps(pg, default=str)[:600]}", wall)
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
    print(
        f"\n(a) shortlist p50 {a['http']['p50']:.0f} ms · p95 {a['http']['p95']:.0f} ms · "
        f"p99 {a['http']['p99']:.0f} ms "
        f"(service p95 {a['service']['p95']:.0f} ms, eligible mean {a['eligible']['mean']:,.0f}) · "
        f"(b) recompute {results['sqlite_first']['total_s']:.1f} s / {s2['total_s']:.1f} s, {s2['entries']:,} entries"
        + ("" if args.no_report else f"\nwritten to {args.report}")
    )


if __name__ == "__main__":
    main()
