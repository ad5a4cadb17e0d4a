"""Activation's request and response models."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class OpportunityCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=200)
    municipality_code: str = Field(pattern=r"^[0-9]{5}$")
    positions: int = Field(ge=1, le=10_000)


class OpportunityPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    municipality_code: str
    positions: int
    status: str
    organisation: str | None
    published_at: datetime
