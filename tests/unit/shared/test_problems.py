"""The problem+json handlers on a bare app: a bug is still a problem (code ``internal``), and nothing else is lost."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI, HTTPException

from shared.errors import Conflict
from shared.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers


def app_with_routes() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/api/bug")
    async def bug() -> None:
        raise RuntimeError("a bug")

    @app.get("/api/conflict")
    async def conflict() -> None:
        raise Conflict("Already closed.", details={"allowed": []})

    @app.get("/api/teapot")
    async def teapot() -> None:
        raise HTTPException(418, {"why": "short and stout"}, headers={"X-Reason": "tea"})

    return app


async def test_a_bug_is_a_500_problem() -> None:
    transport = httpx.ASGITransport(app=app_with_routes(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        r = await client.get("/api/bug")
    assert r.status_code == 500 and r.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    body = r.json()
    assert (body["code"], body["status"], body["type"]) == ("internal", 500, "https://oslonac.rs/problems/internal")
    assert "a bug" not in r.text  # the exception's text is for the log, not the client


@pytest.mark.parametrize(
    ("path", "status", "code", "errors", "header"),
    [
        ("/api/conflict", 409, "conflict", {"allowed": []}, None),
        ("/api/teapot", 418, "http_418", {"why": "short and stout"}, ("x-reason", "tea")),
    ],
)
async def test_errors_keep_their_status_details_and_headers(
    path: str, status: int, code: str, errors: object, header: tuple[str, str] | None
) -> None:
    transport = httpx.ASGITransport(app=app_with_routes())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        r = await client.get(path)
    assert r.status_code == status and r.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    assert r.json()["code"] == code and r.json()["errors"] == errors and r.json()["detail"]
    if header:
        assert r.headers[header[0]] == header[1]
