"""Events published by activation."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from shared.events.base import EventData


class OpportunityPublishedV1(EventData):
    topic: ClassVar[str] = "activation.opportunity"
    key_field: ClassVar[str] = "opportunity_id"

    type: Literal["rs.oslonac.activation.opportunity.published.v1"] = "rs.oslonac.activation.opportunity.published.v1"
    opportunity_id: UUID
    municipality_code: str = Field(pattern=r"^[0-9]{5}$")
    title: str = Field(min_length=1, max_length=200)
    positions: int = Field(ge=1)
    published_at: datetime
