"""Intake's HTTP API."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from services.intake import service
from services.intake.schemas import HouseholdCreate, HouseholdPublic, MunicipalityPublic
from shared.auth import CurrentUser, Role, User, require_role
from shared.reference import municipalities
from shared.web import RuntimeDep, SessionDep

router = APIRouter(prefix="/api", tags=["intake"])
Worker = Annotated[User, Depends(require_role(Role.case_worker, Role.supervisor, Role.admin))]


@router.post("/households", status_code=status.HTTP_201_CREATED, response_model=HouseholdPublic)
async def register_household(
    body: HouseholdCreate, user: Worker, session: SessionDep, runtime: RuntimeDep
) -> HouseholdPublic:
    household = await service.register_household(session=session, outbox=runtime.outbox, data=body, user=user)
    return HouseholdPublic.model_validate(household)


@router.get("/households/{household_id}", response_model=HouseholdPublic)
async def get_household(household_id: uuid.UUID, user: Worker, session: SessionDep) -> HouseholdPublic:
    household = await service.household_for(session=session, household_id=household_id, user=user)
    return HouseholdPublic.model_validate(household)


@router.get("/municipalities", response_model=list[MunicipalityPublic])
async def list_municipalities(_user: CurrentUser) -> list[MunicipalityPublic]:
    return [
        MunicipalityPublic.model_validate(m, from_attributes=True) for m in municipalities.municipalities().values()
    ]
