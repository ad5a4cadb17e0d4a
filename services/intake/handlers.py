"""Intake consumes no events: it is where households enter the platform."""

from __future__ import annotations

from shared.events.base import EventData
from shared.messaging.consumer import Handler

HANDLERS: dict[type[EventData], Handler] = {}
