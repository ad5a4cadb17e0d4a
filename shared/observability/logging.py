"""structlog configuration: JSON lines when not on a TTY, with the correlation id on every line.

Library loggers (uvicorn, aiokafka, SQLAlchemy, the proxy's stdlib logger, warnings) go through the same
renderer via structlog's ``ProcessorFormatter``, so a log file holds one JSON object per line whoever wrote it.
A library that repeats itself while something is down (aiokafka logs every failed reconnect) is filtered: a
message is let through once per ``REPEAT_WINDOW_S`` with the count of the ones held back in between.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import MutableMapping
from typing import Any

import structlog

from shared.context import causation_id_var, correlation_id_var

REPEAT_WINDOW_S = 60.0
# Libraries that report every attempt of a retry loop: only their warnings and errors are worth a line.
QUIET_LIBRARIES = ("aiokafka", "uvicorn.access", "httpx", "httpcore", "alembic", "asyncio")


def _add_context(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    cid = correlation_id_var.get()
    if cid is not None:
        event_dict.setdefault("correlation_id", cid)
    cause = causation_id_var.get()
    if cause is not None:
        event_dict.setdefault("causation_id", cause)
    return event_dict


class RepeatFilter(logging.Filter):
    """Lets each message (logger, level and format string) through once per ``window_s``; the next one let
    through carries ``repeated``: how many were held back since."""

    def __init__(self, window_s: float = REPEAT_WINDOW_S, clock: Any = time.monotonic) -> None:
        super().__init__()
        self.window_s = window_s
        self._clock = clock
        self._seen: dict[tuple[str, int, str], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        with self._lock:
            last = self._seen.get(key)
            if last is not None and now - last[0] < self.window_s:
                self._seen[key] = (last[0], last[1] + 1)
                return False
            if last is not None and last[1]:
                record.repeated = last[1]
            self._seen[key] = (now, 0)
            if len(self._seen) > 1000:  # messages with a varying format string: forget the oldest
                for stale in sorted(self._seen, key=lambda k: self._seen[k][0])[:500]:
                    del self._seen[stale]
        return True


class _JsonLinesHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler configure_logging installs on the root logger (told apart from other handlers by its type)."""


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_context,
    ]


def configure_logging(service: str, *, fmt: str = "auto", level: str = "INFO") -> None:
    as_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    numeric_level = logging.getLevelNamesMapping()[level.upper()]
    structlog.configure(
        processors=[*_shared_processors(), structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)

    # Every stdlib logger: through the same processors and renderer, one line per record.
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            *_shared_processors(),
            structlog.stdlib.add_logger_name,
            structlog.stdlib.ExtraAdder(),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = _JsonLinesHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(RepeatFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        # Ours from an earlier call, or a plain-text one (basicConfig); others stay (pytest's log capture).
        if isinstance(old, _JsonLinesHandler) or type(old) is logging.StreamHandler:
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric_level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # uvicorn's own logging config (if it ran) gave these handlers of their own: ours is the root's.
        library = logging.getLogger(name)
        for old in list(library.handlers):
            library.removeHandler(old)
        library.propagate = True
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.WARNING, numeric_level))
    logging.captureWarnings(True)
