"""Activation: employers' forums, work-engagement opportunities, matching and placements."""

from __future__ import annotations

import asyncio
from pathlib import Path

import structlog
from fastapi import FastAPI

from services.activation import api, handlers, service, web
from services.activation.models import plumbing
from shared.db import unit_of_work
from shared.idempotency import install_idempotency
from shared.messaging.runtime import ServiceRuntime
from shared.settings import Settings
from shared.web import create_service_app

MIGRATIONS = Path(__file__).with_name("migrations")
log = structlog.get_logger(__name__)


async def refresh_shortlists(runtime: ServiceRuntime) -> None:
    """Recompute the stored shortlists whenever candidates or opportunities changed since the last run."""
    interval = runtime.settings.shortlist_refresh_s
    if interval <= 0:
        return
    while True:
        await asyncio.sleep(interval)
        try:
            async with unit_of_work(runtime.sessions) as session:
                stale = await service.shortlists_stale(session)
            if stale:
                await service.recompute_shortlists(runtime.sessions)
        except Exception as exc:  # the next round tries again; the API's live rankings do not depend on it
            log.warning("shortlists.failed", error=repr(exc))


# Activation reads intake's busy household topic for the few updates, consents and erasures it needs: it fetches
# in batches (at most 0.4 s late) instead of one fetch per record, which halves what that costs the platform.
BATCHED_FETCH = {"fetch_min_bytes": 128 * 1024, "fetch_max_wait_ms": 400}

# Creating operations that honour Idempotency-Key (shared/idempotency.py, docs/adr/0002-idempotency-keys.md).
IDEMPOTENT = (
    "POST /activation/api/forums",
    "POST /activation/api/opportunities",
    "POST /activation/api/opportunities/{opportunity_id}/proposals",
)


def make_runtime(settings: Settings) -> ServiceRuntime:
    explicit = {"fetch_min_bytes", "fetch_max_wait_ms"} & settings.kafka.model_fields_set
    batched = {k: v for k, v in BATCHED_FETCH.items() if k not in explicit}
    settings = settings.model_copy(update={"kafka": settings.kafka.model_copy(update=batched)})
    return ServiceRuntime(
        settings=settings,
        tables=plumbing,
        migrations=MIGRATIONS,
        subscriptions=handlers.subscriptions,
        background=(refresh_shortlists,),
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = (settings or Settings()).model_copy(update={"service": "activation"})
    app = create_service_app(
        settings=settings,
        runtime_factory=make_runtime,
        routers=[api.router, web.router],
        title="Oslonac activation",
        description="Employers' forums, work-engagement opportunities, explainable and fair matching, placements.",
    )
    install_idempotency(app, plumbing.idempotency_keys, IDEMPOTENT, ttl_s=settings.idempotency_ttl_s)
    return app
