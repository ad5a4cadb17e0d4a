"""Reporting's read model: every query that reads the fact projections to answer a reader.

The projections are written by services/reporting/projection.py alone; here they are only read: the grouped
fact rows every indicator is rolled up from (a :class:`Source` per fact table and :func:`fact_rows`), the active
cases by worker (the caseload), the headline counts of the summary and of the feed, and when households reached
the projections.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import ColumnElement, Select, Table, and_, case, func, literal, null, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import FromClause

from services.reporting import domain
from services.reporting.domain import Cell
from services.reporting.models import (
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

_CHUNK = 300  # cells per IN (...) list

# ---------------------------------------------------------------------------------------------------------------
# Sources: how each fact table yields the grouped rows an indicator is rolled up from


@dataclass(frozen=True)
class Source:
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
class Filters:
    """What a query keeps of the facts: municipalities, the person's sex, age band and group, and months."""

    municipalities: tuple[str, ...]
    sex: str | None
    band: int | None
    group_bit: int | None
    first: int | None  # flows: the first month wanted; stocks need every month before too
    last: int


_ONE = (func.count().label("v0"),)


def _household_dims() -> dict[str, Any]:
    return {"sex": HOUSEHOLDS.c.head_sex, "band": HOUSEHOLDS.c.head_age_band, "groups": HOUSEHOLDS.c.groups}


def persons(*where: ColumnElement[bool]) -> Source:
    p = PERSONS.c
    return Source(PERSONS, p.registered_ym, p.municipality_code, _ONE, p.sex, p.age_band, p.groups, where=where)


def households(*where: ColumnElement[bool]) -> Source:
    h = HOUSEHOLDS.c
    return Source(HOUSEHOLDS, h.registered_ym, h.municipality_code, _ONE, **_household_dims(), where=(h.active, *where))


def cases_opened() -> Source:
    c = CASES.c
    frm = CASES.outerjoin(HOUSEHOLDS, HOUSEHOLDS.c.household_id == c.household_id)
    return Source(frm, c.opened_ym, c.municipality_code, _ONE, **_household_dims())


def assessed() -> Source:
    c = CASES.c
    frm = CASES.outerjoin(HOUSEHOLDS, HOUSEHOLDS.c.household_id == c.household_id)
    return Source(
        frm, c.assessed_ym, c.municipality_code, _ONE, **_household_dims(), where=(c.assessed_ym.is_not(None),)
    )


def transitions(side: Literal["to", "from"]) -> Source:
    t = TRANSITIONS.c
    frm = TRANSITIONS.join(CASES, CASES.c.case_id == t.case_id).outerjoin(
        HOUSEHOLDS, HOUSEHOLDS.c.household_id == CASES.c.household_id
    )
    status = t.to_status if side == "to" else t.from_status
    value = func.count() if side == "to" else -func.count()
    where = () if side == "to" else (t.from_status.is_not(None),)
    return Source(
        frm, t.ym, t.municipality_code, (value.label("v0"),), **_household_dims(), category=status, where=where
    )


def assessments() -> Source:
    c = CASES.c
    frm = CASES.outerjoin(HOUSEHOLDS, HOUSEHOLDS.c.household_id == c.household_id)
    return Source(
        frm,
        c.assessed_ym,
        c.municipality_code,
        (c.days_to_assessment.label("v0"),),
        **_household_dims(),
        where=(c.assessed_ym.is_not(None),),
        aggregate=False,
    )


def referrals(*where: ColumnElement[bool]) -> Source:
    r = REFERRALS.c
    frm = REFERRALS.outerjoin(HOUSEHOLDS, HOUSEHOLDS.c.household_id == r.household_id)
    return Source(
        frm, r.requested_ym, r.municipality_code, _ONE, **_household_dims(), category=r.service_type, where=where
    )


def providers() -> Source:
    d = PROVIDER_DELTAS.c
    values = (func.sum(d.occupancy).label("v0"), func.sum(d.capacity).label("v1"), func.sum(d.providers).label("v2"))
    return Source(PROVIDER_DELTAS, d.ym, d.municipality_code, values, category=d.service_type)


def candidates() -> Source:
    c = CANDIDATES.c
    return Source(CANDIDATES, c.requested_ym, c.municipality_code, _ONE, c.sex, c.age_band, c.groups)


def opportunities(value: ColumnElement[Any]) -> Source:
    o = OPPORTUNITIES.c
    return Source(OPPORTUNITIES, o.published_ym, o.municipality_code, (value.label("v0"),), category=o.opportunity_type)


