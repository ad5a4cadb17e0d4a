"""Turning the household form of the pages into a ``HouseholdCreate``, and errors back into messages per field.

Member rows carry a token in their field names (``members-<token>-given_name``) so rows can be added and removed
in the browser in any order; the order of the form is the order of the members.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, get_origin

from pydantic import ValidationError
from starlette.datastructures import FormData

from services.intake.schemas import HouseholdCreate, IncomeSource, PersonCreate
from services.intake.ui_labels import INCOME, error_text

MEMBER_FIELD = re.compile(r"^members-([A-Za-z0-9]+)-([a-z_]+)$")
# The form has one field per field of PersonCreate; lists (skills, markers, consents) are multi-valued.
MEMBER_LIST_FIELDS = tuple(name for name, f in PersonCreate.model_fields.items() if get_origin(f.annotation) is list)
MEMBER_TEXT_FIELDS = tuple(name for name in PersonCreate.model_fields if name not in MEMBER_LIST_FIELDS)


@dataclass
class HouseholdForm:
    """What the form holds (to re-render it) and the errors per field name."""

    values: dict[str, Any]
    members: list[dict[str, Any]]
    errors: dict[str, str] = field(default_factory=dict)
    form_errors: list[str] = field(default_factory=list)


def parse_date(text: str) -> str | None:
    """ISO (from a date input) or the Serbian DD.MM.YYYY(.) people type; None when it is neither."""
    text = text.strip().rstrip(".")
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, pattern).date().isoformat()
        except ValueError:
            continue
    return None


def read_form(form: FormData) -> HouseholdForm:
    tokens: list[str] = []
    for key in form:
        match = MEMBER_FIELD.match(key)
        if match and match.group(1) not in tokens:
            tokens.append(match.group(1))
    members = []
    for token in tokens:
        member: dict[str, Any] = {"token": token}
        for name in MEMBER_TEXT_FIELDS:
            member[name] = str(form.get(f"members-{token}-{name}", "")).strip()
        for name in MEMBER_LIST_FIELDS:
            member[name] = [str(v) for v in form.getlist(f"members-{token}-{name}") if str(v)]
        members.append(member)
    values: dict[str, Any] = {
        name: str(form.get(name, "")).strip() for name in ("municipality_code", "settlement", "address", "housing_type")
    }
    values["housing_problems"] = [str(v) for v in form.getlist("housing_problems")]
    values["incomes"] = {source: str(form.get(f"income_{source}", "")).strip() for source in INCOME}
    return HouseholdForm(values=values, members=members)


def to_payload(form: HouseholdForm, gettext: Callable[[str], str]) -> dict[str, Any] | None:
    """The request body for the service, or None with ``form.errors`` filled for what cannot even be parsed."""
    incomes = []
    source: IncomeSource
    for source, text in form.values["incomes"].items():
        if not text:
            continue
        try:
            amount = float(text.replace(" ", "").replace(",", "."))
        except ValueError:
            form.errors[f"income_{source}"] = error_text("number", gettext)
            continue
        incomes.append({"source": source, "monthly_amount": amount})
    members = []
    for m in form.members:
        token = m["token"]
        birth = parse_date(m["birth_date"]) if m["birth_date"] else None
        if m["birth_date"] and birth is None:
            form.errors[f"members-{token}-birth_date"] = error_text("date", gettext)
        member: dict[str, Any] = {
            "given_name": m["given_name"],
            "family_name": m["family_name"],
            "birth_date": birth,
            "sex": m["sex"] or None,
            "jmbg": m["jmbg"] or None,
            "missing_jmbg_reason": m["missing_jmbg_reason"] or None,
            "relation": m["relation"] or None,
            "education": m["education"] or None,
            "employment_status": m["employment_status"] or None,
            "able_to_work": {"yes": True, "no": False}.get(m["able_to_work"]),
            "phone": m["phone"] or None,
            "skills": m["skills"],
            "markers": m["markers"],
            "consents": m["consents"],
        }
        members.append(member)
    if not members:
        form.form_errors.append(gettext("Add at least one member."))
    if form.errors or form.form_errors:
        return None
    return {
        "municipality_code": form.values["municipality_code"],
        "settlement": form.values["settlement"] or None,
        "address": form.values["address"] or None,
        "housing_type": form.values["housing_type"] or None,
        "housing_problems": form.values["housing_problems"],
        "incomes": incomes,
        "members": members,
    }


def validate(form: HouseholdForm, payload: dict[str, Any], gettext: Callable[[str], str]) -> HouseholdCreate | None:
    try:
        return HouseholdCreate.model_validate(payload)
    except ValidationError as exc:
        for error in exc.errors():
            place_error(form, list(error["loc"]), _kind(error), gettext, {})
        return None


def _kind(error: Any) -> str:
    kind, loc, msg = error["type"], error["loc"], str(error.get("msg", ""))
    name = str(loc[-1]) if loc else ""
    if kind == "missing" or kind == "string_too_short" or (kind in {"literal_error", "enum"} and name == "sex"):
        return "missing"
    if kind.startswith("date") or kind == "date_type":
        return "date"
    if "future" in msg:
        return "date_future"
    if "JMBG, or say why" in msg:
        return "jmbg_or_reason"
    if "Roma marker" in msg:
        return "roma_needs_consent"
    if "one head" in msg:
        return "one_head"
    if kind == "string_pattern_mismatch":
        return "phone" if name == "phone" else "unknown_municipality" if name == "municipality_code" else "invalid"
    return "invalid"


def place_error(
    form: HouseholdForm, loc: list[Any], kind: str, gettext: Callable[[str], str], params: dict[str, Any]
) -> None:
    """Attach an error (``loc`` as pydantic or the service reports it) to the field it is about."""
    if loc and loc[0] == "body":
        loc = loc[1:]
    text = error_text(kind, gettext, params)
    if len(loc) >= 2 and loc[0] == "members" and isinstance(loc[1], int) and loc[1] < len(form.members):
        token = form.members[loc[1]]["token"]
        name = str(loc[2]) if len(loc) > 2 else {"jmbg_or_reason": "jmbg", "roma_needs_consent": "markers"}.get(kind)
        if name is None:
            form.form_errors.append(text)
            return
        form.errors.setdefault(f"members-{token}-{name}", text)
    elif loc and loc[0] in {"municipality_code", "settlement", "address", "housing_type"}:
        form.errors.setdefault(str(loc[0]), text)
    else:
        form.form_errors.append(text)


def empty_member(token: str) -> dict[str, Any]:
    member: dict[str, Any] = {"token": token, **dict.fromkeys(MEMBER_TEXT_FIELDS, "")}
    member.update({name: [] for name in MEMBER_LIST_FIELDS})
    member["consents"] = ["case_work"]
    return member
