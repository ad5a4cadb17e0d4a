"""A realistic, deterministic event stream for the reporting service, built from the real event classes.

``generate(households, seed=..., start=..., months=...)`` simulates the platform over ``months`` months from
``start`` and yields every event the services would have published, in the order of their own timestamps:

* intake: each household registered once (1–6 members; ages 0–90; about 52% women; markers, consents, skills
  and poverty as intake sends them), later edits, consent changes, a yearly burst of ``poverty_line_changed``
  updates when February's new poverty line flips some households, erasures (the member stays with sex and birth
  year only, as intake keeps them), and rare merges of duplicate households and persons in one municipality;
* cases: like the real cases service, every registered household gets its case within a second of the
  registration (priority by the documented rule, restricted when a member is a victim of violence, assigned
  round-robin to ``cw-<municipality>-<n>``). About 70% of the cases are then assessed (open → assessment →
  plan), most of those get a plan (plan → active) that engages some working-age members for work
  (``cases.activation``), referrals go to a fixed pool of 200 providers (about 15% across a border, under the
  district's inter-municipal agreement) whose occupancy changes follow the referrals, cases are reassigned,
  reprioritised, transferred within the district, closed and sometimes reopened — and many are still open
  when the stream ends;
* activation: about one opportunity per 40 households, about 40% of the candidates proposed for one, then
  both parties' answers, the start, hours every month, completion or an early end.

Every id is a UUID drawn from one seeded ``random.Random``, every time is timezone-aware UTC inside working
hours on working days, and every event is built by its pydantic class (validated). The same arguments give
the same stream. Events after ``start + months`` are not produced: the stream is the platform as it stands
on that day.

Measured on the bench machine (AMD EPYC, 2 cores, Python 3.11), seed 7, 30 months from 2024-01-01: 10.11 events
per household (100,000 households → 1,011,084 events; ``EVENTS_PER_HOUSEHOLD``; 9.9–10.2 from 2,000 households
up), generated at about 35,000–38,000 events/s on a quiet machine (27 s, peak RSS 670 MB for 100,000 households).
Some shares depend on the scale: at a few thousand households a small municipality rarely has an opportunity
open, so fewer candidates are proposed (25% instead of 40%).

``publish(events, kafka)`` sends a stream to the broker as the services' outbox relays do: CloudEvents 1.0 in
binary mode, the source of the owning service, the event's key as the record key.
"""

from __future__ import annotations

import asyncio
import bisect
import calendar
import heapq
import itertools
import random
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Generic, TypeVar, get_args

from shared.events import (
    ActivationRequestedV1,
    AgreementChangedV1,
    AssessmentCompletedV1,
    Availability,
    CaseAssignedV1,
    CaseOpenedV1,
    CasePriorityChangedV1,
    CaseStatusChangedV1,
    CaseTransferredV1,
    Envelope,
    EventData,
    HouseholdMergedV1,
    HouseholdRegisteredV2,
    HouseholdUpdatedV1,
    MatchProposedV1,
    MemberProfile,
    OpportunityClosedV1,
    OpportunityPublishedV1,
    PersonConsentChangedV1,
    PersonErasedV1,
    PersonMergedV1,
    PlacementAcceptedV1,
    PlacementCompletedV1,
    PlacementDeclinedV1,
    PlacementEndedV1,
    PlacementHoursRecordedV1,
    PlacementStartedV1,
    PlanAgreedV1,
    ProviderChangedV1,
    ReferralDecidedV1,
    ReferralRequestedV1,
)
from shared.events.activation import DeclineReason, EndReason, OpportunityType
from shared.events.cases import CloseReason, NeedDomain, NeedLevel, PriorityName, ServiceType
from shared.events.catalogue import TOPICS_BY_NAME
from shared.events.intake import Education, EmploymentStatus, Purpose, UpdateReason
from shared.reference import municipalities as municipality_reference
from shared.reference import skills as skill_reference
from shared.settings import KafkaSettings

T = TypeVar("T")

# Measured with seed 7 over 30 months from 2024-01-01 (see the module docstring): events per household.
EVENTS_PER_HOUSEHOLD = 10.11

DAY = 86_400.0
_WORK_START, _WORK_END = 7 * 3600.0, 15 * 3600.0  # 07:00–15:00 UTC (08:00–16:00 / 09:00–17:00 in Serbia)

ACTIVE = frozenset({"open", "assessment", "plan", "active"})
WORKING_AGE = range(18, 65)
SERVICE_TYPES: tuple[ServiceType, ...] = get_args(ServiceType)
RESIDENTIAL: frozenset[str] = frozenset({"shelter", "supported_housing", "residential_care", "foster_care"})
COMMON_SERVICES: tuple[ServiceType, ...] = (
    "home_help",
    "day_care",
    "one_off_assistance",
    "counselling",
    "personal_assistance",
    "employment_registration",
    "documents_help",
)
NEED_DOMAINS: tuple[NeedDomain, ...] = get_args(NeedDomain)
NEED_LEVELS: tuple[NeedLevel, ...] = get_args(NeedLevel)
OPPORTUNITY_TYPES: tuple[OpportunityType, ...] = get_args(OpportunityType)
TITLES: dict[str, tuple[str, ...]] = {
    "community_work": ("Održavanje javnih površina", "Pomoć u narodnoj kuhinji", "Uređenje školskih dvorišta"),
    "public_works": ("Javni radovi: uređenje parkova", "Javni radovi: čišćenje kanala", "Javni radovi: pošumljavanje"),
    "training": ("Obuka za negovatelje", "Obuka za rad na računaru", "Obuka za zavarivače", "Obuka za šivenje"),
    "internship": ("Stručna praksa u administraciji", "Praksa u ugostiteljstvu", "Praksa u trgovini"),
    "job": ("Pomoćni radnik u magacinu", "Radnik na održavanju", "Kuvar u vrtiću", "Vozač dostave"),
}


class _Choice(Generic[T]):
    """A weighted choice with its cumulative weights computed once (``random.choices`` redoes them per call)."""

    def __init__(self, weighted: Iterable[tuple[T, float]]) -> None:
        pairs = list(weighted)
        self.values = [v for v, _ in pairs]
        self.cum = list(itertools.accumulate(w for _, w in pairs))
        self.last = len(pairs) - 1

    def __call__(self, rng: random.Random) -> T:
        return self.values[min(bisect.bisect(self.cum, rng.random() * self.cum[-1]), self.last)]


