"""One origin for the embedded run: a lean HTTP/1.1 reverse proxy that routes by the first path segment.

It forwards bytes rather than building ASGI requests: httptools (the C parser uvicorn uses) finds heads
and body framing, bodies pass through as they arrive (Server-Sent Events included), and each upstream
keeps a pool of keep-alive connections. Pipelined requests are queued and answered in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import httptools

# Only these are sent again on a fresh connection after a pooled one failed (RFC 9110, 9.2.2).
IDEMPOTENT = frozenset({b"GET", b"HEAD", b"OPTIONS", b"PUT", b"DELETE"})
log = logging.getLogger("oslonac.proxy")

READ_SIZE = 64 * 1024
MAX_HEAD = 64 * 1024
MAX_BUFFERED_BODY = 1024 * 1024
IDLE_TIMEOUT_S = 60.0
HEAD_TIMEOUT_S = 60.0
CONNECT_TIMEOUT_S = 5.0
HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"te", b"trailer", b"trailers", b"upgrade", b"transfer-encoding"})
# We are the edge: framing is set per side, and a client's own X-Forwarded-* is dropped rather than trusted.
REQUEST_DROP = HOP_BY_HOP | {b"content-length", b"expect"} | {b"x-forwarded-" + p for p in (b"for", b"proto", b"host")}


@dataclass(frozen=True)
class Upstream:
    host: str
    port: int


class _ClientGone(Exception):
    """The client hung up, reset the connection or stayed idle too long: nothing left to answer."""


class _Reject(Exception):
    """The client sent something we cannot serve: answer ``status`` and close the connection."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


def _header_block(headers: list[tuple[bytes, bytes]], drop: frozenset[bytes]) -> bytes:
    """The headers worth forwarding: hop-by-hop ones go, including those the ``Connection`` header names."""
    named = {t.strip().lower() for n, v in headers if n.lower() == b"connection" for t in v.split(b",")}
    out = bytearray()
    for name, value in headers:
        lname = name.lower()
        if lname not in drop and lname not in named and not lname.startswith(b"proxy-"):
            out += b"%s: %s\r\n" % (name, value)
    return bytes(out)


def _frame(data: bytes, chunked: bool) -> bytes:
    return b"%X\r\n%s\r\n" % (len(data), data) if chunked and data else data


def _error(status: int, detail: str, *, keep: bool) -> bytes:
    body = json.dumps({"detail": detail}).encode()
    head = f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\ncontent-type: application/json\r\n"
    head += f"content-length: {len(body)}\r\n" + ("" if keep else "connection: close\r\n")
    return head.encode() + b"\r\n" + body


class _Request:
    """One client request; body bytes collect in ``chunks`` until forwarded."""

    def __init__(self) -> None:
        self.method = self.url = self.host = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.content_length: bytes | None = None
        self.chunks: list[bytes] = []
        self.size = self.head_size = 0
        self.headers_done = self.complete = self.expect_continue = False
        self.keep_alive = self.http11 = True


