"""Poverty lines per year (set by an administrator) and the recomputation a change of line causes."""

from __future__ import annotations

import math

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import access, records, repository
from services.intake.models import PovertyLine
from services.intake.schemas import PovertyLineChange, PovertyLinePublic
from shared.auth import User
from shared.db import utcnow
from shared.errors import Invalid
from shared.messaging.outbox import OutboxWriter

FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_AMOUNT = 10_000_000.0


async def set_poverty_line(
    *, session: AsyncSession, outbox: OutboxWriter, year: int, amount: float, user: User
) -> PovertyLineChange:
    """Set the year's line and recompute every household's flag; each household whose flag, applicable year or
    scale changed gets ``intake.household.updated`` (reason ``poverty_line_changed``) in the same transaction."""
    access.ensure_admin(user, "Only an administrator sets poverty lines.")
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise Invalid(
            f"The year must be between {FIRST_YEAR} and {LAST_YEAR}.",
            reason="poverty_line_year",
            params={"first": FIRST_YEAR, "last": LAST_YEAR},
        )
    if not (math.isfinite(amount) and 0 < amount <= MAX_AMOUNT):
        raise Invalid(
            f"The line must be a positive amount of at most {MAX_AMOUNT:,.0f} RSD.",
            reason="poverty_line_amount",
            params={"max": int(MAX_AMOUNT)},
        )
    now = utcnow()
    line: PovertyLine = await repository.upsert_poverty_line(session, year=year, amount=amount, by=user.sub, at=now)
    lines = await repository.poverty_lines(session)
    households = await repository.all_households_for_poverty(session)
    changed = []
    for household in households:
        if records.apply_poverty(household, household.members, lines=lines, on=now.date()):
            household.version += 1
            changed.append(records.updated_event(household, household.members, "poverty_line_changed"))
    await outbox.add_many(session, list(changed))
    await session.flush()
    return PovertyLineChange(
        line=PovertyLinePublic.model_validate(line),
        households_recomputed=len(households),
        households_changed=len(changed),
    )


async def poverty_lines(*, session: AsyncSession) -> list[PovertyLinePublic]:
    return [PovertyLinePublic.model_validate(line) for line in await repository.list_poverty_lines(session)]
