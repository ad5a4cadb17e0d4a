"""The matching bench's data: candidates, agreements, forums, organisations and opportunities (seeded), and
their loading: agreements and a sample through activation's consumer path, the rest as the handler's rows."""

from __future__ import annotations

import itertools
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka.structs import ConsumerRecord
from sqlalchemy import Table, insert, select

from services.activation.app import create_app
from services.activation.candidates import candidate_profile
from services.activation.models import Candidate
from shared.context import new_id
from shared.db import utcnow
from shared.events import ActivationRequestedV1, AgreementChangedV1, Availability, Envelope, EventData
from shared.reference import municipalities, skills
from shared.settings import Environment, KafkaSettings, Settings

OFFLINE = KafkaSettings(bootstrap_servers="127.0.0.1:9")  # nothing listens: consumer and relay stay off
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


def draw_skills(rng: random.Random, codes: Sequence[str], weights: Sequence[int], k: int) -> list[str]:
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
                skills=draw_skills(rng, skill_codes, skill_weights, rng.randint(0, 6)),
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
        required = draw_skills(rng, skill_codes, skill_weights, rng.randint(0, 3))
        preferred = [s for s in draw_skills(rng, skill_codes, skill_weights, rng.randint(0, 3)) if s not in required]
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
    profile = candidate_profile(event, household_id=event.household_id, active=True, now=now)
    return {"person_id": event.person_id, "placed": False, **profile}


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
