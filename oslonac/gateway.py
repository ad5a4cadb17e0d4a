"""One origin for the embedded run: routes ``/intake``, ``/cases``, ``/activation``, ``/reporting`` to the
service processes by path prefix, and serves the development token issuer under ``/auth``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from html import escape

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from shared.auth import DevIssuer, dev_issuer_router
from shared.pages import PAGE

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


def create_gateway(upstreams: Mapping[str, str], issuer: DevIssuer | None, *, password_hint: str = "") -> FastAPI:
    """``upstreams`` maps a service name to its base URL (``http://127.0.0.1:PORT``)."""
    client: httpx.AsyncClient | None = None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        nonlocal client
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)
        client = httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=5.0), limits=limits)
        try:
            yield
        finally:
            await client.aclose()

    app = FastAPI(title="Oslonac", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    if issuer is not None:
        app.include_router(dev_issuer_router(issuer))

    @app.get("/", response_class=HTMLResponse)
    async def home() -> str:
        services = "".join(
            f'<li><a href="/{name}/">{escape(name)}</a> · <a href="/{name}/docs">API</a></li>' for name in upstreams
        )
        users = ""
        if issuer is not None:
            users = "<h2>Demo sign-in</h2><ul>" + "".join(
                f"<li><code>{escape(u)}</code> ({escape(', '.join(issuer.users[u].roles))})</li>" for u in issuer.users
            )
            users += f"</ul><p>{escape(password_hint)}</p>"
        body = f"<h1>Oslonac</h1><p>Social protection platform, embedded run.</p><ul>{services}</ul>{users}"
        return PAGE.format(title="Oslonac", body=body)

    @app.api_route("/{service}/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
    async def proxy(service: str, path: str, request: Request) -> Response:
        base = upstreams.get(service)
        if base is None or client is None:
            return JSONResponse({"detail": f"No service at /{service}."}, status_code=404)
        target = f"{base}/{service}/{path}"
        if request.url.query:
            target = f"{target}?{request.url.query}"
        url = httpx.URL(target)
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
        headers.append(("x-forwarded-for", request.client.host if request.client else ""))
        body = await request.body()
        upstream_request = client.build_request(request.method, url, headers=headers, content=body)
        try:
            upstream = await client.send(upstream_request, stream=True)
        except httpx.TransportError as exc:
            return JSONResponse(
                {"detail": f"The {service} service is not answering ({type(exc).__name__}); try again shortly."},
                status_code=503,
            )
        response_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
        return StreamingResponse(
            upstream.aiter_raw(),
            status_code=upstream.status_code,
            headers=response_headers,
            background=BackgroundTask(upstream.aclose),
        )

    return app
