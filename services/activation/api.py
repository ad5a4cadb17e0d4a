"""Activation's HTTP API."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from services.activation import service
from services.activation.schemas import OpportunityCreate, OpportunityPublic
from shared.auth import CurrentUser, Role, User, require_role
from shared.web import RuntimeDep, SessionDep

router = APIRouter(prefix="/api", tags=["activation"])
Publisher = Annotated[User, Depends(require_role(Role.employer, Role.admin))]


@router.post("/opportunities", status_code=status.HTTP_201_CREATED, response_model=OpportunityPublic)
async def publish_opportunity(
    body: OpportunityCreate, user: Publisher, session: SessionDep, runtime: RuntimeDep
) -> OpportunityPublic:
    opportunity = await service.publish_opportunity(session=session, outbox=runtime.outbox, data=body, user=user)
    return OpportunityPublic.model_validate(opportunity)


@router.get("/opportunities", response_model=list[OpportunityPublic])
async def list_opportunities(
    _user: CurrentUser,
    session: SessionDep,
    municipality_code: Annotated[str | None, Query(pattern=r"^[0-9]{5}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[OpportunityPublic]:
    found = await service.opportunities(
        session=session, municipality_code=municipality_code, limit=limit, offset=offset
    )
    return [OpportunityPublic.model_validate(o) for o in found]


@router.get("/opportunities/{opportunity_id}", response_model=OpportunityPublic)
async def get_opportunity(opportunity_id: uuid.UUID, _user: CurrentUser, session: SessionDep) -> OpportunityPublic:
    return OpportunityPublic.model_validate(await service.opportunity(session=session, opportunity_id=opportunity_id))
