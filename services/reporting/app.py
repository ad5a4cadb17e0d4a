"""Reporting: projections and indicators built only from events."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import structlog
from fastapi import FastAPI

from services.reporting import api, feed, handlers, web
from services.reporting.models import plumbing
from shared.db import unit_of_work, utcnow
from shared.messaging.runtime import ServiceRuntime
from shared.settings import Settings
from shared.web import create_service_app

log = structlog.get_logger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
FEED_RETENTION = timedelta(days=7)
PRUNE_EVERY_S = 600.0
# An idle feed checks for changed cells at most this seldom (see announce_changes).
FEED_IDLE_MAX_S = 5.0


async def prune_feed(runtime: ServiceRuntime) -> None:
    """Keep a week of announcements for SSE clients to resume from."""
    while True:
        try:
            async with unit_of_work(runtime.sessions) as session:
                pruned = await feed.prune(session, now=utcnow(), keep=FEED_RETENTION)
            if pruned:
                log.info("reporting.feed_pruned", entries=pruned)
        except Exception as exc:  # the store may be away for a while; try again later
            log.warning("reporting.feed_prune_failed", error=repr(exc))
        await asyncio.sleep(PRUNE_EVERY_S)


async def announce_changes(runtime: ServiceRuntime) -> None:
    """Announce the cells changed since the last round, every ``feed_interval_s`` while cells change; rounds that
    find nothing stretch the wait, doubling up to ``FEED_IDLE_MAX_S``, so an idle service does not query its store
    every second (the first change after a quiet spell is announced within that long, the rest at the usual pace)."""
    base = runtime.settings.feed_interval_s
    wait = base
    while True:
        await asyncio.sleep(wait)
        announced = 0
        try:
            async with unit_of_work(runtime.sessions) as session:
                announced = await feed.announce_pending(session, runtime.outbox, utcnow())
        except Exception as exc:  # the store may be away for a while; the cells stay pending
            log.warning("reporting.announce_failed", error=repr(exc))
        wait = base if announced else min(wait * 2, max(base, FEED_IDLE_MAX_S))


def make_runtime(settings: Settings) -> ServiceRuntime:
    return ServiceRuntime(
        settings=settings,
        tables=plumbing,
        migrations=MIGRATIONS,
        subscriptions=handlers.subscriptions,
        background=[prune_feed, announce_changes],
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = (settings or Settings()).model_copy(update={"service": "reporting"})
    return create_service_app(
        settings=settings,
        runtime_factory=make_runtime,
        routers=[api.router, web.router],
        title="Oslonac reporting",
        description="Disaggregated indicators from the projections.",
    )