class _Client:
    """A client connection and its httptools callbacks; requests queue up in parse order."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.parser = httptools.HttpRequestParser(self)
        self.queue: deque[_Request] = deque()
        self.head_bytes, self.pending, self.gone = 0, b"", False
        peer = writer.get_extra_info("peername")
        self.ip = str(peer[0]).encode() if peer else b""

    def on_message_begin(self) -> None:
        self.queue.append(_Request())

    def on_url(self, url: bytes) -> None:
        req = self.queue[-1]
        req.url += url
        req.head_size += len(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        req = self.queue[-1]
        if req.headers_done:
            return  # a trailer after a chunked body: dropped, like the Trailer header itself
        req.headers.append((name, value))
        req.head_size += len(name) + len(value) + 4
        lname = name.lower()
        if lname == b"host":
            req.host = value
        elif lname == b"content-length":
            req.content_length = value
        elif lname == b"expect":
            req.expect_continue = value.lower() == b"100-continue"

    def on_headers_complete(self) -> None:
        req = self.queue[-1]
        req.headers_done = True
        req.method = self.parser.get_method()
        req.http11 = self.parser.get_http_version() == "1.1"
        req.keep_alive = req.http11 and self.parser.should_keep_alive()
        self.head_bytes = 0

    def on_body(self, body: bytes) -> None:
        req = self.queue[-1]
        req.chunks.append(body)
        req.size += len(body)

    def on_message_complete(self) -> None:
        self.queue[-1].complete = True

    async def fill(self) -> None:
        """Read more from the client into the parser."""
        data, self.pending = self.pending, b""
        if not data:
            try:
                async with asyncio.timeout(IDLE_TIMEOUT_S):
                    data = await self.reader.read(READ_SIZE)
            except OSError as exc:  # TimeoutError included
                raise _ClientGone from exc
            if not data:
                raise _ClientGone
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.queue[-1].keep_alive = False  # no protocol switch through the proxy: answer, then close
        except httptools.HttpParserError as exc:
            raise _Reject(400, "The request is malformed.") from exc
        # A complete head is measured by its parts; one still arriving by the bytes read since the last head.
        req = self.queue[-1] if self.queue else None
        if req is None or not req.headers_done:
            self.head_bytes += len(data)
        if self.head_bytes > MAX_HEAD or (req is not None and req.head_size > MAX_HEAD):
            raise _Reject(431, "The request head is too large.")

    async def watch(self, upstream: _Conn) -> None:
        """While a response streams, notice the client hanging up and close the upstream connection, so a
        long-lived stream (SSE) ends with its reader. Data instead is a pipelined request: kept for later."""
        try:
            data = await self.reader.read(READ_SIZE)
        except OSError:
            data = b""
        if data:
            self.pending = data
        else:
            self.gone = True
            upstream.close()


class _Response:
    """httptools callbacks for one upstream response; interim (1xx) responses are dropped."""

    def __init__(self, head_request: bool) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.head_request = head_request
        self.status, self.reason = 0, b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []
        self.started = self.headers_done = self.done = self.keep_alive = False
        self.sized = self.chunked = False  # neither: the body runs until the upstream closes

    def on_message_begin(self) -> None:
        self.reason, self.headers = b"", []

    def on_status(self, reason: bytes) -> None:
        self.reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.headers_done:
            self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200:
            return
        self.status, self.headers_done = status, True
        names = {n.lower() for n, _ in self.headers}
        self.chunked = b"transfer-encoding" in names
        self.sized = b"content-length" in names and not self.chunked
        self.keep_alive = self.parser.should_keep_alive()  # llhttp forgets it once the message completes
        self.done = self.head_request

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        self.done = self.done or self.headers_done

    def take_body(self, chunked: bool) -> bytes:
        data = b"".join(self.chunks)
        self.chunks.clear()
        return _frame(data, chunked)


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @property
    def usable(self) -> bool:
        return not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()


class ReverseProxy:
    """Routes ``/<segment>/…`` to ``routes[segment]`` and everything else to ``default``, path unchanged."""

    def __init__(self, routes: Mapping[str, Upstream], default: Upstream, *, max_idle_per_upstream: int = 64) -> None:
        self._routes = {name.encode(): (name, upstream) for name, upstream in routes.items()}
        self._default = ("platform", default)
        self._max_idle = max_idle_per_upstream
        self._idle: dict[Upstream, list[_Conn]] = {}
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the proxy is not listening")
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._handle, host, port, limit=READ_SIZE)

    async def stop(self) -> None:
        self._closing = True
        if self._server is not None:
            self._server.close()
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        for conn in (conn for idle in self._idle.values() for conn in idle):
            conn.close()
        self._idle.clear()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        client = _Client(reader, writer)
        try:
            while True:
                while not client.queue or not client.queue[0].headers_done:
                    await client.fill()
                if not await self._exchange(client, client.queue[0]):
                    break
                client.queue.popleft()
        except _ClientGone:
            pass
        except asyncio.CancelledError:
            if not self._closing:
                raise  # stop() cancelled us: end quietly (3.11's start_server logs a cancelled handler)
        except _Reject as exc:
            log.info("proxy: %d for %s: %s (%r)", exc.status, client.ip.decode(), exc.detail, exc.__cause__)
            writer.write(_error(exc.status, exc.detail, keep=False))
        except Exception:
            log.exception("proxy: unexpected error on a client connection")
        finally:
            self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _exchange(self, client: _Client, req: _Request) -> bool:
        """Forward one request and relay its response; return whether the client connection stays open."""
        path = req.url.split(b"?", 1)[0]
        segment, upstream = self._routes.get(path[1:].split(b"/", 1)[0], self._default)
        if req.expect_continue and not req.complete:
            client.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        while not req.complete and req.size <= MAX_BUFFERED_BODY:
            await client.fill()
        buffered = req.complete
        unreachable = f"The {segment} service is not answering; try again shortly."
        for attempt in (1, 2):
            resp = _Response(req.method == b"HEAD")
            try:
                conn, reused = await self._acquire(upstream, fresh=attempt > 1)
            except OSError as exc:
                log.warning("proxy: %s upstream %s:%d unreachable: %r", segment, upstream.host, upstream.port, exc)
                return self._fail(client, req, 503, unreachable)
            try:
                await self._send(client, req, conn, buffered)
                async with asyncio.timeout(HEAD_TIMEOUT_S):
                    await self._read_head(conn, resp)
                break
            except TimeoutError:
                conn.close()
                log.warning("proxy: %s upstream gave no response head in %g s", segment, HEAD_TIMEOUT_S)
                return self._fail(client, req, 504, f"The {segment} service did not answer in time; try again.")
            except (OSError, httptools.HttpParserError) as exc:
                conn.close()
                if reused and buffered and not resp.started and attempt == 1 and req.method in IDEMPOTENT:
                    continue  # the upstream closed an idle pooled connection as we sent: harmless, go again
                log.warning("proxy: %s upstream failed before answering: %r", segment, exc)
                return self._fail(client, req, 503, unreachable)
            except BaseException:
                conn.close()
                raise
        try:
            keep = await self._relay(client, req, conn, resp)
        except (OSError, httptools.HttpParserError) as exc:
            if not client.gone:
                log.info("proxy: %s response broke off: %r", segment, exc)
            conn.close()
            return False
        except BaseException:
            conn.close()
            raise
        if resp.done and resp.keep_alive and conn.usable:
            self._release(upstream, conn)
        else:
            conn.close()
        return keep

    async def _send(self, client: _Client, req: _Request, conn: _Conn, buffered: bool) -> None:
        """Write the request upstream; a body over ``MAX_BUFFERED_BODY`` streams on as the client sends it."""
        head = bytearray(b"%s %s HTTP/1.1\r\n" % (req.method, req.url))
        head += _header_block(req.headers, REQUEST_DROP)
        head += b"x-forwarded-for: %s\r\nx-forwarded-proto: http\r\n" % client.ip
        if req.host:
            head += b"x-forwarded-host: %s\r\n" % req.host
        chunked = not buffered and req.content_length is None
        if buffered and (req.size or req.content_length is not None):
            head += b"content-length: %d\r\n" % req.size
        elif not buffered:
            head += b"transfer-encoding: chunked\r\n" if chunked else b"content-length: %s\r\n" % req.content_length
        conn.writer.write(bytes(head) + b"\r\n" + _frame(b"".join(req.chunks), chunked))
        while not req.complete:  # streaming: the buffered part is sent, so never retried
            req.chunks.clear()
            await conn.writer.drain()
            await client.fill()
            conn.writer.write(_frame(b"".join(req.chunks), chunked))
        if chunked:
            conn.writer.write(b"0\r\n\r\n")
        await conn.writer.drain()

    @staticmethod
    async def _read_head(conn: _Conn, resp: _Response) -> None:
        while not resp.headers_done:
            data = await conn.reader.read(READ_SIZE)
            if not data:
                raise ConnectionResetError("the upstream closed the connection before answering")
            resp.started = True
            resp.parser.feed_data(data)

    async def _relay(self, client: _Client, req: _Request, conn: _Conn, resp: _Response) -> bool:
        """Send the response head, then body bytes as they arrive; return whether the client may send more."""
        head = bytearray(b"HTTP/1.1 %d %s\r\n" % (resp.status, resp.reason))
        head += _header_block(resp.headers, HOP_BY_HOP)
        body = resp.take_body(False) if resp.done else b""
        chunked = False
        if resp.head_request or resp.status in (204, 304) or resp.sized:
            keep = req.keep_alive
        elif resp.done:
            head += b"content-length: %d\r\n" % len(body)
            keep = req.keep_alive
        else:
            chunked = keep = req.http11 and req.keep_alive  # else the body ends when the connection does
        head += b"transfer-encoding: chunked\r\n" if chunked else b""
        head += b"" if keep else b"connection: close\r\n"
        client.writer.write(bytes(head) + b"\r\n" + (body or resp.take_body(chunked)))
        watcher: asyncio.Task[None] | None = None
        try:
            while not resp.done:
                await client.writer.drain()
                if watcher is None:
                    watcher = asyncio.create_task(client.watch(conn))
                data = await conn.reader.read(READ_SIZE)
                if client.gone:
                    return False
                if data:
                    resp.parser.feed_data(data)
                elif resp.sized or resp.chunked:
                    raise ConnectionResetError("the upstream closed the connection mid-response")
                else:
                    resp.done = True
                client.writer.write(resp.take_body(chunked))
        finally:
            if watcher is not None:
                watcher.cancel()
                await asyncio.wait([watcher])  # its pending read must end before the client is read again
        if chunked:
            client.writer.write(b"0\r\n\r\n")
        await client.writer.drain()
        return keep

    def _fail(self, client: _Client, req: _Request, status: int, detail: str) -> bool:
        keep = req.keep_alive and req.complete
        client.writer.write(_error(status, detail, keep=keep))
        return keep

    async def _acquire(self, upstream: Upstream, *, fresh: bool) -> tuple[_Conn, bool]:
        """An idle pooled connection (``reused`` is then True), else a new one."""
        idle = self._idle.setdefault(upstream, [])
        while idle and not fresh:
            conn = idle.pop()
            if conn.usable:
                return conn, True
            conn.close()
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            reader, writer = await asyncio.open_connection(upstream.host, upstream.port, limit=READ_SIZE)
        return _Conn(reader, writer), False

    def _release(self, upstream: Upstream, conn: _Conn) -> None:
        idle = self._idle.setdefault(upstream, [])
        if len(idle) < self._max_idle and not self._closing:
            idle.append(conn)
        else:
            conn.close()
