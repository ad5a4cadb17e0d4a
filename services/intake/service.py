"""Intake's use cases."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import domain, repository
from services.intake.models import Household, Person
from services.intake.schemas import HouseholdCreate
from shared.auth import User, ensure_municipality
from shared.db import utcnow
from shared.errors import Conflict, Invalid, NotFound, field_error
from shared.events import HouseholdRegisteredV1, MemberProfile
from shared.messaging.outbox import OutboxWriter
from shared.reference import municipalities


async def register_household(
    *, session: AsyncSession, outbox: OutboxWriter, data: HouseholdCreate, user: User
) -> Household:
    """Store a household and its members and queue ``intake.household.registered``, in one transaction."""
    if not municipalities.is_known(data.municipality_code):
        raise Invalid(
            f"Unknown municipality code {data.municipality_code}.",
            details=[field_error(["body", "municipality_code"], "unknown municipality code")],
        )
    ensure_municipality(user, data.municipality_code)

    problems: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, member in enumerate(data.members):
        if member.jmbg is None:
            continue
        problem = domain.check_jmbg(member.jmbg, birth_date=member.birth_date, sex=member.sex)
        if problem is not None:
            problems.append(field_error(["body", "members", i, "jmbg"], problem.message))
        elif member.jmbg in seen:
            problems.append(field_error(["body", "members", i, "jmbg"], f"same JMBG as member {seen[member.jmbg] + 1}"))
        else:
            seen[member.jmbg] = i
    if problems:
        raise Invalid("Some members' data is not valid.", details=problems)

    existing = await repository.existing_jmbgs(session, seen)
    if existing:
        jmbg, (household_id, code) = next(iter(existing.items()))
        if user.can_see_municipality(code):
            raise Conflict(
                f"A person with JMBG {jmbg} is already registered in household {household_id}.",
                details={"existing_household_id": str(household_id), "jmbg": jmbg},
            )
        # Say that it exists, not where: the other household is outside this worker's municipalities.
        raise Conflict(
            f"A person with JMBG {jmbg} is already registered in another municipality; ask its office.",
            details={"jmbg": jmbg},
        )

    now = utcnow()
    household = Household(
        id=uuid.uuid4(), municipality_code=data.municipality_code, registered_by=user.sub, registered_at=now
    )
    members = [
        Person(
            id=uuid.uuid4(),
            household_id=household.id,
            position=i,
            given_name=m.given_name,
            family_name=m.family_name,
            birth_date=m.birth_date,
            sex=m.sex,
            jmbg=m.jmbg,
        )
        for i, m in enumerate(data.members)
    ]
    try:
        await repository.insert_household(session, household, members)
    except IntegrityError as exc:  # a concurrent registration took the JMBG first
        raise Conflict("A person with one of these JMBGs was registered meanwhile.") from exc
    await outbox.add(
        session,
        HouseholdRegisteredV1(
            household_id=household.id,
            municipality_code=household.municipality_code,
            registered_at=now,
            members=[MemberProfile(person_id=p.id, sex=p.sex, birth_year=p.birth_date.year) for p in members],
        ),
    )
    household.members = members  # a transient object: the response needs no query
    return household


async def household_for(*, session: AsyncSession, household_id: uuid.UUID, user: User) -> Household:
    household = await repository.get_household(session, household_id)
    if household is None:
        raise NotFound(f"No household {household_id}.")
    ensure_municipality(user, household.municipality_code)
    return household
