"""The FastAPI shell every service shares: correlation ids, metrics, health, errors, the session."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import KeySource, TokenVerifier
from shared.context import correlation
from shared.db import unit_of_work
from shared.messaging.runtime import ServiceRuntime
from shared.observability import metrics
from shared.observability.logging import configure_logging
from shared.problems import install_openapi, install_problem_handlers
from shared.settings import Settings
from shared.ui.api_docs import install_api_docs
from shared.ui.login import install_ui
from shared.ui.security import install_security
from shared.ui.signin import oidc_client

log = structlog.get_logger(__name__)


def build_verifier(settings: Settings, key_source: KeySource | None = None) -> TokenVerifier:
    """A PEM key or ``jwks_url`` when set; else ``key_source`` (the OIDC provider's keys, found by discovery)."""
    pem = settings.jwt_public_key
    if pem is None and settings.jwt_public_key_file is not None:
        pem = settings.jwt_public_key_file.read_text()
    return TokenVerifier(
        public_key_pem=pem,
        jwks_url=settings.jwks_url,
        key_source=key_source if not (pem or settings.jwks_url) and settings.oidc_issuer else None,
        issuer=settings.expected_issuer,
        audience=settings.jwt_audience,
    )


class ObservabilityMiddleware:
    """Correlation id in and out (``X-Correlation-ID``) and the HTTP latency histogram, as plain ASGI."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming = None
        for name, value in scope["headers"]:
            if name == b"x-correlation-id":
                incoming = value.decode("latin-1")[:100]
                break
        status = 500
        with correlation(incoming) as cid:

            async def send_with_id(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    message["headers"] = [*message.get("headers", []), (b"x-correlation-id", cid.encode())]
                await send(message)

            try:
                await self.app(scope, receive, send_with_id)
            finally:
                route = scope.get("route")
                template = getattr(route, "path", "unmatched")
                metrics.HTTP_LATENCY.labels(self.service, scope["method"], template, str(status)).observe(
                    time.perf_counter() - started
                )


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    runtime: ServiceRuntime = request.app.state.runtime
    async with unit_of_work(runtime.sessions) as session:
        yield session


# The transaction commits after the route function returns and before the response is sent.
SessionDep = Annotated[AsyncSession, Depends(_session, scope="function")]


async def get_runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[ServiceRuntime, Depends(get_runtime)]


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(description='"ok", or "unavailable: <why>" per dependency')


# No list is paged this far; a larger offset (2^63 overflowed SQLite's INTEGER: a 500) is refused with a 422.
MAX_OFFSET = 10_000_000
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip (at most 10,000,000)")]


def create_service_app(
    *,
    settings: Settings,
    runtime_factory: Callable[[Settings], ServiceRuntime],
    routers: Sequence[APIRouter],
    title: str,
    description: str = "",
) -> FastAPI:
    service = settings.service
    prefix = f"/{service}"
    configure_logging(service, fmt=settings.log_format, level=settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = runtime_factory(settings)
        app.state.runtime = runtime
        await runtime.start()
        log.info(f"{service}.started", database=runtime.engine.url.render_as_string(hide_password=True))
        try:
            yield
        finally:
            await runtime.stop()
            log.info(f"{service}.stopped")

    app = FastAPI(
        title=title,
        description=description,
        version="0.1.0",
        lifespan=lifespan,
        openapi_url=f"{prefix}/openapi.json",
        docs_url=None,  # our own page (shared.ui.api_docs): Swagger UI from this origin, no CDN
        redoc_url=None,
    )
    app.state.settings = settings
    install_api_docs(app, prefix=prefix, title=title)

    async def provider_key(token: str) -> Any:
        client = oidc_client(app)
        assert client is not None  # only used when OSLONAC_OIDC_ISSUER is set
        return await client.signing_key(token)

    app.state.verifier = build_verifier(settings, provider_key)
    app.add_middleware(ObservabilityMiddleware, service=service)

    health = APIRouter(prefix=prefix, tags=["health"])

    @health.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @health.get(
        "/health/ready",
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "The database or the broker is not answering"}},
    )
    async def ready(request: Request) -> JSONResponse:
        runtime: ServiceRuntime = request.app.state.runtime
        checks: dict[str, str] = {}
        for name, check in (("database", runtime.check_database), ("broker", runtime.check_broker)):
            try:
                await check()
                checks[name] = "ok"
            except Exception as exc:
                checks[name] = f"unavailable: {type(exc).__name__}"
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks}, 200 if ok else 503)

    @health.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.include_router(health)
    # Shared static files at /{service}/static, sign-in/out and language switch, page-auth redirects.
    install_ui(app, settings)
    # After install_ui: these handlers answer API requests with problem+json (pages keep their error pages).
    install_problem_handlers(app)
    install_openapi(app, routers=[("", health)] + [(prefix, r) for r in routers], store_calls=(_session, get_runtime))
    install_security(app, settings)  # headers and CSP on every response; CSRF check of every route from here on
    for router in routers:
        app.include_router(router, prefix=prefix)
    return app
