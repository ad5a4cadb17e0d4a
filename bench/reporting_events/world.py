"""The simulated platform's state (households, cases, providers, opportunities, placements) and its clock:
a heap of scheduled actions, each of which may emit events; the reference data every service shares."""

from __future__ import annotations

import heapq
import itertools
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bench.reporting_events.tables import (
    _WORK_END,
    _WORK_START,
    COMMON_SERVICES,
    DAY,
    RESIDENTIAL,
    SERVICE_TYPES,
    _add_months,
    _Choice,
    _day,
    _dt,
    _ts,
)
from shared.events import AgreementChangedV1, EventData, MemberProfile, ProviderChangedV1
from shared.events.activation import OpportunityType
from shared.events.cases import PriorityName, ServiceType
from shared.reference import municipalities as municipality_reference
from shared.reference import skills as skill_reference

# --- the simulated world ---------------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class _Member:
    person_id: uuid.UUID
    sex: str
    birth_year: int
    relation: str | None
    able_to_work: bool | None
    employment_status: str | None
    education: str | None
    skills: list[str]
    markers: list[str]
    consents: list[str]
    erased: bool = False
    candidate: bool = False  # engaged for work by a plan: never erased or merged away here
    _profile: MemberProfile | None = None

    def profile(self) -> MemberProfile:
        if self._profile is None:
            self._profile = MemberProfile(
                person_id=self.person_id,
                sex=self.sex,
                birth_year=self.birth_year,
                relation=self.relation,
                able_to_work=self.able_to_work,
                employment_status=self.employment_status,
                education=self.education,
                skills=list(self.skills),
                markers=list(self.markers),
                consents=list(self.consents),
            )
        return self._profile

    def changed(self) -> None:
        self._profile = None


@dataclass(slots=True, eq=False)
class _Household:
    id: uuid.UUID
    code: str
    registered_ts: float
    members: list[_Member]
    housing_type: str | None
    below: bool | None
    poverty_year: int | None
    version: int = 1
    merged: bool = False
    merge_planned: bool = False
    case: _Case | None = None


@dataclass(slots=True, eq=False)
class _Referral:
    id: uuid.UUID
    provider: _Provider
    cross_border: bool
    status: str = "requested"


@dataclass(slots=True, eq=False)
class _Case:
    id: uuid.UUID
    household: _Household
    code: str
    status: str
    worker: str | None
    priority: PriorityName
    restricted: bool
    epoch: int = 0  # bumped when the case leaves our hands (transfer, merge): pending steps are dropped
    plan_version: int = 0
    referrals: list[_Referral] = field(default_factory=list)
    transferred_in: bool = False


@dataclass(slots=True, eq=False)
class _Provider:
    id: uuid.UUID
    service_type: ServiceType
    code: str
    capacity: int
    occupancy: int
    residential: bool
    accessible: bool


@dataclass(slots=True, eq=False)
class _Opportunity:
    id: uuid.UUID
    code: str
    type: OpportunityType
    positions: int
    starts_on: date
    ends_on: date | None
    hours_min: int
    hours_max: int
    filled: int = 0
    closed: bool = False


@dataclass(slots=True, eq=False)
class _Placement:
    id: uuid.UUID
    opportunity: _Opportunity
    member: _Member
    case: _Case
    code: str
    weekly_hours: int
    hours_total: int = 0
    started_ts: float = 0.0
    last_recorded_ts: float = 0.0
    planned_end_ts: float = 0.0
    early_end_ts: float | None = None
    done: bool = False


Action = Callable[..., None]


