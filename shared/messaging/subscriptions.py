"""Typed subscriptions: which handler a service runs for which event type.

A service declares its handlers once, in its ``handlers.py``::

    subscriptions = Subscriptions()

    @subscriptions.on(HouseholdRegisteredV2)
    async def household_registered(event: HouseholdRegisteredV2, ctx: EventContext) -> None:
        await service.open_case_for_household(session=ctx.session, outbox=ctx.outbox, event=event)

and hands ``subscriptions`` to its ``ServiceRuntime``. The applier decodes and upcasts each record and calls the
handler with the typed event and an ``EventContext`` (the transaction's session, the service's outbox, the
envelope), so a handler never checks what it was given. A handler may be declared for several types when its first
parameter accepts each of them (a union); a declaration the annotation does not accept fails at import.

A service whose handling gains from seeing many events at once (reporting's projection) declares one batch handler
instead: ``@subscriptions.batch(*types)``, called with the fetched events of those types in order and a
``BatchContext``.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, Union

from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.base import EventData
from shared.events.envelope import Envelope
from shared.messaging.outbox import OutboxWriter


@dataclass(frozen=True, slots=True)
class EventContext:
    """What a handler may use besides its event: all of it belongs to the transaction that applies the event."""

    session: AsyncSession
    outbox: OutboxWriter
    envelope: Envelope


@dataclass(frozen=True, slots=True)
class BatchContext:
    """What a batch handler may use besides its events. ``replay`` is True while the events are replayed into a
    fresh store (``oslonac reporting-rebuild``): effects meant for live readers (announcements) are left out."""

    session: AsyncSession
    outbox: OutboxWriter
    replay: bool = False


Delivered = tuple[EventData, Envelope]
EventHandler = Callable[[Any, EventContext], Awaitable[None]]
BatchHandler = Callable[[Sequence[Delivered], BatchContext], Awaitable[None]]
H = TypeVar("H", bound=EventHandler)
B = TypeVar("B", bound=BatchHandler)


class Subscriptions:
    """The event types a service handles and the handler of each (or the one batch handler of all)."""

    def __init__(self) -> None:
        self._handlers: dict[type[EventData], EventHandler] = {}
        self._batch: BatchHandler | None = None
        self._batch_types: frozenset[type[EventData]] = frozenset()

    def on(self, *event_types: type[EventData]) -> Callable[[H], H]:
        """Declare the decorated coroutine the handler of ``event_types``."""

        def register(handler: H) -> H:
            if self._batch is not None:
                raise TypeError("this service declared a batch handler: declare its types there")
            _check_accepts(handler, event_types)
            for event_type in event_types:
                if event_type in self._handlers:
                    raise TypeError(f"{event_type.__name__} already has a handler")
                self._handlers[event_type] = handler
            return handler

        return register

    def batch(self, *event_types: type[EventData]) -> Callable[[B], B]:
        """Declare the decorated coroutine the one handler of every event of ``event_types``, called with many
        at once."""

        def register(handler: B) -> B:
            if self._handlers or self._batch is not None:
                raise TypeError("a batch handler is a service's only handler")
            self._batch, self._batch_types = handler, frozenset(event_types)
            return handler

        return register

    @property
    def event_types(self) -> frozenset[type[EventData]]:
        return frozenset(self._handlers) | self._batch_types

    @property
    def batch_handler(self) -> BatchHandler | None:
        return self._batch

    def handler_for(self, event_type: type[EventData]) -> EventHandler | None:
        return self._handlers.get(event_type)

    def __bool__(self) -> bool:
        return bool(self.event_types)


def _check_accepts(handler: Callable[..., Any], event_types: Iterable[type[EventData]]) -> None:
    """The handler's first parameter must be annotated with a type (or union) that each declared type is."""
    params = list(inspect.signature(handler).parameters)
    if len(params) != 2:
        raise TypeError(f"{handler.__qualname__} must take (event, ctx)")
    annotation = typing.get_type_hints(handler).get(params[0])
    if annotation is None:
        raise TypeError(f"{handler.__qualname__}: annotate the event parameter")
    accepted = _members(annotation)
    for event_type in event_types:
        if not any(issubclass(event_type, a) for a in accepted):
            raise TypeError(f"{handler.__qualname__} is declared for {event_type.__name__} but takes {annotation}")


def _members(annotation: Any) -> tuple[type, ...]:
    if typing.get_origin(annotation) in (Union, types.UnionType):
        return tuple(m for arg in typing.get_args(annotation) for m in _members(arg))
    return (annotation,) if isinstance(annotation, type) else ()
