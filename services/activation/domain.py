"""Activation's pure rules: who is eligible for an opportunity, how candidates are scored and ranked (with an
explanation for every one), the fairness figures of a forum, and the placement's lifecycle.

No I/O here: every rule is a function of plain values, unit-tested without a database. The rule is deterministic:
the same candidates and opportunity always give the same ranking (ties go to the pseudonymous id).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class OpportunityStatus(StrEnum):
    published = "published"
    closed = "closed"


class OpportunityType(StrEnum):
    community_work = "community_work"
    public_works = "public_works"
    training = "training"
    internship = "internship"
    job = "job"


PRIORITY_GROUPS = ("single_parent", "woman", "roma", "long_term_unemployed", "disability")
MARKER_GROUPS = ("single_parent", "roma", "disability")  # the priority groups a recorded marker names
LONG_TERM_UNEMPLOYED_MONTHS = 12
IN_EDUCATION = "pupil_student"  # the employment status a forum may exclude


@dataclass(frozen=True, slots=True)
class Criteria:
    """What a forum agrees on (DOMAIN.md, "Work-engagement criteria"); every part can be switched off."""

    min_age: int | None = 18
    max_age: int | None = 64
    require_able_to_work: bool = True
    exclude_in_education: bool = True
    exclude_placed: bool = True
    priority_groups: frozenset[str] = frozenset(PRIORITY_GROUPS)
    # same: only the opportunity's municipality; agreement: also municipalities an agreement covers.
    scope: str = "agreement"


@dataclass(frozen=True, slots=True)
class Candidate:
    person_id: str
    municipality_code: str
    sex: str
    birth_year: int
    able_to_work: bool = True
    employment_status: str | None = None
    skills: frozenset[str] = frozenset()
    markers: frozenset[str] = frozenset()
    hours_min: int = 1
    hours_max: int = 40
    available_from: date | None = None
    unemployed_since: date | None = None
    placed: bool = False


@dataclass(frozen=True, slots=True)
class Opportunity:
    opportunity_id: str
    municipality_code: str
    type: OpportunityType = OpportunityType.community_work
    hours_min: int = 1
    hours_max: int = 40
    required_skills: frozenset[str] = frozenset()
    preferred_skills: frozenset[str] = frozenset()
    accessible: bool = False
    starts_on: date | None = None


@dataclass(frozen=True, slots=True)
class Check:
    """One criterion, met or missed, in words a forum coordinator reads."""

    criterion: str
    met: bool
    detail: str
    # The detail as a stable key and its values, which pages say in their language (never by matching ``detail``).
    key: str = ""
    params: tuple[tuple[str, int], ...] = ()


def age_on(birth_year: int, on: date) -> int:
    """Age in the year of ``on`` (events carry the birth year only, never the birth date)."""
    return on.year - birth_year


def priority_groups_of(candidate: Candidate, on: date) -> frozenset[str]:
    groups: set[str] = {g for g in MARKER_GROUPS if g in candidate.markers}
    if candidate.sex == "F":
        groups.add("woman")
    if months_unemployed(candidate, on) >= LONG_TERM_UNEMPLOYED_MONTHS:
        groups.add("long_term_unemployed")
    return frozenset(groups)


def months_unemployed(candidate: Candidate, on: date) -> int:
    since = candidate.unemployed_since
    if since is None or since > on:
        return 0
    return (on.year - since.year) * 12 + on.month - since.month


def _either(criterion: str, met: bool, said: tuple[str, str], otherwise: tuple[str, str]) -> Check:
    """A check whose detail (English, key) is ``said`` when it is met and ``otherwise`` when not."""
    detail, key = said if met else otherwise
    return Check(criterion, met, detail, key=key)


def eligibility(
    candidate: Candidate,
    opportunity: Opportunity,
    criteria: Criteria,
    *,
    reachable: Callable[[str, str], bool],
    on: date,
) -> list[Check]:
    """The hard filters, each with whether it is met. ``reachable(from, to)`` says whether an agreement lets a
    candidate of one municipality take an opportunity in another."""
    checks: list[Check] = []
    age = age_on(candidate.birth_year, on)
    if criteria.min_age is not None or criteria.max_age is not None:
        low, high = criteria.min_age or 0, criteria.max_age or 200
        checks.append(
            Check(
                "working_age",
                low <= age <= high,
                f"age {age}, the forum takes {low}–{high}",
                key="age_range",
                params=(("age", age), ("low", low), ("high", high)),
            )
        )
    if criteria.require_able_to_work:
        able = ("able to work", "able_to_work"), ("not recorded as able to work", "not_able_to_work")
        checks.append(_either("able_to_work", candidate.able_to_work, *able))
    if criteria.exclude_in_education:
        studying = candidate.employment_status == IN_EDUCATION
        checks.append(
            _either(
                "not_in_education",
                not studying,
                ("not in education", "not_in_education"),
                ("in education", "in_education"),
            )
        )
    if criteria.exclude_placed:
        checks.append(
            _either("not_placed", not candidate.placed, ("not placed", "not_placed"), ("already placed", "placed"))
        )
    overlap = min(candidate.hours_max, opportunity.hours_max) - max(candidate.hours_min, opportunity.hours_min)
    checks.append(
        Check(
            "hours",
            overlap >= 0,
            f"can work {candidate.hours_min}–{candidate.hours_max} h/week, "
            f"the opportunity needs {opportunity.hours_min}–{opportunity.hours_max}",
            key="hours_range",
            params=(
                ("a", candidate.hours_min),
                ("b", candidate.hours_max),
                ("c", opportunity.hours_min),
                ("d", opportunity.hours_max),
            ),
        )
    )
    if "disability" in candidate.markers:
        accessible = ("accessible for persons with disability", "accessible"), ("not accessible", "not_accessible")
        checks.append(_either("accessible", opportunity.accessible, *accessible))
    same = candidate.municipality_code == opportunity.municipality_code
    if same:
        checks.append(Check("distance", True, "same municipality", key="same_municipality"))
    elif criteria.scope == "agreement" and reachable(candidate.municipality_code, opportunity.municipality_code):
        detail = "another municipality covered by an inter-municipal agreement"
        checks.append(Check("distance", True, detail, key="agreement_municipality"))
    else:
        detail = "another municipality with no agreement covering it"
        checks.append(Check("distance", False, detail, key="no_agreement"))
    return checks


# --- scoring --------------------------------------------------------------------------------------------------

WEIGHTS: Mapping[str, float] = {
    "skills": 40.0,  # required skills covered (preferred ones add up to a quarter of it on top, capped)
    "distance": 20.0,  # same municipality full; an agreement's neighbour loses 1 point per 5 km, keeps at least 5
    "priority": 15.0,  # 5 per priority group the forum counts, at most 3 groups
    "availability": 15.0,  # hours overlap and being available by the start date
    "unemployed": 10.0,  # time unemployed, full at 24 months
}
UNEMPLOYED_FULL_MONTHS = 24


def distance_points(km: float) -> float:
    """Another municipality an agreement covers: the distance weight less 1 point per 5 km, at least 5."""
    return max(5.0, WEIGHTS["distance"] - km / 5)


@dataclass(frozen=True, slots=True)
class Ranked:
    candidate: Candidate
    score: float
    breakdown: Mapping[str, float]
    checks: Sequence[Check] = field(default_factory=tuple)

    @property
    def eligible(self) -> bool:
        return all(c.met for c in self.checks)


def round2(x: float) -> float:
    """Half up to hundredths with float operations numpy repeats bit for bit (matching.py ranks many candidates
    at once with the same rule and must agree with this one exactly)."""
    return math.floor(x * 100 + 0.5) / 100


def score(
    candidate: Candidate,
    opportunity: Opportunity,
    criteria: Criteria,
    *,
    distance_km: Callable[[str, str], float],
    on: date,
) -> dict[str, float]:
    """The score's parts (each between 0 and its weight); their sum is the score, 0–100."""
    required, preferred = opportunity.required_skills, opportunity.preferred_skills
    covered = len(required & candidate.skills) / len(required) if required else 1.0
    bonus = len(preferred & candidate.skills) / len(preferred) / 4 if preferred else 0.0
    skills = min(1.0, covered + bonus) * WEIGHTS["skills"]

    if candidate.municipality_code == opportunity.municipality_code:
        distance = WEIGHTS["distance"]
    else:
        distance = distance_points(distance_km(candidate.municipality_code, opportunity.municipality_code))

    groups = priority_groups_of(candidate, on) & criteria.priority_groups
    priority = min(3, len(groups)) * WEIGHTS["priority"] / 3

    wanted = opportunity.hours_max - opportunity.hours_min + 1
    overlap = min(candidate.hours_max, opportunity.hours_max) - max(candidate.hours_min, opportunity.hours_min) + 1
    hours_share = max(0, overlap) / wanted
    ready = (
        candidate.available_from is None
        or opportunity.starts_on is None
        or candidate.available_from <= opportunity.starts_on
    )
    availability = WEIGHTS["availability"] * (0.5 * hours_share + (0.5 if ready else 0.0))

    unemployed = WEIGHTS["unemployed"] * min(1.0, months_unemployed(candidate, on) / UNEMPLOYED_FULL_MONTHS)
    return {
        "skills": round2(skills),
        "distance": round2(distance),
        "priority": round2(priority),
        "availability": round2(availability),
        "unemployed": round2(unemployed),
    }


