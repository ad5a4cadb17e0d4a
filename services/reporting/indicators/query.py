"""An indicator query: what a reader asks for (the indicator, periods and months, area level, filters and
breakdowns), read from query-string values with every problem reported at once, and the months it covers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.reporting import domain
from services.reporting.indicators.catalogue import (
    AGE_BANDS,
    AREAS,
    CATALOGUE,
    DIMENSIONS,
    GROUPS,
    PERIODS,
    SEXES,
)
from shared.errors import Invalid, field_error
from shared.reference import municipalities


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


def filter_codes(query: Query) -> tuple[str, ...]:
    codes = list(query.municipalities)
    if query.districts:
        wanted = set(query.districts)
        codes += [m.code for m in municipalities.municipalities().values() if m.district in wanted]
    return tuple(dict.fromkeys(codes))
