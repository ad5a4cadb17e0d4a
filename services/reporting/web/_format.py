"""How a table of an indicator reads, in a page and in an export: column names, areas named in the language's
script, dimension values by their labels, and numbers the Serbian way (1.234,5) or the English way (1,234.5)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.reporting.indicators import COUNTRY, Indicator, Query, Table
from services.reporting.web import _indicator_labels
from services.reporting.web import _labels as labels
from shared.ui.places import district_name, municipality_name, municipality_names

Translate = Callable[[str], str]
DIMENSION_COLUMNS = frozenset({"period", "area", "sex", "age_band", "group", "category"})
# Columns holding counts (formatted like the value of a count).
COUNT_COLUMNS = frozenset(
    {"numerator", "denominator", "workers", "active_cases", "over_norm", "norm", "capacity", "occupancy", "providers"}
)


def area_name(key: str, level: str, language: str, translate: Translate) -> str:
    """An area of a row (a municipality's code, a district's name or the country) by its name."""
    if level == "country" or key == COUNTRY:
        return translate(labels.COUNTRY)
    if level == "district":
        return district_name(key, language)
    return municipality_name(key, language)


def indicator_label(indicator: Indicator, translate: Translate) -> str:
    return _indicator_labels.label(indicator, translate)


def column_label(column: str, indicator: Indicator, translate: Translate, *, export: bool = False) -> str:
    if column == "value":
        units = labels.EXPORT_UNITS if export else labels.UNITS
        return translate(units.get(indicator.unit, labels.UNITS["count"]))
    if column == "category" and indicator.category in labels.CATEGORY_NAMES:
        return translate(labels.CATEGORY_NAMES[indicator.category])
    if column in labels.DIMENSIONS:
        return translate(labels.DIMENSIONS[column])
    if column in labels.COLUMNS:
        return translate(labels.COLUMNS[column])
    return column


def dimension_text(column: str, row: dict[str, Any], table: Table, language: str, translate: Translate) -> str:
    """A dimension cell as it reads (the area by its name, a group by its label)."""
    value = row.get(column)
    if column == "area":
        return area_name(str(value), table.query.area, language, translate)
    if column == "area_name":
        return area_name(str(row.get("area", value)), table.query.area, language, translate)
    return labels.dimension_value(column, value, translate, category=table.indicator.category)


def grouped_number(value: float, digits: int, language: str) -> str:
    """1234.5 → "1.234,5" in Serbian, "1,234.5" in English."""
    text = f"{value:,.{digits}f}"
    if language == "en":
        return text
    return text.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")


def number_text(column: str, value: Any, unit: str, language: str) -> str:
    """A figure as the page shows it: "<5" and an empty cell ("—") as they are, shares in per cent."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "✓" if value else "—"
    if column == "value" and unit in labels.PERCENT_UNITS:
        return grouped_number(float(value) * 100, 1, language) + " %"
    if column == "value" and unit in ("median_days", "per_worker"):
        return grouped_number(float(value), 1, language)
    if float(value).is_integer():
        return grouped_number(float(value), 0, language)
    return grouped_number(float(value), 1, language)


def filter_lines(query: Query, language: str, translate: Translate) -> list[tuple[str, str]]:
    """(filter, what it is set to) for everything a query chose, for the exports' "About" sheet."""
    any_ = translate(labels.ANY)
    by = ", ".join(translate(labels.DIMENSIONS[d]) for d in query.by if d in labels.DIMENSIONS)
    return [
        (translate(labels.FILTERS["period"]), translate(labels.PERIODS_PLURAL.get(query.period, query.period))),
        (translate(labels.FILTERS["start"]), query.start or translate(labels.WHOLE_RANGE)),
        (translate(labels.FILTERS["end"]), query.end or translate(labels.UNTIL_NOW)),
        (translate(labels.FILTERS["area"]), translate(labels.AREAS.get(query.area, query.area))),
        (
            translate(labels.FILTERS["municipalities"]),
            municipality_names(query.municipalities, language) or any_,
        ),
        (
            translate(labels.FILTERS["districts"]),
            ", ".join(district_name(d, language) for d in query.districts) or any_,
        ),
        (translate(labels.FILTERS["sex"]), labels.dimension_value("sex", query.sex, translate) or any_),
        (translate(labels.FILTERS["age_band"]), labels.dimension_value("age_band", query.age_band, translate) or any_),
        (translate(labels.FILTERS["group"]), labels.dimension_value("group", query.group, translate) or any_),
        (translate(labels.FILTERS["by"]), by or "—"),
    ]


def query_params(query: Query) -> list[tuple[str, str]]:
    """The query string that asks for ``query`` again (``indicators.parse_query`` reads it back)."""
    params = [("indicator", query.indicator), ("period", query.period)]
    if query.start:
        params.append(("from", query.start))
    if query.end:
        params.append(("to", query.end))
    params.append(("area", query.area))
    params += [("municipality", code) for code in query.municipalities]
    params += [("district", name) for name in query.districts]
    for name in ("sex", "age_band", "group"):
        value = getattr(query, name)
        if value:
            params.append((name, value))
    params += [("by", dim) for dim in query.by]
    return params


@dataclass(frozen=True)
class Cell:
    text: str
    number: bool = False
    css: str = ""


@dataclass(frozen=True)
class TableView:
    headers: list[tuple[str, bool]]  # (label, is a number column)
    rows: list[list[Cell]]


def table_view(table: Table, language: str, translate: Translate) -> TableView:
    """The table as the page shows it: areas by name (their codes stay in the exports), figures formatted, "<5"
    muted and shares under the indicator's target marked."""
    indicator = table.indicator
    columns = [c for c in table.columns if c != "area"]
    # The page names areas by name alone, so that column is headed "Area".
    headers = [
        (
            column_label("area" if c == "area_name" else c, indicator, translate),
            c not in DIMENSION_COLUMNS | {"area_name"},
        )
        for c in columns
    ]
    rows = []
    for row in table.rows:
        cells = []
        for column in columns:
            value = row.get(column)
            if column in DIMENSION_COLUMNS or column == "area_name":
                cells.append(Cell(dimension_text(column, row, table, language, translate)))
                continue
            css = "cell--suppressed" if value == labels.SUPPRESSED else ""
            if column == "value" and indicator.target is not None and isinstance(value, int | float):
                css = "cell--under-target" if value < indicator.target else css
            cells.append(Cell(number_text(column, value, indicator.unit, language), True, css))
        rows.append(cells)
    return TableView(headers, rows)


def months_covered(table: Table) -> tuple[str, str]:
    """The first and last month the table covers, as YYYY-MM."""
    return f"{table.start // 100:04d}-{table.start % 100:02d}", f"{table.end // 100:04d}-{table.end % 100:02d}"


def target_text(indicator: Indicator, language: str) -> str | None:
    """The indicator's target as it reads ("50 %"), or None when it has none."""
    if indicator.target is None:
        return None
    if indicator.unit in labels.PERCENT_UNITS:
        percent = indicator.target * 100
        digits = 0 if float(percent).is_integer() else 1
        return grouped_number(percent, digits, language) + " %"
    return number_text("value", indicator.target, indicator.unit, language)