def total(parts: Mapping[str, float]) -> float:
    return round2(parts["skills"] + parts["distance"] + parts["priority"] + parts["availability"] + parts["unemployed"])


def rank(
    candidates: Iterable[Candidate],
    opportunity: Opportunity,
    criteria: Criteria,
    *,
    reachable: Callable[[str, str], bool],
    distance_km: Callable[[str, str], float],
    on: date,
    limit: int | None = None,
) -> list[Ranked]:
    """Eligible candidates, best first (ties: the pseudonymous id), each with its breakdown and checks."""
    ranked = []
    for candidate in candidates:
        checks = eligibility(candidate, opportunity, criteria, reachable=reachable, on=on)
        if not all(c.met for c in checks):
            continue
        parts = score(candidate, opportunity, criteria, distance_km=distance_km, on=on)
        ranked.append(Ranked(candidate, total(parts), parts, tuple(checks)))
    ranked.sort(key=lambda r: (-r.score, r.candidate.person_id))
    return ranked[:limit] if limit is not None else ranked


# --- fairness -------------------------------------------------------------------------------------------------

WOMEN_TARGET = 0.5


@dataclass(frozen=True, slots=True)
class GroupShare:
    group: str
    stage_counts: Mapping[str, tuple[int, int]]  # stage → (in group, total)

    def share(self, stage: str) -> float | None:
        members, total = self.stage_counts.get(stage, (0, 0))
        return members / total if total else None

    def disparity(self, stage: str, base: str = "eligible") -> float | None:
        """The group's share at ``stage`` over its share among the ``base`` (1.0: as represented as among the
        eligible; under 0.8 is the usual warning line)."""
        at, among = self.share(stage), self.share(base)
        if at is None or not among:
            return None
        return round(at / among, 3)


