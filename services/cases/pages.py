"""Cases' HTML pages."""

from __future__ import annotations

from shared.pages import landing_router

router = landing_router("cases", "Cases", "Case management from registration to closure.")
