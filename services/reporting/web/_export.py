"""A table of an indicator as a download: CSV (UTF-8 with a byte-order mark, so Excel reads Serbian letters) and
XLSX (the table with numbers as numbers, and an "About" sheet with the indicator, its filters, when it was computed
and the suppression rule). Headers and labels are in the language asked for; the figures are the table's own, so
"<5" stays "<5" (text, never a number) and rates and shares are fractions of 1 (0.25 is 25 %, formatted as a
percentage in XLSX)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from services.reporting.indicators import Table
from services.reporting.web import _format, _indicator_labels
from services.reporting.web import _labels as labels
from shared.ui.i18n import translations

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A text cell starting with one of these would be read as a formula by a spreadsheet.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Translate = Callable[[str], str]


def _translate(language: str) -> Translate:
    return translations(language).gettext


def _header(table: Table, translate: Translate) -> list[str]:
    return [_format.column_label(c, table.indicator, translate, export=True) for c in table.columns]


def _safe_text(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def _cells(table: Table, language: str, translate: Translate) -> list[list[Any]]:
    """Rows of the table as cells: dimensions by their labels (area codes kept), figures as numbers, "<5" as text."""
    rows = []
    for row in table.rows:
        cells: list[Any] = []
        for column in table.columns:
            value = row.get(column)
            if column == "area":
                cells.append(_safe_text(str(value)))
            elif column in _format.DIMENSION_COLUMNS or column == "area_name":
                cells.append(_safe_text(_format.dimension_text(column, row, table, language, translate)))
            elif isinstance(value, bool):
                cells.append(int(value))
            elif isinstance(value, int | float) or value is None:
                cells.append(value)
            else:
                cells.append(_safe_text(str(value)))
        rows.append(cells)
    return rows


def csv_dialect(language: str) -> tuple[str, str]:
    """The field separator and decimal mark a spreadsheet in this language splits and reads: Serbian-locale
    Excel and LibreOffice use the semicolon and the decimal comma, English ones the comma and the point."""
    return (";", ",") if language.startswith("sr") else (",", ".")


def _csv_value(value: Any, decimal: str) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        text = str(int(value)) if value.is_integer() else repr(round(value, 6))
        return text.replace(".", decimal)
    return str(value)


def to_csv(table: Table, *, language: str) -> bytes:
    """The table as CSV in the spreadsheet conventions of ``language`` (see ``csv_dialect``), CRLF line ends,
    UTF-8 with a byte-order mark."""
    translate = _translate(language)
    separator, decimal = csv_dialect(language)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=separator, lineterminator="\r\n")
    writer.writerow(_header(table, translate))
    for cells in _cells(table, language, translate):
        writer.writerow([_csv_value(v, decimal) for v in cells])
    return out.getvalue().encode("utf-8-sig")


def _number_format(column: str, unit: str) -> str:
    if column == "value" and unit in labels.PERCENT_UNITS:
        return "0.0%"
    if column == "value" and unit in ("median_days", "per_worker"):
        return "0.0"
    return "#,##0"


def about_lines(table: Table, language: str, translate: Translate) -> list[tuple[str, str]]:
    """What the "About" sheet says: the indicator, its unit and target, the filters, when and how suppressed."""
    indicator = table.indicator
    first, last = _format.months_covered(table)
    lines = [
        (translate(labels.ABOUT["indicator"]), _indicator_labels.label(indicator, translate)),
        (translate(labels.ABOUT["description"]), _indicator_labels.description(indicator, translate)),
        (translate(labels.ABOUT["unit"]), _format.column_label("value", indicator, translate, export=True)),
    ]
    target = _format.target_text(indicator, language)
    if target is not None:
        lines.append((translate(labels.ABOUT["target"]), translate(labels.TARGET_AT_LEAST) % {"target": target}))
    lines.append((translate(labels.ABOUT["filters"]), ""))
    lines += [(f"  {name}", value) for name, value in _format.filter_lines(table.query, language, translate)]
    lines += [
        (translate(labels.ABOUT["months"]), f"{first} – {last}"),
        (translate(labels.ABOUT["generated_at"]), table.generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        (
            translate(labels.ABOUT["suppression"]),
            translate(labels.EXACT_NOTE) if table.exact else translate(labels.SUPPRESSION_NOTE),
        ),
        (translate(labels.ABOUT["source"]), translate(labels.SOURCE)),
    ]
    return lines


def to_xlsx(table: Table, *, language: str) -> bytes:
    """The table on a first sheet (header bold and frozen, numbers as numbers, "<5" as right-aligned text) and
    what it is on a second sheet, "About"."""
    translate = _translate(language)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = translate(labels.SHEET_TABLE)[:31]
    header = _header(table, translate)
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    right = Alignment(horizontal="right")
    for cells in _cells(table, language, translate):
        sheet.append(cells)
        for column, cell in zip(table.columns, sheet[sheet.max_row], strict=True):
            if isinstance(cell.value, int | float):
                cell.number_format = _number_format(column, table.indicator.unit)
            elif cell.value == labels.SUPPRESSED:
                cell.alignment = right
    sheet.freeze_panes = "A2"
    for index, name in enumerate(header, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(10, min(48, len(name) + 4))

    about = book.create_sheet(translate(labels.SHEET_ABOUT)[:31])
    wrap = Alignment(wrap_text=True, vertical="top")
    for name, value in about_lines(table, language, translate):
        about.append([name, value])
        about.cell(about.max_row, 1).font = Font(bold=not name.startswith(" "))
        about.cell(about.max_row, 2).alignment = wrap
    about.column_dimensions["A"].width = 28
    about.column_dimensions["B"].width = 90

    book.properties.creator = "Oslonac"
    book.properties.title = _indicator_labels.label(table.indicator, translate)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
