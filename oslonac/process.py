"""Start the embedded platform (`oslonac run`) as an OS process tree, as `make run` does (tests, benchmarks)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from oslonac.registry import SERVICES
from shared.messaging.embedded import free_port

PASSWORD = "platform-process-secret"


@dataclass
class PlatformProcess:
    process: subprocess.Popen[bytes]
    base_url: str
    data_dir: Path
    log_path: Path

    def pids(self) -> dict[str, int]:
        pids: dict[str, int] = json.loads((self.data_dir / "pids.json").read_text())["pids"]
        return pids

    def token(self, username: str) -> str:
        r = httpx.post(f"{self.base_url}/auth/token", data={"username": username, "password": PASSWORD})
        r.raise_for_status()
        token: str = r.json()["access_token"]
        return token

    def stop(self, timeout_s: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        return int(self.process.returncode)


def start_platform(
    data_dir: Path, *, timeout_s: float = 90.0, extra_env: dict[str, str] | None = None
) -> PlatformProcess:
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "supervisor.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OSLONAC_")}
    env.update({"OSLONAC_PORT": str(port), "OSLONAC_DATA_DIR": str(data_dir), "OSLONAC_DEMO_PASSWORD": PASSWORD})
    env.update(extra_env or {})
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "oslonac", "run", "--no-seed"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    running = PlatformProcess(process, f"http://127.0.0.1:{port}", data_dir, log_path)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the platform exited with {process.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            if all(httpx.get(f"{running.base_url}/{s}/health/ready", timeout=2).status_code == 200 for s in SERVICES):
                return running
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    running.stop()
    raise TimeoutError(f"the platform was not ready in {timeout_s}s:\n{log_path.read_text()[-4000:]}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); its state in /proc says whether it really runs.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"
