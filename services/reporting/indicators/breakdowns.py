"""Breakdowns: how a fact row falls into the cells of a table (area level, the dimensions asked for, periods),
every value a dimension takes (so that empty cells show as zero), and the rows of a table in their order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from services.reporting import domain
from services.reporting.indicators.catalogue import AGE_BANDS, CATEGORIES, COUNTRY, GROUPS, SEXES, Indicator
from services.reporting.indicators.query import Query, filter_codes
from shared.reference import municipalities

Key = tuple[Any, ...]


def area_key(code: str, level: str) -> tuple[str, str]:
    if level == "country":
        return COUNTRY, "Srbija"
    found = municipalities.get(code)
    if level == "district":
        district = found.district if found else "?"
        return district, district
    return code, found.name_latin if found else code


class Shape:
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
                options = [area_key(m, self.query.area)[0]]
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


def periods_of(query: Query, start: int, end: int) -> list[tuple[str, int]]:
    """(label, last month) of every period overlapping [start, end], the last month capped at ``end``."""
    out: dict[str, int] = {}
    for month in domain.ym_range(start, end):
        out[domain.period_of(month, query.period)] = month
    return list(out.items())


def _domain_of(dim: str, query: Query, indicator: Indicator, start: int, end: int) -> list[Any] | None:
    """Every value a dimension takes, for filling empty cells with zero (None: only the values seen)."""
    if dim == "period":
        return [label for label, _ in periods_of(query, start, end)]
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


def with_empty_cells(
    values: dict[Key, list[float]], shape: Shape, start: int, end: int, width: int
) -> dict[Key, list[float]]:
    domains = [_domain_of(d, shape.query, shape.indicator, start, end) for d in shape.by]
    if not shape.by:
        return values or {(): [0.0] * width}
    seen: list[list[Any]] = [list(dict.fromkeys(k[i] for k in values)) for i in range(len(shape.by))]
    axes = [list(dict.fromkeys((d or []) + s)) if d is not None else s for d, s in zip(domains, seen, strict=True)]
    keys: list[Key] = [()]
    for axis in axes:
        keys = [(*k, v) for k in keys for v in axis]
    return {k: values.get(k, [0.0] * width) for k in keys}


def _sort_key(dim: str, value: Any) -> Any:
    if dim == "age_band":
        return AGE_BANDS.index(value) if value in AGE_BANDS else 99
    if dim == "group":
        return GROUPS.index(value) if value in GROUPS else 99
    return str(value)


def table_rows(shape: Shape, cells: dict[Key, dict[str, Any]]) -> list[dict[str, Any]]:
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
