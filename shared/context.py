"""Correlation and causation ids that follow a request through the events it causes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from shared.ids import random_uuid

correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)
causation_id_var: ContextVar[str | None] = ContextVar("causation_id", default=None)


def new_id() -> str:
    return str(random_uuid())


def current_correlation_id() -> str:
    """The correlation id of the work in progress, creating one when nothing set it."""
    value = correlation_id_var.get()
    if value is None:
        value = new_id()
        correlation_id_var.set(value)
    return value


@contextmanager
def correlation(correlation_id: str | None, causation_id: str | None = None) -> Iterator[str]:
    cid = correlation_id or new_id()
    t1 = correlation_id_var.set(cid)
    t2 = causation_id_var.set(causation_id)
    try:
        yield cid
    finally:
        correlation_id_var.reset(t1)
        causation_id_var.reset(t2)
