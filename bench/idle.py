"""`make bench`: what the embedded platform costs at rest.

Starts the platform as `make run` does (broker, four services, supervisor with its proxy and issuer), waits for
start-up to settle, then reads the user + system CPU time of every process in ``pids.json`` at the start and at
the end of a quiet minute. The result, per process and in total as a share of one core, goes into its own
section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bench.machine import cpu_seconds, describe, replace_section
from oslonac.process import start_platform

START, END = "<!-- bench:idle:start -->", "<!-- bench:idle:end -->"
TARGET_PERCENT = 3.0


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def sample(pids: dict[str, int], seconds: float) -> dict[str, float]:
    """Per process, the share of one core (in %) it used over ``seconds``."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    started = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    after = {name: cpu_seconds(pid) for name, pid in pids.items()}
    shares: dict[str, float] = {}
    for name, used in before.items():
        now = after.get(name)
        if used is None or now is None:
            raise RuntimeError(f"{name} ended during the sample: the figures would be wrong")
        shares[name] = 100 * (now - used) / elapsed
    return shares


def measure(settle_s: float, seconds: float, data_dir: Path) -> dict[str, object]:
    running = start_platform(data_dir)
    try:
        time.sleep(settle_s)
        pids = running.pids()
        load_before = load_average()
        shares = sample(pids, seconds)
        if running.pids() != pids:
            raise RuntimeError("a process was restarted during the sample: the figures would be wrong")
        load_after = load_average()
    finally:
        running.stop()
    return {
        "date": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "settle_s": settle_s,
        "seconds": seconds,
        "shares": shares,
        "load": (load_before, load_after),
    }


def write_section(path: Path, machine: dict[str, str], result: dict[str, object]) -> None:
    shares: dict[str, float] = result["shares"]  # type: ignore[assignment]
    load_before, load_after = result["load"]  # type: ignore[misc]
    total = sum(shares.values())
    lines = [
        START,
        "## An idle platform (`python -m bench.idle`)",
        "",
        f"Measured on {result['date']}: the embedded platform as `make run` starts it, without demo data, left "
        f"alone {result['settle_s']:.0f} s after every service was ready, then the user + system CPU time of "
        f"each process over {result['seconds']:.0f} s (from `/proc/<pid>/stat`), as a share of one core. "
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['os']}, Python {machine['python']}; "
        f"load average {load_before} before the sample, {load_after} after it (other work on the machine "
        "does not count in these figures, only what it takes away from the platform).",
        "",
        "| process | % of one core |",
        "|---|---|",
        *[f"| {name} | {share:.2f} |" for name, share in sorted(shares.items())],
        f"| **all** | **{total:.2f}** (target < {TARGET_PERCENT:.0f}) |",
        "",
        "The supervisor process also runs the reverse proxy and the development issuer. At rest every consumer",
        "fetches with a long wait (`OSLONAC_KAFKA_FETCH_MAX_WAIT_IDLE_MS`) and shortens it to",
        "`OSLONAC_KAFKA_FETCH_MAX_WAIT_MS` as soon as a fetch returns records; see docs/adr/0003-broker-loss.md",
        "for the rest of the runtime's timers.",
        END,
    ]
    replace_section(path, START, END, "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--settle-seconds", type=float, default=20.0, help="wait this long after start-up")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the sample")
    parser.add_argument("--data-dir", help="keep the platform's data here (default: a new temporary folder)")
    parser.add_argument("--report", default="docs/benchmarks.md")
    parser.add_argument("--no-report", action="store_true", help="print the figures only")
    args = parser.parse_args()
    data_dir = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="oslonac-bench-idle-"))
    result = measure(args.settle_seconds, args.seconds, data_dir)
    shares: dict[str, float] = result["shares"]  # type: ignore[assignment]
    print(json.dumps(result, indent=1))
    print(f"\nidle platform: {sum(shares.values()):.2f} % of one core in all (target < {TARGET_PERCENT:.0f} %)")
    if not args.no_report:
        write_section(Path(args.report), describe(), result)
        print(f"written to {args.report}")


if __name__ == "__main__":
    main()
