"""Reporting: projections and indicators built only from events."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.reporting import api, handlers, pages
from services.reporting.models import plumbing
from shared.messaging.runtime import ServiceRuntime
from shared.settings import Settings
from shared.web import create_service_app

MIGRATIONS = Path(__file__).with_name("migrations")


def make_runtime(settings: Settings) -> ServiceRuntime:
    return ServiceRuntime(settings=settings, tables=plumbing, migrations=MIGRATIONS, handlers=handlers.HANDLERS)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = (settings or Settings()).model_copy(update={"service": "reporting"})
    return create_service_app(
        settings=settings,
        runtime_factory=make_runtime,
        routers=[api.router, pages.router],
        title="Oslonac reporting",
        description="Disaggregated indicators from the projections.",
    )
