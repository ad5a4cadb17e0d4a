"""Cases' pure rules: the lifecycle, priority, assignment by caseload, needs, referrals across municipalities.

No I/O here: every rule is a function of plain values, unit-tested without a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class CaseStatus(StrEnum):
    open = "open"
    assessment = "assessment"
    plan = "plan"
    active = "active"
    closed = "closed"
    transferred = "transferred"  # handed to another municipality's office; the receiving office has a new case


ACTIVE_STATUSES = frozenset({CaseStatus.open, CaseStatus.assessment, CaseStatus.plan, CaseStatus.active})

# Which state may follow which. A case moves forward one step at a time, may close from any active state,
# reopens from closed, and a transfer ends the case in the origin municipality.
TRANSITIONS: Mapping[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.open: frozenset({CaseStatus.assessment, CaseStatus.closed, CaseStatus.transferred}),
    CaseStatus.assessment: frozenset({CaseStatus.plan, CaseStatus.closed, CaseStatus.transferred}),
    CaseStatus.plan: frozenset({CaseStatus.active, CaseStatus.closed, CaseStatus.transferred}),
    CaseStatus.active: frozenset({CaseStatus.closed, CaseStatus.transferred}),
    CaseStatus.closed: frozenset({CaseStatus.open}),
    CaseStatus.transferred: frozenset(),
}


class IllegalTransition(ValueError):
    def __init__(self, current: CaseStatus, wanted: CaseStatus) -> None:
        self.current, self.wanted = current, wanted
        self.allowed = sorted(TRANSITIONS[current])
        allowed = ", ".join(self.allowed) or "none (the case is final here)"
        super().__init__(f"A case in state '{current}' cannot go to '{wanted}'. Allowed next: {allowed}.")


def check_transition(current: CaseStatus, wanted: CaseStatus) -> None:
    if wanted not in TRANSITIONS[current]:
        raise IllegalTransition(current, wanted)


# --- priority -------------------------------------------------------------------------------------------------


class Priority(StrEnum):
    urgent = "urgent"
    high = "high"
    medium = "medium"
    low = "low"


PRIORITY_ORDER = (Priority.urgent, Priority.high, Priority.medium, Priority.low)
VULNERABLE_MEMBERS = frozenset({"disability", "without_documents"})


@dataclass(frozen=True, slots=True)
class MemberFacts:
    """What cases knows of a member from intake's events (no personal data)."""

    birth_year: int
    markers: frozenset[str]


def case_priority(*, members: Sequence[MemberFacts], below_poverty_line: bool | None, on: date) -> Priority:
    """The documented priority rule (docs/cases.md):

    - urgent: a member is a victim of violence;
    - high: the household is below the poverty line and has a child (under 18), an elderly member (65+),
      a member with a disability or one without personal documents;
    - medium: below the poverty line, or any such vulnerable member, or a single parent;
    - low: everything else (including households whose poverty status is unknown and no marker).
    """
    markers = frozenset().union(*(m.markers for m in members)) if members else frozenset()
    if "victim_of_violence" in markers:
        return Priority.urgent
    ages = [on.year - m.birth_year for m in members]
    dependants = any(a < 18 or a >= 65 for a in ages)
    vulnerable = bool(markers & VULNERABLE_MEMBERS)
    if below_poverty_line and (dependants or vulnerable):
        return Priority.high
    if below_poverty_line or vulnerable or "single_parent" in markers:
        return Priority.medium
    return Priority.low


# --- assignment -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorkerLoad:
    worker: str
    active_cases: int


def choose_worker(loads: Iterable[WorkerLoad]) -> str | None:
    """The worker with the lowest active caseload (ties: the name, so the choice is deterministic)."""
    ranked = sorted(loads, key=lambda w: (w.active_cases, w.worker))
    return ranked[0].worker if ranked else None


def over_norm(active_cases: int, norm: int) -> bool:
    return active_cases > norm


# --- assessment and plans -------------------------------------------------------------------------------------

NEED_DOMAINS = ("income", "employment", "housing", "health", "education", "care", "safety")
NEED_LEVELS = ("none", "low", "moderate", "high", "critical")


def plan_is_overdue(review_date: date | None, today: date) -> bool:
    return review_date is not None and review_date < today


# --- work engagement ------------------------------------------------------------------------------------------