def placements(step: str, value: ColumnElement[Any] | None = None) -> Source:
    p = PLACEMENTS.c
    frm = PLACEMENTS.outerjoin(CANDIDATES, CANDIDATES.c.person_id == p.person_id)
    month = p[f"{step}_ym"] if step != "finished" else func.coalesce(p.completed_ym, p.ended_ym)
    values = ((value if value is not None else func.count()).label("v0"),)
    c = CANDIDATES.c
    return Source(
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


def persons_placed() -> Source:
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
    return Source(frm, first.c.ym, c.municipality_code, _ONE, c.sex, c.age_band, c.groups)


def beneficiaries() -> Source:
    """Members of households with a case, from the month both the person and the household's first case exist."""
    c = CASES.c
    first = select(c.household_id, func.min(c.opened_ym).label("ym")).group_by(c.household_id).subquery("first_case")
    p = PERSONS.c
    frm = PERSONS.join(first, first.c.household_id == p.household_id)
    month = case((p.registered_ym > first.c.ym, p.registered_ym), else_=first.c.ym)
    return Source(frm, month, p.municipality_code, _ONE, p.sex, p.age_band, p.groups)


def fact_select(source: Source, filters: Filters, extra: Mapping[str, str]) -> Select[Any]:
    """The grouped rows ``(ym, m, s, b, g, c, v0, ...)`` of ``source`` that ``filters`` keep; ``extra`` narrows the
    sex or group further (a share's numerator)."""
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


async def fact_rows(
    session: AsyncSession, source: Source, filters: Filters, extra: Mapping[str, str] | None = None
) -> list[tuple[Any, ...]]:
    """The rows of :func:`fact_select` (rows are tuples; the cast tells mypy how many values they hold)."""
    result = await session.execute(fact_select(source, filters, extra or {}))
    return cast(list[tuple[Any, ...]], result.all())


# ---------------------------------------------------------------------------------------------------------------
# The caseload: a snapshot of now


async def active_cases_by_worker(session: AsyncSession, municipalities: Collection[str]) -> list[tuple[str, str, int]]:
    """(municipality, worker, active cases) of every worker who carries an active case (all municipalities when
    ``municipalities`` is empty)."""
    c = CASES.c
    stmt = (
        select(c.municipality_code, c.worker, func.count())
        .where(c.status.in_(domain.ACTIVE_STATES), c.worker.is_not(None))
        .group_by(c.municipality_code, c.worker)
    )
    if municipalities:
        stmt = stmt.where(c.municipality_code.in_(municipalities))
    return [(m, worker, int(n)) for m, worker, n in (await session.execute(stmt)).all()]


# ---------------------------------------------------------------------------------------------------------------
# Headline counts: the summary (as they stand now) and the feed (by municipality and month)

SUMMARY = (
    "households",
    "female",
    "male",
    "open_cases",
    "opportunities",
    "proposed",
    "started",
    "completed",
    "ended",
    "hours",
)


async def summary_counts(session: AsyncSession, code: str | None) -> dict[str | None, dict[str, int]]:
    """The summary's counts by municipality: one municipality's (``code``), or every municipality's with data."""
    queries = {
        "households": select(HOUSEHOLDS.c.municipality_code, func.count()).where(HOUSEHOLDS.c.active.is_(True)),
        "female": select(PERSONS.c.municipality_code, func.count()).where(PERSONS.c.sex == "F"),
        "male": select(PERSONS.c.municipality_code, func.count()).where(PERSONS.c.sex == "M"),
        "open_cases": select(CASES.c.municipality_code, func.count()).where(CASES.c.status.in_(domain.ACTIVE_STATES)),
        "opportunities": select(OPPORTUNITIES.c.municipality_code, func.count()),
        "proposed": select(PLACEMENTS.c.municipality_code, func.count()).where(PLACEMENTS.c.proposed_ym.is_not(None)),
        "started": select(PLACEMENTS.c.municipality_code, func.count()).where(PLACEMENTS.c.started_ym.is_not(None)),
        "completed": select(PLACEMENTS.c.municipality_code, func.count()).where(PLACEMENTS.c.completed_ym.is_not(None)),
        "ended": select(PLACEMENTS.c.municipality_code, func.count()).where(PLACEMENTS.c.ended_ym.is_not(None)),
        "hours": select(PLACEMENTS.c.municipality_code, func.coalesce(func.sum(PLACEMENTS.c.hours_worked), 0)),
    }
    out: dict[str | None, dict[str, int]] = {}
    for name, stmt in queries.items():
        column = stmt.selected_columns[0]
        if code is not None:
            stmt = stmt.where(column == code)
        for municipality, value in (await session.execute(stmt.group_by(column))).all():
            out.setdefault(municipality, dict.fromkeys(SUMMARY, 0))[name] = int(value or 0)
    return out


# Headline counts of one municipality and month: independent figures (none is another's part), so suppressing
# each on its own lets none be derived.
HEADLINE: dict[str, tuple[Table, str, tuple[Any, ...]]] = {
    "households_registered": (HOUSEHOLDS, "registered_ym", (HOUSEHOLDS.c.active.is_(True),)),
    "persons_registered": (PERSONS, "registered_ym", ()),
    "cases_opened": (CASES, "opened_ym", ()),
    "assessments_completed": (CASES, "assessed_ym", ()),
    "referrals": (REFERRALS, "requested_ym", ()),
    "opportunities_published": (OPPORTUNITIES, "published_ym", ()),
    "placements_started": (PLACEMENTS, "started_ym", ()),
}


async def headline(session: AsyncSession, cells: Collection[Cell]) -> dict[Cell, dict[str, int]]:
    """The headline counts of ``cells``: one grouped query per table for all of them."""
    wanted = sorted(cells)
    out = {cell: dict.fromkeys(HEADLINE, 0) for cell in wanted}
    for name, (table, month_column, where) in HEADLINE.items():
        month = table.c[month_column]
        for i in range(0, len(wanted), _CHUNK):
            stmt = (
                select(table.c.municipality_code, month, func.count())
                .where(tuple_(table.c.municipality_code, month).in_(wanted[i : i + _CHUNK]), *where)
                .group_by(table.c.municipality_code, month)
            )
            for municipality, ym, n in await session.execute(stmt):
                out[municipality, int(ym)][name] = int(n)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Freshness


async def last_projected_at(session: AsyncSession) -> datetime | None:
    """When the projections last took in a household."""
    at: datetime | None = await session.scalar(select(func.max(HOUSEHOLDS.c.projected_at)))
    return at


async def projection_times(session: AsyncSession, household_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    """When each of these households reached the projections (the ones that have)."""
    if not household_ids:
        return {}
    h = HOUSEHOLDS.c
    stmt = select(h.household_id, h.projected_at).where(h.household_id.in_(list(household_ids)))
    return {hid: at for hid, at in (await session.execute(stmt)).all()}
