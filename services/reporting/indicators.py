"""Indicators: what they mean, and how a table of them is computed from the facts.

A query names one indicator, a period granularity (month, quarter, year) and range, an area level
(municipality, district, country), filters, and the dimensions to break it down by (period, area, sex, age band,
vulnerable group, and the indicator's own category: a case's state, a service type, an opportunity type).

Every figure comes from one grouped SQL query over a fact table (``(month, municipality, sex, age band, group
bits, category) → sum``), rolled up here to the areas, periods and dimensions asked for:

- a *flow* counts what happened within each period (registrations, cases opened, placements started);
- a *stock* is the state at the end of each period: the running sum, from the first month on record, of the
  monthly changes (households in the registry, cases by state, candidates, provider occupancy);
- a *rate* or *share* divides two of these on the same cells; a *median* collects the values of its cells;
- the caseload per worker is a snapshot of now (workers are not followed through time).

Household and case figures are broken down by the household head's sex and age band, and by the groups any
member belongs to; person figures by the person's own. Ages are reached in the year of the event counted
(registration, request). Vulnerable groups overlap: their rows do not add up to the total.

With ``exact=False`` (analysts, exports, public feeds) counts from 1 to 4 are shown as "<5", and so is any
other cell that would let one be derived from a total (secondary suppression along every additive dimension).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, null, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import FromClause

from services.reporting import domain
from services.reporting.projection import (
    CANDIDATES,
    CASES,
    HOUSEHOLDS,
    OPPORTUNITIES,
    PERSONS,
    PLACEMENTS,
    PROVIDER_DELTAS,
    REFERRALS,
    TRANSITIONS,
)
from shared import disclosure
from shared.disclosure import is_small
from shared.errors import Invalid, field_error
from shared.events.activation import OpportunityType
from shared.events.cases import CaseStatusName, ServiceType
from shared.reference import municipalities

PERIODS = ("month", "quarter", "year")
AREAS = ("municipality", "district", "country")
DIMENSIONS = ("period", "area", "sex", "age_band", "group", "category")
AGE_BANDS = domain.AGE_BANDS
GROUPS = domain.GROUPS
SEXES = ("F", "M")
COUNTRY = "RS"
SUPPRESSED = disclosure.SUPPRESSED
CATEGORIES: dict[str, tuple[str, ...]] = {
    "case_state": get_args(CaseStatusName),
    "service_type": get_args(ServiceType),
    "opportunity_type": get_args(OpportunityType),
}
ACTIVE_STATES = ("open", "assessment", "plan", "active")

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


# ---------------------------------------------------------------------------------------------------------------
# Sources: one grouped query each


@dataclass(frozen=True)
class _Source:
    """How one fact table yields (month, municipality, sex, age band, groups, category, values)."""

    frm: FromClause
    ym: ColumnElement[Any]
    municipality: ColumnElement[Any]
    values: tuple[ColumnElement[Any], ...]
    sex: ColumnElement[Any] | None = None
    band: ColumnElement[Any] | None = None
    groups: ColumnElement[Any] | None = None
    category: ColumnElement[Any] | None = None
    where: tuple[ColumnElement[bool], ...] = ()
    aggregate: bool = True  # False: one row per fact (medians)


@dataclass(frozen=True)
class _Filters:
    municipalities: tuple[str, ...]
    sex: str | None
    band: int | None
    group_bit: int | None
    first: int | None  # flows: the first month wanted; stocks need every month before too
    last: int


_ONE = (func.count().label("v0"),)


def _household_dims() -> dict[str, Any]:
    return {"sex": HOUSEHOLDS.c.head_sex, "band": HOUSEHOLDS.c.head_age_band, "groups": HOUSEHOLDS.c.groups}


def _persons(*where: ColumnElement[bool]) -> _Source:
    p = PERSONS.c
    return _Source(PERSONS, p.registered_ym, p.municipality_code, _ONE, p.sex, p.age_band, p.groups, where=where)


def _households(*where: ColumnElement[bool]) -> _Source:
    h = HOUSEHOLDS.c
    return _Source(
        HOUSEHOLDS, h.registered_ym, h.municipality_code, _ONE, **_household_dims(), where=(h.active, *where)
    )


def _cases_opened() -> _Source:
    c = CASES.c
    frm = CASES.outerjoin(HOUSEHOLDS, HOUSEHOLDS.c.household_id == c.household_id)
    return _Source(frm, c.opened_ym, c.municipality_code, _ONE, **_household_dims())


def _assessed() -> _Source:
    c = CASES.c
    frm = CASES.outerjoin(HOUSEHOLDS, HOUSEHOLDS.c.household_id == c.household_id)
    return _Source(
        frm, c.assessed_ym, c.municipality_code, _ONE, **_household_dims(), where=(c.assessed_ym.is_not(None),)
    )


def _transitions(side: Literal["to", "from"]) -> _Source:
    t = TRANSITIONS.c
    frm = TRANSITIONS.join(CASES, CASES.c.case_id == t.case_id).outerjoin(
        HOUSEHOLDS, HOUSEHOLDS.c.household_id == CASES.c.household_id
    )
    status = t.to_status if side == "to" else t.from_status
    value = func.count() if side == "to" else -func.count()
    where = () if side == "to" else (t.from_status.is_not(None),)
    return _Source(
        frm, t.ym, t.municipality_code, (value.label("v0"),), **_household_dims(), category=status, where=where
    )


def _assessments() -> _Source:
    c = CASES.c
    frm = CASES.outerjoin(HOUSEHOLDS, HOUSEHOLDS.c.household_id == c.household_id)
    return _Source(
        frm,
        c.assessed_ym,
        c.municipality_code,
        (c.days_to_assessment.label("v0"),),
        **_household_dims(),
        where=(c.assessed_ym.is_not(None),),
        aggregate=False,
    )


def _referrals(*where: ColumnElement[bool]) -> _Source:
    r = REFERRALS.c
    frm = REFERRALS.outerjoin(HOUSEHOLDS, HOUSEHOLDS.c.household_id == r.household_id)
    return _Source(
        frm, r.requested_ym, r.municipality_code, _ONE, **_household_dims(), category=r.service_type, where=where
    )


def _providers() -> _Source:
    d = PROVIDER_DELTAS.c
    values = (func.sum(d.occupancy).label("v0"), func.sum(d.capacity).label("v1"), func.sum(d.providers).label("v2"))
    return _Source(PROVIDER_DELTAS, d.ym, d.municipality_code, values, category=d.service_type)


def _candidates() -> _Source:
    c = CANDIDATES.c
    return _Source(CANDIDATES, c.requested_ym, c.municipality_code, _ONE, c.sex, c.age_band, c.groups)


def _opportunities(value: ColumnElement[Any]) -> _Source:
    o = OPPORTUNITIES.c
    return _Source(
        OPPORTUNITIES, o.published_ym, o.municipality_code, (value.label("v0"),), category=o.opportunity_type
    )


def _placements(step: str, value: ColumnElement[Any] | None = None) -> _Source:
    p = PLACEMENTS.c
    frm = PLACEMENTS.outerjoin(CANDIDATES, CANDIDATES.c.person_id == p.person_id)
    month = p[f"{step}_ym"] if step != "finished" else func.coalesce(p.completed_ym, p.ended_ym)
    values = ((value if value is not None else func.count()).label("v0"),)
    c = CANDIDATES.c
    return _Source(
        frm,
        month,
        p.municipality_code,
        values,
        c.sex,
        c.age_band,
        c.groups,
        category=p.opportunity_type,
        where=(month.is_not(None),),
    )


def _persons_placed() -> _Source:
    """Candidates by the month of their first started placement (each person once)."""
    p = PLACEMENTS.c
    first = (
        select(p.person_id, func.min(p.started_ym).label("ym"))
        .where(p.started_ym.is_not(None))
        .group_by(p.person_id)
        .subquery("first_start")
    )
    frm = first.join(CANDIDATES, CANDIDATES.c.person_id == first.c.person_id)
    c = CANDIDATES.c
    return _Source(frm, first.c.ym, c.municipality_code, _ONE, c.sex, c.age_band, c.groups)


def _beneficiaries() -> _Source:
    """Members of households with a case, from the month both the person and the household's first case exist."""
    c = CASES.c
    first = select(c.household_id, func.min(c.opened_ym).label("ym")).group_by(c.household_id).subquery("first_case")
    p = PERSONS.c
    frm = PERSONS.join(first, first.c.household_id == p.household_id)
    month = case((p.registered_ym > first.c.ym, p.registered_ym), else_=first.c.ym)
    return _Source(frm, month, p.municipality_code, _ONE, p.sex, p.age_band, p.groups)


