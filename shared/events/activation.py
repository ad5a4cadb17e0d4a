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


class _PlacementEvent(EventData):
    """A placement of a candidate in an opportunity. ``case_id`` is the case that asked for the engagement."""

    topic: ClassVar[str] = "activation.placement"
    key_field: ClassVar[str] = "placement_id"

    placement_id: UUID
    opportunity_id: UUID
    person_id: UUID
    case_id: UUID | None = None
    municipality_code: str = Field(pattern=r"^[0-9]{5}$")


class PlacementStartedV1(_PlacementEvent):
    type: Literal["rs.oslonac.activation.placement.started.v1"] = "rs.oslonac.activation.placement.started.v1"
    started_at: datetime


class PlacementCompletedV1(_PlacementEvent):
    type: Literal["rs.oslonac.activation.placement.completed.v1"] = "rs.oslonac.activation.placement.completed.v1"
    hours_worked: int = Field(ge=0)
    completed_at: datetime


class PlacementEndedV1(_PlacementEvent):
    """Ended before its planned end; ``reason`` is a code, never free text about the person."""

    type: Literal["rs.oslonac.activation.placement.ended.v1"] = "rs.oslonac.activation.placement.ended.v1"
    reason: Literal["found_other_work", "health", "care_duties", "did_not_attend", "employer_ended", "other"]
    hours_worked: int = Field(ge=0)
    ended_at: datetime


ACTIVATION_EVENTS: tuple[type[EventData], ...] = (
    OpportunityPublishedV1,
    PlacementStartedV1,
    PlacementCompletedV1,
    PlacementEndedV1,
)
