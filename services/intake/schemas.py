"""Intake's request and response models."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.intake.domain import RuleBroken
from shared.events.intake import Education, EmploymentStatus, Purpose, Relation, Sex
from shared.reference import skills as skill_list
from shared.text import NAME_RULE, CleanText, HumanName

RecordedMarker = Literal["disability", "single_parent", "roma", "victim_of_violence"]
MissingJmbgReason = Literal["no_personal_documents", "not_yet_issued", "foreign_national", "not_known"]
HousingType = Literal[
    "own", "rented", "with_relatives", "social_housing", "informal_settlement", "collective_centre", "homeless"
]
HousingProblem = Literal["no_electricity", "no_running_water", "no_sewage", "overcrowded", "damp_or_unsafe"]
IncomeSource = Literal[
    "wages",
    "pension",
    "social_assistance",
    "child_allowance",
    "unemployment_benefit",
    "disability_benefit",
    "agriculture",
    "informal_work",
    "remittances",
    "other",
]
PHONE_PATTERN = r"^\+?[0-9][0-9 /-]{5,19}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PersonCreate(Strict):
    given_name: HumanName = Field(min_length=1, max_length=100, description=NAME_RULE)
    family_name: HumanName = Field(min_length=1, max_length=100, description=NAME_RULE)
    birth_date: date
    sex: Sex
    jmbg: str | None = Field(default=None, description="13 digits; optional for people without documents")
    missing_jmbg_reason: MissingJmbgReason | None = Field(default=None, description="required when no JMBG")
    relation: Relation | None = Field(default=None, description="to the head; the first member is head if none is")
    education: Education | None = None
    employment_status: EmploymentStatus | None = None
    able_to_work: bool | None = None
    skills: list[str] = Field(default_factory=list, max_length=30)
    phone: str | None = Field(default=None, pattern=PHONE_PATTERN)
    markers: list[RecordedMarker] = Field(default_factory=list)
    consents: list[Purpose] = Field(
        default_factory=list, description="purposes the person consented to; 'ethnicity' is needed for 'roma'"
    )

    @field_validator("jmbg", "phone", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("birth_date")
    @classmethod
    def _plausible_birth_date(cls, value: date) -> date:
        if value > date.today():
            raise RuleBroken("birth date is in the future", reason="date_future")
        if value.year < 1900:
            raise RuleBroken("birth date is before 1900", reason="date_before_1900")
        return value

    @field_validator("skills")
    @classmethod
    def _known_skills(cls, value: list[str]) -> list[str]:
        unknown = skill_list.unknown(value)
        if unknown:
            raise RuleBroken(
                f"not on the skills list: {', '.join(unknown)}",
                reason="unknown_skills",
                params={"skills": ", ".join(unknown)},
            )
        return list(dict.fromkeys(value))

    @field_validator("markers", "consents")
    @classmethod
    def _no_repeats(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _jmbg_or_reason(self) -> PersonCreate:
        if self.jmbg is None and self.missing_jmbg_reason is None:
            raise RuleBroken("give the JMBG, or say why there is none (missing_jmbg_reason)", reason="jmbg_or_reason")
        if self.jmbg is not None:
            self.missing_jmbg_reason = None
        if "roma" in self.markers and "ethnicity" not in self.consents:
            raise RuleBroken(
                "the Roma marker is recorded only with the person's explicit consent ('ethnicity' in consents)",
                reason="roma_needs_consent",
            )
        return self


class IncomeCreate(Strict):
    source: IncomeSource
    monthly_amount: float = Field(ge=0, le=10_000_000, description="RSD per month")


class HouseholdCreate(Strict):
    municipality_code: str = Field(pattern=r"^[0-9]{5}$", description="Official statistical code")
    settlement: CleanText | None = Field(default=None, max_length=100)
    address: CleanText | None = Field(default=None, max_length=200)
    housing_type: HousingType | None = None
    housing_problems: list[HousingProblem] = Field(default_factory=list)
    incomes: list[IncomeCreate] = Field(default_factory=list, max_length=20)
    members: list[PersonCreate] = Field(min_length=1, max_length=30)

    @model_validator(mode="after")
    def _one_head(self) -> HouseholdCreate:
        heads = [i for i, m in enumerate(self.members) if m.relation == "head"]
        if len(heads) > 1:
            raise RuleBroken(
                f"a household has one head; members {', '.join(str(i + 1) for i in heads)} are heads",
                reason="one_head",
            )
        if not heads and self.members[0].relation is None:
            self.members[0].relation = "head"
        return self


class HouseholdUpdate(Strict):
    """Household-level fields a worker corrects after registration (members are edited one by one)."""

    settlement: CleanText | None = Field(default=None, max_length=100)
    address: CleanText | None = Field(default=None, max_length=200)
    housing_type: HousingType | None = None
    housing_problems: list[HousingProblem] = Field(default_factory=list)
    incomes: list[IncomeCreate] = Field(default_factory=list, max_length=20)


class PersonUpdate(Strict):
    """Corrections to a person; only the fields sent change. Birth date and sex are fixed (they are in the JMBG)."""

    given_name: HumanName | None = Field(default=None, min_length=1, max_length=100, description=NAME_RULE)
    family_name: HumanName | None = Field(default=None, min_length=1, max_length=100, description=NAME_RULE)
    jmbg: str | None = None
    missing_jmbg_reason: MissingJmbgReason | None = None
    relation: Relation | None = None
    education: Education | None = None
    employment_status: EmploymentStatus | None = None
    able_to_work: bool | None = None
    skills: list[str] | None = Field(default=None, max_length=30)
    phone: str | None = Field(default=None, pattern=PHONE_PATTERN)
    markers: list[RecordedMarker] | None = None

    _blank_is_none = field_validator("jmbg", "phone", mode="before")(PersonCreate._blank_is_none.__func__)  # type: ignore[attr-defined]

    @field_validator("skills")
    @classmethod
    def _known_skills(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else PersonCreate._known_skills(value)

    @field_validator("given_name", "family_name")
    @classmethod
    def _names_stay(cls, value: str | None) -> str:
        if value is None:
            raise RuleBroken("a name cannot be removed (erase the person instead)", reason="name_required")
        return value


class ConsentChange(Strict):
    purpose: Purpose
    granted: bool


class IncomePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    source: str
    monthly_amount: float


class PersonPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    given_name: str | None
    family_name: str | None
    birth_date: date | None
    sex: str
    jmbg: str | None
    missing_jmbg_reason: str | None
    relation: str | None
    education: str | None
    employment_status: str | None
    able_to_work: bool | None
    skills: list[str]
    phone: str | None
    markers: list[str] = Field(description="recorded and derived markers (elderly, child as of today)")
    consents: list[str]
    erased: bool = False


class PovertyPublic(BaseModel):
    monthly_income: float
    equivalent_adults: float | None
    income_per_equivalent_adult: float | None
    poverty_line: float | None
    year: int | None
    below_poverty_line: bool | None


class HouseholdPublic(BaseModel):
    id: uuid.UUID
    municipality_code: str
    settlement: str | None
    address: str | None
    housing_type: str | None
    housing_problems: list[str]
    incomes: list[IncomePublic]
    registered_by: str
    registered_at: datetime
    version: int
    poverty: PovertyPublic
    case_status: str | None
    merged_into: uuid.UUID | None = None
    members: list[PersonPublic]
    possible_duplicates: int = Field(0, description="members waiting in the duplicate review queue")


class HouseholdSummary(BaseModel):
    """A search hit: enough to recognise the household, with the matching members."""

    id: uuid.UUID
    municipality_code: str
    settlement: str | None
    registered_at: datetime
    below_poverty_line: bool | None
    case_status: str | None
    members: list[str] = Field(description="members' full names")
    size: int


class SearchResults(BaseModel):
    total: int
    results: list[HouseholdSummary]


class PovertyLineSet(Strict):
    amount: float = Field(gt=0, le=10_000_000, description="RSD per equivalent adult per month")


class PovertyLinePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    year: int
    amount: float
    set_by: str
    set_at: datetime


class PovertyLineChange(BaseModel):
    line: PovertyLinePublic
    households_recomputed: int
    households_changed: int


class ReviewedPerson(PersonPublic):
    redacted: bool = Field(False, description="a record of another municipality: its personal data is not shown")


class DuplicatePublic(BaseModel):
    id: uuid.UUID
    status: str
    reason: str
    detected_at: datetime
    person: ReviewedPerson
    person_household_id: uuid.UUID | None = Field(description="None when the record is not shown")
    other: ReviewedPerson
    other_household_id: uuid.UUID | None = Field(description="None when the record is not shown")
    municipality_code: str
    other_municipality: bool = Field(False, description="one record is in a municipality the reviewer does not see")


class MergeRequest(Strict):
    keep: Literal["person", "other"] = Field(description="which of the pair survives")
    whole_household: bool = Field(
        default=False, description="merge the two households too (members of the merged one move to the survivor)"
    )


class MergeResult(BaseModel):
    survivor_person_id: uuid.UUID
    merged_person_id: uuid.UUID
    survivor_household_id: uuid.UUID
    merged_household_id: uuid.UUID | None


class AuditEntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    actor: str
    action: str
    record_type: str
    record_id: uuid.UUID
    municipality_code: str | None


class MunicipalityPublic(BaseModel):
    code: str
    name_latin: str
    name_cyrillic: str
    district: str
    kind: str
    lat: float
    lon: float


class SkillPublic(BaseModel):
    code: str
    group: str
    name_en: str
    name_sr_latn: str
    name_sr_cyrl: str
