"""Who may do what in activation. Employers act only for their own organisation and never see who a candidate
is; case workers and supervisors act for the candidates of their municipalities; forum coordinators run the
forums of theirs; administrators do all of it."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Iterable, Mapping

from services.activation import domain
from services.activation.models import Forum, Opportunity
from shared.auth import Role, User
from shared.errors import Forbidden, NotFound


def is_admin(user: User) -> bool:
    return Role.admin in user.roles


def owns(user: User, opportunity: Opportunity) -> bool:
    """The employer whose organisation posted it (or an administrator)."""
    if is_admin(user):
        return True
    return (
        Role.employer in user.roles and user.organisation is not None and user.organisation == opportunity.organisation
    )


def acts_for_candidates_of(user: User, municipality_code: str) -> bool:
    """Case workers and supervisors of the candidate's municipality propose them and record their answers."""
    if is_admin(user):
        return True
    return user.has_role(Role.case_worker, Role.supervisor) and municipality_code in user.municipalities


def coordinates(user: User, municipalities: Iterable[str]) -> bool:
    """A forum is run by an administrator or a coordinator of every municipality in it."""
    codes = set(municipalities)
    return is_admin(user) or (Role.coordinator in user.roles and codes <= user.municipalities)


def may_see_forum_figures(user: User, forum: Forum) -> bool:
    """The fairness report: aggregate figures for coordinators, supervisors and analysts of the forum's area."""
    if is_admin(user) or Role.analyst in user.roles:
        return True
    return user.has_role(Role.coordinator, Role.supervisor) and bool(set(forum.municipalities) & user.municipalities)


def may_see_opportunity(user: User, opportunity: Opportunity) -> bool:
    """Employers see their own organisation's opportunities only; staff see all of them (none holds personal
    data)."""
    if Role.employer in user.roles and not user.has_role(
        Role.admin, Role.case_worker, Role.supervisor, Role.coordinator, Role.analyst
    ):
        return owns(user, opportunity)
    return True


def visible_opportunity(user: User, opportunity: Opportunity | None, opportunity_id: uuid.UUID) -> Opportunity:
    if opportunity is None or not may_see_opportunity(user, opportunity):
        raise NotFound(f"No opportunity {opportunity_id}.", reason="no_opportunity")
    return opportunity


def require_owner(user: User, opportunity: Opportunity) -> None:
    if not owns(user, opportunity):
        raise Forbidden("Only the organisation that posted this opportunity can do that.", reason="not_owner")


def employer_only(user: User) -> bool:
    """An employer with no staff role: sees codes instead of people, and only their own organisation."""
    return Role.employer in user.roles and not user.has_role(
        Role.admin, Role.case_worker, Role.supervisor, Role.coordinator
    )


def visible_members(user: User, members: list[str]) -> list[str]:
    """A forum's member organisations: an employer sees only their own (as with ``GET /organisations``)."""
    return [m for m in members if m == user.organisation] if employer_only(user) else members


# What an employer's explanation shows of the score: the parts about the work (skills, distance, availability),
# not the priority or time-unemployed points, nor the total they would follow from: a forum may count a single
# priority group, and those points would tell who is Roma or has a disability. The rank orders them.
EMPLOYER_PARTS: Mapping[str, float] = {
    "skills": domain.WEIGHTS["skills"],
    "distance": domain.WEIGHTS["distance"],
    "availability": domain.WEIGHTS["availability"],
}
# Checks an employer sees without their detail, or not at all (the accessibility check would tell them the person
# has a disability).
PRIVATE_CHECKS = frozenset({"accessible"})


def employer_breakdown(parts: Mapping[str, float]) -> dict[str, float]:
    return {name: parts[name] for name in EMPLOYER_PARTS}


def candidate_code(opportunity_id: uuid.UUID, person_id: uuid.UUID) -> str:
    """What an employer sees instead of a person: a code that differs per opportunity, so an employer cannot
    follow one person across opportunities; an employer holds no person ids to compare it with."""
    digest = hashlib.sha256(b"oslonac-candidate:" + opportunity_id.bytes + person_id.bytes).digest()
    return "K-" + base64.b32encode(digest[:5]).decode().rstrip("=")