# ---------------------------------------------------------------------------------------------------------------
# The catalogue


@dataclass(frozen=True)
class _Plan:
    """How an indicator is computed: one or two (numerator, denominator) sources, or a special computation."""

    sources: Callable[[], list[_Source]]
    denominator: Callable[[], list[_Source]] | None = None
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
    plan: _Plan,
    *,
    dims: frozenset[str] = _ALL,
    category: str | None = None,
    target: float | None = None,
) -> tuple[Indicator, _Plan]:
    if category is None:
        dims = dims - {"category"}
    return Indicator(name, theme, unit, kind, label, description, dims, category, target), plan


def _count(sources: Callable[[], list[_Source]]) -> _Plan:
    return _Plan(sources)


_ENTRIES = [
    _entry(
        "households",
        "registry",
        "count",
        "stock",
        "Households in the registry",
        "Registered households at the end of the period (merged duplicates not counted).",
        _count(lambda: [_households()]),
    ),
    _entry(
        "households_registered",
        "registry",
        "count",
        "flow",
        "Households registered",
        "Households registered within the period.",
        _count(lambda: [_households()]),
    ),
    _entry(
        "persons",
        "registry",
        "count",
        "stock",
        "Persons in the registry",
        "Members of registered households at the end of the period.",
        _count(lambda: [_persons()]),
    ),
    _entry(
        "persons_registered",
        "registry",
        "count",
        "flow",
        "Persons registered",
        "Members of the households registered within the period.",
        _count(lambda: [_persons()]),
    ),
    _entry(
        "persons_below_poverty",
        "poverty",
        "count",
        "stock",
        "Persons below the poverty line",
        "Members of registered households whose income per equivalent adult is below the year's line.",
        _count(lambda: [_persons(PERSONS.c.below_poverty.is_(True))]),
    ),
    _entry(
        "persons_poverty_rate",
        "poverty",
        "rate",
        "stock",
        "Poverty rate (persons)",
        "Persons below the poverty line among persons whose household's poverty status is known.",
        _Plan(
            lambda: [_persons(PERSONS.c.below_poverty.is_(True))],
            lambda: [_persons(PERSONS.c.below_poverty.is_not(None))],
        ),
    ),
    _entry(
        "households_below_poverty",
        "poverty",
        "count",
        "stock",
        "Households below the poverty line",
        "Registered households below the year's poverty line.",
        _count(lambda: [_households(HOUSEHOLDS.c.below_poverty.is_(True))]),
    ),
    _entry(
        "households_poverty_rate",
        "poverty",
        "rate",
        "stock",
        "Poverty rate (households)",
        "Households below the poverty line among households whose poverty status is known.",
        _Plan(
            lambda: [_households(HOUSEHOLDS.c.below_poverty.is_(True))],
            lambda: [_households(HOUSEHOLDS.c.below_poverty.is_not(None))],
        ),
    ),
    _entry(
        "households_elderly_head",
        "household_types",
        "count",
        "stock",
        "Households headed by an elderly person",
        "Registered households whose head was 65 or older when registered.",
        _count(lambda: [_households(HOUSEHOLDS.c.elderly_head.is_(True))]),
    ),
    _entry(
        "households_single_woman_head",
        "household_types",
        "count",
        "stock",
        "Households headed by a single woman",
        "Registered households headed by a woman living without a spouse or partner.",
        _count(lambda: [_households(HOUSEHOLDS.c.single_woman_head.is_(True))]),
    ),
    _entry(
        "households_with_disability",
        "household_types",
        "count",
        "stock",
        "Households with a member with a disability",
        "Registered households with a member with a disability.",
        _count(lambda: [_households(HOUSEHOLDS.c.disability_member.is_(True))]),
    ),
    _entry(
        "cases_opened",
        "cases",
        "count",
        "flow",
        "Cases opened",
        "Cases opened within the period (a transfer opens a case in the receiving municipality).",
        _count(lambda: [_cases_opened()]),
    ),
    _entry(
        "assessments_completed",
        "cases",
        "count",
        "flow",
        "Assessments completed",
        "Cases whose first assessment was completed within the period.",
        _count(lambda: [_assessed()]),
    ),
    _entry(
        "cases_by_state",
        "cases",
        "count",
        "stock",
        "Cases by state",
        "Cases in each state at the end of the period.",
        _count(lambda: [_transitions("to"), _transitions("from")]),
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
        _Plan(lambda: [_assessments()], special="median"),
    ),
    _entry(
        "caseload_per_worker",
        "cases",
        "per_worker",
        "snapshot",
        "Caseload per worker",
        "Now: active cases (open, assessment, plan, active) per worker who carries any, against the norm.",
        _Plan(lambda: [], special="caseload"),
        dims=frozenset({"area"}),
    ),
    _entry(
        "referrals",
        "services",
        "count",
        "flow",
        "Referrals to services",
        "Referrals requested within the period, by service type.",
        _count(lambda: [_referrals()]),
        category="service_type",
    ),
    _entry(
        "referrals_cross_border_share",
        "services",
        "share",
        "flow",
        "Referrals across a municipal border",
        "The share of referrals requested within the period whose provider is in another municipality.",
        _Plan(lambda: [_referrals(REFERRALS.c.cross_border.is_(True))], lambda: [_referrals()]),
        category="service_type",
    ),
    _entry(
        "provider_occupancy",
        "services",
        "rate",
        "stock",
        "Provider occupancy",
        "Places occupied out of the capacity of active service providers at the end of the period.",
        _Plan(lambda: [_providers()], special="occupancy"),
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
        _count(lambda: [_beneficiaries()]),
    ),
    _entry(
        "share_women_beneficiaries",
        "beneficiaries",
        "share",
        "stock",
        "Women among beneficiaries",
        "The share of women among beneficiaries (target: at least 50 %).",
        _Plan(lambda: [_beneficiaries()], lambda: [_beneficiaries()], {"sex": "F"}),
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
        _Plan(lambda: [_beneficiaries()], lambda: [_beneficiaries()], {"group": "roma"}),
        dims=_ALL - {"group"},
    ),
    _entry(
        "activation_candidates",
        "activation",
        "count",
        "stock",
        "Activation candidates",
        "Persons a case worker engaged for work, at the end of the period.",
        _count(lambda: [_candidates()]),
    ),
    _entry(
        "opportunities_published",
        "activation",
        "count",
        "flow",
        "Opportunities published",
        "Work-engagement opportunities published within the period.",
        _count(lambda: [_opportunities(func.count())]),
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
        _count(lambda: [_opportunities(func.sum(OPPORTUNITIES.c.positions))]),
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
        _count(lambda: [_placements("proposed")]),
        category="opportunity_type",
    ),
    _entry(
        "placements_started",
        "activation",
        "count",
        "flow",
        "Placements started",
        "Placements started within the period.",
        _count(lambda: [_placements("started")]),
        category="opportunity_type",
    ),
    _entry(
        "placements_completed",
        "activation",
        "count",
        "flow",
        "Placements completed",
        "Placements completed as planned within the period.",
        _count(lambda: [_placements("completed")]),
        category="opportunity_type",
    ),
    _entry(
        "placements_ended_early",
        "activation",
        "count",
        "flow",
        "Placements ended early",
        "Placements ended before their planned end within the period.",
        _count(lambda: [_placements("ended")]),
        category="opportunity_type",
    ),
    _entry(
        "placement_hours_worked",
        "activation",
        "count",
        "flow",
        "Hours worked in placements",
        "Hours worked in the placements completed or ended within the period.",
        _count(lambda: [_placements("finished", func.sum(PLACEMENTS.c.hours_worked))]),
        category="opportunity_type",
    ),
    _entry(
        "placement_rate",
        "activation",
        "rate",
        "stock",
        "Placement rate",
        "Candidates who have started a placement, among all candidates, at the end of the period.",
        _Plan(lambda: [_persons_placed()], lambda: [_candidates()]),
    ),
    _entry(
        "share_women_placements",
        "activation",
        "share",
        "flow",
        "Women among placements",
        "The share of placements started within the period by women (target: at least 50 %).",
        _Plan(lambda: [_placements("started")], lambda: [_placements("started")], {"sex": "F"}),
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
        _Plan(lambda: [_placements("started")], lambda: [_placements("started")], {"group": "roma"}),
        dims=_ALL - {"group"},
        category="opportunity_type",
    ),
]
CATALOGUE: dict[str, Indicator] = {indicator.name: indicator for indicator, _ in _ENTRIES}
_PLANS: dict[str, _Plan] = {indicator.name: plan for indicator, plan in _ENTRIES}
THEMES = tuple(dict.fromkeys(indicator.theme for indicator in CATALOGUE.values()))


