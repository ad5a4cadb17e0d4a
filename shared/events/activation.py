"""Events published by activation.

Nothing here identifies a person: candidates are pseudonymous ids (the same ``person_id`` intake and cases use),
organisations and opportunities are not personal data.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from shared.events.base import EventData

OpportunityType = Literal["community_work", "public_works", "training", "internship", "job"]
EndReason = Literal["found_other_work", "health", "care_duties", "did_not_attend", "employer_ended", "other"]
DeclineReason = Literal[
    "candidate_not_interested", "candidate_unavailable", "employer_not_suitable", "positions_filled", "other"
]
Party = Literal["employer", "candidate"]


class OpportunityPublishedV1(EventData):
    topic: ClassVar[str] = "activation.opportunity"
    key_field: ClassVar[str] = "opportunity_id"

    type: Literal["rs.oslonac.activation.opportunity.published.v1"] = "rs.oslonac.activation.opportunity.published.v1"
    opportunity_id: UUID
    municipality_code: str = Field(pattern=r"^[0-9]{5}$")
    title: str = Field(min_length=1, max_length=200)
    positions: int = Field(ge=1)
    published_at: datetime
    opportunity_type: OpportunityType | None = None
    organisation_id: str | None = None
    forum_id: UUID | None = None
    hours_per_week_min: int | None = None
    hours_per_week_max: int | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    accessible: bool | None = None


class OpportunityClosedV1(EventData):
    topic: ClassVar[str] = "activation.opportunity"
    key_field: ClassVar[str] = "opportunity_id"

    type: Literal["rs.oslonac.activation.opportunity.closed.v1"] = "rs.oslonac.activation.opportunity.closed.v1"
    opportunity_id: UUID
    municipality_code: str = Field(pattern=r"^[0-9]{5}$")
    closed_at: datetime


class _PlacementEvent(EventData):
    """A placement of a candidate in an opportunity. ``case_id`` is the case that asked for the engagement;
    ``municipality_code`` is the candidate's (the case's) municipality."""

    topic: ClassVar[str] = "activation.placement"
    key_field: ClassVar[str] = "placement_id"

    placement_id: UUID
    opportunity_id: UUID
    person_id: UUID
    case_id: UUID | None = None
    municipality_code: str = Field(pattern=r"^[0-9]{5}$")


class MatchProposedV1(_PlacementEvent):
    """A case worker proposed a candidate for an opportunity: the placement exists, in state proposed."""

    type: Literal["rs.oslonac.activation.match.proposed.v1"] = "rs.oslonac.activation.match.proposed.v1"
    opportunity_municipality_code: str = Field(pattern=r"^[0-9]{5}$")
    opportunity_type: OpportunityType
    score: float = Field(ge=0, le=100)
    rank: int | None = Field(default=None, ge=1, description="the candidate's place in the ranking when proposed")
    proposed_at: datetime


class PlacementAcceptedV1(_PlacementEvent):
    """One party said yes; ``both`` is true once the employer and the candidate have (the placement is accepted)."""

    type: Literal["rs.oslonac.activation.placement.accepted.v1"] = "rs.oslonac.activation.placement.accepted.v1"
    party: Party
    both: bool
    accepted_at: datetime


class PlacementDeclinedV1(_PlacementEvent):
    type: Literal["rs.oslonac.activation.placement.declined.v1"] = "rs.oslonac.activation.placement.declined.v1"
    party: Party
    reason: DeclineReason
    declined_at: datetime


class PlacementStartedV1(_PlacementEvent):
    type: Literal["rs.oslonac.activation.placement.started.v1"] = "rs.oslonac.activation.placement.started.v1"
    started_at: datetime


class PlacementHoursRecordedV1(_PlacementEvent):
    """The hours worked in one month (a correction replaces the month's figure); ``hours_total`` is the sum."""

    type: Literal["rs.oslonac.activation.placement.hours_recorded.v1"] = (
        "rs.oslonac.activation.placement.hours_recorded.v1"
    )
    month: str = Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")
    hours: int = Field(ge=0, le=744)
    hours_total: int = Field(ge=0)
    recorded_at: datetime


class PlacementCompletedV1(_PlacementEvent):
    type: Literal["rs.oslonac.activation.placement.completed.v1"] = "rs.oslonac.activation.placement.completed.v1"
    hours_worked: int = Field(ge=0)
    completed_at: datetime


class PlacementEndedV1(_PlacementEvent):
    """Ended before its planned end; ``reason`` is a code, never free text about the person."""

    type: Literal["rs.oslonac.activation.placement.ended.v1"] = "rs.oslonac.activation.placement.ended.v1"
    reason: EndReason
    hours_worked: int = Field(ge=0)
    ended_at: datetime


ACTIVATION_EVENTS: tuple[type[EventData], ...] = (
    OpportunityPublishedV1,
    OpportunityClosedV1,
    MatchProposedV1,
    PlacementAcceptedV1,
    PlacementDeclinedV1,
    PlacementStartedV1,
    PlacementHoursRecordedV1,
    PlacementCompletedV1,
    PlacementEndedV1,
)
