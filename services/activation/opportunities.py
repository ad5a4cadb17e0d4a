"""Opportunities: an employer publishes one in a forum of theirs and closes it; who sees which (``access``), and an
opportunity as the matching rule reads it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.activation import access, domain, repository
from services.activation.domain import OpportunityStatus
from services.activation.models import Opportunity
from services.activation.schemas import OpportunityCreate
from shared.auth import Role, User
from shared.db import utcnow
from shared.errors import Conflict, Forbidden, Invalid, field_error
from shared.events import OpportunityClosedV1, OpportunityPublishedV1
from shared.messaging.outbox import OutboxWriter
from shared.reference import municipalities, skills


def _skills(codes: list[str], loc: str) -> list[str]:
    unknown = skills.unknown(codes)
    if unknown:
        raise Invalid(
            f"Unknown skills: {', '.join(unknown)}.",
            reason="unknown_skills",
            params={"skills": ", ".join(unknown)},
            details=[
                field_error(
                    ["body", loc],
                    f"Not on the skills list: {', '.join(unknown)}.",
                    "unknown_skills",
                    params={"skills": ", ".join(unknown)},
                )
            ],
        )
    return sorted(set(codes))


async def publish_opportunity(
    *, session: AsyncSession, outbox: OutboxWriter, data: OpportunityCreate, user: User
) -> Opportunity:
    organisation_id = user.organisation if not access.is_admin(user) else (data.organisation_id or user.organisation)
    if not organisation_id:
        raise Forbidden(
            "Your account is not linked to an organisation, so it cannot post opportunities.",
            reason="account_without_organisation",
        )
    if await repository.get_organisation(session, organisation_id) is None:
        raise Conflict(
            "Register your organisation before posting opportunities.",
            reason="register_before_posting",
            details={"reason": "organisation_not_registered"},
        )
    municipalities.ensure_known(data.municipality_code, ["body", "municipality_code"])
    found_forum = await repository.get_forum(session, data.forum_id)
    if found_forum is None:
        raise Invalid(
            "No such forum.",
            reason="unknown_forum",
            details=[field_error(["body", "forum_id"], "unknown forum", "unknown_forum")],
        )
    if not await repository.is_member(session, found_forum.id, organisation_id):
        raise Conflict(
            f"Your organisation is not a member of the forum '{found_forum.name}': join it first.",
            reason="not_a_member",
            params={"forum": found_forum.name},
            details={"reason": "not_a_member"},
        )
    if data.municipality_code not in found_forum.municipalities:
        raise Invalid(
            f"The forum '{found_forum.name}' covers {', '.join(found_forum.municipalities)}, "
            f"not {data.municipality_code}.",
            reason="outside_forum",
            params={"forum": found_forum.name, "municipality": data.municipality_code},
            details=[
                field_error(
                    ["body", "municipality_code"], "Not one of the forum's municipalities.", "not_forum_municipality"
                )
            ],
        )
    if data.hours_per_week_min > data.hours_per_week_max:
        raise Invalid(
            "The hours per week range is upside down.",
            reason="hours_reversed",
            details=[
                field_error(["body", "hours_per_week_min"], "Must not be above hours_per_week_max.", "hours_reversed")
            ],
        )
    if data.starts_on is not None and data.ends_on is not None and data.ends_on < data.starts_on:
        raise Invalid(
            "The opportunity ends before it starts.",
            reason="ends_before_start",
            details=[field_error(["body", "ends_on"], "Must not be before starts_on.", "end_before_start")],
        )
    opportunity = Opportunity(
        id=uuid.uuid4(),
        title=data.title,
        description=data.description,
        type=data.type,
        municipality_code=data.municipality_code,
        place=data.place,
        positions=data.positions,
        hours_min=data.hours_per_week_min,
        hours_max=data.hours_per_week_max,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        required_skills=_skills(data.required_skills, "required_skills"),
        preferred_skills=_skills(data.preferred_skills, "preferred_skills"),
        accessible=data.accessible,
        forum_id=found_forum.id,
        status=OpportunityStatus.published,
        organisation=organisation_id,
        published_by=user.sub,
        published_at=utcnow(),
    )
    session.add(opportunity)
    await session.flush()
    await outbox.add(
        session,
        OpportunityPublishedV1(
            opportunity_id=opportunity.id,
            municipality_code=opportunity.municipality_code,
            title=opportunity.title,
            positions=opportunity.positions,
            published_at=opportunity.published_at,
            opportunity_type=opportunity.type,
            organisation_id=organisation_id,
            forum_id=found_forum.id,
            hours_per_week_min=opportunity.hours_min,
            hours_per_week_max=opportunity.hours_max,
            starts_on=opportunity.starts_on,
            ends_on=opportunity.ends_on,
            accessible=opportunity.accessible,
        ),
    )
    return opportunity


async def close_opportunity(
    *, session: AsyncSession, outbox: OutboxWriter, user: User, opportunity_id: uuid.UUID
) -> Opportunity:
    found = access.visible_opportunity(user, await repository.get_opportunity(session, opportunity_id), opportunity_id)
    access.require_owner(user, found)
    if found.status != OpportunityStatus.published:
        raise Conflict(
            "This opportunity is already closed.",
            reason="already_closed",
            details={"status": found.status, "allowed": []},
        )
    found.status, found.closed_at = OpportunityStatus.closed, utcnow()
    await session.flush()
    await outbox.add(
        session,
        OpportunityClosedV1(
            opportunity_id=found.id, municipality_code=found.municipality_code, closed_at=found.closed_at
        ),
    )
    return found


async def opportunity(*, session: AsyncSession, user: User, opportunity_id: uuid.UUID) -> Opportunity:
    return access.visible_opportunity(user, await repository.get_opportunity(session, opportunity_id), opportunity_id)


async def opportunities(
    *,
    session: AsyncSession,
    user: User,
    municipality_code: str | None,
    forum_id: uuid.UUID | None,
    status: str | None,
    limit: int,
    offset: int,
) -> Sequence[Opportunity]:
    own_only = Role.employer in user.roles and not user.has_role(
        Role.admin, Role.case_worker, Role.supervisor, Role.coordinator, Role.analyst
    )
    return await repository.list_opportunities(
        session,
        municipality_code=municipality_code,
        organisation=(user.organisation or "") if own_only else None,
        forum_id=forum_id,
        status=status,
        limit=limit,
        offset=offset,
    )


def as_domain(o: Opportunity) -> domain.Opportunity:
    return domain.Opportunity(
        opportunity_id=str(o.id),
        municipality_code=o.municipality_code,
        type=domain.OpportunityType(o.type),
        hours_min=o.hours_min,
        hours_max=o.hours_max,
        required_skills=frozenset(o.required_skills),
        preferred_skills=frozenset(o.preferred_skills),
        accessible=o.accessible,
        starts_on=o.starts_on,
    )
