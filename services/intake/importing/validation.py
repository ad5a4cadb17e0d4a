"""One household's rows → the ``HouseholdCreate`` to register, or the errors of its rows (no database)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from services.intake.importing.columns import INCOME_COLUMNS
from services.intake.importing.reading import Group, Key, Layout
from services.intake.importing.values import parse_amount, parse_code, parse_codes, parse_text
from services.intake.records import member_problems
from services.intake.schemas import HouseholdCreate
from shared.reference import municipalities


@dataclass(slots=True)
class RowError:
    row: int
    column: str | None
    message: str


@dataclass(slots=True)
class Checked:
    group: Group
    keyed: bool = False  # reference and municipality usable: may be skipped as imported before
    data: HouseholdCreate | None = None
    errors: list[RowError] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class FileContext:
    layout: Layout
    scope: frozenset[str] | None  # None: every municipality
    first_jmbg: dict[str, tuple[int, Key | None]]  # JMBG → (row, household) of its first appearance in the file


def _same(column: str, a: str, b: str) -> bool:
    if column in INCOME_COLUMNS:
        with contextlib.suppress(ValueError):
            return parse_amount(a) == parse_amount(b)
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def check_household(group: Group, ctx: FileContext) -> Checked:
    """Parse and validate one household's rows (no database): the household to register, or its row errors."""
    layout = ctx.layout
    out = Checked(group)
    first_row, first = group.rows[0]
    errors = out.errors
    for number, values in group.rows:
        if len(values) > len(layout.header) and any(v.strip() for v in values[len(layout.header) :]):
            errors.append(RowError(number, None, f"the row has {len(values)} values, the header {len(layout.header)}"))
    ref, code = group.ref, layout.cell(first, "municipality_code").strip()
    if not ref:
        errors.append(RowError(first_row, "household_ref", "household_ref is required"))
    elif len(ref) > 100:
        errors.append(RowError(first_row, "household_ref", "household_ref is longer than 100 characters"))
    if not code:
        errors.append(RowError(first_row, "municipality_code", "municipality_code is required"))
    elif not municipalities.is_known(code):
        errors.append(RowError(first_row, "municipality_code", f"municipality_code: {code} is not a known code"))
    elif ctx.scope is not None and code not in ctx.scope:
        errors.append(
            RowError(first_row, "municipality_code", f"municipality_code: {code} is not among your municipalities")
        )
    if errors:
        return out
    out.keyed = True

    household: dict[str, Any] = {"municipality_code": code}
    later_rows = group.rows[1:]
    for column, i in layout.household_cells:
        raw = first[i] if i < len(first) else ""
        for number, values in later_rows:
            later = values[i] if i < len(values) else ""
            if later.strip() and not _same(column, later, raw):
                shown = raw.strip() or "empty"
                errors.append(
                    RowError(
                        number,
                        column,
                        f"{column}: '{later.strip()}' contradicts the household's first row (row {first_row}: "
                        f"{shown}); household columns are read from that row",
                    )
                )
        if not raw:
            continue
        try:
            if column in INCOME_COLUMNS:
                amount = parse_amount(raw)
                if amount:
                    household.setdefault("incomes", []).append(
                        {"source": column.removeprefix("income_"), "monthly_amount": amount}
                    )
            elif column == "housing_problems":
                if problems := parse_codes(raw):
                    household[column] = problems
            elif column == "housing_type":
                household[column] = parse_code(raw)
            elif value := parse_text(raw):
                household[column] = value
        except ValueError as exc:
            errors.append(RowError(first_row, column, f"{column}: {exc}"))

    members: list[dict[str, Any]] = []
    for number, values in group.rows:
        member: dict[str, Any] = {}
        for name, parse, i in layout.person_cells:
            raw = values[i] if i < len(values) else ""
            if not raw:
                continue
            try:
                value = parse(raw)
            except ValueError as exc:
                errors.append(RowError(number, name, f"{name}: {exc}"))
                continue
            if value is not None and value != ():
                member[name] = value
        jmbg = member.get("jmbg")
        if jmbg is not None:
            seen_row, seen_key = ctx.first_jmbg.get(jmbg, (number, group.key))
            if seen_row != number and seen_key != group.key:
                errors.append(RowError(number, "jmbg", f"jmbg: the same JMBG is on row {seen_row}, another household"))
        members.append(member)
    household["members"] = members

    reported = {(e.row, e.column) for e in errors}
    try:
        out.data = HouseholdCreate.model_validate(household)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            row_error = _row_error(error, group, household)
            if (row_error.row, row_error.column) not in reported:
                reported.add((row_error.row, row_error.column))
                errors.append(row_error)
    if out.data is not None:
        jmbg_problems, _ = member_problems(out.data.members, ["members"])
        for problem in jmbg_problems:
            member_index = int(problem["loc"][1])
            message = str(problem["msg"])
            if problem.get("type") == "jmbg_repeated":
                other = int(problem["ctx"]["member"]) - 1
                message = f"the same JMBG is on row {group.rows[other][0]} of this household"
            errors.append(RowError(group.rows[member_index][0], "jmbg", f"jmbg: {message}"))
    if errors:
        out.data = None
    return out


def _row_error(error: Any, group: Group, household: dict[str, Any]) -> RowError:
    """A pydantic error of ``HouseholdCreate`` as (row, column, readable message)."""
    loc = list(error["loc"])
    first_row = group.rows[0][0]
    row, column = first_row, None
    if loc[:1] == ["members"] and len(loc) >= 2 and isinstance(loc[1], int):
        row = group.rows[loc[1]][0]
        column = str(loc[2]) if len(loc) >= 3 else None
    elif loc[:1] == ["incomes"] and len(loc) >= 2 and isinstance(loc[1], int):
        column = f"income_{household['incomes'][loc[1]]['source']}"
    elif loc:
        column = str(loc[0])
    kind, ctx = error["type"], error.get("ctx") or {}
    given = error.get("input")
    if column is None:  # a rule over several fields: JMBG or its reason, Roma only with consent, one head
        message = str(error["msg"]).removeprefix("Value error, ")
        if loc[:1] == ["members"]:
            broken = getattr(ctx.get("error"), "reason", None)
            column = "markers" if broken == "roma_needs_consent" else "jmbg"
            return RowError(row, column, f"{column}: {message}")
        heads = [group.rows[i][0] for i, m in enumerate(household["members"]) if m.get("relation") == "head"]
        if len(heads) > 1:
            rows = ", ".join(str(n) for n in heads)
            return RowError(heads[1], "relation", f"relation: a household has one head, rows {rows} are heads")
        return RowError(row, None, message)
    if column == "members" and kind == "too_long":
        return RowError(row, None, f"a household has at most {ctx.get('max_length')} members")
    if kind == "missing":
        reason = "required"
    elif kind == "literal_error":
        reason = f"'{given}' is not allowed; use {ctx.get('expected')}"
    elif kind == "string_too_long":
        reason = f"is longer than {ctx.get('max_length')} characters"
    elif kind == "string_pattern_mismatch":
        reason = f"'{given}' is not a phone number" if column == "phone" else f"'{given}' has the wrong form"
    elif kind == "too_long":
        reason = f"has too many values (at most {ctx.get('max_length')})"
    elif kind in {"greater_than_equal", "less_than_equal"}:
        reason = str(error["msg"]).lower()
    else:
        reason = str(error["msg"]).removeprefix("Value error, ")
    return RowError(row, column, f"{column}: {reason}")
