"""Domain errors carry their HTTP status; the web layer maps them, so a 500 is always a bug."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400
    code = "domain_error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
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


def field_error(loc: list[str | int], msg: str, type_: str = "value_error") -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": type_}