SIZES = _Choice(zip(range(1, 7), (22, 24, 18, 17, 11, 8), strict=True))
SKILL_COUNTS = _Choice(zip((0, 1, 2, 3), (40, 30, 20, 10), strict=True))
REFERRAL_COUNTS = _Choice(zip((0, 1, 2, 3), (20, 35, 28, 17), strict=True))
POSITIONS = _Choice(zip(range(1, 11), (12, 12, 11, 11, 10, 10, 9, 9, 8, 8), strict=True))
EDITS = _Choice(zip(("work", "birth", "left", "housing", "skills"), (50, 15, 10, 15, 10), strict=True))
CONSENT_PURPOSES: _Choice[Purpose] = _Choice(
    zip(("case_work", "activation", "research", "ethnicity"), (20, 30, 40, 10), strict=True)
)
OPPORTUNITY_KINDS: _Choice[OpportunityType] = _Choice(zip(OPPORTUNITY_TYPES, (30, 25, 20, 10, 15), strict=True))
NEEDS_BELOW: _Choice[NeedLevel] = _Choice(zip(NEED_LEVELS, (30, 30, 25, 12, 3), strict=True))
NEEDS_ABOVE: _Choice[NeedLevel] = _Choice(zip(NEED_LEVELS, (45, 30, 17, 6, 2), strict=True))
NEEDS_SAFETY: _Choice[NeedLevel] = _Choice(zip(NEED_LEVELS, (85, 10, 4, 1, 0), strict=True))
EDUCATION_LEVELS: tuple[Education, ...] = ("none", "primary_incomplete", "primary", "secondary", "tertiary")
EDUCATION_ROMA: _Choice[Education] = _Choice(zip(EDUCATION_LEVELS, (20, 30, 35, 13, 2), strict=True))
EDUCATION_OTHERS: _Choice[Education] = _Choice(zip(EDUCATION_LEVELS, (6, 15, 35, 36, 8), strict=True))
HOUSING_TYPES = (
    "own",
    "rented",
    "with_relatives",
    "social_housing",
    "informal_settlement",
    "collective_centre",
    "homeless",
    None,
)
HOUSING_ROMA: _Choice[str | None] = _Choice(zip(HOUSING_TYPES, (20, 15, 10, 10, 40, 2, 3, 0), strict=True))
HOUSING_OTHERS: _Choice[str | None] = _Choice(zip(HOUSING_TYPES, (46, 20, 12, 5, 4, 2, 1, 10), strict=True))
WORK_YOUNG: _Choice[EmploymentStatus] = _Choice(
    (("pupil_student", 40), ("unemployed", 30), ("informal_work", 15), ("employed", 10), ("inactive", 5))
)
WORK_ADULT: _Choice[EmploymentStatus] = _Choice(
    (("unemployed", 40), ("informal_work", 20), ("employed", 15), ("inactive", 25))
)
WORK_OLD: _Choice[EmploymentStatus] = _Choice((("retired", 70), ("inactive", 30)))
CLOSE_UNASSESSED: _Choice[CloseReason] = _Choice(
    (
        ("no_longer_eligible", 35),
        ("declined_services", 35),
        ("moved_away", 20),
        ("other", 10),
    )
)
CLOSE_WORKED: _Choice[CloseReason] = _Choice(
    (
        ("goals_achieved", 60),
        ("no_longer_eligible", 15),
        ("moved_away", 10),
        ("declined_services", 5),
        ("deceased", 5),
        ("other", 5),
    )
)
END_REASONS: _Choice[EndReason] = _Choice(
    (
        ("found_other_work", 30),
        ("health", 15),
        ("care_duties", 20),
        ("did_not_attend", 20),
        ("employer_ended", 10),
        ("other", 5),
    )
)
DECLINES: _Choice[tuple[str, DeclineReason]] = _Choice(
    (
        (("candidate", "candidate_not_interested"), 35),
        (("candidate", "candidate_unavailable"), 25),
        (("employer", "employer_not_suitable"), 30),
        (("employer", "other"), 10),
    )
)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _ts(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _day(ts: float) -> date:
    return datetime.fromtimestamp(ts, UTC).date()


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


class _World:
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

    # -- the schedule of arrivals

    def schedule(self, months: int) -> None:
        rng = self.rng
        month_weights = [1 + 2 * m / months for m in range(months)]  # adoption grows over the period

        def moments(count: int, first_month: int = 0) -> list[float]:
            chosen = rng.choices(range(first_month, months), weights=month_weights[first_month:], k=count)
            out = []
            for m in chosen:
                first = _add_months(self.start, m)
                days = calendar.monthrange(first.year, first.month)[1]
                ts = self.workday(_ts(first) + rng.randrange(days) * DAY, 0, 0)
                while ts >= self.end_ts:  # a weekend at the very end: the Monday before instead
                    ts -= 7 * DAY
                out.append(ts)
            return sorted(out)

        self.arrivals = moments(self.n)
        if self.arrivals:
            self.at(self.arrivals[0], self._register, 0)
        for ts in moments(max(1, round(self.n / 40)), first_month=min(1, months - 1)):
            self.at(ts, self._publish_opportunity)
        for year in range(self.start.year + 1, _day(self.end_ts).year + 1):
            self.at(self.workday(_ts(date(year, 2, 10)), 0, 0), self._poverty_line, year)

    # -- intake

    def _new_members(self, year: int, roma: bool) -> list[_Member]:
        rng = self.rng
        size = SIZES(rng)
        if roma and size < 6 and rng.random() < 0.6:
            size += 1
        people: list[tuple[str, int, str]] = []  # (relation, age, sex)
        if size == 1:
            age = rng.randint(65, 90) if rng.random() < 0.5 else rng.randint(20, 64)
            people.append(("head", age, "F" if rng.random() < (0.65 if age >= 65 else 0.45) else "M"))
        else:
            head_age = rng.randint(22, 78)
            head_sex = "F" if rng.random() < 0.5 else "M"
            spouse = head_age < 80 and rng.random() < 0.7
            if not spouse and rng.random() < 0.7:
                head_sex = "F" if rng.random() < 0.85 else "M"  # single parents are mostly mothers
            people.append(("head", head_age, head_sex))
            if spouse:
                people.append(
                    ("spouse", max(18, min(90, head_age + rng.randint(-6, 6))), "M" if head_sex == "F" else "F")
                )
            while len(people) < size:
                r = rng.random()
                if r < 0.12 and head_age <= 62 and not any(p[0] == "parent" for p in people):
                    people.append(
                        ("parent", min(90, head_age + rng.randint(20, 30)), "F" if rng.random() < 0.6 else "M")
                    )
                elif r < 0.2 and head_age >= 45:
                    people.append(("grandchild", rng.randint(0, 14), "F" if rng.random() < 0.49 else "M"))
                elif r < 0.25:
                    relation = "sibling" if rng.random() < 0.6 else "other_relative"
                    people.append((relation, max(0, min(90, head_age + rng.randint(-15, 15))), rng.choice("FM")))
                else:
                    oldest = max(0, min(head_age - 17, 32))
                    people.append(("child", rng.randint(0, oldest), "F" if rng.random() < 0.49 else "M"))
        single_parent = not any(p[0] == "spouse" for p in people) and any(p[0] == "child" and p[1] < 18 for p in people)
        violence = rng.random() < 0.003  # one adult woman of the household, rarely
        members = []
        for i, (relation, age, sex) in enumerate(people):
            markers: list[str] = []
            consents: list[str] = []
            if rng.random() < (0.99 if i == 0 else 0.95):
                consents.append("case_work")
            if 15 <= age < 65 and rng.random() < 0.75:
                consents.append("activation")
            if rng.random() < 0.35:
                consents.append("research")
            if roma and rng.random() < 0.9:
                consents.append("ethnicity")
                markers.append("roma")
            disability = rng.random() < (0.05 if age < 18 else 0.08 if age < 65 else 0.2)
            if disability:
                markers.append("disability")
            able: bool | None
            if age < 15:
                able = None
            elif age >= 65:
                able = False
            else:
                able = rng.random() < (0.3 if disability else 0.8)
            status = self._employment(age)
            if able and status == "unemployed":
                markers.append("unemployed_able_to_work")
            if i == 0 and single_parent:
                markers.append("single_parent")
            if rng.random() < (0.05 if roma else 0.005):
                markers.append("without_documents")
            if violence and sex == "F" and age >= 18:
                markers.append("victim_of_violence")
                violence = False
            skills: list[str] = []
            if age >= 16 and able is not False:
                k = SKILL_COUNTS(rng)
                skills = sorted(rng.sample(self.skill_codes, k))
            members.append(
                _Member(
                    person_id=self.new_id(),
                    sex=sex,
                    birth_year=year - age,
                    relation=relation,
                    able_to_work=able,
                    employment_status=status,
                    education=self._education(age, roma),
                    skills=skills,
                    markers=sorted(markers),
                    consents=sorted(consents),
                )
            )
        return members

    def _employment(self, age: int) -> EmploymentStatus | None:
        rng = self.rng
        if age < 7:
            return None
        if age < 19:
            return "pupil_student"
        if rng.random() < 0.03:
            return None
        return WORK_YOUNG(rng) if age < 25 else WORK_ADULT(rng) if age < 65 else WORK_OLD(rng)

    def _education(self, age: int, roma: bool) -> Education | None:
        rng = self.rng
        if age < 7:
            return None
        if age < 15:
            return "primary_incomplete"
        if rng.random() < 0.04:
            return None
        return EDUCATION_ROMA(rng) if roma else EDUCATION_OTHERS(rng)

    @staticmethod
    def equivalent_adults(members: list[_Member], year: int) -> float:
        ages = [year - m.birth_year for m in members]
        first = next((i for i, a in enumerate(ages) if a >= 14), 0)
        total = 0.0
        for i, age in enumerate(ages):
            total += 1.0 if i == first else 0.5 if age >= 14 else 0.3
        return round(total, 2)

    def state(self, h: _Household, ts: float) -> dict[str, Any]:
        return {
            "household_id": h.id,
            "municipality_code": h.code,
            "registered_at": _dt(h.registered_ts),
            "members": [m.profile() for m in h.members],
            "housing_type": h.housing_type,
            "equivalent_adults": self.equivalent_adults(h.members, _day(ts).year),
            "below_poverty_line": h.below,
            "poverty_year": h.poverty_year,
            "version": h.version,
        }

    def _register(self, ts: float, index: int) -> None:
        rng = self.rng
        if index + 1 < len(self.arrivals):
            self.at(self.arrivals[index + 1], self._register, index + 1)
        year = _day(ts).year
        code = self.municipality(rng)
        roma = rng.random() < 0.08
        housing = HOUSING_ROMA(rng) if roma else HOUSING_OTHERS(rng)
        below: bool | None = None if rng.random() < 0.04 else rng.random() < (0.6 if roma else 0.34)
        h = _Household(
            id=self.new_id(),
            code=code,
            registered_ts=ts,
            members=self._new_members(year, roma),
            housing_type=housing,
            below=below,
            poverty_year=None if below is None else year,
        )
        self.households.append(h)
        self.out.append(HouseholdRegisteredV2(**self.state(h, ts)))
        self.at(ts + rng.uniform(0.02, 1.5), self._open_case, h)
        r = rng.random()
        if r < 0.005:
            h.merge_planned = True
            self.at(self.workday(ts, 2, 40), self._merge_household, h)
        elif r < 0.007:
            self.at(self.workday(ts, 5, 200), self._merge_person, h)
        else:
            self.by_municipality.setdefault(code, []).append(h)  # a survivor of later merges
        if rng.random() < 0.16:
            self.at(self.workday(ts, 7, 400), self._edit, h)
        if rng.random() < 0.04:
            self.at(self.workday(ts, 3, 400), self._consent, h)
        if rng.random() < 0.014:
            self.at(self.workday(ts, 10, 300), self._erase, h)

    def updated(self, ts: float, h: _Household, reason: UpdateReason) -> None:
        h.version += 1
        self.out.append(HouseholdUpdatedV1(**self.state(h, ts), reason=reason, changed_at=_dt(ts)))
        if h.case is not None:  # cases follows the household and may reprioritise its case
            self.at(ts + self.rng.uniform(0.02, 1.0), self._reprioritise, h.case, h.case.epoch)

    def _edit(self, ts: float, h: _Household) -> None:
        rng = self.rng
        if h.merged:
            return
        year = _day(ts).year
        present = [m for m in h.members if not m.erased]
        kind = EDITS(rng)
        adults = [m for m in present if year - m.birth_year in WORKING_AGE]
        if kind == "work" and adults:
            m = rng.choice(adults)
            m.employment_status = (
                rng.choice(("employed", "informal_work")) if m.employment_status == "unemployed" else "unemployed"
            )
            markers = set(m.markers) - {"unemployed_able_to_work"}
            if m.able_to_work and m.employment_status == "unemployed":
                markers.add("unemployed_able_to_work")
            m.markers = sorted(markers)
            m.changed()
        elif (
            kind == "birth"
            and len(h.members) < 9
            and any(m.sex == "F" and 18 <= year - m.birth_year < 45 for m in present)
        ):
            h.members.append(
                _Member(
                    person_id=self.new_id(),
                    sex="F" if rng.random() < 0.49 else "M",
                    birth_year=year,
                    relation="child",
                    able_to_work=None,
                    employment_status=None,
                    education=None,
                    skills=[],
                    markers=["roma"] if "roma" in h.members[0].markers else [],
                    consents=["case_work", "ethnicity"] if "roma" in h.members[0].markers else ["case_work"],
                )
            )
        elif kind == "left" and len(h.members) > 1:
            leaving = [m for m in h.members[1:] if not m.candidate and not m.erased]
            if leaving:
                h.members.remove(rng.choice(leaving))
        elif kind == "housing":
            h.housing_type = rng.choice(("own", "rented", "with_relatives", "social_housing"))
        elif present:
            m = rng.choice(present)
            if year - m.birth_year >= 16:
                m.skills = sorted({*m.skills, rng.choice(self.skill_codes)})
                m.changed()
        if h.below is not None and rng.random() < 0.15:
            h.below = not h.below
            h.poverty_year = max(h.poverty_year or year, year)
        self.updated(ts, h, "edited")
        if rng.random() < 0.2:
            self.at(self.workday(ts, 30, 300), self._edit, h)

    def _consent(self, ts: float, h: _Household) -> None:
        rng = self.rng
        candidates = [m for m in h.members if not m.erased]
        if h.merged or not candidates:
            return
        m = rng.choice(candidates)
        purpose = CONSENT_PURPOSES(rng)
        granted = purpose not in m.consents
        if purpose == "ethnicity" and granted and "roma" not in h.members[0].markers:
            purpose, granted = "research", "research" not in m.consents
        if granted:
            m.consents = sorted({*m.consents, purpose})
        else:
            m.consents = [c for c in m.consents if c != purpose]
            if purpose == "ethnicity":
                m.markers = [k for k in m.markers if k != "roma"]  # without the consent the marker is not kept
        m.changed()
        self.out.append(
            PersonConsentChangedV1(
                household_id=h.id, person_id=m.person_id, purpose=purpose, granted=granted, changed_at=_dt(ts)
            )
        )
        self.updated(ts, h, "consent_changed")

    def _erase(self, ts: float, h: _Household) -> None:
        candidates = [m for m in h.members if not m.erased and not m.candidate]
        if h.merged or not candidates:
            return
        m = self.rng.choice(candidates)
        # As intake does: names, JMBG, skills, markers, consents, education and work status go; sex and birth year
        # stay for statistics, and the member stays in the household.
        m.erased = True
        m.skills, m.markers, m.consents = [], [], []
        m.education = m.employment_status = None
        m.able_to_work = None
        m.changed()
        self.out.append(PersonErasedV1(household_id=h.id, person_id=m.person_id, erased_at=_dt(ts)))
        self.updated(ts, h, "person_erased")

    def survivor_for(self, h: _Household) -> _Household | None:
        pool = self.by_municipality.get(h.code, [])
        for _ in range(5):
            if not pool:
                return None
            other = self.rng.choice(pool)
            if other is not h and not other.merged and other.registered_ts < h.registered_ts:
                return other
        return None

    def _merge_household(self, ts: float, h: _Household) -> None:
        """A supervisor found this household registered twice: its members move to the older record."""
        survivor = self.survivor_for(h)
        keep = [m for m in survivor.members if not m.erased] if survivor else []
        if survivor is None or not keep:
            self.by_municipality.setdefault(h.code, []).append(h)
            return
        duplicate, kept = h.members[0], self.rng.choice(keep)
        moved = h.members[1:]
        for m in moved:
            if m.relation == "head":
                m.relation = "other_relative"
            m.changed()
        kept.markers = sorted(
            {*kept.markers, *duplicate.markers} - ({"roma"} if "ethnicity" not in kept.consents else set())
        )
        kept.changed()
        survivor.members.extend(moved)
        h.members = [duplicate]
        h.merged = True
        self.out.append(
            HouseholdMergedV1(
                survivor_household_id=survivor.id,
                merged_household_id=h.id,
                moved_person_ids=[m.person_id for m in moved],
                merged_person_ids={duplicate.person_id: kept.person_id},
                merged_at=_dt(ts),
            )
        )
        self.updated(ts, survivor, "merged")
        case = h.case
        if case is not None:
            # Cases links the merged household's (newer) case to the survivor's; a supervisor closes it later.
            case.household = survivor
            case.epoch += 1
            if case.status in ACTIVE:
                self.at(self.workday(ts, 1, 15), self._close, case, case.epoch, "merged")

    def _merge_person(self, ts: float, h: _Household) -> None:
        """One member of this household is the same person as a member of another household."""
        survivor = self.survivor_for(h)
        gone = [m for m in h.members[1:] if not m.erased and not m.candidate]
        keep = [m for m in survivor.members if not m.erased] if survivor else []
        if survivor is None or h.merged or not gone or not keep:
            return
        merged, kept = self.rng.choice(gone), self.rng.choice(keep)
        h.members.remove(merged)
        self.out.append(
            PersonMergedV1(
                survivor_person_id=kept.person_id,
                survivor_household_id=survivor.id,
                merged_person_id=merged.person_id,
                merged_household_id=h.id,
                merged_at=_dt(ts),
            )
        )
        self.updated(ts, h, "merged")
        kept.skills = sorted({*kept.skills, *merged.skills})
        kept.changed()
        self.updated(ts, survivor, "merged")

    def _poverty_line(self, ts: float, year: int) -> None:
        """The new year's poverty line: intake recomputes every household and announces those whose flag changed."""
        rng = self.rng
        for h in self.households:
            if h.merged:
                continue
            if h.below is None:
                h.below = rng.random() < 0.35
            elif rng.random() < 0.07:
                h.below = not h.below
            else:
                continue
            h.poverty_year = year
            self.updated(ts, h, "poverty_line_changed")

    # -- cases

    def _open_case(self, ts: float, h: _Household) -> None:
        members = [m for m in h.members if not m.erased]
        restricted = any("victim_of_violence" in m.markers for m in members)
        case = _Case(
            id=self.new_id(),
            household=h,
            code=h.code,
            status="open",
            worker=self.worker(h.code),
            priority=_priority(h, _day(ts).year),
            restricted=restricted,
        )
        h.case = case
        self.out.append(
            CaseOpenedV1(
                case_id=case.id,
                household_id=h.id,
                municipality_code=case.code,
                opened_at=_dt(ts),
                household_registered_at=_dt(h.registered_ts),
                priority=case.priority,
                restricted=case.restricted,
                assigned_to=case.worker,
            )
        )
        self.plan_case(ts, case, first=True)

    def plan_case(self, ts: float, case: _Case, *, first: bool) -> None:
        rng = self.rng
        if rng.random() < 0.75:
            when = self.workday(ts, 3, 60)
            if rng.random() < 0.4:
                self.at(self.workday(ts, 1, (when - ts) / DAY), self._status, case, case.epoch, "open", "assessment")
            self.at(when, self._assess, case, case.epoch)
        elif rng.random() < 0.45:
            self.at(self.workday(ts, 20, 250), self._close, case, case.epoch, CLOSE_UNASSESSED(rng))
        if first and rng.random() < 0.12:
            self.at(self.workday(ts, 1, 180), self._reassign, case, case.epoch)
        if first and not case.transferred_in and rng.random() < 0.02:
            self.at(self.workday(ts, 10, 300), self._transfer, case, case.epoch)

    def case_event(self, case: _Case) -> dict[str, Any]:
        return {"case_id": case.id, "household_id": case.household.id, "municipality_code": case.code}

    def _status(self, ts: float, case: _Case, epoch: int, from_status: str, to_status: str) -> None:
        if case.epoch != epoch or case.status != from_status:
            return
        self.move(ts, case, to_status)

    def move(self, ts: float, case: _Case, to_status: str, reason: CloseReason | None = None) -> None:
        self.out.append(
            CaseStatusChangedV1(
                **self.case_event(case),
                from_status=case.status,
                to_status=to_status,
                reason=reason,
                changed_at=_dt(ts),
            )
        )
        case.status = to_status

    def _assess(self, ts: float, case: _Case, epoch: int) -> None:
        rng = self.rng
        if case.epoch != epoch or case.status not in ACTIVE:
            return
        below = case.household.below
        needs: dict[NeedDomain, NeedLevel] = {}
        for domain in NEED_DOMAINS:
            if domain == "safety" and not case.restricted:
                needs[domain] = NEEDS_SAFETY(rng)
            else:
                needs[domain] = NEEDS_BELOW(rng) if below else NEEDS_ABOVE(rng)
        self.out.append(
            AssessmentCompletedV1(
                **self.case_event(case),
                assessment_id=self.new_id(),
                needs=needs,
                household_registered_at=_dt(case.household.registered_ts),
                completed_at=_dt(ts),
            )
        )
        if case.status == "open":
            self.move(ts, case, "assessment")
        if case.status == "assessment":
            self.move(ts, case, "plan")
            if rng.random() < 0.82:
                self.at(self.workday(ts, 5, 45), self._plan, case, case.epoch)
            elif rng.random() < 0.5:
                self.at(self.workday(ts, 30, 200), self._close, case, case.epoch, CLOSE_UNASSESSED(rng))

    def _plan(self, ts: float, case: _Case, epoch: int) -> None:
        rng = self.rng
        if case.epoch != epoch or case.status not in ("plan", "active"):
            return
        activates = case.status == "plan"  # else a review of the plan of an active case
        case.plan_version += 1
        today = _day(ts)
        engaged = []
        if case.plan_version == 1:
            for m in case.household.members:
                age = today.year - m.birth_year
                if (
                    age in WORKING_AGE
                    and not m.erased
                    and not m.candidate
                    and m.able_to_work is not False
                    and m.employment_status in ("unemployed", "informal_work", "inactive", None)
                    and "activation" in m.consents
                    and rng.random() < 0.85
                ):
                    engaged.append(m)
        self.out.append(
            PlanAgreedV1(
                **self.case_event(case),
                plan_id=self.new_id(),
                version=case.plan_version,
                goals=rng.randint(1, 5),
                actions=rng.randint(1, 6) + len(engaged),
                review_date=today + timedelta(days=rng.randint(90, 180)),
                agreed_at=_dt(ts),
            )
        )
        for m in engaged:
            self.request_activation(ts, case, m)
        if not activates:
            return
        self.move(ts, case, "active")
        for _ in range(REFERRAL_COUNTS(rng)):
            self.at(self.workday(ts, 3, 120), self._refer, case, case.epoch)
        if rng.random() < 0.45:
            self.at(self.workday(ts, 90, 180), self._plan, case, case.epoch)
        if rng.random() < 0.3:
            self.at(self.workday(ts, 90, 365), self._assess, case, case.epoch)
        if rng.random() < 0.55:
            self.at(self.workday(ts, 60, 600), self._close, case, case.epoch, CLOSE_WORKED(rng))

    def _close(self, ts: float, case: _Case, epoch: int, reason: CloseReason) -> None:
        rng = self.rng
        if case.epoch != epoch or case.status not in ACTIVE:
            return
        self.end_referrals(ts, case)
        self.move(ts, case, "closed", reason)
        if reason != "merged" and reason != "deceased" and rng.random() < 0.1:
            self.at(self.workday(ts, 30, 365), self._reopen, case, case.epoch)

    def _reopen(self, ts: float, case: _Case, epoch: int) -> None:
        if case.epoch != epoch or case.status != "closed":
            return
        self.move(ts, case, "open")
        self.plan_case(ts, case, first=False)

    def _reassign(self, ts: float, case: _Case, epoch: int) -> None:
        if case.epoch != epoch or case.status not in ACTIVE:
            return
        worker = self.worker(case.code, other_than=case.worker)
        if worker is None or worker == case.worker:
            return
        self.out.append(
            CaseAssignedV1(
                **self.case_event(case),
                worker=worker,
                previous_worker=case.worker,
                by="supervisor",
                assigned_at=_dt(ts),
            )
        )
        case.worker = worker

    def _reprioritise(self, ts: float, case: _Case, epoch: int) -> None:
        if case.epoch != epoch or case.status == "transferred":
            return
        priority = _priority(case.household, _day(ts).year)
        restricted = case.restricted or any("victim_of_violence" in m.markers for m in case.household.members)
        if priority == case.priority and restricted == case.restricted:
            return
        case.priority, case.restricted = priority, restricted
        self.out.append(
            CasePriorityChangedV1(**self.case_event(case), priority=priority, restricted=restricted, changed_at=_dt(ts))
        )

    def _transfer(self, ts: float, case: _Case, epoch: int) -> None:
        partners = self.partners(case.code)
        if case.epoch != epoch or case.status not in ACTIVE or not partners:
            return
        destination = self.rng.choice(partners)
        new = _Case(
            id=self.new_id(),
            household=case.household,
            code=destination,
            status="open",
            worker=self.worker(destination),
            priority=case.priority,
            restricted=case.restricted,
            transferred_in=True,
        )
        self.end_referrals(ts, case)
        # As cases does: the receiving office's case is opened (and announced) first, then the origin's moves.
        self.out.append(
            CaseOpenedV1(
                case_id=new.id,
                household_id=case.household.id,
                municipality_code=destination,
                opened_at=_dt(ts),
                household_registered_at=_dt(case.household.registered_ts),
                priority=new.priority,
                restricted=new.restricted,
                transferred_from_case_id=case.id,
                assigned_to=new.worker,
            )
        )
        self.out.append(
            CaseTransferredV1(
                **self.case_event(case),
                to_case_id=new.id,
                to_municipality_code=destination,
                agreement_id=self.agreements[self.district_of[case.code]],
                transferred_at=_dt(ts),
            )
        )
        case.status = "transferred"
        case.epoch += 1
        case.household.case = new
        self.plan_case(ts, new, first=True)

    # -- referrals and providers

    def _refer(self, ts: float, case: _Case, epoch: int) -> None:
        rng = self.rng
        if case.epoch != epoch or case.status != "active":
            return
        local = self.providers_in.get(case.code, [])
        cross = not local or rng.random() < 0.15
        if cross:
            nearby = [p for c in self.partners(case.code) for p in self.providers_in.get(c, [])]
            pool = nearby or [p for p in self.providers if p.code != case.code]
        else:
            pool = local
        referral = _Referral(id=self.new_id(), provider=rng.choice(pool), cross_border=cross)
        case.referrals.append(referral)
        self.out.append(ReferralRequestedV1(**self.referral_event(case, referral), requested_at=_dt(ts)))
        self.at(self.workday(ts, 1, 21), self._decide, case, referral)

    def referral_event(self, case: _Case, referral: _Referral) -> dict[str, Any]:
        return {
            **self.case_event(case),
            "referral_id": referral.id,
            "provider_id": referral.provider.id,
            "service_type": referral.provider.service_type,
            "provider_municipality_code": referral.provider.code,
            "cross_border": referral.cross_border,
        }

    def _decide(self, ts: float, case: _Case, referral: _Referral) -> None:
        rng = self.rng
        if referral.status != "requested":
            return
        provider = referral.provider
        r = rng.random()
        if r < 0.08:
            status = "cancelled"
        elif r < 0.2 or provider.occupancy >= provider.capacity:
            status = "declined"
        else:
            status = "accepted"
        referral.status = status
        self.out.append(ReferralDecidedV1(**self.referral_event(case, referral), status=status, decided_at=_dt(ts)))
        if status == "accepted":
            provider.occupancy += 1
            self._provider_changed(ts, provider)
            if rng.random() < 0.7:
                self.at(self.workday(ts, 20, 300), self._end_referral, case, referral)

    def _end_referral(self, ts: float, case: _Case, referral: _Referral) -> None:
        if referral.status != "accepted":
            return
        referral.status = "ended"
        self.out.append(ReferralDecidedV1(**self.referral_event(case, referral), status="ended", decided_at=_dt(ts)))
        referral.provider.occupancy -= 1
        self._provider_changed(ts, referral.provider)

    def end_referrals(self, ts: float, case: _Case) -> None:
        """A case that closes or leaves ends its running services and withdraws pending requests."""
        for referral in case.referrals:
            if referral.status == "accepted":
                self._end_referral(ts, case, referral)
            elif referral.status == "requested":
                referral.status = "cancelled"
                self.out.append(
                    ReferralDecidedV1(**self.referral_event(case, referral), status="cancelled", decided_at=_dt(ts))
                )
        case.referrals = []

    # -- activation

    def request_activation(self, ts: float, case: _Case, m: _Member) -> None:
        rng = self.rng
        today = _day(ts)
        m.candidate = True
        hours_min = rng.choice((10, 15, 20, 20, 30))
        unemployed_since = None
        if m.employment_status == "unemployed":
            unemployed_since = today - timedelta(days=rng.randint(60, 3650))
        self.out.append(
            ActivationRequestedV1(
                request_id=self.new_id(),
                person_id=m.person_id,
                household_id=case.household.id,
                case_id=case.id,
                municipality_code=case.code,
                sex=m.sex,
                birth_year=m.birth_year,
                education=m.education,
                employment_status=m.employment_status,
                skills=list(m.skills),
                markers=[k for k in m.markers if k != "victim_of_violence"],
                below_poverty_line=case.household.below,
                unemployed_since=unemployed_since,
                availability=Availability(
                    hours_per_week_min=hours_min,
                    hours_per_week_max=min(60, hours_min + rng.choice((0, 10, 20))),
                    available_from=today + timedelta(days=rng.randint(0, 30)),
                ),
                requested_at=_dt(ts),
            )
        )
        if rng.random() < 0.45:
            self.at(self.workday(ts, 7, 120), self._propose, case, m, hours_min)

    def _publish_opportunity(self, ts: float) -> None:
        rng = self.rng
        code = self.municipality(rng)
        kind = OPPORTUNITY_KINDS(rng)
        starts_on = _day(ts) + timedelta(days=rng.randint(7, 45))
        ends_on = None if kind == "job" else _add_months(starts_on, rng.randint(2, 12))
        hours_min = rng.choice((10, 20, 20, 30))
        opportunity = _Opportunity(
            id=self.new_id(),
            code=code,
            type=kind,
            positions=POSITIONS(rng),
            starts_on=starts_on,
            ends_on=ends_on,
            hours_min=hours_min,
            hours_max=min(40, hours_min + rng.choice((0, 10, 20))),
        )
        self.out.append(
            OpportunityPublishedV1(
                opportunity_id=opportunity.id,
                municipality_code=code,
                title=f"{rng.choice(TITLES[kind])}, {self.names[code]}",
                positions=opportunity.positions,
                published_at=_dt(ts),
                opportunity_type=kind,
                organisation_id=f"org-{code}-{rng.randint(1, 6)}",
                forum_id=self.district_ids[self.district_of[code]],
                hours_per_week_min=opportunity.hours_min,
                hours_per_week_max=opportunity.hours_max,
                starts_on=starts_on,
                ends_on=ends_on,
                accessible=rng.random() < 0.5,
            )
        )
        self.open_opportunities.setdefault(code, []).append(opportunity)
        closes = _ts(ends_on) + 10 * 3600 if ends_on else self.workday(ts, 60, 300)
        if ends_on is not None or rng.random() < 0.6:
            self.at(closes, self._close_opportunity, opportunity)

    def _close_opportunity(self, ts: float, opportunity: _Opportunity) -> None:
        if opportunity.closed:
            return
        opportunity.closed = True
        self.open_opportunities[opportunity.code].remove(opportunity)
        self.out.append(
            OpportunityClosedV1(opportunity_id=opportunity.id, municipality_code=opportunity.code, closed_at=_dt(ts))
        )

    def _propose(self, ts: float, case: _Case, m: _Member, weekly: int, tries: int = 3) -> None:
        rng = self.rng
        if m.erased:
            return
        pool = list(self.open_opportunities.get(case.code, []))
        if not pool or rng.random() < 0.25:
            pool += [o for c in self.partners(case.code) for o in self.open_opportunities.get(c, [])]
        if not pool:
            if tries > 1:  # nothing open nearby yet: the worker looks again in a month or two
                self.at(self.workday(ts, 30, 60), self._propose, case, m, weekly, tries - 1)
            return
        opportunity = rng.choice(pool)
        placement = _Placement(
            id=self.new_id(),
            opportunity=opportunity,
            member=m,
            case=case,
            code=case.code,
            weekly_hours=max(opportunity.hours_min, min(weekly, opportunity.hours_max)),
        )
        score = round(rng.uniform(35, 98), 1)
        self.out.append(
            MatchProposedV1(
                **self.placement_event(placement),
                opportunity_municipality_code=opportunity.code,
                opportunity_type=opportunity.type,
                score=score,
                rank=max(1, int((100 - score) / 4) + rng.randint(0, 3)),
                proposed_at=_dt(ts),
            )
        )
        if rng.random() < 0.18:
            party, reason = DECLINES(rng)
            self.at(self.workday(ts, 1, 14), self._decline, placement, party, reason)
        else:
            self.at(self.workday(ts, 1, 10), self._accept, placement, "employer")

    def placement_event(self, p: _Placement) -> dict[str, Any]:
        return {
            "placement_id": p.id,
            "opportunity_id": p.opportunity.id,
            "person_id": p.member.person_id,
            "case_id": p.case.id,
            "municipality_code": p.code,
        }

    def _decline(self, ts: float, p: _Placement, party: str, reason: DeclineReason) -> None:
        p.done = True
        self.out.append(PlacementDeclinedV1(**self.placement_event(p), party=party, reason=reason, declined_at=_dt(ts)))

    def _accept(self, ts: float, p: _Placement, party: str) -> None:
        rng = self.rng
        if party == "employer" and (p.opportunity.closed or p.opportunity.filled >= p.opportunity.positions):
            self._decline(ts, p, "employer", "positions_filled")
            return
        both = party == "candidate"
        self.out.append(PlacementAcceptedV1(**self.placement_event(p), party=party, both=both, accepted_at=_dt(ts)))
        if not both:
            if rng.random() < 0.1:
                self.at(self.workday(ts, 0, 7), self._decline, p, "candidate", "candidate_unavailable")
            else:
                self.at(self.workday(ts, 0, 5), self._accept, p, "candidate")
            return
        p.opportunity.filled += 1
        start = max(self.workday(ts, 2, 14), _ts(p.opportunity.starts_on) + 8 * 3600)
        self.at(start, self._start, p)

    def _start(self, ts: float, p: _Placement) -> None:
        rng = self.rng
        p.started_ts = p.last_recorded_ts = ts
        months = rng.randint(2, 12)
        end = _ts(_add_months(_day(ts), months)) + 14 * 3600
        if p.opportunity.ends_on is not None:
            end = min(end, _ts(p.opportunity.ends_on) + 14 * 3600)
        p.planned_end_ts = max(end, ts + 7 * DAY)
        if rng.random() < 0.3:
            p.early_end_ts = ts + rng.uniform(0.05, 0.95) * (p.planned_end_ts - ts)
            self.at(p.early_end_ts, self._finish, p, END_REASONS(rng))
        else:
            self.at(p.planned_end_ts, self._finish, p, None)
        self.out.append(PlacementStartedV1(**self.placement_event(p), started_at=_dt(ts)))
        first = _day(ts)
        self.at(_ts(_add_months(first.replace(day=1), 1)) + 9 * 3600 + rng.uniform(0, 6 * 3600), self._hours, p)

    def record(self, ts: float, p: _Placement, month: date) -> None:
        worked_days = max(0.0, (ts - p.last_recorded_ts) / DAY)
        hours = min(744, round(p.weekly_hours * worked_days / 7 * self.rng.uniform(0.7, 1.0)))
        p.hours_total += hours
        p.last_recorded_ts = ts
        self.out.append(
            PlacementHoursRecordedV1(
                **self.placement_event(p),
                month=f"{month.year:04d}-{month.month:02d}",
                hours=hours,
                hours_total=p.hours_total,
                recorded_at=_dt(ts),
            )
        )

    def _hours(self, ts: float, p: _Placement) -> None:
        if p.done:
            return
        today = _day(ts)
        self.record(ts, p, _add_months(today.replace(day=1), -1))
        self.at(_ts(_add_months(today.replace(day=1), 1)) + 9 * 3600 + self.rng.uniform(0, 6 * 3600), self._hours, p)

    def _finish(self, ts: float, p: _Placement, reason: EndReason | None) -> None:
        p.done = True
        p.opportunity.filled -= 1
        if ts - p.last_recorded_ts > DAY:
            self.record(ts, p, _day(ts))
        if reason is None:
            self.out.append(
                PlacementCompletedV1(**self.placement_event(p), hours_worked=p.hours_total, completed_at=_dt(ts))
            )
        else:
            self.out.append(
                PlacementEndedV1(**self.placement_event(p), reason=reason, hours_worked=p.hours_total, ended_at=_dt(ts))
            )


VULNERABLE: frozenset[str] = frozenset({"disability", "without_documents"})


def _priority(h: _Household, year: int) -> PriorityName:
    """Cases' documented rule (docs/cases.md) on the household's present members."""
    members = [m for m in h.members if not m.erased]
    markers = {k for m in members for k in m.markers}
    if "victim_of_violence" in markers:
        return "urgent"
    dependants = any(year - m.birth_year < 18 or year - m.birth_year >= 65 for m in members)
    vulnerable = bool(markers & VULNERABLE)
    if h.below and (dependants or vulnerable):
        return "high"
    if h.below or vulnerable or "single_parent" in markers:
        return "medium"
    return "low"


def generate(
    households: int, *, seed: int = 7, start: date = date(2024, 1, 1), months: int = 30
) -> Iterator[EventData]:
    """The events of ``households`` households over ``months`` months from ``start``, in the order of their times."""
    world = _World(households, seed=seed, start=start, months=months)
    world.schedule(months)
    return world.run()


_TIME_FIELDS = (
    "registered_at",
    "changed_at",
    "erased_at",
    "merged_at",
    "opened_at",
    "assigned_at",
    "transferred_at",
    "completed_at",
    "agreed_at",
    "requested_at",
    "decided_at",
    "published_at",
    "closed_at",
    "proposed_at",
    "accepted_at",
    "declined_at",
    "started_at",
    "recorded_at",
    "ended_at",
)


def _time_field(cls: type[EventData]) -> str:
    if cls is HouseholdUpdatedV1:
        return "changed_at"
    for name in _TIME_FIELDS:
        if name in cls.model_fields:
            return name
    raise ValueError(f"{cls.type_name()} has no time attribute")


_time_fields: dict[type[EventData], str] = {}


def event_time(event: EventData) -> datetime:
    """When the event happened (its own time attribute): the order ``generate`` yields them in."""
    cls = type(event)
    name = _time_fields.get(cls)
    if name is None:
        name = _time_fields[cls] = _time_field(cls)
    value: datetime = getattr(event, name)
    return value


# --- publishing ------------------------------------------------------------------------------------------------


def _compression() -> str | None:
    from aiokafka.codec import has_lz4

    return "lz4" if has_lz4() else None


async def publish(
    events: Iterable[EventData],
    kafka: KafkaSettings,
    *,
    source_prefix: str = "/oslonac",
    duplicates: float = 0.0,
    seed: int = 7,
    linger_ms: int = 20,
    max_batch_size: int = 1024 * 1024,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Send ``events`` as the services' outbox relays do; return how many records were sent.

    Each record is a CloudEvents 1.0 envelope in binary mode (``ce_*`` headers, JSON data), with the source of
    the service that owns the event's topic (``/oslonac/intake``...), the time of the event, a new id, and the
    event's key as the record key, on ``topic_name(kafka, event.topic)``. ``duplicates`` re-sends that fraction
    of the records again a little later with the same envelope id, as a redelivery would (counted in the
    result). Sent with ``acks=all``, ``linger_ms`` and large batches, lz4 when the codec is installed.
    """
    from aiokafka import AIOKafkaProducer

    from shared.messaging.kafka import topic_name

    rng = random.Random(seed ^ 0x5EED)
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap_servers,
        client_id=f"{kafka.client_id_prefix}-bench-reporting",
        acks="all",
        enable_idempotence=kafka.enable_idempotence,
        linger_ms=linger_ms,
        max_batch_size=max_batch_size,
        compression_type=_compression(),
        request_timeout_ms=max(kafka.request_timeout_ms, 60_000),
    )
    topics: dict[str, tuple[str, str]] = {}
    sent = 0
    pending: list[asyncio.Future[Any]] = []
    again: list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]] = []
    await producer.start()
    try:
        for event in events:
            if event.topic not in topics:
                owner = TOPICS_BY_NAME[event.topic].owner
                topics[event.topic] = (topic_name(kafka, event.topic), f"{source_prefix}/{owner}")
            topic, source = topics[event.topic]
            key = event.key
            envelope = Envelope(
                id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                source=source,
                type=event.type_name(),
                data=event.to_data(),
                subject=key,
                time=event_time(event),
                correlation_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            )
            record = (topic, envelope.value(), key.encode(), envelope.headers())
            pending.append(await producer.send(record[0], record[1], key=record[2], headers=record[3]))
            sent += 1
            if duplicates and rng.random() < duplicates:
                again.append(record)
            if len(pending) >= 10_000:
                for topic_, value, key_, headers in again:  # redelivered a batch later, same envelope id
                    pending.append(await producer.send(topic_, value, key=key_, headers=headers))
                sent += len(again)
                again.clear()
                await asyncio.gather(*pending)
                pending.clear()
                if progress is not None:
                    progress(sent)
        for topic_, value, key_, headers in again:
            pending.append(await producer.send(topic_, value, key=key_, headers=headers))
        sent += len(again)
        await asyncio.gather(*pending)
        if progress is not None:
            progress(sent)
    finally:
        await producer.stop()
    return sent


__all__ = ["EVENTS_PER_HOUSEHOLD", "event_time", "generate", "publish"]
