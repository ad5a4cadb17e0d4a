"""Events published by reporting: aggregated, non-personal announcements for reporting consumers.

``reporting.indicators`` is a public topic: anyone allowed to read aggregates may subscribe. Every figure is a
count for one municipality and month; counts from 1 to 4 travel as ``"<5"`` (small-cell suppression), and no
figure is published that would let a suppressed one be derived.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from shared.events.base import EventData

Suppressed = Literal["<5"]


class IndicatorsUpdatedV1(EventData):
    """Indicators of one municipality and month changed; ``indicators`` holds their values after the change."""

    topic: ClassVar[str] = "reporting.indicators"
    key_field: ClassVar[str] = "municipality_code"

    type: Literal["rs.oslonac.reporting.indicators.updated.v1"] = "rs.oslonac.reporting.indicators.updated.v1"
    municipality_code: str = Field(pattern=r"^[0-9]{5}$")
    district: str
    month: str = Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")
    indicators: dict[str, int | Suppressed] = Field(
        description="counts in the municipality and month, by indicator name (see GET /reporting/api/catalogue)"
    )
    updated_at: datetime


REPORTING_EVENTS: tuple[type[EventData], ...] = (IndicatorsUpdatedV1,)
