"""Events published by intake (topic per aggregate, keyed by the aggregate id)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.events.base import EventData


class MemberProfile(BaseModel):
    """What other services may know of a household member: no name, JMBG, address or phone."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    person_id: UUID
    sex: Literal["F", "M"]
    birth_year: int = Field(ge=1900, le=2100)


class HouseholdRegisteredV1(EventData):
    topic: ClassVar[str] = "intake.household"
    key_field: ClassVar[str] = "household_id"

    type: Literal["rs.oslonac.intake.household.registered.v1"] = "rs.oslonac.intake.household.registered.v1"
    household_id: UUID
    municipality_code: str = Field(pattern=r"^[0-9]{5}$")
    registered_at: datetime
    members: list[MemberProfile] = Field(min_length=1)
