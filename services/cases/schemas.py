"""Cases' request and response models."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class CasePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    household_id: uuid.UUID
    municipality_code: str
    status: str
    member_count: int
    household_registered_at: datetime
    opened_at: datetime
