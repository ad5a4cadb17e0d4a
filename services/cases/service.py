"""Cases' use cases."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases import repository
from services.cases.domain import CaseStatus
from services.cases.models import Case
from shared.auth import Role, User
from shared.db import utcnow
from shared.events import CaseOpenedV1, HouseholdRegisteredV2
from shared.messaging.outbox import OutboxWriter


async def open_case_for_household(
    *, session: AsyncSession, outbox: OutboxWriter, event: HouseholdRegisteredV2
) -> Case | None:
    """Open the one case a registered household gets; None when it already has one."""
    if await repository.has_case(session, event.household_id):
        return None
    case = Case(
        id=uuid.uuid4(),
        household_id=event.household_id,
        municipality_code=event.municipality_code,
        status=CaseStatus.open,
        member_count=len(event.members),
        household_registered_at=event.registered_at,
        opened_at=utcnow(),
    )
    await repository.insert_case(session, case)
    await outbox.add(
        session,
        CaseOpenedV1(
            case_id=case.id,
            household_id=case.household_id,
            municipality_code=case.municipality_code,
            opened_at=case.opened_at,
            household_registered_at=case.household_registered_at,
        ),
    )
    return case


async def cases_visible_to(
    *, session: AsyncSession, user: User, household_id: uuid.UUID | None, limit: int, offset: int
) -> Sequence[Case]:
    scope = None if Role.admin in user.roles else user.municipalities
    return await repository.list_cases(
        session, municipalities=scope, household_id=household_id, limit=limit, offset=offset
    )
