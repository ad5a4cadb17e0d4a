"""What the simulated platform draws from: weighted choices, computed once, and the time helpers."""

from __future__ import annotations

import bisect
import calendar
import itertools
import random
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Generic, TypeVar, get_args

from services.cases.domain import ACTIVE_STATUSES
from shared.events.activation import DeclineReason, EndReason, OpportunityType
from shared.events.cases import CloseReason, NeedDomain, NeedLevel, ServiceType
from shared.events.intake import Education, EmploymentStatus, Purpose

T = TypeVar("T")

DAY = 86_400.0
_WORK_START, _WORK_END = 7 * 3600.0, 15 * 3600.0  # 07:00–15:00 UTC (08:00–16:00 / 09:00–17:00 in Serbia)

ACTIVE = ACTIVE_STATUSES  # cases' own (StrEnum members: equal to the plain state names the world keeps)
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
