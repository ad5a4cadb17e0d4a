"""The API documentation page (``/{service}/docs``): Swagger UI 5 (it reads OpenAPI 3.1) from the files the
``fastapi-offline`` package ships, served by the service itself. FastAPI's own page loads Swagger UI from a CDN and
starts it with an inline script; this one needs nothing from another origin and no inline script."""

from __future__ import annotations

from html import escape
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

SWAGGER_UI = Path(fastapi_offline.__file__).parent / "static"


def install_api_docs(app: FastAPI, *, prefix: str, title: str) -> str:
    """Serve Swagger UI at ``{prefix}/docs`` for ``{prefix}/openapi.json``; return the page's path."""
    docs = f"{prefix}/docs"
    app.mount(f"{docs}/assets", StaticFiles(directory=SWAGGER_UI), name="api-docs-assets")
    page = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · API</title>
<link rel="stylesheet" href="{docs}/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi="{escape(prefix)}/openapi.json"></div>
<script src="{docs}/assets/swagger-ui-bundle.js"></script>
<script src="{prefix}/static/api-docs.js"></script>
</body>
</html>
"""

    @app.get(docs, include_in_schema=False)
    async def api_docs() -> HTMLResponse:
        return HTMLResponse(page)

    return docs


__all__ = ["install_api_docs"]
