"""Events published by intake. All travel on ``intake.household`` keyed by the household id, so everything that
happens to one household (and its members) stays in order for every consumer.

They carry pseudonymous ids and the attributes other services need; never a name, JMBG, address or phone
(a test reads every intake event published during the suite and proves it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.events.base import EventData

Sex = Literal["F", "M"]
Relation = Literal[
    "head", "spouse", "child", "parent", "sibling", "grandchild", "grandparent", "other_relative", "non_relative"
]
Education = Literal["none", "primary_incomplete", "primary", "secondary", "tertiary"]
EmploymentStatus = Literal["employed", "unemployed", "informal_work", "retired", "pupil_student", "inactive"]
# Markers recorded per person (DOMAIN.md). ``elderly`` and ``child`` are not sent: they follow from the birth
# year and the date a consumer looks at, and would go stale in a stored event.
Marker = Literal[
    "unemployed_able_to_work", "disability", "single_parent", "roma", "victim_of_violence", "without_documents"
]
# Purposes a person consents to. ``ethnicity`` is the explicit consent without which the Roma self-declaration
# (a special category of personal data) is not stored at all.
Purpose = Literal["case_work", "activation", "research", "ethnicity"]
UpdateReason = Literal["edited", "poverty_line_changed", "consent_changed", "person_erased", "merged"]


class MemberProfile(BaseModel):
    """What other services may know of a household member: no name, JMBG, address or phone."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    person_id: UUID
    sex: Sex
    birth_year: int = Field(ge=1900, le=2100)
    relation: Relation | None = None
    able_to_work: bool | None = None
    employment_status: EmploymentStatus | None = None
    education: Education | None = None
    skills: list[str] = Field(default_factory=list, description="codes from shared/reference/skills.csv")
    markers: list[Marker] = Field(default_factory=list)
    consents: list[Purpose] = Field(default_factory=list, description="purposes currently consented to")


class HouseholdState(EventData):
    """The non-personal state of a household, as registered or after a change (event-carried state transfer)."""

    topic: ClassVar[str] = "intake.household"
    key_field: ClassVar[str] = "household_id"

    household_id: UUID
    municipality_code: str = Field(pattern=r"^[0-9]{5}$")
    registered_at: datetime
    members: list[MemberProfile] = Field(min_length=1)
    housing_type: str | None = None
    equivalent_adults: float | None = Field(default=None, ge=0)
    below_poverty_line: bool | None = Field(default=None, description="None: no poverty line set for the year")
    poverty_year: int | None = None
    version: int = Field(default=1, ge=1, description="increases with every change of the household")


class HouseholdRegisteredV1(EventData):
    """Superseded by v2; kept so old records still decode (upcast to v2 on read)."""

    topic: ClassVar[str] = "intake.household"
    key_field: ClassVar[str] = "household_id"

    type: Literal["rs.oslonac.intake.household.registered.v1"] = "rs.oslonac.intake.household.registered.v1"
    household_id: UUID
    municipality_code: str = Field(pattern=r"^[0-9]{5}$")
    registered_at: datetime
    members: list[MemberProfile] = Field(min_length=1)


class HouseholdRegisteredV2(HouseholdState):
    type: Literal["rs.oslonac.intake.household.registered.v2"] = "rs.oslonac.intake.household.registered.v2"


class HouseholdUpdatedV1(HouseholdState):
    type: Literal["rs.oslonac.intake.household.updated.v1"] = "rs.oslonac.intake.household.updated.v1"
    reason: UpdateReason
    changed_at: datetime


class PersonConsentChangedV1(EventData):
    topic: ClassVar[str] = "intake.household"
    key_field: ClassVar[str] = "household_id"

    type: Literal["rs.oslonac.intake.person.consent_changed.v1"] = "rs.oslonac.intake.person.consent_changed.v1"
    household_id: UUID
    person_id: UUID
    purpose: Purpose
    granted: bool
    changed_at: datetime


class PersonErasedV1(EventData):
    """The person's personal data is gone from intake; every service drops what it keeps of this person."""

    topic: ClassVar[str] = "intake.household"
    key_field: ClassVar[str] = "household_id"

    type: Literal["rs.oslonac.intake.person.erased.v1"] = "rs.oslonac.intake.person.erased.v1"
    household_id: UUID
    person_id: UUID
    erased_at: datetime


class HouseholdMergedV1(EventData):
    """Two records were one household: ``merged_household_id`` is gone, its members now belong to the survivor.

    Keyed by the merged household so it follows that household's earlier events; consumers re-key what they hold
    for the merged household to the survivor. ``merged_person_ids`` are members who were the same person as a
    survivor member (old id → surviving id); the rest moved unchanged.
    """

    topic: ClassVar[str] = "intake.household"
    key_field: ClassVar[str] = "merged_household_id"

    type: Literal["rs.oslonac.intake.household.merged.v1"] = "rs.oslonac.intake.household.merged.v1"
    survivor_household_id: UUID
    merged_household_id: UUID
    moved_person_ids: list[UUID] = Field(default_factory=list)
    merged_person_ids: dict[UUID, UUID] = Field(default_factory=dict)
    merged_at: datetime


class PersonMergedV1(EventData):
    """Two person records were one person: ``merged_person_id`` is gone, ``survivor_person_id`` stays."""

    topic: ClassVar[str] = "intake.household"
    key_field: ClassVar[str] = "merged_household_id"

    type: Literal["rs.oslonac.intake.person.merged.v1"] = "rs.oslonac.intake.person.merged.v1"
    survivor_person_id: UUID
    survivor_household_id: UUID
    merged_person_id: UUID
    merged_household_id: UUID
    merged_at: datetime


def upcast_registered_v1(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """v1 → v2: v1 knew members' sex and birth year only; the rest is unknown (None / empty), version 1."""
    return HouseholdRegisteredV2.type_name(), {**data, "version": 1}


INTAKE_EVENTS: tuple[type[EventData], ...] = (
    HouseholdRegisteredV1,
    HouseholdRegisteredV2,
    HouseholdUpdatedV1,
    PersonConsentChangedV1,
    PersonErasedV1,
    HouseholdMergedV1,
    PersonMergedV1,
)
