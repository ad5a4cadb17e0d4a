"""Events published by cases.

Everything that happens to one case travels on ``cases.case`` keyed by the case id, so a consumer sees a case's
life in order: opened, assigned, status changes, assessment, plan, referrals, transfer, closure. Providers'
capacity and occupancy travel on ``cases.provider``; requests for work engagement on ``cases.activation``, keyed
by the person, for activation.

Like every event they carry pseudonymous ids and the attributes consumers need: no name, JMBG, address, phone
or case note. Workers are named by their account (``sub``): staff, not beneficiaries.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from shared.events.base import EventData
from shared.events.intake import Education, EmploymentStatus, Sex

Municipality = str
CaseStatusName = Literal["open", "assessment", "plan", "active", "closed", "transferred"]
PriorityName = Literal["urgent", "high", "medium", "low"]
NeedDomain = Literal["income", "employment", "housing", "health", "education", "care", "safety"]
NeedLevel = Literal["none", "low", "moderate", "high", "critical"]
ServiceType = Literal[
    "day_care",
    "home_help",
    "personal_assistance",
    "supported_housing",
    "counselling",
    "shelter",
    "foster_care",
    "residential_care",
    "one_off_assistance",
    "documents_help",
    "employment_registration",
]
CloseReason = Literal[
    "goals_achieved", "no_longer_eligible", "moved_away", "declined_services", "deceased", "merged", "other"
]
_CODE = r"^[0-9]{5}$"


class _CaseEvent(EventData):
    topic: ClassVar[str] = "cases.case"
    key_field: ClassVar[str] = "case_id"

    case_id: UUID
    household_id: UUID
    municipality_code: str = Field(pattern=_CODE)


class CaseOpenedV1(_CaseEvent):
    type: Literal["rs.oslonac.cases.case.opened.v1"] = "rs.oslonac.cases.case.opened.v1"
    opened_at: datetime
    household_registered_at: datetime
    priority: PriorityName | None = None
    # A case flagged for domestic or partner violence: consumers keep it out of small aggregates.
    restricted: bool = False
    # Set when the case was opened by a transfer from another municipality's office.
    transferred_from_case_id: UUID | None = None
    # The worker the caseload rule chose (None: the municipality has no worker yet). Later changes of worker are
    # ``cases.case.assigned``.
    assigned_to: str | None = None


class CaseAssignedV1(_CaseEvent):
    """A supervisor gave the case to another worker (the first assignment travels in ``opened``)."""

    type: Literal["rs.oslonac.cases.case.assigned.v1"] = "rs.oslonac.cases.case.assigned.v1"
    worker: str | None = Field(description="the worker's account; None when no worker of the municipality exists")
    previous_worker: str | None = None
    by: Literal["rule", "supervisor"]
    assigned_at: datetime


class CaseStatusChangedV1(_CaseEvent):
    """Any change of state but transfer (see ``CaseTransferredV1``); ``reason`` is set on closing and reopening."""

    type: Literal["rs.oslonac.cases.case.status_changed.v1"] = "rs.oslonac.cases.case.status_changed.v1"
    from_status: CaseStatusName
    to_status: CaseStatusName
    reason: CloseReason | None = None
    changed_at: datetime


class CaseTransferredV1(_CaseEvent):
    """The case went to another municipality's office: the origin keeps it (state transferred) and its history,
    the receiving office works a new case (``to_case_id``, announced by its own ``opened``)."""

    type: Literal["rs.oslonac.cases.case.transferred.v1"] = "rs.oslonac.cases.case.transferred.v1"
    to_case_id: UUID
    to_municipality_code: str = Field(pattern=_CODE)
    agreement_id: UUID
    transferred_at: datetime


class CasePriorityChangedV1(_CaseEvent):
    type: Literal["rs.oslonac.cases.case.priority_changed.v1"] = "rs.oslonac.cases.case.priority_changed.v1"
    priority: PriorityName
    restricted: bool
    changed_at: datetime


class AssessmentCompletedV1(_CaseEvent):
    type: Literal["rs.oslonac.cases.assessment.completed.v1"] = "rs.oslonac.cases.assessment.completed.v1"
    assessment_id: UUID
    needs: dict[NeedDomain, NeedLevel]
    household_registered_at: datetime
    completed_at: datetime


class PlanAgreedV1(_CaseEvent):
    type: Literal["rs.oslonac.cases.plan.agreed.v1"] = "rs.oslonac.cases.plan.agreed.v1"
    plan_id: UUID
    version: int = Field(ge=1)
    goals: int = Field(ge=0, description="how many goals (their text stays in cases)")
    actions: int = Field(ge=0)
    review_date: date
    agreed_at: datetime


ReferralStatus = Literal["requested", "accepted", "declined", "ended", "cancelled"]


class _ReferralEvent(_CaseEvent):
    referral_id: UUID
    provider_id: UUID
    service_type: ServiceType
    provider_municipality_code: str = Field(pattern=_CODE)
    cross_border: bool


class ReferralRequestedV1(_ReferralEvent):
    type: Literal["rs.oslonac.cases.referral.requested.v1"] = "rs.oslonac.cases.referral.requested.v1"
    requested_at: datetime


class ReferralDecidedV1(_ReferralEvent):
    """The provider side's answer, or the end of a service: ``status`` is accepted, declined, ended or cancelled."""

    type: Literal["rs.oslonac.cases.referral.decided.v1"] = "rs.oslonac.cases.referral.decided.v1"
    status: Literal["accepted", "declined", "ended", "cancelled"]
    decided_at: datetime