# ---------------------------------------------------------------------------------------------------------------
# Queries


@dataclass(frozen=True)
class Query:
    indicator: str
    period: str = "year"
    start: str | None = None
    end: str | None = None
    area: str = "country"
    municipalities: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    sex: str | None = None
    age_band: str | None = None
    group: str | None = None
    by: tuple[str, ...] = ()


def _values(params: Mapping[str, str | Sequence[str]], name: str) -> list[str]:
    raw = params.get(name)
    if raw is None:
        return []
    items = [raw] if isinstance(raw, str) else list(raw)
    return [part.strip() for item in items for part in item.split(",") if part.strip()]


def _one(params: Mapping[str, str | Sequence[str]], name: str) -> str | None:
    values = _values(params, name)
    return values[-1] if values else None


def _month(text: str) -> int | None:
    parts = text.split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or len(parts[0]) != 4 or len(parts[1]) != 2:
        return None
    year, month = int(parts[0]), int(parts[1])
    return year * 100 + month if 1 <= month <= 12 and 1900 <= year <= 2200 else None


def parse_query(params: Mapping[str, str | Sequence[str]]) -> Query:
    """A query from query-string values; every problem is reported at once (422)."""
    errors: list[dict[str, Any]] = []

    def bad(field: str, message: str, /, *, reason: str, **params: Any) -> None:
        errors.append(field_error(["query", field], message, reason, params=params))

    name = _one(params, "indicator")
    indicator = CATALOGUE.get(name or "")
    if name is None:
        bad("indicator", "choose an indicator (GET /reporting/api/catalogue lists them)", reason="indicator_missing")
    elif indicator is None:
        bad("indicator", f"unknown indicator {name!r}", reason="unknown_indicator", indicator=name)
    period = _one(params, "period") or "year"
    if period not in PERIODS:
        bad("period", f"must be one of {', '.join(PERIODS)}", reason="unknown_period")
    area = _one(params, "area") or "country"
    if area not in AREAS:
        bad("area", f"must be one of {', '.join(AREAS)}", reason="unknown_area")
    start, end = _one(params, "from"), _one(params, "to")
    for label, value in (("from", start), ("to", end)):
        if value is not None and _month(value) is None:
            bad(label, "a month as YYYY-MM", reason="month_format")
    if start and end and _month(start) and _month(end) and (_month(start) or 0) > (_month(end) or 0):
        bad("from", "the range starts after it ends", reason="months_reversed")
    codes = _values(params, "municipality")
    for code in codes:
        if not municipalities.is_known(code):
            bad("municipality", f"unknown municipality code {code}", reason="unknown_municipality", code=code)
    known_districts = {m.district for m in municipalities.municipalities().values()}
    districts = _values(params, "district")
    for district in districts:
        if district not in known_districts:
            bad("district", f"unknown district {district!r}", reason="unknown_district", name=district)
    sex = _one(params, "sex")
    if sex is not None and sex not in SEXES:
        bad("sex", "F or M", reason="unknown_sex")
    band = _one(params, "age_band")
    if band is not None and band not in AGE_BANDS:
        bad("age_band", f"one of {', '.join(AGE_BANDS)}", reason="unknown_age_band")
    group = _one(params, "group")
    if group is not None and group not in GROUPS:
        bad("group", f"one of {', '.join(GROUPS)}", reason="unknown_group")
    by = tuple(dict.fromkeys(_values(params, "by")))
    for dim in by:
        if dim not in DIMENSIONS:
            message = f"unknown dimension {dim!r}; one of {', '.join(DIMENSIONS)}"
            bad("by", message, reason="unknown_dimension", dimension=dim)
    if indicator is not None:
        for dim in by:
            if dim in DIMENSIONS and dim not in indicator.dims:
                message = f"{indicator.label} cannot be broken down by {dim.replace('_', ' ')}"
                bad("by", message, reason="not_by_dimension", dimension=dim)
        # Three sentences rather than one with the dimension in it: Serbian words each its own way.
        if sex is not None and "sex" not in indicator.dims:
            bad("sex", f"{indicator.label} cannot be filtered by sex", reason="not_filtered_by_sex")
        if band is not None and "age_band" not in indicator.dims:
            bad("age_band", f"{indicator.label} cannot be filtered by age band", reason="not_filtered_by_age_band")
        if group is not None and "group" not in indicator.dims:
            bad("group", f"{indicator.label} cannot be filtered by group", reason="not_filtered_by_group")
    if errors:
        raise Invalid("The indicator query has errors.", reason="query_not_valid", details=errors)
    return Query(
        indicator=name or "",
        period=period,
        start=start,
        end=end,
        area=area,
        municipalities=tuple(dict.fromkeys(codes)),
        districts=tuple(dict.fromkeys(districts)),
        sex=sex,
        age_band=band,
        group=group,
        by=by,
    )


