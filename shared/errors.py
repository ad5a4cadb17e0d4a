"""Domain errors carry their HTTP status; the web layer maps them, so a 500 is always a bug.

A refusal has three parts kept apart: the problem+json ``code`` the API answers with (the class's: ``invalid``,
``conflict``…, unchanged for clients), the refusal's own stable ``reason`` with its ``params`` (what pages
translate, through ``shared.ui.refusals``), and the English ``message`` the API shows as ``detail``. A field of a
422 says the same in FastAPI's and pydantic's shape: ``type`` is its code, ``ctx`` its parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DomainError(Exception):
    status_code = 400
    code = "domain_error"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        params: Mapping[str, Any] | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.code
        self.params: dict[str, Any] = dict(params or {})
        self.details = details


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class Invalid(DomainError):
    """A request that parsed but breaks a rule; ``details`` lists field errors like FastAPI's 422."""

    status_code = 422
    code = "invalid"


def field_error(
    loc: list[str | int], msg: str, type_: str = "value_error", *, params: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """One field that is not valid: where, the English sentence, its stable code (``type``) and, when the sentence
    has values in it, those values (``ctx``, as pydantic reports them)."""
    error: dict[str, Any] = {"loc": loc, "msg": msg, "type": type_}
    if params:
        error["ctx"] = dict(params)
    return error


def field_errors(exc: DomainError) -> list[dict[str, Any]]:
    """The field errors a refusal carries (none when its ``details`` are something else)."""
    details = exc.details
    return [e for e in details if isinstance(e, dict)] if isinstance(details, list) else []
