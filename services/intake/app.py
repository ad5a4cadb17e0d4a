"""Intake: the social-mapping registry of households and persons."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.intake import api, api_imports, handlers, importing, web
from services.intake.models import plumbing
from shared.idempotency import install_idempotency
from shared.messaging.runtime import ServiceRuntime
from shared.settings import Settings
from shared.web import create_service_app

MIGRATIONS = Path(__file__).with_name("migrations")

# Creating operations that honour Idempotency-Key (shared/idempotency.py, docs/adr/0002-idempotency-keys.md).
IDEMPOTENT = (
    "POST /intake/api/households",
    "POST /intake/api/imports",
)


def make_runtime(settings: Settings) -> ServiceRuntime:
    return ServiceRuntime(
        settings=settings,
        tables=plumbing,
        migrations=MIGRATIONS,
        subscriptions=handlers.subscriptions,
        background=[importing.run_imports],
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = (settings or Settings()).model_copy(update={"service": "intake"})
    app = create_service_app(
        settings=settings,
        runtime_factory=make_runtime,
        routers=[api.router, api_imports.router, web.router],
        title="Oslonac intake",
        description="Households and persons registered by social mapping.",
    )
    install_idempotency(app, plumbing.idempotency_keys, IDEMPOTENT, ttl_s=settings.idempotency_ttl_s)
    return app