def month_range(query: Query, today: datetime | None = None) -> tuple[int, int]:
    """The first and last month a query covers: as asked, or the last 12 months / 8 quarters / 5 years."""
    now = today or datetime.now(UTC)
    end = _month(query.end) if query.end else domain.ym(now)
    assert end is not None
    if query.start:
        start = _month(query.start)
        assert start is not None
    else:
        year, month = divmod(end, 100)
        if query.period == "month":
            year, month = (year, month - 11) if month > 11 else (year - 1, month + 1)
        elif query.period == "quarter":
            quarter_start = (month - 1) // 3 * 3 + 1
            total = year * 12 + quarter_start - 1 - 21
            year, month = divmod(total, 12)
            month += 1
        else:
            year, month = year - 4, 1
        start = year * 100 + month
    return start, end


@dataclass
class Table:
    query: Query
    indicator: Indicator
    columns: list[str]
    rows: list[dict[str, Any]]
    suppressed: int
    exact: bool
    generated_at: datetime
    start: int = 0
    end: int = 0


# ---------------------------------------------------------------------------------------------------------------
# Computing


Key = tuple[Any, ...]


def _area_key(code: str, level: str) -> tuple[str, str]:
    if level == "country":
        return COUNTRY, "Srbija"
    found = municipalities.get(code)
    if level == "district":
        district = found.district if found else "?"
        return district, district
    return code, found.name_latin if found else code


