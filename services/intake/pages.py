"""Intake's HTML pages."""

from __future__ import annotations

from shared.pages import landing_router

router = landing_router("intake", "Intake", "Registry of households and persons from social mapping.")
