"""Reporting's HTTP API: aggregates only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.reporting import service
from services.reporting.schemas import IndicatorsPublic, ProjectionTimesPublic, ProjectionTimesRequest
from shared.auth import Role, User, require_role
from shared.web import SessionDep

router = APIRouter(prefix="/api", tags=["reporting"])
Reader = Annotated[User, Depends(require_role(Role.analyst, Role.supervisor, Role.case_worker, Role.admin))]
Admin = Annotated[User, Depends(require_role(Role.admin))]


@router.get("/indicators", response_model=list[IndicatorsPublic])
async def indicators(
    _user: Reader,
    session: SessionDep,
    municipality: Annotated[str | None, Query(pattern=r"^[0-9]{5}$", description="Official code")] = None,
) -> list[IndicatorsPublic]:
    return await service.indicators(session=session, municipality_code=municipality)


@router.post("/projection-times", response_model=ProjectionTimesPublic)
async def projection_times(body: ProjectionTimesRequest, _user: Admin, session: SessionDep) -> ProjectionTimesPublic:
    """When each household reached the indicators (for freshness measurements); pseudonymous ids only."""
    found = await service.projection_times(session=session, household_ids=body.household_ids)
    return ProjectionTimesPublic(projected_at=found)
