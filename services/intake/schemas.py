"""Intake's request and response models."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class PersonCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    birth_date: date
    sex: Literal["F", "M"]
    jmbg: str | None = Field(default=None, description="13 digits; optional (people without documents)")

    @field_validator("jmbg", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator("birth_date")
    @classmethod
    def _not_in_future(cls, value: date) -> date:
        if value > date.today():
            raise ValueError("birth date is in the future")
        if value.year < 1900:
            raise ValueError("birth date is before 1900")
        return value


class HouseholdCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    municipality_code: str = Field(pattern=r"^[0-9]{5}$", description="Official statistical code")
    members: list[PersonCreate] = Field(min_length=1, max_length=30)


class PersonPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    given_name: str
    family_name: str
    birth_date: date
    sex: str
    jmbg: str | None


class HouseholdPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    municipality_code: str
    registered_by: str
    registered_at: datetime
    members: list[PersonPublic]


class MunicipalityPublic(BaseModel):
    code: str
    name_latin: str
    name_cyrillic: str
    district: str
    kind: str
    lat: float
    lon: float
