"""Cases' request and response models."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.events.cases import CaseStatusName, CloseReason, NeedDomain, NeedLevel, PriorityName, ServiceType
from shared.text import NAME_RULE, HumanName

_CODE = r"^[0-9]{5}$"
Text = str


class OrderRule(ValueError):
    """Two fields out of order: the API says ``message``; ``code`` names the rule for the pages."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class _Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class MemberPublic(_Public):
    person_id: uuid.UUID
    sex: str
    birth_year: int
    relation: str | None
    able_to_work: bool | None
    employment_status: str | None
    education: str | None
    skills: list[str]
    markers: list[str]
    consents: list[str]
    erased: bool
    present: bool


class CasePublic(_Public):
    id: uuid.UUID
    household_id: uuid.UUID
    municipality_code: str
    status: CaseStatusName
    priority: PriorityName
    restricted: bool
    below_poverty_line: bool | None
    member_count: int
    assigned_to: str | None
    assigned_at: datetime | None
    household_registered_at: datetime
    opened_at: datetime
    assessed_at: datetime | None
    closed_at: datetime | None
    close_reason: str | None
    review_due_since: datetime | None
    review_reason: str | None
    case_work_consent_withdrawn: bool
    transferred_from_case_id: uuid.UUID | None
    transferred_to_case_id: uuid.UUID | None
    merged_into_case_id: uuid.UUID | None
    updated_at: datetime


class NeedPublic(BaseModel):
    level: NeedLevel
    note: str | None = None


class AssessmentPublic(_Public):
    id: uuid.UUID
    needs: dict[NeedDomain, NeedPublic]
    summary: str | None
    completed_by: str
    completed_at: datetime


class ActionPublic(_Public):
    id: uuid.UUID
    kind: Literal["task", "service", "work_engagement"]
    description: str | None
    person_id: uuid.UUID | None
    person_erased: bool
    responsible: str
    due_date: date | None
    service_type: str | None
    hours_per_week_min: int | None
    hours_per_week_max: int | None
    available_from: date | None
    unemployed_since: date | None
    activation_request_id: uuid.UUID | None


class PlanPublic(_Public):
    id: uuid.UUID
    version: int
    goals: list[str]
    review_date: date
    agreed_by: str
    agreed_at: datetime
    actions: list[ActionPublic] = []
    overdue: bool = False


class ReferralPublic(_Public):
    id: uuid.UUID
    case_id: uuid.UUID
    person_id: uuid.UUID | None
    person_erased: bool
    provider_id: uuid.UUID
    service_type: str
    case_municipality_code: str
    provider_municipality_code: str
    agreement_id: uuid.UUID | None
    status: str
    note: str | None
    legal_basis: str | None
    decline_reason: str | None
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None


class TimelineEntryPublic(_Public):
    id: int
    at: datetime
    kind: str
    actor: str | None
    details: dict[str, Any]


class CaseDetail(BaseModel):
    case: CasePublic
    members: list[MemberPublic]
    assessments: list[AssessmentPublic]
    plan: PlanPublic | None
    referrals: list[ReferralPublic]
    allowed_next: list[CaseStatusName]


# --- commands -------------------------------------------------------------------------------------------------


class StatusChange(BaseModel):
    to: CaseStatusName
    reason: CloseReason | None = Field(default=None, description="needed to close a case")
    note: str | None = Field(default=None, max_length=2000)


class Reassignment(BaseModel):
    worker: str = Field(min_length=1, max_length=200)


class NeedInput(BaseModel):
    level: NeedLevel
    note: str | None = Field(default=None, max_length=2000)


class AssessmentCreate(BaseModel):
    needs: dict[NeedDomain, NeedInput] = Field(description="all seven domains")
    summary: str | None = Field(default=None, max_length=4000)


