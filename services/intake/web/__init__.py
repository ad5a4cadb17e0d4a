"""Intake's pages (Jinja2 + htmx), thin: the same service calls as the API. One module of routes per feature —
search, households (registration, the household's page, consent, erasure), duplicates, poverty lines, the audit
log, imports — with the helpers beside them (``_common``, ``_forms``, ``_labels``); one router here."""

from __future__ import annotations

from fastapi import APIRouter

from services.intake.web import audit, duplicates, households, imports, poverty_lines, search

router = APIRouter(include_in_schema=False)
for feature in (search, households, duplicates, poverty_lines, audit, imports):
    router.include_router(feature.router)
