"""The forms of activation's pages turned into the service layer's request models, and pydantic's complaints back
into messages per field (keyed by dotted path, ``criteria.min_age``, as the service layer's ``Invalid`` reports
them). Empty fields are None; numbers and dates are read here so a typo is the field's error, not the form's."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel
from starlette.datastructures import FormData

from services.activation.domain import PRIORITY_GROUPS
from services.activation.schemas import CriteriaIn, ForumCreate, HoursIn, OpportunityCreate, OrganisationIn
from services.activation.web._labels import FIELD_ERRORS
from shared.ui.forms import FieldTypes, Form, form_text, read_value, required, validate

M = TypeVar("M", bound=BaseModel)
Translate = Callable[[str], str]

TYPES = FieldTypes(
    dates={"starts_on", "ends_on"},
    numbers={"positions", "hours_per_week_min", "hours_per_week_max", "min_age", "max_age", "hours"},
    not_a_date=FIELD_ERRORS["date"],
    not_a_number=FIELD_ERRORS["number"],
)


def _scalar(name: str, text: str, form: Form, path: str, translate: Translate) -> Any:
    """A form text as the model wants it: None when empty, a date or a whole number where the field is one."""
    return read_value(name, text, form, path, TYPES, translate)


def _message(error: Mapping[str, Any]) -> str:
    """What a page says for one of pydantic's complaints about a field."""
    kind = str(error["type"])
    if kind in {"missing", "string_too_short", "too_short"}:
        return FIELD_ERRORS["missing"]
    if kind in {"greater_than_equal", "less_than_equal", "too_long", "string_too_long"}:
        return FIELD_ERRORS["range"]
    if kind.startswith("date"):
        return FIELD_ERRORS["date"]
    if kind.startswith("int"):
        return FIELD_ERRORS["number"]
    if kind == "string_pattern_mismatch" and tuple(error["loc"])[-1:] == ("month",):
        return FIELD_ERRORS["month"]
    return FIELD_ERRORS["invalid"]


def _validate(model: type[M], payload: dict[str, Any], form: Form, translate: Translate, prefix: str = "") -> M | None:
    return validate(model, payload, form, message_for=_message, translate=translate, prefix=prefix, indexes=False)


def _required(form: Form, names: tuple[str, ...], translate: Translate, prefix: str = "") -> None:
    required(form, names, FIELD_ERRORS["missing"], translate, prefix)


# --- organisation ---------------------------------------------------------------------------------------------


def read_organisation(data: FormData) -> Form:
    return Form({name: form_text(data, name) for name in ("name", "kind", "municipality_code")})


def organisation(form: Form, translate: Translate) -> OrganisationIn | None:
    _required(form, ("name", "kind", "municipality_code"), translate)
    return _validate(OrganisationIn, dict(form.values), form, translate)


# --- opportunity ----------------------------------------------------------------------------------------------

OPPORTUNITY_TEXT = (
    "title",
    "description",
    "type",
    "forum_id",
    "organisation_id",
    "municipality_code",
    "place",
    "positions",
    "hours_per_week_min",
    "hours_per_week_max",
    "starts_on",
    "ends_on",
)


def empty_opportunity() -> Form:
    values: dict[str, Any] = dict.fromkeys(OPPORTUNITY_TEXT, "")
    values |= {"type": "community_work", "positions": "1", "hours_per_week_min": "10", "hours_per_week_max": "40"}
    values |= {"required_skills": [], "preferred_skills": [], "accessible": False}
    return Form(values)


def read_opportunity(data: FormData) -> Form:
    values: dict[str, Any] = {name: form_text(data, name) for name in OPPORTUNITY_TEXT}
    for name in ("required_skills", "preferred_skills"):
        values[name] = [str(v) for v in data.getlist(name) if str(v)]
    values["accessible"] = data.get("accessible") == "yes"
    return Form(values)


def opportunity(form: Form, translate: Translate) -> OpportunityCreate | None:
    _required(form, ("title", "type", "forum_id", "municipality_code", "positions"), translate)
    payload: dict[str, Any] = {
        name: _scalar(name, str(form.values[name]), form, name, translate) for name in OPPORTUNITY_TEXT
    }
    payload["description"] = payload["description"] or ""
    payload["place"] = payload["place"] or ""
    for name, default in (("hours_per_week_min", 1), ("hours_per_week_max", 40)):
        if payload[name] is None:
            payload[name] = default
    payload |= {name: form.values[name] for name in ("required_skills", "preferred_skills", "accessible")}
    return _validate(OpportunityCreate, payload, form, translate)


# --- forums ---------------------------------------------------------------------------------------------------

CRITERIA_FLAGS = ("require_able_to_work", "exclude_in_education", "exclude_placed")


def criteria_values(stored: dict[str, Any]) -> dict[str, Any]:
    """A forum's stored criteria (or the defaults) as the criteria form shows them."""
    defaults = CriteriaIn().model_dump()
    merged = {**defaults, **stored}
    return {
        "min_age": "" if merged["min_age"] is None else str(merged["min_age"]),
        "max_age": "" if merged["max_age"] is None else str(merged["max_age"]),
        **{flag: bool(merged[flag]) for flag in CRITERIA_FLAGS},
        "priority_groups": list(merged["priority_groups"]),
        "scope": merged["scope"],
    }


def read_criteria(data: FormData) -> dict[str, Any]:
    return {
        "min_age": form_text(data, "min_age"),
        "max_age": form_text(data, "max_age"),
        **{flag: data.get(flag) == "yes" for flag in CRITERIA_FLAGS},
        "priority_groups": [str(v) for v in data.getlist("priority_groups") if str(v) in PRIORITY_GROUPS],
        "scope": form_text(data, "scope"),
    }


def _criteria_payload(values: dict[str, Any], form: Form, translate: Translate) -> dict[str, Any]:
    payload: dict[str, Any] = {
        name: _scalar(name, values[name], form, f"criteria.{name}", translate) for name in ("min_age", "max_age")
    }
    payload |= {flag: values[flag] for flag in CRITERIA_FLAGS}
    payload |= {"priority_groups": values["priority_groups"], "scope": values["scope"] or "agreement"}
    return payload


def read_forum(data: FormData) -> Form:
    values: dict[str, Any] = {"name": form_text(data, "name")}
    values["municipalities"] = [str(v) for v in data.getlist("municipalities") if str(v)]
    values["criteria"] = read_criteria(data)
    return Form(values)


def forum(form: Form, translate: Translate) -> ForumCreate | None:
    _required(form, ("name", "municipalities"), translate)
    criteria = _criteria_payload(form.values["criteria"], form, translate)
    payload = {"name": form.values["name"], "municipalities": form.values["municipalities"], "criteria": criteria}
    return _validate(ForumCreate, payload, form, translate)


def criteria(form: Form, translate: Translate) -> CriteriaIn | None:
    payload = _criteria_payload(form.values["criteria"], form, translate)
    return _validate(CriteriaIn, payload, form, translate, prefix="criteria.")


# --- placements -----------------------------------------------------------------------------------------------


def hours(month: str, hours_text: str, translate: Translate) -> tuple[HoursIn | None, dict[str, str]]:
    """The hours of one month; the errors keyed ``month`` and ``hours``."""
    form = Form({"month": month.strip(), "hours": hours_text.strip()})
    _required(form, ("month", "hours"), translate)
    value = _scalar("hours", form.values["hours"], form, "hours", translate)
    data = _validate(HoursIn, {"month": form.values["month"], "hours": value}, form, translate)
    return data, form.errors
