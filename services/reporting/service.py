"""Reporting's use cases: apply events to projections, answer indicator queries."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting import domain, repository
from services.reporting.schemas import IndicatorsPublic, PersonsBySex, PlacementCounts
from shared.db import utcnow
from shared.errors import Invalid, field_error
from shared.events import (
    CaseOpenedV1,
    HouseholdRegisteredV2,
    MatchProposedV1,
    OpportunityPublishedV1,
    PlacementCompletedV1,
    PlacementEndedV1,
    PlacementStartedV1,
)
from shared.reference import municipalities


async def project_household_registered(*, session: AsyncSession, event: HouseholdRegisteredV2) -> None:
    now = utcnow()
    await repository.add_household_fact(
        session,
        {
            "household_id": event.household_id,
            "municipality_code": event.municipality_code,
            "members": len(event.members),
            "registered_at": event.registered_at,
            "projected_at": now,
        },
    )
    await repository.add_to_indicators(
        session,
        event.municipality_code,
        now,
        households=1,
        **domain.persons_by_sex(m.sex for m in event.members),
    )


async def project_case_opened(*, session: AsyncSession, event: CaseOpenedV1) -> None:
    await repository.add_to_indicators(session, event.municipality_code, utcnow(), open_cases=1)


async def project_opportunity_published(*, session: AsyncSession, event: OpportunityPublishedV1) -> None:
    await repository.add_to_indicators(session, event.municipality_code, utcnow(), opportunities_published=1)


async def project_placement(
    *, session: AsyncSession, event: MatchProposedV1 | PlacementStartedV1 | PlacementCompletedV1 | PlacementEndedV1
) -> None:
    """Counted where the candidate lives; acceptances, declines and monthly hours change no counter here."""
    deltas: dict[str, int]
    if isinstance(event, MatchProposedV1):
        deltas = {"placements_proposed": 1}
    elif isinstance(event, PlacementStartedV1):
        deltas = {"placements_started": 1}
    elif isinstance(event, PlacementCompletedV1):
        deltas = {"placements_completed": 1, "placement_hours_worked": event.hours_worked}
    else:
        deltas = {"placements_ended": 1, "placement_hours_worked": event.hours_worked}
    await repository.add_to_indicators(session, event.municipality_code, utcnow(), **deltas)


def _public(code: str | None, counts: dict[str, int], updated_at: datetime | None) -> IndicatorsPublic:
    found = municipalities.get(code) if code else None
    female, male = counts["persons_female"], counts["persons_male"]
    return IndicatorsPublic(
        municipality_code=code,
        municipality_name=found.name_latin if found else None,
        households=counts["households"],
        persons=PersonsBySex(female=female, male=male, total=female + male),
        open_cases=counts["open_cases"],
        opportunities_published=counts["opportunities_published"],
        placements=PlacementCounts(
            proposed=counts["placements_proposed"],
            started=counts["placements_started"],
            completed=counts["placements_completed"],
            ended_early=counts["placements_ended"],
            hours_worked=counts["placement_hours_worked"],
        ),
        updated_at=updated_at,
    )


async def indicators(*, session: AsyncSession, municipality_code: str | None) -> list[IndicatorsPublic]:
    """One municipality's indicators, or every municipality's followed by the national total (code None)."""
    if municipality_code is not None:
        if not municipalities.is_known(municipality_code):
            raise Invalid(
                f"Unknown municipality code {municipality_code}.",
                details=[field_error(["query", "municipality"], "unknown municipality code")],
            )
        row = await repository.indicators_for(session, municipality_code)
        counts = {n: getattr(row, n) if row else 0 for n in repository.COUNTERS}
        return [_public(municipality_code, counts, row.updated_at if row else None)]
    rows = await repository.all_indicators(session)
    result = [_public(r.municipality_code, {n: getattr(r, n) for n in repository.COUNTERS}, r.updated_at) for r in rows]
    latest = max((r.updated_at for r in rows), default=None)
    result.append(_public(None, await repository.totals(session), latest))
    return result


async def projection_times(*, session: AsyncSession, household_ids: list[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    return await repository.projection_times(session, household_ids)
