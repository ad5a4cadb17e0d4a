"""Activation's HTML pages."""

from __future__ import annotations

from shared.pages import landing_router

router = landing_router("activation", "Activation", "Employers' forums, work opportunities and placements.")
