"""Computing a table of an indicator from the facts: the grouped fact rows of its plan (read_model) summed per
cell, flows over each period and stocks at its end, divided for rates and shares, collected for medians, the
caseload as it stands now, then suppressed unless the reader may see exact figures."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting import domain, read_model
from services.reporting.indicators.breakdowns import Key, Shape, area_key, periods_of, table_rows, with_empty_cells
from services.reporting.indicators.catalogue import AGE_BANDS, CATALOGUE, PLANS, Indicator, Kind, Plan
from services.reporting.indicators.query import Query, filter_codes, month_range
from services.reporting.indicators.suppression import suppress
from services.reporting.read_model import Filters, Source


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


async def _frame(
    session: AsyncSession, sources: list[Source], shape: Shape, filters: Filters, extra: Mapping[str, str]
) -> _Frame:
    frame = _Frame(width=max(len(s.values) for s in sources))
    for source in sources:
        for row in await read_model.fact_rows(session, source, filters, extra):
            ym, m, s, b, g, c, *values = row
            for key in shape.keys(m, s, b, int(g or 0), c):
                frame.add(key, int(ym), values)
    return frame


def _resolve(frame: _Frame, shape: Shape, kind: Kind, start: int, end: int) -> dict[Key, list[float]]:
    """Per output key (with the period filled in): the values over each period (flows) or at its end (stocks)."""
    query = shape.query
    with_period = "period" in shape.by
    pos = shape.by.index("period") if with_period else -1
    periods = periods_of(query, start, end)
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


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


async def compute(
    session: AsyncSession, query: Query, *, exact: bool, caseload_norm: int = 50, today: datetime | None = None
) -> Table:
    """The table ``query`` asks for, from the facts in ``session``'s store."""
    indicator = CATALOGUE[query.indicator]
    plan = PLANS[query.indicator]
    start, end = month_range(query, today)
    shape = Shape(query, indicator)
    filters = Filters(
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
        numerator = with_empty_cells(numerator, shape, start, end, width)
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
    suppressed = 0 if exact else suppress(indicator, shape, cells)
    rows = table_rows(shape, cells)
    columns = [c for d in query.by for c in ((d, "area_name") if d == "area" else (d,))] + ["value", *extra_columns]
    return Table(query, indicator, columns, rows, suppressed, exact, datetime.now(UTC), start, end)


async def _medians(
    session: AsyncSession, plan: Plan, shape: Shape, filters: Filters, start: int, end: int
) -> dict[Key, dict[str, Any]]:
    collected: dict[Key, list[float]] = defaultdict(list)
    with_period = "period" in shape.by
    pos = shape.by.index("period") if with_period else -1
    for source in plan.sources():
        for ym, m, s, b, g, c, days in await read_model.fact_rows(session, source, filters):
            if not start <= ym <= end:
                continue
            for key in shape.keys(m, s, b, int(g or 0), c):
                if with_period:
                    key = (*key[:pos], domain.period_of(int(ym), shape.query.period), *key[pos + 1 :])
                collected[key].append(float(days))
    filled = with_empty_cells({k: [0.0] for k in collected}, shape, start, end, 1)
    return {
        k: {
            "value": round(statistics.median(collected[k]), 1) if collected.get(k) else None,
            "cases": len(collected.get(k, [])),
        }
        for k in filled
    }


async def _caseload(session: AsyncSession, shape: Shape, filters: Filters, norm: int) -> dict[Key, dict[str, Any]]:
    rows = await read_model.active_cases_by_worker(session, filters.municipalities)
    per_worker: dict[str, int] = defaultdict(int)
    for _m, worker, n in rows:
        per_worker[worker] += n
    areas: dict[Key, dict[str, Any]] = {}
    workers: dict[Key, set[str]] = defaultdict(set)
    for m, worker, n in rows:
        key = tuple(area_key(m, shape.query.area)[0] for _ in shape.by)  # by is () or ("area",)
        cell = areas.setdefault(key, {"active_cases": 0})
        cell["active_cases"] += n
        workers[key].add(worker)
    filled = with_empty_cells({k: [0.0] for k in areas}, shape, 0, 0, 1)
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
