"""Reporting's response models."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class PersonsBySex(BaseModel):
    female: int
    male: int
    total: int


class PlacementCounts(BaseModel):
    """Activation's placements of the municipality's candidates, by step."""

    proposed: int
    started: int
    completed: int
    ended_early: int
    hours_worked: int = Field(description="in completed and ended placements")


class IndicatorsPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    municipality_code: str | None = Field(description="None for the whole country")
    municipality_name: str | None
    households: int
    persons: PersonsBySex
    open_cases: int
    opportunities_published: int
    placements: PlacementCounts
    updated_at: datetime | None


class ProjectionTimesRequest(BaseModel):
    household_ids: list[uuid.UUID] = Field(max_length=10_000)


class ProjectionTimesPublic(BaseModel):
    projected_at: dict[uuid.UUID, datetime]
