"""Events published by cases."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from shared.events.base import EventData


class CaseOpenedV1(EventData):
    topic: ClassVar[str] = "cases.case"
    key_field: ClassVar[str] = "case_id"

    type: Literal["rs.oslonac.cases.case.opened.v1"] = "rs.oslonac.cases.case.opened.v1"
    case_id: UUID
    household_id: UUID
    municipality_code: str = Field(pattern=r"^[0-9]{5}$")
    opened_at: datetime
    household_registered_at: datetime
