"""Reporting's pages, one router: the indicator pages (dashboard, comparison, trends), their downloads and
reporting's own static files. Helpers beside them: ``_common`` (templates, page context, form choices),
``_filters`` (the filter form), ``_labels`` and ``_indicator_labels`` (what the pages call things), ``_format``
and ``_charts`` (a table as it reads and as it is drawn), ``_export`` (a table as CSV and XLSX)."""

from __future__ import annotations

from fastapi import APIRouter

from services.reporting.web import assets, downloads, indicator_pages

router = APIRouter(include_in_schema=False)
router.include_router(indicator_pages.router)
router.include_router(downloads.router)
router.include_router(assets.router)
