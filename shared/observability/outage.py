"""An outage of something a loop depends on (the broker, the store), logged once per change of state.

A retry loop calls ``failed`` on every failed attempt and ``recovered`` after its next success. The first failure
logs ``<name>_unavailable``; the others only count; the success after them logs ``<name>_recovered`` with the
number of failed attempts and how long it lasted. A log of an outage is then two lines, not one per attempt.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog


@dataclass
class Outage:
    """``name`` is the dotted prefix of both events: ``outbox.broker`` logs ``outbox.broker_unavailable``."""

    name: str
    fields: dict[str, Any] = field(default_factory=dict)
    logger: Any = None
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    _since: float | None = None

    def __post_init__(self) -> None:
        if self.logger is None:
            self.logger = structlog.get_logger("oslonac.outage")

    @property
    def ongoing(self) -> bool:
        return self._since is not None

    def failed(self, error: BaseException | str, **extra: Any) -> bool:
        """Count a failed attempt; True (and one warning) only for the first one of an outage."""
        self.failures += 1
        if self._since is not None:
            return False
        self._since = self.clock()
        detail = error if isinstance(error, str) else repr(error)
        self.logger.warning(f"{self.name}_unavailable", error=detail[:300], **self.fields, **extra)
        return True

    def recovered(self, **extra: Any) -> bool:
        """End the outage if there is one: True (and one line with the count and duration) if there was."""
        if self._since is None:
            return False
        duration = self.clock() - self._since
        self.logger.info(
            f"{self.name}_recovered",
            failures=self.failures,
            duration_s=round(duration, 3),
            **self.fields,
            **extra,
        )
        self._since = None
        self.failures = 0
        return True
