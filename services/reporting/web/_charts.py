"""A table of an indicator as a chart: what ``static/dashboard.js`` draws with Chart.js, written into the page as
JSON. Periods go along the x axis (a line when there is more than one), else the first dimension asked for (bars);
every other dimension makes a series. Suppressed and empty cells are gaps, never numbers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.reporting.indicators import Table
from services.reporting.web import _format
from services.reporting.web import _labels as labels

Translate = Callable[[str], str]
MAX_POINTS = 250
MAX_SERIES = 12


@dataclass(frozen=True)
class Chart:
    spec: dict[str, Any] | None  # None: nothing to draw
    note: str | None  # why not, or what the gaps are


def _number(value: Any, percent: bool) -> float | None:
    if value is None or isinstance(value, str | bool):
        return None
    return round(float(value) * 100, 2) if percent else float(value)


def chart_of(table: Table, language: str, translate: Translate, *, kind: str | None = None) -> Chart:
    """The chart of ``table``, in the order of its rows; ``kind`` chooses line or bar instead of the rule above."""
    indicator = table.indicator
    by = list(table.query.by)
    x_dim = "period" if "period" in by else (by[0] if by else None)
    series_dims = [d for d in by if d != x_dim]
    percent = indicator.unit in labels.PERCENT_UNITS
    title = _format.indicator_label(indicator, translate)

    def text(dim: str, row: dict[str, Any]) -> str:
        return _format.dimension_text(dim, row, table, language, translate)

    x_labels: list[str] = []
    series: dict[str, dict[str, float | None]] = {}
    for row in table.rows:
        x = text(x_dim, row) if x_dim else title
        name = " · ".join(text(d, row) for d in series_dims) if series_dims else title
        if x not in x_labels:
            x_labels.append(x)
        series.setdefault(name, {})[x] = _number(row.get("value"), percent)
    if not x_labels:
        return Chart(None, None)
    if len(x_labels) > MAX_POINTS or len(series) > MAX_SERIES:
        return Chart(None, translate(labels.TOO_MANY_TO_DRAW))
    chart_type = kind or ("line" if x_dim == "period" and len(x_labels) > 1 else "bar")
    spec: dict[str, Any] = {
        "type": chart_type,
        "title": title,
        "labels": x_labels,
        "datasets": [{"label": name, "data": [values.get(x) for x in x_labels]} for name, values in series.items()],
        "percent": percent,
        "integer": indicator.unit == "count",
        "axis": _format.column_label("value", indicator, translate),
        "suppressed": labels.SUPPRESSED,
        "target": None,
    }
    if indicator.target is not None:
        target = indicator.target * 100 if percent else indicator.target
        spec["target"] = {
            "value": target,
            "label": translate(labels.TARGET_LINE) % {"target": _format.target_text(indicator, language)},
        }
    gaps = any(v is None for values in series.values() for v in values.values())
    note = translate(labels.GAPS) if gaps else None
    return Chart(spec, note)
