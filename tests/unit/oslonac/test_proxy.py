"""The reverse proxy in front of real upstreams: uvicorn serving small Starlette apps, and hand-written
asyncio servers where the upstream has to misbehave (drop pooled connections, never answer, count)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from oslonac import proxy as proxy_module
from oslonac.proxy import ReverseProxy, Upstream

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def upstream_app(name: str, sse_closed: asyncio.Event) -> Starlette:
    async def echo(request: Request) -> Response:
        body = await request.body()
        seen = {
            "service": name,
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "headers": dict(request.headers),
            "sha256": hashlib.sha256(body).hexdigest(),
            "size": len(body),
        }
        return JSONResponse(seen, headers={"x-upstream": name})

    async def status(request: Request) -> Response:
        code = int(request.path_params["code"])
        headers = {"x-custom": "yes", "set-cookie": "session=abc; HttpOnly", "keep-alive": "timeout=5"}
        return Response(None if code in (204, 304) else b"status body", status_code=code, headers=headers)

    async def sse(_request: Request) -> Response:
        async def events() -> AsyncIterator[str]:
            try:
                yield "data: first\n\n"
                await asyncio.sleep(30)
                yield "data: late\n\n"
            finally:
                sse_closed.set()

        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(
        routes=[
            Route("/{svc}/status/{code:int}", status),
            Route("/{svc}/sse", sse),
            Route("/{path:path}", echo, methods=METHODS),
        ]
    )


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serve_uvicorn(app: Starlette) -> AsyncIterator[Upstream]:
    """uvicorn on a socket bound and listening already: connections wait in its backlog until it serves."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield Upstream("127.0.0.1", sock.getsockname()[1])
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=5)
        sock.close()


@contextlib.asynccontextmanager
async def serve_proxy(routes: dict[str, Upstream], default: Upstream) -> AsyncIterator[ReverseProxy]:
    proxy = ReverseProxy(routes, default)
    await proxy.start("127.0.0.1", 0)
    try:
        yield proxy
    finally:
        await proxy.stop()


def client_for(proxy: ReverseProxy, *, timeout: float = 2) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{proxy.port}", timeout=timeout)


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


class RawUpstream:
    """An asyncio server running ``handler(reader, writer, connection_number)``; counts accepted connections."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.accepted = 0
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> Upstream:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return Upstream("127.0.0.1", self.server.sockets[0].getsockname()[1])

    async def __aexit__(self, *_exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            async with asyncio.timeout(5):
                await self.handler(reader, writer, self.accepted)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


@dataclass
class Platform:
    proxy: ReverseProxy
    sse_closed: asyncio.Event

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.proxy.port}"

    def client(self, connections: int = 10) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=5, limits=httpx.Limits(max_connections=connections))


@pytest_asyncio.fixture(scope="module")
async def platform() -> AsyncIterator[Platform]:
    sse_closed = asyncio.Event()
    async with (
        serve_uvicorn(upstream_app("intake", sse_closed)) as intake,
        serve_uvicorn(upstream_app("cases", sse_closed)) as cases,
        serve_uvicorn(upstream_app("platform", sse_closed)) as default,
        serve_proxy({"intake": intake, "cases": cases}, default) as proxy,
    ):
        yield Platform(proxy, sse_closed)


def dead_upstream() -> Upstream:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return Upstream("127.0.0.1", sock.getsockname()[1])


async def read_response(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """One Content-Length-framed response off a raw connection: (head, body)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head, await reader.readexactly(length)


