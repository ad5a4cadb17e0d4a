"""The catalogue of indicators: what each one means (its theme, unit, kind and the dimensions it breaks down by)
and how it is computed (which facts count, over what they are divided, or a computation of its own).

The values a query chooses from (periods, area levels, dimensions, sexes, age bands, groups, categories) are here
too, beside the indicators that use them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, get_args

from sqlalchemy import func

from services.reporting import domain
from services.reporting import read_model as facts
from services.reporting.models import HOUSEHOLDS, OPPORTUNITIES, PERSONS, PLACEMENTS, REFERRALS
from services.reporting.read_model import Source
from shared.events.activation import OpportunityType
from shared.events.cases import CaseStatusName, ServiceType

PERIODS = ("month", "quarter", "year")
AREAS = ("municipality", "district", "country")
DIMENSIONS = ("period", "area", "sex", "age_band", "group", "category")
AGE_BANDS = domain.AGE_BANDS
GROUPS = domain.GROUPS
SEXES = ("F", "M")
COUNTRY = "RS"
CATEGORIES: dict[str, tuple[str, ...]] = {
    "case_state": get_args(CaseStatusName),
    "service_type": get_args(ServiceType),
    "opportunity_type": get_args(OpportunityType),
}

Unit = Literal["count", "rate", "share", "median_days", "per_worker"]
Kind = Literal["flow", "stock", "snapshot"]


@dataclass(frozen=True)
class Indicator:
    name: str
    theme: str
    unit: Unit
    kind: Kind
    label: str
    description: str
    dims: frozenset[str]
    category: str | None = None
    target: float | None = None


@dataclass(frozen=True)
class Plan:
    """How an indicator is computed: one or two (numerator, denominator) sources, or a special computation."""

    sources: Callable[[], list[Source]]
    denominator: Callable[[], list[Source]] | None = None
    numerator_filter: dict[str, str] = field(default_factory=dict)  # share of women / Roma: extra filter on top
    special: str | None = None  # "median", "caseload", "occupancy"


_ALL = frozenset(DIMENSIONS)
_NO_PERSON = frozenset({"period", "area", "category"})


def _entry(
    name: str,
    theme: str,
    unit: Unit,
    kind: Kind,
    label: str,
    description: str,
    plan: Plan,
    *,
    dims: frozenset[str] = _ALL,
    category: str | None = None,
    target: float | None = None,
) -> tuple[Indicator, Plan]:
    if category is None:
        dims = dims - {"category"}
    return Indicator(name, theme, unit, kind, label, description, dims, category, target), plan


def _count(sources: Callable[[], list[Source]]) -> Plan:
    return Plan(sources)


_ENTRIES = [
    _entry(
        "households",
        "registry",
        "count",
        "stock",
        "Households in the registry",
        "Registered households at the end of the period (merged duplicates not counted).",
        _count(lambda: [facts.households()]),
    ),
    _entry(
        "households_registered",
        "registry",
        "count",
        "flow",
        "Households registered",
        "Households registered within the period.",
        _count(lambda: [facts.households()]),
    ),
    _entry(
        "persons",
        "registry",
        "count",
        "stock",
        "Persons in the registry",
        "Members of registered households at the end of the period.",
        _count(lambda: [facts.persons()]),
    ),
    _entry(
        "persons_registered",
        "registry",
        "count",
        "flow",
        "Persons registered",
        "Members of the households registered within the period.",
        _count(lambda: [facts.persons()]),
    ),
    _entry(
        "persons_below_poverty",
        "poverty",
        "count",
        "stock",
        "Persons below the poverty line",
        "Members of registered households whose income per equivalent adult is below the year's line.",
        _count(lambda: [facts.persons(PERSONS.c.below_poverty.is_(True))]),
    ),
    _entry(
        "persons_poverty_rate",
        "poverty",
        "rate",
        "stock",
        "Poverty rate (persons)",
        "Persons below the poverty line among persons whose household's poverty status is known.",
        Plan(
            lambda: [facts.persons(PERSONS.c.below_poverty.is_(True))],
            lambda: [facts.persons(PERSONS.c.below_poverty.is_not(None))],
        ),
    ),
    _entry(
        "households_below_poverty",
        "poverty",
        "count",
        "stock",
        "Households below the poverty line",
        "Registered households below the year's poverty line.",
        _count(lambda: [facts.households(HOUSEHOLDS.c.below_poverty.is_(True))]),
    ),
    _entry(
        "households_poverty_rate",
        "poverty",
        "rate",
        "stock",
        "Poverty rate (households)",
        "Households below the poverty line among households whose poverty status is known.",
        Plan(
            lambda: [facts.households(HOUSEHOLDS.c.below_poverty.is_(True))],
            lambda: [facts.households(HOUSEHOLDS.c.below_poverty.is_not(None))],
        ),
    ),
    _entry(
        "households_elderly_head",
        "household_types",
        "count",
        "stock",
        "Households headed by an elderly person",
        "Registered households whose head was 65 or older when registered.",
        _count(lambda: [facts.households(HOUSEHOLDS.c.elderly_head.is_(True))]),
    ),
    _entry(
        "households_single_woman_head",
        "household_types",
        "count",
        "stock",
        "Households headed by a single woman",
        "Registered households headed by a woman living without a spouse or partner.",
        _count(lambda: [facts.households(HOUSEHOLDS.c.single_woman_head.is_(True))]),
    ),
    _entry(
        "households_with_disability",
        "household_types",
        "count",
        "stock",
        "Households with a member with a disability",
        "Registered households with a member with a disability.",
        _count(lambda: [facts.households(HOUSEHOLDS.c.disability_member.is_(True))]),
    ),
    _entry(
        "cases_opened",
        "cases",
        "count",
        "flow",
        "Cases opened",
        "Cases opened within the period (a transfer opens a case in the receiving municipality).",
        _count(lambda: [facts.cases_opened()]),
    ),
    _entry(
        "assessments_completed",
        "cases",
        "count",
        "flow",
        "Assessments completed",
        "Cases whose first assessment was completed within the period.",
        _count(lambda: [facts.assessed()]),
    ),
    _entry(
        "cases_by_state",
        "cases",
        "count",
        "stock",
        "Cases by state",
        "Cases in each state at the end of the period.",
        _count(lambda: [facts.transitions("to"), facts.transitions("from")]),
        category="case_state",
    ),
    _entry(
        "median_days_to_assessment",
        "cases",
        "median_days",
        "flow",
        "Median days from registration to assessment",
        "For cases whose first assessment was completed within the period: the median number of days since the "
        "household was registered.",
        Plan(lambda: [facts.assessments()], special="median"),
    ),
    _entry(
        "caseload_per_worker",
        "cases",
        "per_worker",
        "snapshot",
        "Caseload per worker",
        "Now: active cases (open, assessment, plan, active) per worker who carries any, against the norm.",
        Plan(lambda: [], special="caseload"),
        dims=frozenset({"area"}),
    ),
    _entry(
        "referrals",
        "services",
        "count",
        "flow",
        "Referrals to services",
        "Referrals requested within the period, by service type.",
        _count(lambda: [facts.referrals()]),
        category="service_type",
    ),
    _entry(
        "referrals_cross_border_share",
        "services",
        "share",
        "flow",
        "Referrals across a municipal border",
        "The share of referrals requested within the period whose provider is in another municipality.",
        Plan(lambda: [facts.referrals(REFERRALS.c.cross_border.is_(True))], lambda: [facts.referrals()]),
        category="service_type",
    ),
    _entry(
        "provider_occupancy",
        "services",
        "rate",
        "stock",
        "Provider occupancy",
        "Places occupied out of the capacity of active service providers at the end of the period.",
        Plan(lambda: [facts.providers()], special="occupancy"),
        dims=_NO_PERSON,
        category="service_type",
    ),
    _entry(
        "beneficiaries",
        "beneficiaries",
        "count",
        "stock",
        "Beneficiaries",
        "Members of registered households with a case, at the end of the period.",
        _count(lambda: [facts.beneficiaries()]),
    ),
    _entry(
        "share_women_beneficiaries",
        "beneficiaries",
        "share",
        "stock",
        "Women among beneficiaries",
        "The share of women among beneficiaries (target: at least 50 %).",
        Plan(lambda: [facts.beneficiaries()], lambda: [facts.beneficiaries()], {"sex": "F"}),
        dims=_ALL - {"sex"},
        target=0.5,
    ),
    _entry(
        "share_roma_beneficiaries",
        "beneficiaries",
        "share",
        "stock",
        "Roma among beneficiaries",
        "The share of beneficiaries who declared themselves Roma (with explicit consent).",
        Plan(lambda: [facts.beneficiaries()], lambda: [facts.beneficiaries()], {"group": "roma"}),
        dims=_ALL - {"group"},
    ),
    _entry(
        "activation_candidates",
        "activation",
        "count",
        "stock",
        "Activation candidates",
        "Persons a case worker engaged for work, at the end of the period.",
        _count(lambda: [facts.candidates()]),
    ),
    _entry(
        "opportunities_published",
        "activation",
        "count",
        "flow",
        "Opportunities published",
        "Work-engagement opportunities published within the period.",
        _count(lambda: [facts.opportunities(func.count())]),
        dims=_NO_PERSON,
        category="opportunity_type",
    ),
    _entry(
        "positions_offered",
        "activation",
        "count",
        "flow",
        "Positions offered",
        "Positions of the opportunities published within the period.",
        _count(lambda: [facts.opportunities(func.sum(OPPORTUNITIES.c.positions))]),
        dims=_NO_PERSON,
        category="opportunity_type",
    ),
    _entry(
        "placements_proposed",
        "activation",
        "count",
        "flow",
        "Placements proposed",
        "Candidates proposed for an opportunity within the period.",
        _count(lambda: [facts.placements("proposed")]),
        category="opportunity_type",
    ),
    _entry(
        "placements_started",
        "activation",
        "count",
        "flow",
        "Placements started",
        "Placements started within the period.",
        _count(lambda: [facts.placements("started")]),
        category="opportunity_type",
    ),
    _entry(
        "placements_completed",
        "activation",
        "count",
        "flow",
        "Placements completed",
        "Placements completed as planned within the period.",
        _count(lambda: [facts.placements("completed")]),
        category="opportunity_type",
    ),
    _entry(
        "placements_ended_early",
        "activation",
        "count",
        "flow",
        "Placements ended early",
        "Placements ended before their planned end within the period.",
        _count(lambda: [facts.placements("ended")]),
        category="opportunity_type",
    ),
    _entry(
        "placement_hours_worked",
        "activation",
        "count",
        "flow",
        "Hours worked in placements",
        "Hours worked in the placements completed or ended within the period.",
        _count(lambda: [facts.placements("finished", func.sum(PLACEMENTS.c.hours_worked))]),
        category="opportunity_type",
    ),
    _entry(
        "placement_rate",
        "activation",
        "rate",
        "stock",
        "Placement rate",
        "Candidates who have started a placement, among all candidates, at the end of the period.",
        Plan(lambda: [facts.persons_placed()], lambda: [facts.candidates()]),
    ),
    _entry(
        "share_women_placements",
        "activation",
        "share",
        "flow",
        "Women among placements",
        "The share of placements started within the period by women (target: at least 50 %).",
        Plan(lambda: [facts.placements("started")], lambda: [facts.placements("started")], {"sex": "F"}),
        dims=_ALL - {"sex"},
        category="opportunity_type",
        target=0.5,
    ),
    _entry(
        "share_roma_placements",
        "activation",
        "share",
        "flow",
        "Roma among placements",
        "The share of placements started within the period by candidates who declared themselves Roma.",
        Plan(lambda: [facts.placements("started")], lambda: [facts.placements("started")], {"group": "roma"}),
        dims=_ALL - {"group"},
        category="opportunity_type",
    ),
]
CATALOGUE: dict[str, Indicator] = {indicator.name: indicator for indicator, _ in _ENTRIES}
PLANS: dict[str, Plan] = {indicator.name: plan for indicator, plan in _ENTRIES}
THEMES = tuple(dict.fromkeys(indicator.theme for indicator in CATALOGUE.values()))
