"""Activation's event subscribers (candidates from cases arrive with the activation issue)."""

from __future__ import annotations

from shared.events.base import EventData
from shared.messaging.consumer import Handler

HANDLERS: dict[type[EventData], Handler] = {}