async def raw_exchange(port: int, data: bytes) -> bytes:
    """Send raw bytes, return everything the proxy sends until it closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        async with asyncio.timeout(2):
            return await reader.read(-1)
    finally:
        writer.close()


async def test_routes_by_first_segment_and_default(platform: Platform) -> None:
    expected = {
        "/intake/echo": "intake",
        "/cases/api/x": "cases",
        "/": "platform",
        "/auth/token": "platform",
        "/favicon.ico": "platform",
        "/intakes/echo": "platform",
        "/intake": "intake",
    }
    async with platform.client() as client:
        for path, service in expected.items():
            r = await client.get(path)
            assert r.status_code == 200, path
            assert (r.json()["service"], r.json()["path"]) == (service, path)


async def test_query_string_and_headers_pass_through(platform: Platform) -> None:
    async with platform.client() as client:
        r = await client.get(
            "/intake/api/households?municipality=70114&name=%C3%86se&x=1&x=2", headers={"X-Trace": "t-1"}
        )
    seen = r.json()
    assert seen["query"] == "municipality=70114&name=%C3%86se&x=1&x=2"
    assert seen["headers"]["x-trace"] == "t-1"
    assert r.headers["x-upstream"] == "intake"


async def test_forwarded_headers_set_and_hop_by_hop_stripped(platform: Platform) -> None:
    headers = {
        "X-Forwarded-For": "6.6.6.6",
        "Connection": "keep-alive, X-Secret",
        "X-Secret": "hop only",
        "Keep-Alive": "timeout=5",
        "TE": "trailers",
        "Proxy-Authorization": "Basic eA==",
    }
    async with platform.client() as client:
        r = await client.get("/cases/echo", headers=headers)
    seen = r.json()["headers"]
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert seen["x-forwarded-proto"] == "http"
    assert seen["x-forwarded-host"] == f"127.0.0.1:{platform.proxy.port}"
    for hop in ("x-secret", "keep-alive", "te", "proxy-authorization"):
        assert hop not in seen
    assert seen.get("connection", "keep-alive") == "keep-alive"


async def test_json_post_arrives_intact(platform: Platform) -> None:
    payload = {"members": [{"name": "Ana", "age": 41}, {"name": "Đorđe", "age": 9}], "note": "x" * 900}
    body = json.dumps(payload).encode()
    async with platform.client() as client:
        r = await client.post("/intake/api/households", content=body, headers={"Content-Type": "application/json"})
    seen = r.json()
    assert (seen["method"], seen["size"], seen["sha256"]) == ("POST", len(body), hashlib.sha256(body).hexdigest())
    assert seen["headers"]["content-length"] == str(len(body))
    assert seen["headers"]["content-type"] == "application/json"


async def test_large_uploads_stream_through_intact(platform: Platform) -> None:
    body = os.urandom(3 * 1024 * 1024)
    digest = hashlib.sha256(body).hexdigest()

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 100_000):
            yield body[start : start + 100_000]

    async with platform.client() as client:
        sized = (await client.put("/intake/upload", content=body)).json()
        chunked = (await client.post("/intake/upload", content=pieces())).json()
    assert (sized["size"], sized["sha256"]) == (len(body), digest)
    assert (chunked["size"], chunked["sha256"]) == (len(body), digest)
    assert chunked["headers"]["transfer-encoding"] == "chunked"


async def test_status_codes_and_response_headers_pass_through(platform: Platform) -> None:
    async with platform.client(connections=1) as client:
        for code in (200, 201, 204, 304, 404, 422, 500):
            r = await client.get(f"/intake/status/{code}")
            assert r.status_code == code
            assert r.headers["x-custom"] == "yes"
            assert r.headers["set-cookie"] == "session=abc; HttpOnly"
            assert "keep-alive" not in r.headers
            assert r.content == (b"" if code in (204, 304) else b"status body")
        head = await client.head("/intake/echo")
        assert head.status_code == 200 and head.content == b""
        assert int(head.headers["content-length"]) > 0
        after = await client.get("/intake/echo")
        assert after.json()["method"] == "GET"


async def test_keep_alive_on_both_sides() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _n: int) -> None:
        while head := await reader.readuntil(b"\r\n\r\n"):
            path = head.split(b" ")[1]
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(path), path))
            await writer.drain()

    raw = RawUpstream(handler)
    async with raw as upstream, serve_proxy({"svc": upstream}, upstream) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        try:
            async with asyncio.timeout(2):
                for i in range(50):
                    writer.write(b"GET /svc/%d HTTP/1.1\r\nHost: oslonac\r\n\r\n" % i)
                    head, body = await read_response(reader)
                    assert head.startswith(b"HTTP/1.1 200") and body == b"/svc/%d" % i
        finally:
            writer.close()
    assert raw.accepted == 1


def _answers_once_per_connection() -> RawUpstream:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _n: int) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")  # a second request on this connection: hang up without answering

    return RawUpstream(handler)


async def test_reused_connection_closed_by_upstream_is_retried_for_idempotent_requests() -> None:
    raw = _answers_once_per_connection()
    async with raw as upstream, serve_proxy({}, upstream) as proxy, client_for(proxy) as client:
        for _ in range(3):
            r = await client.get("/any")
            assert (r.status_code, r.text) == (200, "ok")
    assert raw.accepted == 3


async def test_a_post_is_never_sent_twice() -> None:
    """The upstream may have acted on it before the connection broke: a retry could register twice."""
    raw = _answers_once_per_connection()
    async with raw as upstream, serve_proxy({}, upstream) as proxy, client_for(proxy) as client:
        first = await client.post("/any", content=b"payload")
        second = await client.post("/any", content=b"payload")
    assert (first.status_code, first.text) == (200, "ok")
    assert second.status_code == 503
    assert raw.accepted == 1


async def test_server_sent_events_stream_and_client_close_ends_upstream(platform: Platform) -> None:
    platform.sse_closed.clear()
    async with platform.client() as client, client.stream("GET", "/intake/sse") as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        async with asyncio.timeout(2):
            async for line in r.aiter_lines():
                if line:
                    assert line == "data: first"
                    break
        assert not platform.sse_closed.is_set()
    async with asyncio.timeout(2):
        await platform.sse_closed.wait()


async def test_read_until_close_response_is_relayed_chunked() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _n: int) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nno length")
        await writer.drain()
        writer.write(b", until close")

    async with RawUpstream(handler) as upstream, serve_proxy({}, upstream) as proxy, client_for(proxy) as client:
        for _ in range(2):
            r = await client.get("/x")
            assert (r.status_code, r.text) == (200, "no length, until close")


async def test_unreachable_upstream_answers_503() -> None:
    async with serve_proxy({"intake": dead_upstream()}, dead_upstream()) as proxy, client_for(proxy) as client:
        r = await client.get("/intake/api/households")
        home = await client.post("/auth/token", data={"username": "u"})
    assert r.status_code == 503
    assert r.json() == {"detail": "The intake service is not answering; try again shortly."}
    assert home.json() == {"detail": "The platform service is not answering; try again shortly."}


async def test_upstream_without_response_head_answers_504(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proxy_module, "HEAD_TIMEOUT_S", 0.2)

    async def handler(reader: asyncio.StreamReader, _writer: asyncio.StreamWriter, _n: int) -> None:
        await reader.read(-1)

    async with (
        RawUpstream(handler) as upstream,
        serve_proxy({"cases": upstream}, upstream) as proxy,
        client_for(proxy) as client,
    ):
        r = await client.get("/cases/slow")
    assert r.status_code == 504
    assert "cases" in r.json()["detail"]


async def test_bad_requests_are_refused(platform: Platform) -> None:
    assert (await raw_exchange(platform.proxy.port, b"NOT HTTP AT ALL\r\n\r\n")).startswith(b"HTTP/1.1 400 ")
    smuggle = b"POST /intake/x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    assert (await raw_exchange(platform.proxy.port, smuggle)).startswith(b"HTTP/1.1 400 ")
    huge = b"GET /intake/echo HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n"
    assert (await raw_exchange(platform.proxy.port, huge)).startswith(b"HTTP/1.1 431 ")
    async with platform.client() as client:
        assert (await client.get("/intake/echo")).status_code == 200


async def test_http10_and_connection_close_end_the_connection(platform: Platform) -> None:
    for request in (
        b"GET /intake/echo HTTP/1.0\r\n\r\n",
        b"GET /intake/echo HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        b"GET /intake/sse-missing HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    ):
        answer = await raw_exchange(platform.proxy.port, request)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 ")
        assert b"connection: close" in head.lower()
        assert json.loads(body)["service"] == "intake"


async def test_many_concurrent_requests_over_twenty_connections(platform: Platform) -> None:
    async with platform.client(connections=20) as client:

        async def one(i: int) -> None:
            service = ("intake", "cases")[i % 2]
            body = json.dumps({"i": i}).encode()
            r = await client.post(f"/{service}/echo?i={i}", content=body)
            seen = r.json()
            assert (r.status_code, seen["service"], seen["query"]) == (200, service, f"i={i}")
            assert seen["sha256"] == hashlib.sha256(body).hexdigest()

        # A guard against a hang, not a speed check: a loaded 2-core machine may take seconds.
        async with asyncio.timeout(30):
            await asyncio.gather(*(one(i) for i in range(200)))


async def test_expect_continue_is_answered_by_the_proxy(platform: Platform) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", platform.proxy.port)
    try:
        async with asyncio.timeout(2):
            writer.write(b"POST /intake/echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
            assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
            writer.write(b"hello")
            head, body = await read_response(reader)
    finally:
        writer.close()
    assert head.startswith(b"HTTP/1.1 200 ")
    seen = json.loads(body)
    assert (seen["size"], "expect" in seen["headers"]) == (5, False)


async def test_idle_client_connection_is_closed(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proxy_module, "IDLE_TIMEOUT_S", 0.2)
    reader, writer = await asyncio.open_connection("127.0.0.1", platform.proxy.port)
    try:
        async with asyncio.timeout(2):
            assert await reader.read(-1) == b""
    finally:
        writer.close()
