"""Activation's request and response models. Nothing in a response names a person: a candidate is a code for
employers, a pseudonymous id for the case workers who act for them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.activation.domain import PRIORITY_GROUPS
from shared.text import NAME_RULE, HumanName

OrganisationKind = Literal["public_enterprise", "public_institution", "civil_society", "private_company"]
OpportunityTypeName = Literal["community_work", "public_works", "training", "internship", "job"]
PriorityGroup = Literal["single_parent", "woman", "roma", "long_term_unemployed", "disability"]
Scope = Literal["same", "agreement"]
Party = Literal["employer", "candidate"]
DeclineReason = Literal[
    "candidate_not_interested", "candidate_unavailable", "employer_not_suitable", "positions_filled", "other"
]
EndReason = Literal["found_other_work", "health", "care_duties", "did_not_attend", "employer_ended", "other"]
_CODE = r"^[0-9]{5}$"
# Text a person typed: no control characters (PostgreSQL refuses NUL; none belongs in a title); newlines and tabs
# are fine in a description.
Line = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f]*$")]
Paragraphs = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OrganisationIn(_In):
    name: HumanName = Field(min_length=1, max_length=200, description=NAME_RULE)
    kind: OrganisationKind
    municipality_code: str = Field(pattern=_CODE)


class OrganisationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    kind: str
    municipality_code: str
    registered_at: datetime
    forums: list[uuid.UUID] = []


class CriteriaIn(_In):
    """What the forum agreed on; every part can be switched off."""

    min_age: int | None = Field(default=18, ge=14, le=100)
    max_age: int | None = Field(default=64, ge=14, le=100)
    require_able_to_work: bool = True
    exclude_in_education: bool = True
    exclude_placed: bool = True
    priority_groups: list[PriorityGroup] = Field(default_factory=lambda: list(PRIORITY_GROUPS))  # type: ignore[arg-type]
    scope: Scope = Field(
        default="agreement",
        description="same: only the opportunity's municipality; agreement: "
        "also municipalities an inter-municipal agreement on work engagement joins to it",
    )


class ForumCreate(_In):
    name: HumanName = Field(min_length=1, max_length=200, description=NAME_RULE)
    municipalities: list[str] = Field(min_length=1, max_length=20)
    criteria: CriteriaIn = Field(default_factory=CriteriaIn)


class ForumPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    municipalities: list[str]
    criteria: dict[str, object]
    members: list[str] = []


class JoinForum(_In):
    organisation_id: str = Field(min_length=1, max_length=100)


class OpportunityCreate(_In):
    title: HumanName = Field(min_length=1, max_length=200, description=NAME_RULE)
    description: Paragraphs = Field(default="", max_length=4000)
    type: OpportunityTypeName = "community_work"
    forum_id: uuid.UUID
    organisation_id: str | None = Field(default=None, max_length=100, description="administrators only")
    municipality_code: str = Field(pattern=_CODE)
    place: Line = Field(default="", max_length=200)
    positions: int = Field(ge=1, le=10_000)
    hours_per_week_min: int = Field(default=1, ge=1, le=60)
    hours_per_week_max: int = Field(default=40, ge=1, le=60)
    starts_on: date | None = None
    ends_on: date | None = None
    required_skills: list[str] = Field(default_factory=list, max_length=20)
    preferred_skills: list[str] = Field(default_factory=list, max_length=20)
    accessible: bool = False


class OpportunityPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    description: str
    type: str
    forum_id: uuid.UUID | None
    organisation: str | None
    municipality_code: str
    place: str
    positions: int
    hours_min: int
    hours_max: int
    starts_on: date | None
    ends_on: date | None
    required_skills: list[str]
    preferred_skills: list[str]
    accessible: bool
    status: str
    published_at: datetime
    closed_at: datetime | None


class CheckOut(BaseModel):
    criterion: str
    met: bool
    detail: str | None = None


class Explanation(BaseModel):
    score: float | None = Field(description="None for employers (it would reveal priority points)")
    breakdown: dict[str, float]
    checks: list[CheckOut]


class MatchOut(BaseModel):
    rank: int
    code: str = Field(description="the candidate as the employer sees them (differs per opportunity)")
    person_id: uuid.UUID | None = Field(default=None, description="only for case workers acting for the candidate")
    case_id: uuid.UUID | None = None
    explanation: Explanation
    placement_id: uuid.UUID | None = None
    placement_status: str | None = None


class ShortlistOut(BaseModel):
    opportunity_id: uuid.UUID
    eligible: int
    computed_in_ms: float
    matches: list[MatchOut]


class CandidatePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    person_id: uuid.UUID
    case_id: uuid.UUID
    municipality_code: str
    sex: str
    birth_year: int
    education: str | None
    employment_status: str | None
    skills: list[str]
    hours_min: int
    hours_max: int
    available_from: date | None
    unemployed_since: date | None
    placed: bool
    active: bool
    requested_at: datetime


class OpportunityMatchOut(BaseModel):
    opportunity: OpportunityPublic
    explanation: Explanation


class ProposeIn(_In):
    person_id: uuid.UUID


class AnswerIn(_In):
    party: Party


class DeclineIn(_In):
    party: Party
    reason: DeclineReason


class HoursIn(_In):
    month: str = Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")
    hours: int = Field(ge=0, le=744)


class EndIn(_In):
    reason: EndReason


class PlacementPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    opportunity_id: uuid.UUID
    code: str = ""
    person_id: uuid.UUID | None = None
    case_id: uuid.UUID | None = None
    status: str
    score: float | None = Field(description="None for employers (it would reveal priority points)")
    rank: int | None
    employer_accepted: bool
    candidate_accepted: bool
    declined_by: str | None
    decline_reason: str | None
    end_reason: str | None
    hours_total: int
    proposed_at: datetime
    accepted_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None


class MatchingRunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    started_at: datetime
    finished_at: datetime
    candidates: int
    opportunities: int
    entries: int
