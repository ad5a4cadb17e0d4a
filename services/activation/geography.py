"""Which municipalities a candidate can work in: their own, and those an inter-municipal agreement valid on the
day joins to it, with the distances the score counts."""

from __future__ import annotations

from datetime import date
from functools import cache

from sqlalchemy.ext.asyncio import AsyncSession

from services.activation import matching, repository
from shared.reference import municipalities


@cache
def _distance(a: str, b: str) -> float:
    first, second = municipalities.get(a), municipalities.get(b)
    if first is None or second is None:
        return 1000.0
    return municipalities.distance_km(first, second)


async def geography(session: AsyncSession, on: date) -> matching.Geography:
    agreements = await repository.work_agreements(session, on)

    def reachable(a: str, b: str) -> bool:
        return any(a in codes and b in codes for codes in agreements)

    return matching.Geography(reachable=reachable, distance_km=_distance)