def _select(source: _Source, filters: _Filters, extra: Mapping[str, str]) -> Select[Any]:
    sex = source.sex if source.sex is not None else null()
    band = source.band if source.band is not None else null()
    groups = source.groups if source.groups is not None else literal(0)
    category = source.category if source.category is not None else null()
    columns = [
        source.ym.label("ym"),
        source.municipality.label("m"),
        sex.label("s"),
        band.label("b"),
        groups.label("g"),
        category.label("c"),
    ]
    stmt = select(*columns, *source.values).select_from(source.frm).where(*source.where)
    stmt = stmt.where(source.ym.is_not(None), source.ym <= filters.last)
    if filters.first is not None:
        stmt = stmt.where(source.ym >= filters.first)
    if filters.municipalities:
        stmt = stmt.where(source.municipality.in_(filters.municipalities))
    sex_value = extra.get("sex", filters.sex)
    if sex_value is not None and source.sex is not None:
        stmt = stmt.where(source.sex == sex_value)
    if filters.band is not None and source.band is not None:
        stmt = stmt.where(source.band == filters.band)
    bits = [b for b in (filters.group_bit, domain.GROUP_BITS.get(extra.get("group", ""))) if b]
    if bits and source.groups is not None:
        stmt = stmt.where(and_(*[source.groups.op("&")(b) != 0 for b in bits]))
    if source.aggregate:  # by the real columns (PostgreSQL refuses a constant in GROUP BY)
        real = [source.ym, source.municipality, source.sex, source.band, source.groups, source.category]
        stmt = stmt.group_by(*[c for c in real if c is not None])
    return stmt