class ActionInput(BaseModel):
    kind: Literal["task", "service", "work_engagement"]
    description: str | None = Field(default=None, max_length=2000)
    person_id: uuid.UUID | None = None
    responsible: HumanName = Field(min_length=1, max_length=200, description=NAME_RULE)
    due_date: date | None = None
    service_type: ServiceType | None = None
    hours_per_week_min: int | None = Field(default=None, ge=1, le=60)
    hours_per_week_max: int | None = Field(default=None, ge=1, le=60)
    available_from: date | None = None
    unemployed_since: date | None = None

    @model_validator(mode="after")
    def _hours_in_order(self) -> ActionInput:
        if (
            self.hours_per_week_min is not None
            and self.hours_per_week_max is not None
            and self.hours_per_week_min > self.hours_per_week_max
        ):
            raise OrderRule("hours_order", "hours_per_week_min is more than hours_per_week_max")
        return self


class PlanCreate(BaseModel):
    goals: list[str] = Field(min_length=1, max_length=20)
    actions: list[ActionInput] = Field(default_factory=list, max_length=50)
    review_date: date


class TransferRequest(BaseModel):
    to_municipality_code: str = Field(pattern=_CODE)
    note: str | None = Field(default=None, max_length=2000)


class ReferralCreate(BaseModel):
    provider_id: uuid.UUID
    person_id: uuid.UUID | None = None
    note: str | None = Field(default=None, max_length=2000)
    legal_basis: str | None = Field(default=None, max_length=500)


class ReferralDecision(BaseModel):
    decision: Literal["accepted", "declined", "ended", "cancelled"]
    reason: str | None = Field(default=None, max_length=1000)


# --- registries -----------------------------------------------------------------------------------------------


class WorkerUpsert(BaseModel):
    display_name: HumanName = Field(min_length=1, max_length=200, description=NAME_RULE)
    municipalities: list[str] = Field(min_length=1)
    active: bool = True


class WorkerPublic(BaseModel):
    sub: str
    display_name: str
    active: bool
    municipalities: list[str]
    active_cases: int
    norm: int
    over_norm: bool


class ProviderCreate(BaseModel):
    name: HumanName = Field(min_length=1, max_length=200, description=NAME_RULE)
    service_type: ServiceType
    municipality_code: str = Field(pattern=_CODE)
    capacity: int = Field(ge=0, le=100_000)
    occupancy: int = Field(default=0, ge=0, le=100_000)
    accessible: bool = False
    residential: bool = False


class ProviderUpdate(BaseModel):
    name: HumanName | None = Field(default=None, min_length=1, max_length=200, description=NAME_RULE)
    capacity: int | None = Field(default=None, ge=0, le=100_000)
    occupancy: int | None = Field(default=None, ge=0, le=100_000)
    accessible: bool | None = None
    residential: bool | None = None
    active: bool | None = None


class ProviderPublic(_Public):
    id: uuid.UUID
    name: str
    service_type: str
    municipality_code: str
    capacity: int
    occupancy: int
    accessible: bool
    residential: bool
    active: bool
    updated_at: datetime


# An agreement covers providers' services and may cover work engagement, which is no provider's service.
AgreementScope = Literal[ServiceType, "work_engagement"]


class AgreementCreate(BaseModel):
    name: HumanName = Field(min_length=1, max_length=200, description=NAME_RULE)
    municipalities: list[str] = Field(min_length=2)
    service_types: list[AgreementScope] = Field(min_length=1)
    valid_from: date
    valid_to: date | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> AgreementCreate:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise OrderRule("dates_order", "valid_to is before valid_from")
        return self


class AgreementPublic(_Public):
    id: uuid.UUID
    name: str
    municipalities: list[str]
    service_types: list[str]
    valid_from: date
    valid_to: date | None
    created_by: str
    created_at: datetime


class ReviewDue(BaseModel):
    case: CasePublic
    review_date: date | None
    days_overdue: int | None


class CaseloadWorker(BaseModel):
    sub: str
    display_name: str
    active: bool
    active_cases: int
    norm: int
    over_norm: bool
    up_for_review: int


class Caseload(BaseModel):
    municipalities: list[str]
    norm: int
    workers: list[CaseloadWorker]
    unassigned: int
    median_days_to_assessment: float | None
    assessed_cases: int
