"""Reading an import file: its text, its header (``Layout``), its rows, and its households in the order they are
complete (a household is complete at its last row, wherever its rows are)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from services.intake.importing.columns import (
    ALIASES,
    COLUMNS,
    HOUSEHOLD_COLUMNS,
    PERSON_COLUMNS,
    REPORT_COLUMNS,
    REQUIRED_COLUMNS,
    column_key,
)
from services.intake.importing.values import PERSON_PARSERS, parse_jmbg
from shared.errors import Invalid


@dataclass(frozen=True, slots=True)
class Layout:
    """Where each known column is in a file, and how the file is delimited."""

    delimiter: str
    header: tuple[str, ...]  # as written in the file
    names: tuple[str | None, ...]  # canonical name per position; None for an ignored column
    index: dict[str, int]
    household_cells: tuple[tuple[str, int], ...] = ()  # (column, position) of the household columns present
    person_cells: tuple[tuple[str, Callable[[str], Any], int], ...] = ()  # (column, parser, position)

    def cell(self, values: Sequence[str], name: str) -> str:
        i = self.index.get(name)
        return values[i] if i is not None and i < len(values) else ""


def read_layout(text: str) -> Layout:
    """The file's header, checked: every required column present, none unknown or repeated (``Invalid``)."""
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    try:
        header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    except csv.Error as exc:
        raise Invalid(f"The header line is not valid CSV: {exc}.", reason="header_not_csv") from exc
    names: list[str | None] = []
    index: dict[str, int] = {}
    unknown: list[str] = []
    for position, cell in enumerate(header):
        key = column_key(cell)
        name = key if key in COLUMNS else ALIASES.get(key)
        if not key or key in REPORT_COLUMNS:
            names.append(None)
            continue
        if name is None:
            unknown.append(cell.strip())
            names.append(None)
            continue
        if name in index:
            raise Invalid(
                f"Column {name} appears twice (as '{header[index[name]].strip()}' and '{cell.strip()}').",
                reason="column_twice",
                params={"column": name},
            )
        index[name] = position
        names.append(name)
    missing = [c for c in REQUIRED_COLUMNS if c not in index]
    if missing:
        raise Invalid(
            f"The file lacks required columns: {', '.join(missing)}. "
            "The template (GET /intake/api/imports/template.csv) has every column.",
            reason="columns_missing",
            params={"columns": ", ".join(missing)},
            details={"missing_columns": missing},
        )
    if "jmbg" not in index and "missing_jmbg_reason" not in index:
        raise Invalid(
            "The file needs a jmbg column, a missing_jmbg_reason column or both.",
            reason="jmbg_column_missing",
            details={"missing_columns": ["jmbg", "missing_jmbg_reason"]},
        )
    if unknown:
        raise Invalid(
            f"Unknown columns: {', '.join(unknown)}. The known columns are in the template "
            "(GET /intake/api/imports/template.csv); remove or rename the others.",
            reason="unknown_columns",
            params={"columns": ", ".join(unknown)},
            details={"unknown_columns": unknown},
        )
    return Layout(
        delimiter=delimiter,
        header=tuple(header),
        names=tuple(names),
        index=index,
        household_cells=tuple((c, index[c]) for c in HOUSEHOLD_COLUMNS if c in index),
        person_cells=tuple((c, PERSON_PARSERS[c], index[c]) for c in PERSON_COLUMNS if c in index),
    )


def decode(content: bytes) -> str:
    """UTF-8 text (a BOM is allowed), or ``Invalid``."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(
            f"The file is not UTF-8 text (byte {exc.start}). Save it as 'CSV UTF-8' "
            "(Excel: File → Save As → CSV UTF-8; LibreOffice: character set Unicode (UTF-8)).",
            reason="not_utf8",
        ) from exc
    if "\x00" in text:
        raise Invalid(
            "The file is not a CSV text file (it contains NUL bytes; a spreadsheet must be saved as CSV).",
            reason="not_text",
        )
    return text


def records(text: str, layout: Layout) -> Iterator[tuple[int, list[str]]]:
    """(row number, values) of every non-empty data row; the header is row 1, as in a spreadsheet."""
    reader = csv.reader(io.StringIO(text), delimiter=layout.delimiter)
    next(reader, None)
    for number, values in enumerate(reader, start=2):
        if "".join(values).strip():
            yield number, values


Key = tuple[str, str]  # (municipality_code, household_ref) as written


@dataclass(slots=True)
class Group:
    """The rows of one household (or a lone row without a household reference)."""

    key: Key | None
    rows: list[tuple[int, list[str]]]

    @property
    def ref(self) -> str | None:
        return self.key[1] if self.key else None


@dataclass(slots=True)
class FilePlan:
    total_rows: int
    last_row: dict[Key, int]  # a household is complete at its last row
    first_jmbg: dict[str, tuple[int, Key | None]]


def _key(values: Sequence[str], layout: Layout) -> Key | None:
    ref = layout.cell(values, "household_ref").strip()
    return (layout.cell(values, "municipality_code").strip(), ref) if ref else None


def plan_file(text: str, layout: Layout) -> FilePlan:
    """One pass over the file: where each household ends, and where each JMBG first appears."""
    plan = FilePlan(0, {}, {})
    jmbg_at = layout.index.get("jmbg")
    for number, values in records(text, layout):
        plan.total_rows += 1
        key = _key(values, layout)
        if key is not None:
            plan.last_row[key] = number
        if jmbg_at is not None and jmbg_at < len(values):
            jmbg = parse_jmbg(values[jmbg_at])
            if jmbg is not None and jmbg not in plan.first_jmbg:
                plan.first_jmbg[jmbg] = (number, key)
    return plan


def households(text: str, layout: Layout, plan: FilePlan) -> Iterator[Group]:
    """Households in the order they are complete in the file (the same order on every run of the job)."""
    open_: dict[Key, Group] = {}
    for number, values in records(text, layout):
        key = _key(values, layout)
        if key is None:
            yield Group(None, [(number, values)])
            continue
        group = open_.get(key)
        if group is None:
            group = open_[key] = Group(key, [])
        group.rows.append((number, values))
        if plan.last_row[key] == number:
            del open_[key]
            yield group