@dataclass
class _Frame:
    """Sums by output key, each key holding a month → values mapping (months kept for running sums)."""

    width: int
    cells: dict[Key, dict[int, list[float]]] = field(default_factory=lambda: defaultdict(dict))

    def add(self, key: Key, month: int, values: Sequence[float]) -> None:
        slot = self.cells[key].get(month)
        if slot is None:
            self.cells[key][month] = [float(v or 0) for v in values]
        else:
            for i, v in enumerate(values):
                slot[i] += float(v or 0)


class _Shape:
    """Turns fact rows into output keys: area level, dims asked for, periods."""

    def __init__(self, query: Query, indicator: Indicator) -> None:
        self.query = query
        self.indicator = indicator
        self.by = [d for d in query.by]

    def keys(self, m: str, s: str | None, b: int | None, g: int, c: str | None) -> Iterable[Key]:
        base: list[list[Any]] = [[]]
        for dim in self.by:
            if dim == "period":
                options: list[Any] = [None]  # filled in later from the month
            elif dim == "area":
                options = [_area_key(m, self.query.area)[0]]
            elif dim == "sex":
                options = [s or "unknown"]
            elif dim == "age_band":
                options = [AGE_BANDS[b] if b is not None else "unknown"]
            elif dim == "group":
                options = [name for name in GROUPS if g & domain.GROUP_BITS[name]]
            else:
                options = [c or "unknown"]
            base = [[*prefix, o] for prefix in base for o in options]
        return [tuple(k) for k in base]


async def _frame(
    session: AsyncSession, sources: list[_Source], shape: _Shape, filters: _Filters, extra: Mapping[str, str]
) -> _Frame:
    frame = _Frame(width=max(len(s.values) for s in sources))
    for source in sources:
        result = await session.execute(_select(source, filters, extra))
        for row in result:
            ym, m, s, b, g, c, *values = row
            for key in shape.keys(m, s, b, int(g or 0), c):
                frame.add(key, int(ym), values)
    return frame


def _periods(query: Query, start: int, end: int) -> list[tuple[str, int]]:
    """(label, last month) of every period overlapping [start, end], the last month capped at ``end``."""
    out: dict[str, int] = {}
    for month in domain.ym_range(start, end):
        out[domain.period_of(month, query.period)] = month
    return list(out.items())


def _resolve(frame: _Frame, shape: _Shape, kind: Kind, start: int, end: int) -> dict[Key, list[float]]:
    """Per output key (with the period filled in): the values over each period (flows) or at its end (stocks)."""
    query = shape.query
    with_period = "period" in shape.by
    pos = shape.by.index("period") if with_period else -1
    periods = _periods(query, start, end)
    out: dict[Key, list[float]] = {}
    for key, months in frame.cells.items():
        if kind == "flow":
            for month, values in months.items():
                if not start <= month <= end:
                    continue
                k = (*key[:pos], domain.period_of(month, query.period), *key[pos + 1 :]) if with_period else key
                slot = out.setdefault(k, [0.0] * frame.width)
                for i, v in enumerate(values):
                    slot[i] += v
            continue
        ordered = sorted(months.items())
        running = [0.0] * frame.width
        i = 0
        targets = periods if with_period else [(None, end)]
        for label, last in targets:
            while i < len(ordered) and ordered[i][0] <= last:
                for j, v in enumerate(ordered[i][1]):
                    running[j] += v
                i += 1
            k = (*key[:pos], label, *key[pos + 1 :]) if with_period else key
            out[k] = list(running)
    return out


def _domain_of(dim: str, query: Query, indicator: Indicator, start: int, end: int) -> list[Any] | None:
    """Every value a dimension takes, for filling empty cells with zero (None: only the values seen)."""
    if dim == "period":
        return [label for label, _ in _periods(query, start, end)]
    if dim == "sex":
        return [query.sex] if query.sex else list(SEXES)
    if dim == "age_band":
        return [query.age_band] if query.age_band else list(AGE_BANDS)
    if dim == "group":
        return [query.group] if query.group else list(GROUPS)
    if dim == "category" and indicator.category:
        return list(CATEGORIES[indicator.category])
    if dim == "area":
        if query.area == "country":
            return [COUNTRY]
        codes = filter_codes(query)
        if query.area == "municipality" and codes:
            return list(codes)
        if query.area == "district" and query.districts:
            return list(query.districts)
    return None


