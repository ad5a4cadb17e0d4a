"""Every error of every API is an RFC 9457 problem (``application/problem+json``) with a stable ``code``.

One module for the whole contract: the :class:`Problem` model, the exception handlers that answer with it, and
the step that writes into each service's OpenAPI document the error statuses each route can return, derived
from what the route depends on (authentication, roles, the store, path ids, a body).

Page requests (a browser asking for HTML outside ``/api/``) still get the translated error pages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.auth import current_user
from shared.db import is_store_unavailable
from shared.errors import DomainError
from shared.ui.login import error_page, wants_page

log = structlog.get_logger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://oslonac.rs/problems/"

# The stable code of an HTTP error raised without one (by FastAPI, Starlette or ``shared.auth``).
STATUS_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    500: "internal",
    503: "unavailable",
}
# Page requests that fail with these statuses get the translated error page (as before this module).
PAGE_STATUSES = frozenset({403, 404, 409, 422})


class FieldError(BaseModel):
    """One field that is not valid, as FastAPI reports it: where (``loc``), why (``msg``), what kind (``type``)."""

    loc: list[str | int] = Field(description='where, e.g. ["body", "members", 0, "given_name"]')
    msg: str
    type: str = Field(description="stable, machine-readable: what is wrong with the field (pages translate by it)")
    ctx: dict[str, Any] | None = Field(default=None, description="the values the message names, when it names any")


class Problem(BaseModel):
    """An error, as RFC 9457 describes it, with the stable machine-readable ``code`` clients switch on."""

    model_config = ConfigDict(json_schema_extra={"description": "RFC 9457 problem details"})

    type: str = Field(description="a URI naming the kind of problem: https://oslonac.rs/problems/<code>")
    title: str = Field(description="the HTTP status phrase")
    status: int = Field(ge=400, le=599)
    detail: str = Field(description="what went wrong, for a person to read")
    code: str = Field(description="stable, machine-readable; pages and clients translate by it")
    errors: list[FieldError] | dict[str, Any] | None = Field(
        default=None,
        description="422: the fields that are not valid; 409: what the conflict is about (e.g. ``allowed`` steps)",
    )


def problem_body(status: int, code: str, detail: str, *, errors: Any = None) -> dict[str, Any]:
    """The RFC 9457 body every refusal of the platform carries (middleware that answers by itself included)."""
    body: dict[str, Any] = {
        "type": f"{PROBLEM_TYPE_BASE}{code}",
        "title": _title(status),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors is not None:
        body["errors"] = errors
    return body


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    errors: Any = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = problem_body(status, code, detail, errors=errors)
    return JSONResponse(body, status_code=status, headers=dict(headers or {}), media_type=PROBLEM_MEDIA_TYPE)


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _field(loc: Iterable[Any]) -> str:
    return ".".join(str(p) for p in list(loc)[1:]) or "body"


def validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]


def install_problem_handlers(app: FastAPI) -> None:
    """Register after ``install_ui`` so these answer API requests (the later registration wins)."""

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> Response:
        # Pages get this too (as before): their forms validate in the page routes, not through the signature.
        errors = validation_errors(exc)
        fields = ", ".join(dict.fromkeys(_field(e["loc"]) for e in errors[:5]))
        return problem_response(422, "invalid", f"The request is not valid: check {fields}.", errors=errors)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        if wants_page(request):
            return await error_page(request, exc.status_code)
        return problem_response(exc.status_code, exc.code, exc.message, errors=exc.details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if wants_page(request) and exc.status_code in PAGE_STATUSES:
            return await error_page(request, exc.status_code)
        if exc.status_code < 400:  # not an error (e.g. 304): answer as Starlette would
            return Response(status_code=exc.status_code, headers=exc.headers)
        code = STATUS_CODES.get(exc.status_code, f"http_{exc.status_code}")
        detail = exc.detail if isinstance(exc.detail, str) else _title(exc.status_code)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"There is nothing at {request.url.path}."
        elif exc.status_code == 405 and detail == "Method Not Allowed":
            detail = f"{request.method} is not allowed on {request.url.path}."
        errors = None if isinstance(exc.detail, str) else exc.detail
        return problem_response(exc.status_code, code, detail, errors=errors, headers=exc.headers)

    @app.exception_handler(DBAPIError)
    @app.exception_handler(SATimeoutError)
    async def store_error(_request: Request, exc: Exception) -> Response:
        if not is_store_unavailable(exc):
            log.error("http.store_error", error=repr(exc)[:500])
            return problem_response(500, "internal", "Internal error; it has been logged.")
        log.warning("http.store_unavailable", error=repr(exc)[:300])
        return problem_response(
            503,
            "unavailable",
            "The database is not answering right now; nothing was saved. Try again shortly.",
            headers={"Retry-After": "2"},
        )

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        # Starlette's outermost middleware calls this and then re-raises, so the server logs the traceback too.
        log.error("http.internal_error", path=request.url.path, error=repr(exc)[:500])
        return problem_response(500, "internal", "Internal error; it has been logged.")


# --- OpenAPI: each route's error statuses ----------------------------------------------------------------------

DESCRIPTIONS: dict[int, str] = {
    400: "The request body could not be read (code ``bad_request``)",
    401: "No token, or the token was not accepted (code ``unauthenticated``)",
    403: "The user's role, municipality or organisation does not allow this (code ``forbidden``)",
    404: "No such record, or not one the user may see (code ``not_found``)",
    409: "The record's state does not allow this now (code ``conflict`` or a more precise one)",
    422: "The request is not valid; ``errors`` lists the fields (code ``invalid``)",
    503: "The store is not answering; nothing was saved, try again (code ``unavailable``)",
}
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


def _calls(route: APIRoute) -> set[Callable[..., Any]]:
    return {d.call for d in _dependencies(route.dependant) if d.call is not None}


def _is_role_check(call: Callable[..., Any]) -> bool:
    return getattr(call, "__qualname__", "").startswith("require_role.")


def route_statuses(route: APIRoute, *, store_calls: frozenset[Callable[..., Any]]) -> set[int]:
    """The error statuses ``route`` can answer with, from what it depends on and how it is called."""
    calls = _calls(route)
    statuses: set[int] = set()
    flat = [
        *route.dependant.path_params,
        *route.dependant.query_params,
        *route.dependant.header_params,
        *route.dependant.cookie_params,
        *route.dependant.body_params,
    ]
    for sub in _dependencies(route.dependant):
        flat += [*sub.path_params, *sub.query_params, *sub.header_params, *sub.cookie_params, *sub.body_params]
    if flat:
        statuses.add(422)
    uses_store = bool(calls & store_calls)
    if current_user in calls:
        statuses.add(401)
        # A role check refuses with 403; so may the service layer (municipality, organisation) once it reads the
        # store. A route that only needs a signed-in user and no store (reference lists) never does.
        if uses_store or any(_is_role_check(call) for call in calls):
            statuses.add(403)
    if route.dependant.path_params:
        statuses.add(404)
    if uses_store:
        statuses.add(503)
        if (route.methods or set()) & UNSAFE_METHODS:
            statuses.add(409)
    if route.body_field is not None:
        statuses.add(400)  # a body that cannot be read (FastAPI: "There was an error parsing the body")
    return statuses


def _problem_content() -> dict[str, Any]:
    return {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _own_model(response: dict[str, Any]) -> bool:
    """A response a route declared with a model of its own (e.g. readiness's 503), kept as declared."""
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    ref = schema.get("$ref", "")
    return bool(ref) and not ref.endswith("/HTTPValidationError")


def document_problems(
    schema: dict[str, Any],
    routes: Iterable[tuple[str, APIRoute]],
    *,
    store_calls: frozenset[Callable[..., Any]],
) -> None:
    """Write each route's error statuses, all with the Problem schema, into ``schema`` (the OpenAPI document).
    ``routes`` are (path in the document, route) pairs."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(problem.pop("$defs", {}))
    components["Problem"] = problem
    for path, route in routes:
        operations = schema.get("paths", {}).get(path, {})
        for method in route.methods or ():
            operation = operations.get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in sorted(route_statuses(route, store_calls=store_calls)):
                responses.setdefault(str(status), {"description": DESCRIPTIONS[status]})
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400 and not _own_model(response):
                    response["content"] = _problem_content()
                    response.setdefault("description", DESCRIPTIONS.get(int(status), _title(int(status))))
    # FastAPI's own 422 shape is no longer used anywhere.
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)


def api_routes(routers: Iterable[tuple[str, APIRouter]]) -> Iterator[tuple[str, APIRoute]]:
    """The (document path, route) of each documented route of ``routers``, each given with the prefix it is
    included under. Only a router's own routes: the API routers include no others (pages do, undocumented)."""
    for prefix, router in routers:
        for route in router.routes:
            if isinstance(route, APIRoute) and route.include_in_schema:
                yield f"{prefix}{route.path_format}", route


def install_openapi(
    app: FastAPI, *, routers: Iterable[tuple[str, APIRouter]], store_calls: Iterable[Callable[..., Any]]
) -> None:
    """Replace ``app.openapi`` by one that documents the problems of ``routers`` (pairs of the prefix each is
    included under and the router), built once, on first request."""
    calls = frozenset(store_calls)
    routes = list(api_routes(routers))

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
                servers=app.servers,
                separate_input_output_schemas=app.separate_input_output_schemas,
            )
            document_problems(schema, routes, store_calls=calls)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