class ProviderChangedV1(EventData):
    """A service provider's registry entry as it is now (capacity and occupancy for the indicators)."""

    topic: ClassVar[str] = "cases.provider"
    key_field: ClassVar[str] = "provider_id"

    type: Literal["rs.oslonac.cases.provider.changed.v1"] = "rs.oslonac.cases.provider.changed.v1"
    provider_id: UUID
    service_type: ServiceType
    municipality_code: str = Field(pattern=_CODE)
    capacity: int = Field(ge=0)
    occupancy: int = Field(ge=0)
    residential: bool
    accessible: bool
    active: bool
    changed_at: datetime


class AgreementChangedV1(EventData):
    """An inter-municipal agreement as it is now: which municipalities share which services, and when.

    Activation lets a match cross a border where a valid agreement covering ``work_engagement`` joins both
    municipalities.
    """

    topic: ClassVar[str] = "cases.provider"
    key_field: ClassVar[str] = "agreement_id"

    type: Literal["rs.oslonac.cases.agreement.changed.v1"] = "rs.oslonac.cases.agreement.changed.v1"
    agreement_id: UUID
    municipalities: list[str] = Field(min_length=2)
    service_types: list[str] = Field(min_length=1)
    valid_from: date
    valid_to: date | None = None
    changed_at: datetime


# The markers activation's priority groups use. Victim of violence never leaves cases for activation.
ActivationMarker = Literal["unemployed_able_to_work", "disability", "single_parent", "roma", "without_documents"]


class Availability(BaseModel):
    hours_per_week_min: int = Field(ge=1, le=60)
    hours_per_week_max: int = Field(ge=1, le=60)
    available_from: date


class ActivationRequestedV1(EventData):
    """A case worker's plan engages a member who can work: the candidate profile activation matches on.

    Nothing here identifies the person: the id is pseudonymous, the age is a birth year.
    """

    topic: ClassVar[str] = "cases.activation"
    key_field: ClassVar[str] = "person_id"

    type: Literal["rs.oslonac.cases.activation.requested.v1"] = "rs.oslonac.cases.activation.requested.v1"
    request_id: UUID
    person_id: UUID
    household_id: UUID
    case_id: UUID
    municipality_code: str = Field(pattern=_CODE)
    sex: Sex
    birth_year: int = Field(ge=1900, le=2100)
    education: Education | None = None
    employment_status: EmploymentStatus | None = None
    skills: list[str] = Field(default_factory=list, description="codes from shared/reference/skills.csv")
    markers: list[ActivationMarker] = Field(default_factory=list)
    below_poverty_line: bool | None = None
    unemployed_since: date | None = Field(default=None, description="for the time-unemployed priority")
    availability: Availability
    requested_at: datetime


CASES_EVENTS: tuple[type[EventData], ...] = (
    CaseOpenedV1,
    CaseAssignedV1,
    CaseStatusChangedV1,
    CaseTransferredV1,
    CasePriorityChangedV1,
    AssessmentCompletedV1,
    PlanAgreedV1,
    ReferralRequestedV1,
    ReferralDecidedV1,
    ProviderChangedV1,
    AgreementChangedV1,
    ActivationRequestedV1,
)