def women_under_target(placed_women: int, placed: int) -> bool:
    """The programme's target: at least half of the placements go to women."""
    return placed > 0 and placed_women / placed < WOMEN_TARGET


# --- placements -----------------------------------------------------------------------------------------------


class PlacementStatus(StrEnum):
    proposed = "proposed"  # by the case worker; waits for the employer and the candidate
    accepted = "accepted"  # both accepted
    declined = "declined"
    started = "started"
    completed = "completed"
    ended = "ended"  # early, with a reason


PLACEMENT_TRANSITIONS: Mapping[PlacementStatus, frozenset[PlacementStatus]] = {
    PlacementStatus.proposed: frozenset({PlacementStatus.accepted, PlacementStatus.declined}),
    PlacementStatus.accepted: frozenset({PlacementStatus.started, PlacementStatus.declined}),
    PlacementStatus.declined: frozenset(),
    PlacementStatus.started: frozenset({PlacementStatus.completed, PlacementStatus.ended}),
    PlacementStatus.completed: frozenset(),
    PlacementStatus.ended: frozenset(),
}


class IllegalPlacementStep(ValueError):
    def __init__(self, current: PlacementStatus, wanted: PlacementStatus) -> None:
        self.current, self.wanted = current, wanted
        self.allowed = sorted(PLACEMENT_TRANSITIONS[current])
        allowed = ", ".join(self.allowed) or "none (the placement is final)"
        super().__init__(f"A placement that is '{current}' cannot become '{wanted}'. Allowed next: {allowed}.")


def check_placement_step(current: PlacementStatus, wanted: PlacementStatus) -> None:
    if wanted not in PLACEMENT_TRANSITIONS[current]:
        raise IllegalPlacementStep(current, wanted)


def after_acceptance(*, employer: bool, candidate: bool) -> PlacementStatus:
    """A proposal becomes accepted only when both the employer and the candidate said yes."""
    return PlacementStatus.accepted if employer and candidate else PlacementStatus.proposed
