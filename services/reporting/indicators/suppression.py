"""Small-cell suppression of a table: counts from 1 to 4 shown as "<5" (shared.disclosure), what would reveal them,
and enough neighbours along every additive dimension that no total gives a hidden cell away."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from services.reporting.indicators.breakdowns import Key, Shape, area_key
from services.reporting.indicators.catalogue import Indicator
from shared.disclosure import SUPPRESSED, is_small


def suppress(indicator: Indicator, shape: Shape, cells: dict[Key, dict[str, Any]]) -> int:
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


def _secondary(indicator: Indicator, shape: Shape, cells: dict[Key, dict[str, Any]]) -> None:
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
                    rest += (area_key(key[i], "district")[0],)
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
