"""Cases: case management for registered households."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.cases import api, handlers, web
from services.cases.models import plumbing
from shared.idempotency import install_idempotency
from shared.messaging.runtime import ServiceRuntime
from shared.settings import Settings
from shared.web import create_service_app

MIGRATIONS = Path(__file__).with_name("migrations")

# Creating operations that honour Idempotency-Key (shared/idempotency.py, docs/adr/0002-idempotency-keys.md).
IDEMPOTENT = (
    "POST /cases/api/cases/{case_id}/assessments",
    "POST /cases/api/cases/{case_id}/plans",
    "POST /cases/api/cases/{case_id}/referrals",
    "POST /cases/api/cases/{case_id}/transfer",
    "POST /cases/api/providers",
    "POST /cases/api/agreements",
)


def make_runtime(settings: Settings) -> ServiceRuntime:
    return ServiceRuntime(
        settings=settings, tables=plumbing, migrations=MIGRATIONS, subscriptions=handlers.subscriptions
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = (settings or Settings()).model_copy(update={"service": "cases"})
    app = create_service_app(
        settings=settings,
        runtime_factory=make_runtime,
        routers=[api.router, web.router],
        title="Oslonac cases",
        description="Cases opened for registered households.",
    )
    install_idempotency(app, plumbing.idempotency_keys, IDEMPOTENT, ttl_s=settings.idempotency_ttl_s)
    return app
