"""Cases: case management for registered households."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.cases import api, handlers, pages
from services.cases.models import plumbing
from shared.messaging.runtime import ServiceRuntime
from shared.settings import Settings
from shared.web import create_service_app

MIGRATIONS = Path(__file__).with_name("migrations")


def make_runtime(settings: Settings) -> ServiceRuntime:
    runtime = ServiceRuntime(settings=settings, tables=plumbing, migrations=MIGRATIONS)
    runtime.attach_handlers(handlers.build_handlers(runtime.outbox))
    return runtime


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = (settings or Settings()).model_copy(update={"service": "cases"})
    return create_service_app(
        settings=settings,
        runtime_factory=make_runtime,
        routers=[api.router, pages.router],
        title="Oslonac cases",
        description="Cases opened for registered households.",
    )
