"""Reporting's use cases: answer indicator queries from the facts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting import domain, indicators, read_model
from services.reporting.indicators import Query, Table
from services.reporting.read_model import SUMMARY
from services.reporting.schemas import (
    CataloguePublic,
    IndicatorPublic,
    IndicatorsPublic,
    PersonsBySex,
    PlacementCounts,
    TablePublic,
)
from shared.auth import Role, User
from shared.disclosure import SUPPRESSED, disclosed, is_small
from shared.reference import municipalities

SUPPRESSION_NOTE = (
    "For analysts, in exports and in the public feeds, counts from 1 to 4 are shown as <5, and so is any other "
    "cell that would let one be derived from a total; rates, shares and medians built on such counts too."
)


def exact_for(user: User, municipality_codes: tuple[str, ...]) -> bool:
    """Admins see exact figures; supervisors and case workers for their own municipalities only; analysts never."""
    if Role.admin in user.roles:
        return True
    if Role.supervisor in user.roles or Role.case_worker in user.roles:
        return bool(municipality_codes) and set(municipality_codes) <= set(user.municipalities)
    return False


def catalogue() -> CataloguePublic:
    return CataloguePublic(
        indicators=[
            IndicatorPublic(
                name=i.name,
                theme=i.theme,
                unit=i.unit,
                kind=i.kind,
                label=i.label,
                description=i.description,
                dimensions=[d for d in indicators.DIMENSIONS if d in i.dims],
                category=i.category,
                categories=list(indicators.CATEGORIES.get(i.category or "", ())),
                target=i.target,
            )
            for i in indicators.CATALOGUE.values()
        ],
        periods=list(indicators.PERIODS),
        areas=list(indicators.AREAS),
        dimensions=list(indicators.DIMENSIONS),
        age_bands=list(indicators.AGE_BANDS),
        groups=list(indicators.GROUPS),
        districts=sorted({m.district for m in municipalities.municipalities().values()}),
        suppression=SUPPRESSION_NOTE,
    )


async def table(*, session: AsyncSession, user: User, query: Query, caseload_norm: int) -> Table:
    codes = indicators.filter_codes(query)
    return await indicators.compute(session, query, exact=exact_for(user, codes), caseload_norm=caseload_norm)


def table_public(result: Table) -> TablePublic:
    q = result.query
    filters: dict[str, Any] = {
        k: v
        for k, v in {
            "municipality": list(q.municipalities),
            "district": list(q.districts),
            "sex": q.sex,
            "age_band": q.age_band,
            "group": q.group,
        }.items()
        if v
    }
    return TablePublic(
        indicator=result.indicator.name,
        label=result.indicator.label,
        unit=result.indicator.unit,
        kind=result.indicator.kind,
        target=result.indicator.target,
        period=q.period,
        from_=domain.period_of(result.start, "month"),
        to=domain.period_of(result.end, "month"),
        area=q.area,
        by=list(q.by),
        filters=filters,
        columns=result.columns,
        rows=result.rows,
        suppressed=result.suppressed,
        exact=result.exact,
        generated_at=result.generated_at,
    )


# -- the headline summary (every municipality with data, then the country) ------------------------------------


def _summary_row(
    code: str | None,
    counts: dict[str, int],
    exact: bool,
    updated_at: datetime | None,
    hidden: frozenset[str] = frozenset(),
) -> IndicatorsPublic:
    found = municipalities.get(code) if code else None

    def _shown(value: int, exact: bool, name: str = "") -> int | str:
        return SUPPRESSED if name in hidden and not exact else disclosed(value, exact=exact)

    female, male = _shown(counts["female"], exact, "female"), _shown(counts["male"], exact, "male")
    if SUPPRESSED in (female, male):  # the total would give the other away
        female = male = SUPPRESSED
    return IndicatorsPublic(
        municipality_code=code,
        municipality_name=found.name_latin if found else None,
        households=_shown(counts["households"], exact, "households"),
        persons=PersonsBySex(female=female, male=male, total=_shown(counts["female"] + counts["male"], exact)),
        open_cases=_shown(counts["open_cases"], exact, "open_cases"),
        opportunities_published=_shown(counts["opportunities"], exact, "opportunities"),
        placements=PlacementCounts(
            proposed=_shown(counts["proposed"], exact, "proposed"),
            started=_shown(counts["started"], exact, "started"),
            completed=_shown(counts["completed"], exact, "completed"),
            ended_early=_shown(counts["ended"], exact, "ended"),
            hours_worked=_shown(counts["hours"], exact, "hours"),
        ),
        updated_at=updated_at,
    )


async def summary(*, session: AsyncSession, user: User, municipality_code: str | None) -> list[IndicatorsPublic]:
    """One municipality's headline figures, or every municipality's followed by the country's (code None)."""
    if municipality_code is not None:
        municipalities.ensure_known(municipality_code, ["query", "municipality"])
    updated_at = await read_model.last_projected_at(session)
    counts = await read_model.summary_counts(session, municipality_code)
    if municipality_code is not None:
        row = counts.get(municipality_code, dict.fromkeys(SUMMARY, 0))
        return [_summary_row(municipality_code, row, exact_for(user, (municipality_code,)), updated_at)]
    codes = sorted(c for c in counts if c is not None)
    exact: dict[str, bool] = {code: exact_for(user, (code,)) for code in codes}
    hidden: dict[str, set[str]] = {code: set() for code in codes}
    if Role.admin not in user.roles:
        # The country's total is shown: a municipality hidden alone in a column would be the difference.
        for name in SUMMARY:
            small = [c for c in codes if not exact[c] and is_small(counts[c][name])]
            if len(small) == 1:
                others = [c for c in codes if c not in small and counts[c][name] > 0]
                if others:
                    hidden[min(others, key=lambda c: counts[c][name])].add(name)
    rows = [_summary_row(code, counts[code], exact[code], updated_at, frozenset(hidden[code])) for code in codes]
    total = {name: sum(c[name] for c in counts.values()) for name in SUMMARY}
    rows.append(_summary_row(None, total, Role.admin in user.roles, updated_at))
    return rows


async def projection_times(*, session: AsyncSession, household_ids: list[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    return await read_model.projection_times(session, household_ids)
