"""The pages' router under its old name, for ``app.py`` until it includes ``services.reporting.web.router``."""

from services.reporting.web import router as router