def _filled(values: dict[Key, list[float]], shape: _Shape, start: int, end: int, width: int) -> dict[Key, list[float]]:
    domains = [_domain_of(d, shape.query, shape.indicator, start, end) for d in shape.by]
    if not shape.by:
        return values or {(): [0.0] * width}
    seen: list[list[Any]] = [list(dict.fromkeys(k[i] for k in values)) for i in range(len(shape.by))]
    axes = [list(dict.fromkeys((d or []) + s)) if d is not None else s for d, s in zip(domains, seen, strict=True)]
    keys: list[Key] = [()]
    for axis in axes:
        keys = [(*k, v) for k in keys for v in axis]
    return {k: values.get(k, [0.0] * width) for k in keys}


def filter_codes(query: Query) -> tuple[str, ...]:
    codes = list(query.municipalities)
    if query.districts:
        wanted = set(query.districts)
        codes += [m.code for m in municipalities.municipalities().values() if m.district in wanted]
    return tuple(dict.fromkeys(codes))


def _sort_key(dim: str, value: Any) -> Any:
    if dim == "age_band":
        return AGE_BANDS.index(value) if value in AGE_BANDS else 99
    if dim == "group":
        return GROUPS.index(value) if value in GROUPS else 99
    return str(value)


def _rows(shape: _Shape, cells: dict[Key, dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for key in sorted(cells, key=lambda k: [_sort_key(d, v) for d, v in zip(shape.by, k, strict=True)]):
        row: dict[str, Any] = {}
        for dim, value in zip(shape.by, key, strict=True):
            row[dim] = value
            if dim == "area":
                row["area_name"] = _area_name(value, shape.query.area)
        row.update(cells[key])
        rows.append(row)
    return rows


def _area_name(key: str, level: str) -> str:
    if level == "municipality":
        found = municipalities.get(key)
        return found.name_latin if found else key
    if level == "country":
        return "Srbija"
    return key


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


async def compute(
    session: AsyncSession, query: Query, *, exact: bool, caseload_norm: int = 50, today: datetime | None = None
) -> Table:
    """The table ``query`` asks for, from the facts in ``session``'s store."""
    indicator = CATALOGUE[query.indicator]
    plan = _PLANS[query.indicator]
    start, end = month_range(query, today)
    shape = _Shape(query, indicator)
    filters = _Filters(
        municipalities=filter_codes(query),
        sex=query.sex,
        band=AGE_BANDS.index(query.age_band) if query.age_band else None,
        group_bit=domain.GROUP_BITS[query.group] if query.group else None,
        first=start if indicator.kind == "flow" else None,
        last=end,
    )
    if plan.special == "caseload":
        cells = await _caseload(session, shape, filters, caseload_norm)
        extra_columns = ["workers", "active_cases", "over_norm", "norm"]
    elif plan.special == "median":
        cells = await _medians(session, plan, shape, filters, start, end)
        extra_columns = ["cases"]
    else:
        numerator = _resolve(
            await _frame(session, plan.sources(), shape, filters, plan.numerator_filter),
            shape,
            indicator.kind,
            start,
            end,
        )
        width = max(len(s.values) for s in plan.sources())
        numerator = _filled(numerator, shape, start, end, width)
        if plan.special == "occupancy":
            cells = {
                k: {
                    "value": round(v[0] / v[1], 4) if v[1] else None,
                    "occupancy": _number(v[0]),
                    "capacity": _number(v[1]),
                    "providers": _number(v[2]),
                }
                for k, v in numerator.items()
            }
            extra_columns = ["occupancy", "capacity", "providers"]
        elif plan.denominator is not None:
            denominator = _resolve(
                await _frame(session, plan.denominator(), shape, filters, {}), shape, indicator.kind, start, end
            )
            cells = {}
            for k, v in numerator.items():
                den = denominator.get(k, [0.0])[0]
                cells[k] = {
                    "value": round(v[0] / den, 4) if den else None,
                    "numerator": _number(v[0]),
                    "denominator": _number(den),
                }
            for k, v in denominator.items():
                if k not in cells and (v[0] or not shape.by):
                    cells[k] = {"value": 0.0 if v[0] else None, "numerator": 0, "denominator": _number(v[0])}
            extra_columns = ["numerator", "denominator"]
        else:
            cells = {k: {"value": _number(v[0])} for k, v in numerator.items()}
            extra_columns = []
    suppressed = 0 if exact else _suppress(indicator, shape, cells)
    rows = _rows(shape, cells)
    columns = [c for d in query.by for c in ((d, "area_name") if d == "area" else (d,))] + ["value", *extra_columns]
    return Table(query, indicator, columns, rows, suppressed, exact, datetime.now(UTC), start, end)


async def _medians(
    session: AsyncSession, plan: _Plan, shape: _Shape, filters: _Filters, start: int, end: int
) -> dict[Key, dict[str, Any]]:
    collected: dict[Key, list[float]] = defaultdict(list)
    with_period = "period" in shape.by
    pos = shape.by.index("period") if with_period else -1
    for source in plan.sources():
        for ym, m, s, b, g, c, days in await session.execute(_select(source, filters, {})):
            if not start <= ym <= end:
                continue
            for key in shape.keys(m, s, b, int(g or 0), c):
                if with_period:
                    key = (*key[:pos], domain.period_of(int(ym), shape.query.period), *key[pos + 1 :])
                collected[key].append(float(days))
    filled = _filled({k: [0.0] for k in collected}, shape, start, end, 1)
    return {
        k: {
            "value": round(statistics.median(collected[k]), 1) if collected.get(k) else None,
            "cases": len(collected.get(k, [])),
        }
        for k in filled
    }


async def _caseload(session: AsyncSession, shape: _Shape, filters: _Filters, norm: int) -> dict[Key, dict[str, Any]]:
    c = CASES.c
    stmt = (
        select(c.municipality_code, c.worker, func.count())
        .where(c.status.in_(ACTIVE_STATES), c.worker.is_not(None))
        .group_by(c.municipality_code, c.worker)
    )
    if filters.municipalities:
        stmt = stmt.where(c.municipality_code.in_(filters.municipalities))
    rows = (await session.execute(stmt)).all()
    per_worker: dict[str, int] = defaultdict(int)
    for _m, worker, n in rows:
        per_worker[worker] += n
    areas: dict[Key, dict[str, Any]] = {}
    workers: dict[Key, set[str]] = defaultdict(set)
    for m, worker, n in rows:
        key = tuple(_area_key(m, shape.query.area)[0] for _ in shape.by)  # by is () or ("area",)
        cell = areas.setdefault(key, {"active_cases": 0})
        cell["active_cases"] += n
        workers[key].add(worker)
    filled = _filled({k: [0.0] for k in areas}, shape, 0, 0, 1)
    out = {}
    for key in filled:
        names = workers.get(key, set())
        active = areas.get(key, {"active_cases": 0})["active_cases"]
        out[key] = {
            "value": round(active / len(names), 1) if names else None,
            "workers": len(names),
            "active_cases": active,
            "over_norm": sum(1 for w in names if per_worker[w] > norm),
            "norm": norm,
        }
    return out


# ---------------------------------------------------------------------------------------------------------------
# Small-cell suppression


def _suppress(indicator: Indicator, shape: _Shape, cells: dict[Key, dict[str, Any]]) -> int:
    """Hide counts from 1 to 4, what would reveal them, and enough neighbours that no margin gives one away."""
    hidden = 0
    unit = indicator.unit
    for cell in cells.values():
        if unit == "count" and is_small(cell["value"]):
            cell["value"] = SUPPRESSED
        elif unit in ("rate", "share") and "numerator" in cell:
            num, den = cell["numerator"], cell["denominator"]
            if is_small(num) or is_small(den - num):
                cell.update(value=SUPPRESSED, numerator=SUPPRESSED)
            if is_small(den):
                cell.update(value=SUPPRESSED, denominator=SUPPRESSED)
        elif unit == "rate" and "occupancy" in cell:
            if is_small(cell["occupancy"]):
                cell.update(value=SUPPRESSED, occupancy=SUPPRESSED)
        elif unit == "median_days" and is_small(cell["cases"]):
            cell.update(value=SUPPRESSED, cases=SUPPRESSED)
        elif unit == "per_worker" and is_small(cell["active_cases"]):
            cell.update(value=SUPPRESSED, active_cases=SUPPRESSED)
    if unit == "count":
        _secondary(indicator, shape, cells)
    for cell in cells.values():
        hidden += sum(1 for v in cell.values() if v == SUPPRESSED)
    return hidden


def _secondary(indicator: Indicator, shape: _Shape, cells: dict[Key, dict[str, Any]]) -> None:
    """Along every dimension whose cells add up to a total someone can ask for, a lone hidden cell is joined by
    the smallest other non-zero one, until no total gives a hidden cell away."""
    additive = [
        i for i, dim in enumerate(shape.by) if dim != "group" and not (dim == "period" and indicator.kind == "stock")
    ]
    for _round in range(20):
        changed = False
        for i in additive:
            siblings: dict[Key, list[Key]] = defaultdict(list)
            for key in cells:
                rest = key[:i] + key[i + 1 :]
                if shape.by[i] == "area" and shape.query.area == "municipality":
                    rest += (_area_key(key[i], "district")[0],)
                siblings[rest].append(key)
            for keys in siblings.values():
                hidden = [k for k in keys if cells[k]["value"] == SUPPRESSED]
                if len(hidden) != 1 or len(keys) < 2:
                    continue
                shown = [k for k in keys if cells[k]["value"] not in (SUPPRESSED, 0)]
                if not shown:
                    continue
                smallest = min(shown, key=lambda k: cells[k]["value"])
                cells[smallest]["value"] = SUPPRESSED
                changed = True
        if not changed:
            return
