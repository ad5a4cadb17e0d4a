"""The forms of cases' pages turned into the service layer's request models, and pydantic's complaints back into
messages per field (keyed by dotted path, ``actions.0.person_id``, as the service layer's ``Invalid`` reports them).

Plan actions carry a token in their field names (``actions-<token>-kind``) so rows can be added in the browser;
the order of the form is the order of the actions.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel
from starlette.datastructures import FormData

from services.cases.domain import NEED_DOMAINS
from services.cases.schemas import AgreementCreate, AssessmentCreate, PlanCreate, ProviderCreate, ReferralCreate
from services.cases.web._labels import FIELD_ERRORS
from shared.ui.forms import FieldTypes, Form, form_text, read_value, validate

ACTION_FIELD = re.compile(r"^actions-([A-Za-z0-9]+)-([a-z_]+)$")
ACTION_FIELDS = (
    "kind",
    "description",
    "person_id",
    "responsible",
    "due_date",
    "service_type",
    "hours_per_week_min",
    "hours_per_week_max",
    "available_from",
)
M = TypeVar("M", bound=BaseModel)
Translate = Callable[[str], str]
TYPES = FieldTypes(
    dates={"due_date", "available_from", "review_date", "valid_from", "valid_to"},
    numbers={"hours_per_week_min", "hours_per_week_max", "capacity", "occupancy"},
)


def new_token() -> str:
    return secrets.token_hex(3)


def _scalar(name: str, text: str, form: Form, path: str, translate: Translate) -> Any:
    """A form text as the model wants it: None when empty, a date or a whole number where the field is one."""
    return read_value(name, text, form, path, TYPES, translate)


def _message(error: Mapping[str, Any]) -> str:
    """What a page says for one of pydantic's complaints about a form (an English msgid), by its type, place and
    the rule's own code (``schemas``' order rules raise a ``ValueError`` that names it)."""
    rule = getattr(error.get("ctx", {}).get("error"), "code", None)
    if tuple(error["loc"]) == ("municipalities",) and error["type"] == "too_short":
        return FIELD_ERRORS["two_municipalities"]
    if error["type"] in {"missing", "string_too_short", "too_short"}:
        return FIELD_ERRORS["missing"]
    if rule in FIELD_ERRORS:
        return FIELD_ERRORS[rule]
    return FIELD_ERRORS["invalid"]


def _validate(model: type[M], payload: dict[str, Any], form: Form, translate: Translate) -> M | None:
    return validate(model, payload, form, message_for=_message, translate=translate)


# --- assessment -----------------------------------------------------------------------------------------------


def read_assessment(data: FormData) -> Form:
    values: dict[str, Any] = {"summary": form_text(data, "summary")}
    values["needs"] = {
        d: {"level": str(data.get(f"need-{d}", "")), "note": form_text(data, f"note-{d}")} for d in NEED_DOMAINS
    }
    return Form(values)


def assessment(form: Form, translate: Translate) -> AssessmentCreate | None:
    needs = {d: {"level": v["level"], "note": v["note"] or None} for d, v in form.values["needs"].items() if v["level"]}
    for d in NEED_DOMAINS:
        if d not in needs:
            form.errors[f"needs.{d}"] = translate(FIELD_ERRORS["missing"])
    payload = {"needs": needs, "summary": form.values["summary"] or None}
    return _validate(AssessmentCreate, payload, form, translate)


# --- plan -----------------------------------------------------------------------------------------------------


def empty_action(token: str, responsible: str) -> dict[str, Any]:
    return {"token": token, **dict.fromkeys(ACTION_FIELDS, ""), "kind": "task", "responsible": responsible}


def read_plan(data: FormData) -> Form:
    tokens: list[str] = []
    for key in data:
        match = ACTION_FIELD.match(key)
        if match and match.group(1) not in tokens:
            tokens.append(match.group(1))
    actions = [{"token": t, **{name: form_text(data, f"actions-{t}-{name}") for name in ACTION_FIELDS}} for t in tokens]
    values = {
        "goals": form_text(data, "goals"),
        "review_date": form_text(data, "review_date"),
        "actions": [a for a in actions if a["description"] or a["kind"] != "task" or a["person_id"]],
    }
    return Form(values)


def plan(form: Form, translate: Translate) -> PlanCreate | None:
    goals = [line.strip() for line in form.values["goals"].splitlines() if line.strip()]
    if not goals:
        form.errors["goals"] = translate(FIELD_ERRORS["missing"])
    review = _scalar("review_date", form.values["review_date"], form, "review_date", translate)
    if review is None and "review_date" not in form.errors:
        form.errors["review_date"] = translate(FIELD_ERRORS["missing"])
    actions = []
    for i, action in enumerate(form.values["actions"]):
        item = {name: _scalar(name, action[name], form, f"actions.{i}.{name}", translate) for name in ACTION_FIELDS}
        actions.append(item)
    return _validate(PlanCreate, {"goals": goals, "actions": actions, "review_date": review}, form, translate)


# --- referral -------------------------------------------------------------------------------------------------


def read_referral(data: FormData) -> Form:
    names = ("provider_id", "person_id", "note", "legal_basis")
    return Form({name: form_text(data, name) for name in names})


def referral(form: Form, translate: Translate) -> ReferralCreate | None:
    payload = {k: v or None for k, v in form.values.items()}
    if payload["provider_id"] is None:
        form.errors["provider_id"] = translate(FIELD_ERRORS["missing"])
    return _validate(ReferralCreate, payload, form, translate)


# --- registries -----------------------------------------------------------------------------------------------


def read_provider(data: FormData) -> Form:
    values: dict[str, Any] = {
        name: form_text(data, name) for name in ("name", "service_type", "municipality_code", "capacity", "occupancy")
    }
    values |= {name: data.get(name) == "yes" for name in ("accessible", "residential")}
    return Form(values)


def provider(form: Form, translate: Translate) -> ProviderCreate | None:
    payload: dict[str, Any] = {
        name: _scalar(name, str(form.values[name]), form, name, translate)
        for name in ("name", "service_type", "municipality_code", "capacity", "occupancy")
    }
    payload["occupancy"] = payload["occupancy"] or 0
    payload |= {name: form.values[name] for name in ("accessible", "residential")}
    return _validate(ProviderCreate, payload, form, translate)


def read_agreement(data: FormData) -> Form:
    values: dict[str, Any] = {name: form_text(data, name) for name in ("name", "valid_from", "valid_to")}
    values["municipalities"] = [str(v) for v in data.getlist("municipalities") if str(v)]
    values["service_types"] = [str(v) for v in data.getlist("service_types") if str(v)]
    return Form(values)


def agreement(form: Form, translate: Translate) -> AgreementCreate | None:
    payload: dict[str, Any] = {
        name: _scalar(name, form.values[name], form, name, translate) for name in ("name", "valid_from", "valid_to")
    }
    payload |= {"municipalities": form.values["municipalities"], "service_types": form.values["service_types"]}
    return _validate(AgreementCreate, payload, form, translate)
