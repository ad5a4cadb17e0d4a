"""A minimal HTTP/1.1 keep-alive client for load generation: the load generator shares the machine's two
cores with the platform, so it should cost as little CPU per request as it can (httpx costs about 1 ms)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httptools


class _Response:
    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.body = bytearray()
        self.done = False

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.done = True


class KeepAliveConnection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, *, json_body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        body = json.dumps(json_body).encode() if json_body is not None else b""
        head = [f"{method} {path} HTTP/1.1", f"host: {self.host}:{self.port}", f"content-length: {len(body)}"]
        if json_body is not None:
            head.append("content-type: application/json")
        head.extend(f"{k}: {v}" for k, v in (headers or {}).items())
        self._writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        response = _Response()
        while not response.done:
            data = await self._reader.read(65536)
            if not data:
                await self.close()
                raise ConnectionError("the server closed the connection")
            response.parser.feed_data(data)
        status = response.parser.get_status_code()
        return status, json.loads(response.body) if response.body else None

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
