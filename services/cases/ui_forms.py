"""The forms of cases' pages turned into the service layer's request models, and pydantic's complaints back into
messages per field (keyed by dotted path, ``actions.0.person_id``, as the service layer's ``Invalid`` reports them).

Plan actions carry a token in their field names (``actions-<token>-kind``) so rows can be added in the browser;
the order of the form is the order of the actions.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from services.cases.domain import NEED_DOMAINS
from services.cases.schemas import AgreementCreate, AssessmentCreate, PlanCreate, ProviderCreate, ReferralCreate
from services.cases.ui_labels import FIELD_ERRORS

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
DATE_FIELDS = {"due_date", "available_from", "review_date", "valid_from", "valid_to"}
INT_FIELDS = {"hours_per_week_min", "hours_per_week_max", "capacity", "occupancy"}


@dataclass
class Form:
    """What a form holds (to show it again) and its errors by dotted field path."""

    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)


def new_token() -> str:
    return secrets.token_hex(3)


def parse_date(text: str) -> str | None:
    """ISO (from a date input) or the Serbian DD.MM.YYYY(.) people type; None when it is neither."""
    text = text.strip().rstrip(".")
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, pattern).date().isoformat()
        except ValueError:
            continue
    return None


def _scalar(name: str, text: str, errors: dict[str, str], path: str, translate: Callable[[str], str]) -> Any:
    """A form text as the model wants it: None when empty, a date or a whole number where the field is one."""
    text = text.strip()
    if not text:
        return None
    if name in DATE_FIELDS:
        parsed = parse_date(text)
        if parsed is None:
            errors[path] = translate(FIELD_ERRORS["date"])
        return parsed
    if name in INT_FIELDS:
        if not text.isdigit():
            errors[path] = translate(FIELD_ERRORS["number"])
            return None
        try:
            return int(text)
        except ValueError:  # digits int() does not read ('²')
            errors[path] = translate(FIELD_ERRORS["number"])
            return None
    return text


def _validate(model: type[M], payload: dict[str, Any], form: Form, translate: Callable[[str], str]) -> M | None:
    if form.errors:
        return None
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        for error in exc.errors():
            path = ".".join(str(p) for p in error["loc"])
            message = str(error.get("msg", ""))
            if path == "municipalities" and error["type"] == "too_short":
                kind = "two_municipalities"
            elif error["type"] in {"missing", "string_too_short", "too_short"}:
                kind = "missing"
            elif "hours_per_week_min is more" in message:
                kind = "hours_order"
            elif "valid_to is before" in message:
                kind = "dates_order"
            else:
                kind = "invalid"
            form.errors.setdefault(path, translate(FIELD_ERRORS[kind]))
        return None


# --- assessment -----------------------------------------------------------------------------------------------


def read_assessment(data: FormData) -> Form:
    values: dict[str, Any] = {"summary": str(data.get("summary", "")).strip()}
    values["needs"] = {
        d: {"level": str(data.get(f"need-{d}", "")), "note": str(data.get(f"note-{d}", "")).strip()}
        for d in NEED_DOMAINS
    }
    return Form(values)


def assessment(form: Form, translate: Callable[[str], str]) -> AssessmentCreate | None:
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
    actions = [
        {"token": t, **{name: str(data.get(f"actions-{t}-{name}", "")).strip() for name in ACTION_FIELDS}}
        for t in tokens
    ]
    values = {
        "goals": str(data.get("goals", "")).strip(),
        "review_date": str(data.get("review_date", "")).strip(),
        "actions": [a for a in actions if a["description"] or a["kind"] != "task" or a["person_id"]],
    }
    return Form(values)


def plan(form: Form, translate: Callable[[str], str]) -> PlanCreate | None:
    goals = [line.strip() for line in form.values["goals"].splitlines() if line.strip()]
    if not goals:
        form.errors["goals"] = translate(FIELD_ERRORS["missing"])
    review = _scalar("review_date", form.values["review_date"], form.errors, "review_date", translate)
    if review is None and "review_date" not in form.errors:
        form.errors["review_date"] = translate(FIELD_ERRORS["missing"])
    actions = []
    for i, action in enumerate(form.values["actions"]):
        item = {
            name: _scalar(name, action[name], form.errors, f"actions.{i}.{name}", translate) for name in ACTION_FIELDS
        }
        actions.append(item)
    return _validate(PlanCreate, {"goals": goals, "actions": actions, "review_date": review}, form, translate)


# --- referral -------------------------------------------------------------------------------------------------


def read_referral(data: FormData) -> Form:
    names = ("provider_id", "person_id", "note", "legal_basis")
    return Form({name: str(data.get(name, "")).strip() for name in names})


def referral(form: Form, translate: Callable[[str], str]) -> ReferralCreate | None:
    payload = {k: v or None for k, v in form.values.items()}
    if payload["provider_id"] is None:
        form.errors["provider_id"] = translate(FIELD_ERRORS["missing"])
    return _validate(ReferralCreate, payload, form, translate)


# --- registries -----------------------------------------------------------------------------------------------


def read_provider(data: FormData) -> Form:
    values: dict[str, Any] = {
        name: str(data.get(name, "")).strip()
        for name in ("name", "service_type", "municipality_code", "capacity", "occupancy")
    }
    values |= {name: data.get(name) == "yes" for name in ("accessible", "residential")}
    return Form(values)


def provider(form: Form, translate: Callable[[str], str]) -> ProviderCreate | None:
    payload: dict[str, Any] = {
        name: _scalar(name, str(form.values[name]), form.errors, name, translate)
        for name in ("name", "service_type", "municipality_code", "capacity", "occupancy")
    }
    payload["occupancy"] = payload["occupancy"] or 0
    payload |= {name: form.values[name] for name in ("accessible", "residential")}
    return _validate(ProviderCreate, payload, form, translate)


def read_agreement(data: FormData) -> Form:
    values: dict[str, Any] = {name: str(data.get(name, "")).strip() for name in ("name", "valid_from", "valid_to")}
    values["municipalities"] = [str(v) for v in data.getlist("municipalities") if str(v)]
    values["service_types"] = [str(v) for v in data.getlist("service_types") if str(v)]
    return Form(values)


def agreement(form: Form, translate: Callable[[str], str]) -> AgreementCreate | None:
    payload: dict[str, Any] = {
        name: _scalar(name, form.values[name], form.errors, name, translate)
        for name in ("name", "valid_from", "valid_to")
    }
    payload |= {"municipalities": form.values["municipalities"], "service_types": form.values["service_types"]}
    return _validate(AgreementCreate, payload, form, translate)
