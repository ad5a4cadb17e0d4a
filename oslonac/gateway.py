"""What the embedded run serves itself behind the reverse proxy (``oslonac.proxy``): the development OpenID
Connect provider under ``/auth`` and the landing page. Service paths never reach this app."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from shared.oidc_provider import DevProvider
from shared.oidc_provider_app import install_dev_provider
from shared.pages import PAGE


def create_gateway(services: Sequence[str], provider: DevProvider | None, *, password_hint: str = "") -> FastAPI:
    app = FastAPI(title="Oslonac", docs_url=None, redoc_url=None, openapi_url=None)
    issuer = provider.issuer if provider is not None else None
    if provider is not None:
        install_dev_provider(app, provider)

    @app.get("/", response_class=HTMLResponse)
    async def home() -> str:
        links = "".join(
            f'<li><a href="/{name}/">{escape(name)}</a> · <a href="/{name}/docs">API</a></li>' for name in services
        )
        users = ""
        if issuer is not None:
            users = "<h2>Demo sign-in</h2><ul>" + "".join(
                f"<li><code>{escape(u)}</code> ({escape(', '.join(issuer.users[u].roles))})</li>" for u in issuer.users
            )
            users += f"</ul><p>{escape(password_hint)}</p>"
        sign_in = '<p><a href="/intake/login">Sign in</a></p>'
        body = f"<h1>Oslonac</h1><p>Social protection platform, embedded run.</p>{sign_in}<ul>{links}</ul>{users}"
        return PAGE.format(title="Oslonac", body=body)

    return app
