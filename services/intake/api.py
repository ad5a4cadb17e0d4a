"""Intake's HTTP API. Personal data is readable by case workers and supervisors of the household's municipality
(and administrators); employers and analysts get 403. Every read of it is written to the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from services.intake import audit, duplicates, poverty, privacy, repository, service
from services.intake.access import Admin, Supervisor, Worker
from services.intake.models import Household
from services.intake.repository import AuditQuery
from services.intake.schemas import (
    AuditEntryPublic,
    ConsentChange,
    DuplicatePublic,
    HouseholdCreate,
    HouseholdPublic,
    HouseholdUpdate,
    MergeRequest,
    MergeResult,
    MunicipalityPublic,
    PersonPublic,
    PersonUpdate,
    PovertyLineChange,
    PovertyLinePublic,
    PovertyLineSet,
    SearchResults,
    SkillPublic,
)
from shared.auth import CurrentUser, User
from shared.db import utcnow
from shared.reference import municipalities, skills
from shared.text import SearchTerm
from shared.web import Offset, RuntimeDep, SessionDep

router = APIRouter(prefix="/api", tags=["intake"])
Limit = Annotated[int, Query(ge=1, le=500)]


def endpoint(request: Request) -> str:
    """The 'why' of an audit row: which endpoint read the data."""
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"


Endpoint = Annotated[str, Depends(endpoint)]


@router.post("/households", status_code=status.HTTP_201_CREATED, response_model=HouseholdPublic)
async def register_household(
    body: HouseholdCreate, user: Worker, session: SessionDep, runtime: RuntimeDep
) -> HouseholdPublic:
    registered = await service.register_household(session=session, outbox=runtime.outbox, data=body, user=user)
    return service.household_public(
        registered.household,
        lines=registered.lines,
        today=utcnow().date(),
        possible_duplicates=registered.possible_duplicates,
    )


@router.get("/households", response_model=SearchResults)
async def search_households(
    user: Worker,
    session: SessionDep,
    why: Endpoint,
    q: Annotated[
        SearchTerm,
        Query(max_length=200, description="names in any script, or a JMBG; with a letter or a digit, or blank"),
    ] = "",
    municipality: Annotated[str | None, Query(pattern=r"^[0-9]{5}$")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> SearchResults:
    return await service.search(
        session=session, user=user, query=q, municipality=municipality, limit=limit, offset=offset, action=why
    )


@router.get("/households/{household_id}", response_model=HouseholdPublic)
async def get_household(household_id: uuid.UUID, user: Worker, session: SessionDep, why: Endpoint) -> HouseholdPublic:
    return await service.read_household(session=session, household_id=household_id, user=user, action=why)


@router.put("/households/{household_id}", response_model=HouseholdPublic)
async def update_household(
    household_id: uuid.UUID,
    body: HouseholdUpdate,
    user: Worker,
    session: SessionDep,
    runtime: RuntimeDep,
    why: Endpoint,
) -> HouseholdPublic:
    household = await service.update_household(
        session=session, outbox=runtime.outbox, household_id=household_id, data=body, user=user
    )
    return await _corrected(session, user, why, household)


@router.patch("/persons/{person_id}", response_model=HouseholdPublic)
async def update_person(
    person_id: uuid.UUID, body: PersonUpdate, user: Worker, session: SessionDep, runtime: RuntimeDep, why: Endpoint
) -> HouseholdPublic:
    household = await service.update_person(
        session=session, outbox=runtime.outbox, person_id=person_id, data=body, user=user
    )
    return await _corrected(session, user, why, household)


@router.put("/persons/{person_id}/consents", response_model=PersonPublic)
async def change_consent(
    person_id: uuid.UUID, body: ConsentChange, user: Worker, session: SessionDep, runtime: RuntimeDep, why: Endpoint
) -> PersonPublic:
    person = await privacy.change_consent(
        session=session, outbox=runtime.outbox, person_id=person_id, change=body, user=user
    )
    await audit.person_read(session, user=user, action=why, person=person)
    return service.person_public(person, today=utcnow().date())


@router.post("/persons/{person_id}/erasure", response_model=PersonPublic)
async def erase_person(
    person_id: uuid.UUID, user: Supervisor, session: SessionDep, runtime: RuntimeDep
) -> PersonPublic:
    person = await privacy.erase_person(session=session, outbox=runtime.outbox, person_id=person_id, user=user)
    return service.person_public(person, today=utcnow().date())


@router.get("/duplicates", response_model=list[DuplicatePublic])
async def duplicate_queue(
    user: Supervisor, session: SessionDep, why: Endpoint, limit: Limit = 50, offset: Offset = 0
) -> list[DuplicatePublic]:
    return await duplicates.review_queue(session=session, user=user, limit=limit, offset=offset, action=why)


@router.post("/duplicates/{duplicate_id}/merge", response_model=MergeResult)
async def merge_duplicate(
    duplicate_id: uuid.UUID, body: MergeRequest, user: Supervisor, session: SessionDep, runtime: RuntimeDep
) -> MergeResult:
    return await duplicates.merge(
        session=session, outbox=runtime.outbox, duplicate_id=duplicate_id, request=body, user=user
    )


@router.post("/duplicates/{duplicate_id}/dismissal", status_code=status.HTTP_204_NO_CONTENT)
async def dismiss_duplicate(duplicate_id: uuid.UUID, user: Supervisor, session: SessionDep) -> None:
    await duplicates.dismiss(session=session, duplicate_id=duplicate_id, user=user)


@router.get("/poverty-lines", response_model=list[PovertyLinePublic])
async def list_poverty_lines(_user: Worker, session: SessionDep) -> list[PovertyLinePublic]:
    return await poverty.poverty_lines(session=session)


@router.put("/poverty-lines/{year}", response_model=PovertyLineChange)
async def set_poverty_line(
    year: int, body: PovertyLineSet, user: Admin, session: SessionDep, runtime: RuntimeDep
) -> PovertyLineChange:
    """A year outside 2000–2100 is a 422 from the rule itself (before it reaches the store)."""
    return await poverty.set_poverty_line(
        session=session, outbox=runtime.outbox, year=year, amount=body.amount, user=user
    )


@router.get("/audit", response_model=list[AuditEntryPublic])
async def audit_log(
    user: Supervisor,
    session: SessionDep,
    record_id: uuid.UUID | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[AuditEntryPublic]:
    wanted = AuditQuery(record_id=record_id, actor=actor, since=since, until=until, limit=limit, offset=offset)
    entries = await audit.audit_log(session=session, user=user, wanted=wanted)
    return [AuditEntryPublic.model_validate(e) for e in entries]


@router.get("/municipalities", response_model=list[MunicipalityPublic])
async def list_municipalities(_user: CurrentUser) -> list[MunicipalityPublic]:
    return [
        MunicipalityPublic.model_validate(m, from_attributes=True) for m in municipalities.municipalities().values()
    ]


@router.get("/skills", response_model=list[SkillPublic])
async def list_skills(_user: CurrentUser) -> list[SkillPublic]:
    return [
        SkillPublic(
            code=s.code, group=s.group, name_en=s.name_en, name_sr_latn=s.name_sr_latn, name_sr_cyrl=s.name_sr_cyrl
        )
        for s in skills.skills().values()
    ]


async def _corrected(session: SessionDep, user: User, why: str, household: Household) -> HouseholdPublic:
    """A corrected household as the answer shows it: a read of its members' data, so audited."""
    await audit.household_read(session, user=user, action=why, households=[household])
    return service.household_public(household, lines=await repository.poverty_lines(session), today=utcnow().date())