class _Simulation:
    """The state and the plumbing every part of the simulation shares."""

    def __init__(self, households: int, *, seed: int, start: date, months: int) -> None:
        if households < 1 or months < 1:
            raise ValueError("households and months must be positive")
        self.rng = random.Random(seed)
        self.n = households
        self.start = start
        self.start_ts = _ts(start)
        self.end_ts = _ts(_add_months(start, months))
        self.heap: list[tuple[float, int, Action, tuple[Any, ...]]] = []
        self.seq = itertools.count()
        self.now = self.start_ts
        self.out: list[EventData] = []
        self.households: list[_Household] = []
        self.by_municipality: dict[str, list[_Household]] = {}
        self.skill_codes = sorted(skill_reference.skills())
        self.open_opportunities: dict[str, list[_Opportunity]] = {}
        self.arrivals: list[float] = []
        self._workers: dict[str, itertools.cycle[int]] = {}
        self._setup_places()
        self._setup_providers()

    # -- plumbing

    def new_id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def at(self, ts: float, action: Action, *args: Any) -> None:
        if ts < self.end_ts:
            heapq.heappush(self.heap, (max(ts, self.now), next(self.seq), action, args))

    def workday(self, ts: float, days_min: float, days_max: float) -> float:
        """A moment in working hours on a working day, ``days_min``–``days_max`` days after ``ts``."""
        d = int((ts + self.rng.uniform(days_min, days_max) * DAY) // DAY)
        weekday = (d + 3) % 7  # 1970-01-01 was a Thursday; 0 is Monday
        if weekday >= 5:
            d += 7 - weekday
        return max(d * DAY + self.rng.uniform(_WORK_START, _WORK_END), ts + 1.0)

    def run(self) -> Iterator[EventData]:
        while self.heap:
            ts, _, action, args = heapq.heappop(self.heap)
            self.now = ts
            action(ts, *args)
            if self.out:
                yield from self.out
                self.out.clear()

    # -- reference data: municipalities, districts, agreements, providers, workers

    def _setup_places(self) -> None:
        rng = self.rng
        units = sorted(municipality_reference.municipalities().values(), key=lambda m: m.code)
        cities = [m.code for m in units if m.kind == "city"]
        others = [m.code for m in units if m.kind != "city"]
        heavy = set(cities) | set(rng.sample(others, 9))  # a few dozen municipalities hold most households
        self.codes = [m.code for m in units]
        self.weights = [rng.uniform(12, 30) if m.code in heavy else 1.0 for m in units]
        self.municipality = _Choice(zip(self.codes, self.weights, strict=True))
        self.heavy = sorted(heavy)
        self.names = {m.code: m.name_latin for m in units}
        districts: dict[str, list[str]] = {}
        for m in units:
            districts.setdefault(m.district, []).append(m.code)
        self.district_of = {m.code: m.district for m in units}
        self.district_codes = districts
        self.district_ids = {d: self.new_id() for d in sorted(districts)}  # forums: one per district
        self.agreements: dict[str, uuid.UUID] = {}
        share = {c: w / sum(self.weights) for c, w in zip(self.codes, self.weights, strict=True)}
        self.worker_count = {c: max(2, min(40, round(self.n * share[c] / 400))) for c in self.codes}
        for district, codes in sorted(districts.items()):
            if len(codes) < 2:
                continue
            agreement_id = self.new_id()
            self.agreements[district] = agreement_id
            services = ["work_engagement", *sorted(rng.sample(SERVICE_TYPES, 4))]
            self.at(
                self.start_ts + 6 * 3600 + len(self.agreements),
                self._agreement,
                agreement_id,
                sorted(codes),
                services,
            )

    def _agreement(self, ts: float, agreement_id: uuid.UUID, codes: list[str], services: list[str]) -> None:
        self.out.append(
            AgreementChangedV1(
                agreement_id=agreement_id,
                municipalities=codes,
                service_types=services,
                valid_from=_day(ts),
                valid_to=None,
                changed_at=_dt(ts),
            )
        )

    def _setup_providers(self) -> None:
        """Every municipality has one provider of a common service; the heavy ones a few more (200 in all)."""
        rng = self.rng
        scale = max(1, self.n // 25_000)
        self.providers: list[_Provider] = []
        places = list(self.codes) + [rng.choice(self.heavy) for _ in range(200 - len(self.codes))]
        for i, code in enumerate(places):
            kind = rng.choice(COMMON_SERVICES) if i < len(self.codes) else rng.choice(SERVICE_TYPES)
            residential = kind in RESIDENTIAL
            capacity = rng.randint(8, 40) * scale if residential else rng.randint(10, 80) * scale
            provider = _Provider(
                id=self.new_id(),
                service_type=kind,
                code=code,
                capacity=capacity,
                occupancy=0,
                residential=residential,
                accessible=rng.random() < 0.6,
            )
            self.providers.append(provider)
            self.at(self.start_ts + 6 * 3600 + 60 + i, self._provider_changed, provider)
        self.providers_in: dict[str, list[_Provider]] = {}
        for provider in self.providers:
            self.providers_in.setdefault(provider.code, []).append(provider)

    def _provider_changed(self, ts: float, provider: _Provider) -> None:
        self.out.append(
            ProviderChangedV1(
                provider_id=provider.id,
                service_type=provider.service_type,
                municipality_code=provider.code,
                capacity=provider.capacity,
                occupancy=provider.occupancy,
                residential=provider.residential,
                accessible=provider.accessible,
                active=True,
                changed_at=_dt(ts),
            )
        )

    def worker(self, code: str, *, other_than: str | None = None) -> str | None:
        count = self.worker_count[code]
        cycle = self._workers.setdefault(code, itertools.cycle(range(1, count + 1)))
        name = f"cw-{code}-{next(cycle)}"
        if name == other_than:
            if count == 1:
                return None
            name = f"cw-{code}-{next(cycle)}"
        return name

    def partners(self, code: str) -> list[str]:
        return [c for c in self.district_codes[self.district_of[code]] if c != code]
