"""What the pages read beyond the API's calls: the placements a user deals with across opportunities, the months of
hours recorded, and opportunities by id. Reads only, with the same visibility rules as the service layer
(``access``); the statements are in repository.py."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.activation import access, forums, repository
from services.activation.models import Opportunity, Organisation, Placement
from shared.auth import Role, User

LIMIT = 500


async def opportunities_by_id(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Opportunity]:
    return await repository.opportunities_by_id(session, ids)


async def own_placements(session: AsyncSession, user: User) -> Sequence[Placement]:
    """The placements of the opportunities the user's organisation posted (every one, for an administrator)."""
    if access.is_admin(user):
        return await repository.recent_placements(session, limit=LIMIT)
    if Role.employer not in user.roles or not user.organisation:
        return []
    own = await repository.list_opportunities(session, organisation=user.organisation, limit=LIMIT)
    return await repository.placements_of(session, [o.id for o in own])


async def candidates_placements(session: AsyncSession, user: User) -> Sequence[Placement]:
    """The placements of the candidates of the user's municipalities (case workers and supervisors)."""
    if not user.has_role(Role.case_worker, Role.supervisor, Role.admin):
        return []
    codes = None if access.is_admin(user) else sorted(user.municipalities)
    return await repository.recent_placements(session, limit=LIMIT, candidate_municipalities=codes)


async def placements_for_user(session: AsyncSession, user: User) -> list[Placement]:
    """Everything the user answers for: their organisation's placements and their candidates', newest first."""
    found: dict[uuid.UUID, Placement] = {}
    for p in [*await own_placements(session, user), *await candidates_placements(session, user)]:
        found[p.id] = p
    return sorted(found.values(), key=lambda p: (p.proposed_at, str(p.id)), reverse=True)


async def hours_of(session: AsyncSession, placement_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[tuple[str, int]]]:
    return await repository.hours_of(session, placement_ids)


async def own_organisation(session: AsyncSession, user: User) -> Organisation | None:
    """The employer's organisation, if it is registered."""
    if not user.organisation:
        return None
    return await repository.get_organisation(session, user.organisation)


async def organisation_names(session: AsyncSession, user: User) -> dict[str, str]:
    return {o.id: o.name for o in await forums.organisations(session=session, user=user)}
