"""Micro-benchmark of the one-origin routing: N small JSON POSTs to a tiny upstream app, sent (a) directly
and (b) through ``oslonac.proxy.ReverseProxy``.

Every server runs in its own process; the proxy on the plain asyncio loop, as in the supervisor (and once
more on uvloop, for comparison; the upstream, like the services, under ``uvicorn.run``). The client is a
minimal keep-alive raw-socket client in this process with a fixed concurrency. For each path it prints
requests/s and the CPU (utime+stime from ``/proc/<pid>/stat``) the routing process and the upstream spent per request.

    .venv/bin/python -m bench.proxy [--requests 5000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httptools
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

PHASE_TIMEOUT_S = 180.0
ROUTERS = (("proxy", "proxy"), ("proxy-uvloop", "proxy on uvloop"))
WARMUP = 300
BODY = json.dumps({"household": {"members": [{"name": f"member {i}", "age": 30 + i} for i in range(8)]}, "pad": ""})
BODY = BODY.replace('"pad": ""', '"pad": "' + "x" * (1024 - len(BODY)) + '"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """utime + stime of a whole process (all its threads), from ``/proc/<pid>/stat``."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the servers (each started as ``python -m bench.proxy --serve ROLE``) ------------------------------


def upstream_app() -> Starlette:
    async def echo(request: Request) -> JSONResponse:
        body = await request.body()
        return JSONResponse({"ok": True, "size": len(body)})

    return Starlette(routes=[Route("/svc/echo", echo, methods=["POST"])])


async def serve_proxy(port: int, upstream_port: int) -> None:
    from oslonac.proxy import ReverseProxy, Upstream

    upstream = Upstream("127.0.0.1", upstream_port)
    proxy = ReverseProxy({"svc": upstream}, upstream)
    await proxy.start("127.0.0.1", port)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await proxy.stop()


def serve(role: str, port: int, upstream_port: int) -> None:
    if role == "upstream":
        import uvicorn

        uvicorn.run(upstream_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)
    elif role == "proxy":
        asyncio.run(serve_proxy(port, upstream_port))
    elif role == "proxy-uvloop":
        import uvloop

        uvloop.run(serve_proxy(port, upstream_port))


@contextlib.contextmanager
def server_process(role: str, port: int, upstream_port: int = 0) -> Iterator[subprocess.Popen[bytes]]:
    cmd = [
        sys.executable,
        "-m",
        "bench.proxy",
        "--serve",
        role,
        "--port",
        str(port),
        "--upstream-port",
        str(upstream_port),
    ]
    process = subprocess.Popen(cmd)
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{role} did not start listening on port {port}")
            time.sleep(0.05)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


# --- the client ------------------------------------------------------------------------------------


class _Reply:
    """httptools callbacks for one connection's responses (any framing)."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.done = False
        self.body = b""

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.done = True


async def client_connection(port: int, count: list[int], errors: list[str]) -> None:
    """Send POSTs one after another on one keep-alive connection until ``count[0]`` runs out."""
    body = BODY.encode()
    request = b"POST /svc/echo HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\n"
    request += b"content-length: %d\r\n\r\n%s" % (len(body), body)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    reply = _Reply()
    try:
        while count[0] > 0:
            count[0] -= 1
            reply.done, reply.body = False, b""
            writer.write(request)
            while not reply.done:
                data = await reader.read(65536)
                if not data:
                    raise ConnectionError("server closed the connection")
                reply.parser.feed_data(data)
            if reply.parser.get_status_code() != 200 or json.loads(reply.body)["size"] != len(body):
                errors.append(f"{reply.parser.get_status_code()} {reply.body[:200]!r}")
    finally:
        writer.close()


async def load(port: int, requests: int, concurrency: int) -> tuple[float, list[str]]:
    count, errors = [requests], list[str]()
    started = time.perf_counter()
    async with asyncio.timeout(PHASE_TIMEOUT_S):
        await asyncio.gather(*(client_connection(port, count, errors) for _ in range(concurrency)))
    return time.perf_counter() - started, errors


@dataclass
class Result:
    name: str
    per_s: float
    router_ms: float | None
    upstream_ms: float
    errors: int


def measure(name: str, port: int, router_pid: int | None, upstream_pid: int, args: argparse.Namespace) -> Result:
    asyncio.run(load(port, WARMUP, args.concurrency))
    pids = [upstream_pid] + ([router_pid] if router_pid else [])
    before = {pid: cpu_seconds(pid) for pid in pids}
    elapsed, errors = asyncio.run(load(port, args.requests, args.concurrency))
    used = {pid: (cpu_seconds(pid) - before[pid]) * 1000 / args.requests for pid in pids}
    return Result(name, args.requests / elapsed, used.get(router_pid or -1), used[upstream_pid], len(errors))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--serve", choices=["upstream", "proxy", "proxy-uvloop"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--upstream-port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.upstream_port)
        return
    args.requests = max(1, min(args.requests, 100_000))
    args.concurrency = max(1, min(args.concurrency, 256))
    results = []
    up_port = free_port()
    with server_process("upstream", up_port) as upstream:
        results.append(measure("direct", up_port, None, upstream.pid, args))
        for role, name in ROUTERS:
            port = free_port()
            with server_process(role, port, up_port) as router:
                results.append(measure(name, port, router.pid, upstream.pid, args))
    print(f"\n{args.requests} POSTs of {len(BODY)} B JSON, concurrency {args.concurrency}, {os.cpu_count()} CPUs")
    print(f"{'path':<24}{'req/s':>10}{'router CPU ms/req':>20}{'upstream CPU ms/req':>22}{'errors':>8}")
    for r in results:
        router_ms = "-" if r.router_ms is None else f"{r.router_ms:.3f}"
        print(f"{r.name:<24}{r.per_s:>10.0f}{router_ms:>20}{r.upstream_ms:>22.3f}{r.errors:>8}")


if __name__ == "__main__":
    main()