# The markers a candidate profile carries to activation: a victim of violence is never named outside the case.
ACTIVATION_MARKERS = frozenset({"unemployed_able_to_work", "disability", "single_parent", "roma", "without_documents"})


# --- services and referrals -----------------------------------------------------------------------------------

SERVICE_TYPES = (
    "day_care",
    "home_help",
    "personal_assistance",
    "supported_housing",
    "counselling",
    "shelter",
    "foster_care",
    "residential_care",
    "one_off_assistance",
    "documents_help",
    "employment_registration",
)
# What an inter-municipal agreement may cover: the providers' services, and work engagement, which no provider
# offers (activation lets a match cross a border only where a valid agreement lists it).
WORK_ENGAGEMENT = "work_engagement"
AGREEMENT_SCOPES = (*SERVICE_TYPES, WORK_ENGAGEMENT)


@dataclass(frozen=True, slots=True)
class Agreement:
    municipalities: frozenset[str]
    service_types: frozenset[str]
    valid_from: date
    valid_to: date | None


def referral_refusal(
    *,
    case_municipality: str,
    provider_municipality: str,
    service_type: str,
    agreements: Iterable[Agreement],
    on: date,
) -> str | None:
    """Why a referral may not cross to the provider's municipality, or None when it may.

    Same municipality: always. Another one: only where an agreement valid on ``on`` covers both municipalities
    and the service type.
    """
    if case_municipality == provider_municipality:
        return None
    for agreement in agreements:
        if (
            {case_municipality, provider_municipality} <= agreement.municipalities
            and service_type in agreement.service_types
            and agreement.valid_from <= on
            and (agreement.valid_to is None or on <= agreement.valid_to)
        ):
            return None
    return (
        f"No inter-municipal agreement valid on {on.isoformat()} covers '{service_type}' between "
        f"{case_municipality} and {provider_municipality}."
    )


def capacity_refusal(*, capacity: int, occupancy: int) -> str | None:
    if occupancy >= capacity:
        return f"The provider is full ({occupancy} of {capacity} places taken)."
    return None


# --- closing, plans, referrals' own lifecycle -----------------------------------------------------------------

CLOSE_REASONS = (
    "goals_achieved",
    "no_longer_eligible",
    "moved_away",
    "declined_services",
    "deceased",
    "merged",
    "other",
)
ACTION_KINDS = ("task", "service", "work_engagement")


class ReferralStatus(StrEnum):
    requested = "requested"
    accepted = "accepted"
    declined = "declined"
    ended = "ended"
    cancelled = "cancelled"


REFERRAL_TRANSITIONS: Mapping[ReferralStatus, frozenset[ReferralStatus]] = {
    ReferralStatus.requested: frozenset({ReferralStatus.accepted, ReferralStatus.declined, ReferralStatus.cancelled}),
    ReferralStatus.accepted: frozenset({ReferralStatus.ended}),
    ReferralStatus.declined: frozenset(),
    ReferralStatus.ended: frozenset(),
    ReferralStatus.cancelled: frozenset(),
}


class IllegalReferralStep(ValueError):
    def __init__(self, current: ReferralStatus, wanted: ReferralStatus) -> None:
        self.current, self.wanted = current, wanted
        self.allowed = sorted(REFERRAL_TRANSITIONS[current])
        allowed = ", ".join(self.allowed) or "none (the referral is final)"
        super().__init__(f"A referral that is '{current}' cannot become '{wanted}'. Allowed next: {allowed}.")


def check_referral_step(current: ReferralStatus, wanted: ReferralStatus) -> None:
    if wanted not in REFERRAL_TRANSITIONS[current]:
        raise IllegalReferralStep(current, wanted)


def transfer_agreement(
    *, origin: str, destination: str, agreements: Iterable[tuple[object, Agreement]], on: date
) -> object | None:
    """The id of an agreement valid on ``on`` that joins both municipalities (any service), or None."""
    for key, agreement in agreements:
        if (
            {origin, destination} <= agreement.municipalities
            and agreement.valid_from <= on
            and (agreement.valid_to is None or on <= agreement.valid_to)
        ):
            return key
    return None


def median_days(pairs: Iterable[tuple[date, date]]) -> float | None:
    """Median whole days from the first date to the second of each pair; None when there is none."""
    days = sorted((b - a).days for a, b in pairs)
    if not days:
        return None
    mid = len(days) // 2
    return float(days[mid]) if len(days) % 2 else (days[mid - 1] + days[mid]) / 2
