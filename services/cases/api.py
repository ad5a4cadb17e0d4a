"""Cases' HTTP API."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.cases import service
from services.cases.schemas import CasePublic
from shared.auth import Role, User, require_role
from shared.web import SessionDep

router = APIRouter(prefix="/api", tags=["cases"])
Worker = Annotated[User, Depends(require_role(Role.case_worker, Role.supervisor, Role.admin))]


@router.get("/cases", response_model=list[CasePublic])
async def list_cases(
    user: Worker,
    session: SessionDep,
    household_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[CasePublic]:
    cases = await service.cases_visible_to(
        session=session, user=user, household_id=household_id, limit=limit, offset=offset
    )
    return [CasePublic.model_validate(c) for c in cases]
