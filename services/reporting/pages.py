"""Reporting's HTML pages."""

from __future__ import annotations

from shared.pages import landing_router

router = landing_router("reporting", "Reporting", "Indicators built from events, for policy makers.")
