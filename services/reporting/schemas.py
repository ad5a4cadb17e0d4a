"""Reporting's response models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Count = int | Literal["<5"]


class PersonsBySex(BaseModel):
    female: Count
    male: Count
    total: Count


class PlacementCounts(BaseModel):
    """Activation's placements of the municipality's candidates, by step."""

    proposed: Count
    started: Count
    completed: Count
    ended_early: Count
    hours_worked: Count = Field(description="in completed and ended placements")


class IndicatorsPublic(BaseModel):
    """A municipality's (or the country's) headline figures as they stand now."""

    municipality_code: str | None = Field(description="None for the whole country")
    municipality_name: str | None
    households: Count
    persons: PersonsBySex
    open_cases: Count = Field(description="cases open, in assessment, with a plan or active")
    opportunities_published: Count
    placements: PlacementCounts
    updated_at: datetime | None


class IndicatorPublic(BaseModel):
    name: str
    theme: str
    unit: str
    kind: str
    label: str
    description: str
    dimensions: list[str]
    category: str | None
    categories: list[str]
    target: float | None


class CataloguePublic(BaseModel):
    indicators: list[IndicatorPublic]
    periods: list[str]
    areas: list[str]
    dimensions: list[str]
    age_bands: list[str]
    groups: list[str]
    districts: list[str]
    suppression: str


class TablePublic(BaseModel):
    indicator: str
    label: str
    unit: str
    kind: str
    target: float | None
    period: str
    from_: str = Field(alias="from")
    to: str
    area: str
    by: list[str]
    filters: dict[str, Any]
    columns: list[str]
    rows: list[dict[str, Any]]
    suppressed: int = Field(description="cells shown as <5")
    exact: bool = Field(description="False: counts from 1 to 4, and what would reveal them, are shown as <5")
    generated_at: datetime

    model_config = {"populate_by_name": True}


class ProjectionTimesRequest(BaseModel):
    household_ids: list[uuid.UUID] = Field(max_length=10_000)


class ProjectionTimesPublic(BaseModel):
    projected_at: dict[uuid.UUID, datetime]
