"""The household form of the pages: read into a ``HouseholdCreate``, and every complaint about it (its own parse,
the request model's rules, the service's refusals) put on the field it is about, said by code.

Member rows carry a token in their field names (``members-<token>-given_name``) so rows can be added and removed
in the browser in any order; the order of the form is the order of the members.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, get_origin

from pydantic import ValidationError
from starlette.datastructures import FormData

from services.intake.schemas import HouseholdCreate, PersonCreate
from services.intake.web import _labels as labels
from shared.ui.formats import parse_date
from shared.ui.forms import Form, form_text

Translate = Callable[[str], str]

MEMBER_FIELD = re.compile(r"^members-([A-Za-z0-9]+)-([a-z_]+)$")
# The form has one field per field of PersonCreate; lists (skills, markers, consents) are multi-valued.
MEMBER_LIST_FIELDS = tuple(name for name, f in PersonCreate.model_fields.items() if get_origin(f.annotation) is list)
MEMBER_TEXT_FIELDS = tuple(name for name in PersonCreate.model_fields if name not in MEMBER_LIST_FIELDS)
HOUSEHOLD_FIELDS = ("municipality_code", "settlement", "address", "housing_type")
# A rule over a whole member marks the field that would put it right.
MEMBER_RULE_FIELD = {"jmbg_or_reason": "jmbg", "roma_needs_consent": "markers"}


@dataclass
class HouseholdForm(Form):
    """The form's household fields (``values``), its members, the errors by field name and those of no field."""

    members: list[dict[str, Any]] = field(default_factory=list)
    form_errors: list[str] = field(default_factory=list)


def read_form(data: FormData) -> HouseholdForm:
    tokens: list[str] = []
    for key in data:
        match = MEMBER_FIELD.match(key)
        if match and match.group(1) not in tokens:
            tokens.append(match.group(1))
    members = []
    for token in tokens:
        member: dict[str, Any] = {"token": token}
        for name in MEMBER_TEXT_FIELDS:
            member[name] = form_text(data, f"members-{token}-{name}")
        for name in MEMBER_LIST_FIELDS:
            member[name] = [str(v) for v in data.getlist(f"members-{token}-{name}") if str(v)]
        members.append(member)
    values: dict[str, Any] = {name: form_text(data, name) for name in HOUSEHOLD_FIELDS}
    values["housing_problems"] = [str(v) for v in data.getlist("housing_problems")]
    values["incomes"] = {source: form_text(data, f"income_{source}") for source in labels.INCOME}
    return HouseholdForm(values=values, members=members)


def to_payload(form: HouseholdForm, translate: Translate) -> dict[str, Any] | None:
    """The request body for the service, or None with ``form.errors`` filled for what cannot even be parsed."""
    incomes = []
    for source, text in form.values["incomes"].items():
        if not text:
            continue
        try:
            amount = float(text.replace(" ", "").replace(",", "."))
        except ValueError:
            form.errors[f"income_{source}"] = translate(labels.NOT_AN_AMOUNT)
            continue
        incomes.append({"source": source, "monthly_amount": amount})
    members = []
    for m in form.members:
        birth = parse_date(m["birth_date"]) if m["birth_date"] else None
        if m["birth_date"] and birth is None:
            form.errors[f"members-{m['token']}-birth_date"] = translate(labels.NOT_A_DATE)
        members.append(
            {
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
        )
    if not members:
        form.form_errors.append(translate(labels.NO_MEMBERS))
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


def validate(form: HouseholdForm, payload: dict[str, Any], translate: Translate) -> HouseholdCreate | None:
    """The payload as the service's request model, or None with the model's complaints on the form."""
    try:
        return HouseholdCreate.model_validate(payload)
    except ValidationError as exc:
        for error in exc.errors():
            code, text = complaint(error, translate)
            place_error(form, list(error["loc"]), text, code)
        return None


def complaint(error: Mapping[str, Any], translate: Translate) -> tuple[str, str]:
    """A pydantic error of ``HouseholdCreate`` as (code, sentence in the page's language): a rule of the model by
    its own code (``domain.RuleBroken``), the field types by what the form asks for."""
    kind, loc = str(error["type"]), error["loc"]
    name = str(loc[-1]) if loc else ""
    broken = (error.get("ctx") or {}).get("error")
    if (reason := getattr(broken, "reason", None)) is not None:
        return reason, labels.REFUSALS.say(reason, getattr(broken, "params", None), translate)
    if kind in {"missing", "string_too_short"} or (kind in {"literal_error", "enum"} and name == "sex"):
        return "missing", labels.REFUSALS.say("missing", None, translate)
    if kind.startswith("date"):
        return "date", translate(labels.NOT_A_DATE)
    if kind == "string_pattern_mismatch" and name == "phone":
        return "phone", translate(labels.NOT_A_PHONE)
    if kind == "string_pattern_mismatch" and name == "municipality_code":
        return "unknown_municipality", labels.REFUSALS.say("unknown_municipality", None, translate)
    return "invalid", labels.REFUSALS.say("invalid", None, translate)


def place_error(form: HouseholdForm, loc: list[Any], text: str, code: str | None = None) -> None:
    """Attach ``text`` (``loc`` as pydantic or the service reports it) to the field it is about."""
    if loc and loc[0] == "body":
        loc = loc[1:]
    if len(loc) >= 2 and loc[0] == "members" and isinstance(loc[1], int) and loc[1] < len(form.members):
        token = form.members[loc[1]]["token"]
        name = str(loc[2]) if len(loc) > 2 else MEMBER_RULE_FIELD.get(code or "")
        if name is None:
            form.form_errors.append(text)
            return
        form.errors.setdefault(f"members-{token}-{name}", text)
    elif loc and loc[0] in HOUSEHOLD_FIELDS:
        form.errors.setdefault(str(loc[0]), text)
    else:
        form.form_errors.append(text)


def place_refusal_fields(form: HouseholdForm) -> None:
    """The fields a refusal of the service marked (by dotted path, ``members.0.jmbg``) under the form's names."""
    for path in [key for key in form.errors if "." in key]:
        text = form.errors.pop(path)
        place_error(form, [int(part) if part.isdigit() else part for part in path.split(".")], text)


def empty_member(token: str) -> dict[str, Any]:
    member: dict[str, Any] = {"token": token, **dict.fromkeys(MEMBER_TEXT_FIELDS, "")}
    member.update({name: [] for name in MEMBER_LIST_FIELDS})
    member["consents"] = ["case_work"]
    return member
