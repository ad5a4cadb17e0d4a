"""The typed subscription registry: a handler is declared for the event types its first parameter accepts."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from shared.events import CaseOpenedV1, CaseStatusChangedV1, CaseTransferredV1
from shared.messaging.subscriptions import BatchContext, Delivered, EventContext, Subscriptions


async def opened(event: CaseOpenedV1, ctx: EventContext) -> None:
    pass


async def opened_or_transferred(event: CaseOpenedV1 | CaseTransferredV1, ctx: EventContext) -> None:
    pass


async def untyped(event, ctx: EventContext) -> None:  # type: ignore[no-untyped-def]
    pass


async def project(items: Sequence[Delivered], ctx: BatchContext) -> None:
    pass


def test_a_handler_is_found_by_the_type_it_was_declared_for() -> None:
    subscriptions = Subscriptions()
    assert subscriptions.on(CaseOpenedV1)(opened) is opened  # the decorator leaves the function as it is
    assert subscriptions.handler_for(CaseOpenedV1) is opened
    assert subscriptions.handler_for(CaseTransferredV1) is None
    assert subscriptions.event_types == {CaseOpenedV1}
    assert subscriptions and not Subscriptions()


def test_a_handler_taking_a_union_may_be_declared_for_each_member() -> None:
    subscriptions = Subscriptions()
    subscriptions.on(CaseOpenedV1, CaseTransferredV1)(opened_or_transferred)
    assert subscriptions.handler_for(CaseTransferredV1) is opened_or_transferred


@pytest.mark.parametrize(
    ("handler", "declared"),
    [(opened, CaseTransferredV1), (opened_or_transferred, CaseStatusChangedV1), (untyped, CaseOpenedV1)],
)
def test_a_declaration_the_handler_cannot_take_fails_at_once(handler, declared) -> None:
    with pytest.raises(TypeError):
        Subscriptions().on(declared)(handler)


def test_a_type_has_one_handler() -> None:
    subscriptions = Subscriptions()
    subscriptions.on(CaseOpenedV1)(opened)
    with pytest.raises(TypeError, match="already has a handler"):
        subscriptions.on(CaseOpenedV1)(opened_or_transferred)


def test_a_batch_handler_is_the_only_handler_of_a_service() -> None:
    subscriptions = Subscriptions()
    subscriptions.batch(CaseOpenedV1, CaseTransferredV1)(project)
    assert subscriptions.batch_handler is project
    assert subscriptions.event_types == {CaseOpenedV1, CaseTransferredV1}
    with pytest.raises(TypeError):
        subscriptions.on(CaseStatusChangedV1)(opened)
    per_event = Subscriptions()
    per_event.on(CaseOpenedV1)(opened)
    with pytest.raises(TypeError):
        per_event.batch(CaseTransferredV1)(project)
