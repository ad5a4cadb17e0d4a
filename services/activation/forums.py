"""Organisations and forums: an employer registers their organisation and joins forums; coordinators set up a
forum of their municipalities and agree on its criteria (who is eligible, which priority groups count, how far)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.activation import access, domain, repository
from services.activation.models import Forum, ForumMember, Opportunity, Organisation
from services.activation.schemas import CriteriaIn, ForumCreate, OrganisationIn
from shared.auth import Role, User
from shared.db import utcnow
from shared.errors import Conflict, Forbidden, Invalid, NotFound, field_error
from shared.reference import municipalities

ORGANISATION_ID = re.compile(r"[A-Za-z0-9._-]{1,100}")


async def register_organisation(
    *, session: AsyncSession, user: User, organisation_id: str, data: OrganisationIn
) -> Organisation:
    """An employer registers (or corrects) their own organisation; an administrator any."""
    if not access.is_admin(user) and user.organisation != organisation_id:
        raise Forbidden(
            "You can register only the organisation your account belongs to.", reason="not_own_organisation"
        )
    if not ORGANISATION_ID.fullmatch(organisation_id):
        raise Invalid(
            "An organisation id is 1–100 letters, digits, dots, dashes or underscores (the accounts' organisation).",
            reason="organisation_id_format",
            details=[
                field_error(["path", "organisation_id"], "Not a valid organisation id.", "organisation_id_format")
            ],
        )
    municipalities.ensure_known(data.municipality_code, ["body", "municipality_code"])
    found = await repository.get_organisation(session, organisation_id)
    if found is None:
        found = Organisation(id=organisation_id, registered_by=user.sub, registered_at=utcnow())
        session.add(found)
    found.name, found.kind, found.municipality_code = data.name, data.kind, data.municipality_code
    await session.flush()
    return found


async def organisations(*, session: AsyncSession, user: User) -> Sequence[Organisation]:
    only = None if user.has_role(Role.admin, Role.coordinator, Role.analyst) else (user.organisation or "")
    return await repository.list_organisations(session, only=only)


async def forum_ids_of(session: AsyncSession, organisation_id: str) -> set[uuid.UUID]:
    return await repository.forum_ids_of(session, organisation_id)


def criteria_of(stored: dict[str, Any]) -> domain.Criteria:
    return domain.Criteria(
        min_age=stored.get("min_age"),
        max_age=stored.get("max_age"),
        require_able_to_work=stored.get("require_able_to_work", True),
        exclude_in_education=stored.get("exclude_in_education", True),
        exclude_placed=stored.get("exclude_placed", True),
        priority_groups=frozenset(stored.get("priority_groups", domain.PRIORITY_GROUPS)),
        scope=stored.get("scope", "agreement"),
    )


def _criteria_json(data: CriteriaIn, loc: tuple[str, ...] = ("body", "criteria")) -> dict[str, Any]:
    if data.min_age is not None and data.max_age is not None and data.min_age > data.max_age:
        raise Invalid(
            "The lowest age is above the highest.",
            reason="ages_reversed",
            details=[field_error([*loc, "min_age"], "Must not be above max_age.", "ages_reversed")],
        )
    stored = data.model_dump()
    stored["priority_groups"] = sorted(set(data.priority_groups))
    return stored


async def create_forum(*, session: AsyncSession, user: User, data: ForumCreate) -> Forum:
    codes = sorted(set(data.municipalities))
    for i, code in enumerate(codes):
        municipalities.ensure_known(code, ["body", "municipalities", i])
    if not access.coordinates(user, codes):
        raise Forbidden(
            "A forum is set up by an administrator or by a coordinator of every municipality in it.",
            reason="forum_not_coordinator",
        )
    now = utcnow()
    forum = Forum(
        id=uuid.uuid4(),
        name=data.name,
        municipalities=codes,
        criteria=_criteria_json(data.criteria),
        created_by=user.sub,
        created_at=now,
        criteria_changed_at=now,
    )
    session.add(forum)
    await session.flush()
    return forum


async def forum(*, session: AsyncSession, forum_id: uuid.UUID) -> Forum:
    found = await repository.get_forum(session, forum_id)
    if found is None:
        raise NotFound(f"No forum {forum_id}.", reason="no_forum")
    return found


async def set_criteria(*, session: AsyncSession, user: User, forum_id: uuid.UUID, data: CriteriaIn) -> Forum:
    found = await forum(session=session, forum_id=forum_id)
    if not access.coordinates(user, found.municipalities):
        raise Forbidden(
            "A forum's criteria are set by an administrator or a coordinator of all its municipalities.",
            reason="criteria_not_coordinator",
        )
    found.criteria = _criteria_json(data, ("body",))
    found.criteria_changed_at = utcnow()
    await session.flush()
    return found


async def join_forum(*, session: AsyncSession, user: User, forum_id: uuid.UUID, organisation_id: str) -> Forum:
    found = await forum(session=session, forum_id=forum_id)
    if not access.is_admin(user) and user.organisation != organisation_id:
        raise Forbidden("You can join a forum for your own organisation only.", reason="join_not_own_organisation")
    if await repository.get_organisation(session, organisation_id) is None:
        raise Conflict(
            "Register the organisation before it joins a forum.",
            reason="register_before_joining",
            details={"reason": "organisation_not_registered"},
        )
    if not await repository.is_member(session, forum_id, organisation_id):
        session.add(ForumMember(forum_id=forum_id, organisation_id=organisation_id, joined_at=utcnow()))
        await session.flush()
    return found


async def criteria_for(session: AsyncSession, o: Opportunity) -> domain.Criteria:
    """The forum's criteria; an opportunity from before forums existed gets the typical ones."""
    stored = (await repository.forum_criteria(session, [o.forum_id])).get(o.forum_id) if o.forum_id else None
    return criteria_of(stored) if stored is not None else domain.Criteria()
