"""A minimal server-rendered landing page per service; the services' own UIs build on this layout."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

PAGE = """<!doctype html>
<html lang="sr-Latn"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Oslonac · {title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#1d2a36}}
a{{color:#0b5cad}} code{{background:#eef2f6;padding:.1rem .3rem}}</style></head>
<body><header><a href="/">Oslonac</a> · {title}</header><main>{body}</main></body></html>"""


def landing_router(service: str, title: str, summary: str) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/", response_class=HTMLResponse)
    async def landing() -> str:
        body = (
            f"<h1>{escape(title)}</h1><p>{escape(summary)}</p>"
            f'<ul><li><a href="/{service}/docs">API (OpenAPI)</a></li>'
            f'<li><a href="/{service}/health/ready">Readiness</a></li>'
            f'<li><a href="/{service}/metrics">Metrics</a></li></ul>'
        )
        return PAGE.format(title=escape(title), body=body)

    return router


__all__ = ["PAGE", "landing_router"]
