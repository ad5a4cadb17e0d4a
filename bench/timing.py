"""Progress lines and latency summaries the benchmarks print and report."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence


def step(message: str, started: float) -> None:
    """One progress line, with the seconds since ``started`` (a ``time.perf_counter()``)."""
    print(f"[{time.perf_counter() - started:7.1f} s] {message}", flush=True)


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """p50 (the median), p95, p99 (the value at that rank), max and mean of a non-empty sample."""
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))]

    return {
        "p50": statistics.median(ordered),
        "p95": at(0.95),
        "p99": at(0.99),
        "max": ordered[-1],
        "mean": statistics.fmean(ordered),
    }
