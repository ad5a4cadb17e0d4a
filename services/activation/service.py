"""Activation's use cases: organisations and forums, opportunities, matching, shortlists and the fairness report.
Placements are in placements.py, candidates (fed by events) in candidates.py."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.activation import access, domain, matching, repository
from services.activation.domain import OpportunityStatus, PlacementStatus
from services.activation.models import Candidate, Forum, ForumMember, MatchingRun, Opportunity, Organisation, Placement
from services.activation.schemas import CriteriaIn, ForumCreate, OpportunityCreate, OrganisationIn
from shared.auth import Role, User
from shared.db import unit_of_work, utcnow
from shared.disclosure import SUPPRESSED, is_small
from shared.errors import Conflict, Forbidden, Invalid, NotFound, field_error
from shared.events import MatchProposedV1, OpportunityClosedV1, OpportunityPublishedV1
from shared.messaging.outbox import OutboxWriter
from shared.reference import municipalities, skills

log = structlog.get_logger(__name__)
ORGANISATION_ID = re.compile(r"[A-Za-z0-9._-]{1,100}")

# --- organisations and forums ---------------------------------------------------------------------------------


def _known_municipality(code: str, loc: list[str | int]) -> None:
    if not municipalities.is_known(code):
        raise Invalid(
            f"Unknown municipality code {code}.",
            reason="unknown_municipality",
            params={"code": code},
            details=[field_error(loc, "unknown municipality code", "unknown_municipality", params={"code": code})],
        )


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
    _known_municipality(data.municipality_code, ["body", "municipality_code"])
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
        _known_municipality(code, ["body", "municipalities", i])
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


# --- opportunities --------------------------------------------------------------------------------------------


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
    _known_municipality(data.municipality_code, ["body", "municipality_code"])
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


# --- matching -------------------------------------------------------------------------------------------------


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


async def _criteria_for(session: AsyncSession, o: Opportunity) -> domain.Criteria:
    """The forum's criteria; an opportunity from before forums existed gets the typical ones."""
    stored = (await repository.forum_criteria(session, [o.forum_id])).get(o.forum_id) if o.forum_id else None
    return criteria_of(stored) if stored is not None else domain.Criteria()


@dataclass(frozen=True, slots=True)
class Match:
    rank: int
    code: str
    ranked: domain.Ranked
    candidate: Candidate | None  # the stored row, only for a user who acts for the candidate
    placement: Placement | None


@dataclass(frozen=True, slots=True)
class Shortlist:
    opportunity: Opportunity
    eligible: int
    matches: list[Match]
    computed_in_ms: float
    criteria: domain.Criteria = field(default_factory=domain.Criteria)


async def shortlist(*, session: AsyncSession, user: User, opportunity_id: uuid.UUID, limit: int) -> Shortlist:
    """The ranked top of one opportunity, computed now, each with its explanation."""
    started = time.perf_counter()
    found = await opportunity(session=session, user=user, opportunity_id=opportunity_id)
    if Role.employer in user.roles and not access.is_admin(user):
        access.require_owner(user, found)
    criteria = await _criteria_for(session, found)
    on = date.today()
    geo = await geography(session, on)
    reach = geo.municipalities_reaching(found.municipality_code, criteria.scope)
    pool = await repository.candidate_pool(session, municipalities=reach)
    ranked, eligible = matching.rank(pool, as_domain(found), criteria, geo, on=on, limit=limit)
    ids = [uuid.UUID(r.candidate.person_id) for r in ranked]
    rows = {c.person_id: c for c in await _candidates(session, ids)}
    live = {
        p.person_id: p
        for p in await repository.placements_of(session, [found.id])
        if p.status != PlacementStatus.declined
    }
    matches = []
    for i, r in enumerate(ranked, start=1):
        person = uuid.UUID(r.candidate.person_id)
        row = rows.get(person)
        mine = row is not None and access.acts_for_candidates_of(user, row.municipality_code)
        matches.append(
            Match(
                rank=i,
                code=access.candidate_code(found.id, person),
                ranked=r,
                candidate=row if mine else None,
                placement=live.get(person),
            )
        )
    return Shortlist(found, eligible, matches, round((time.perf_counter() - started) * 1000, 1), criteria)


async def _candidates(session: AsyncSession, ids: list[uuid.UUID]) -> Sequence[Candidate]:
    return await repository.candidates_by_id(session, ids)


async def visible_candidate(session: AsyncSession, user: User, person_id: uuid.UUID) -> Candidate:
    found = await repository.get_candidate(session, person_id)
    if found is None or not access.acts_for_candidates_of(user, found.municipality_code):
        raise NotFound(f"No candidate {person_id}.", reason="no_candidate")
    return found


async def candidates(
    *, session: AsyncSession, user: User, municipality_code: str | None, limit: int, offset: int
) -> Sequence[Candidate]:
    if not user.has_role(Role.admin, Role.case_worker, Role.supervisor):
        raise Forbidden(
            "Candidates are seen by case workers and supervisors of their municipality.", reason="candidates_staff_only"
        )
    codes: list[str] | None = None if access.is_admin(user) else sorted(user.municipalities)
    if municipality_code is not None:
        if codes is not None and municipality_code not in codes:
            return []
        codes = [municipality_code]
    return await repository.list_candidates(session, municipalities=codes, limit=limit, offset=offset)


@dataclass(frozen=True, slots=True)
class OpportunityMatch:
    opportunity: Opportunity
    ranked: domain.Ranked


async def best_opportunities(
    *, session: AsyncSession, user: User, person_id: uuid.UUID, limit: int
) -> tuple[Candidate, list[OpportunityMatch]]:
    """The published opportunities the candidate is eligible for, best score first (ties: the opportunity id)."""
    found = await visible_candidate(session, user, person_id)
    if not found.active:
        return found, []
    candidate = repository.as_domain(found)
    on = date.today()
    geo = await geography(session, on)
    published = await repository.list_opportunities(session, status=OpportunityStatus.published)
    criteria = {
        k: criteria_of(v)
        for k, v in (await repository.forum_criteria(session, [o.forum_id for o in published if o.forum_id])).items()
    }
    found_matches = []
    for o in published:
        crit = criteria.get(o.forum_id, domain.Criteria()) if o.forum_id else domain.Criteria()
        target = as_domain(o)
        checks = domain.eligibility(candidate, target, crit, reachable=geo.reachable, on=on)
        if not all(c.met for c in checks):
            continue
        parts = domain.score(candidate, target, crit, distance_km=geo.distance_km, on=on)
        found_matches.append(OpportunityMatch(o, domain.Ranked(candidate, domain.total(parts), parts, tuple(checks))))
    found_matches.sort(key=lambda m: (-m.ranked.score, str(m.opportunity.id)))
    return found, found_matches[:limit]


async def propose(
    *, session: AsyncSession, outbox: OutboxWriter, user: User, opportunity_id: uuid.UUID, person_id: uuid.UUID
) -> Placement:
    """A case worker proposes their candidate: the candidate must be eligible now, and not already proposed."""
    found = await opportunity(session=session, user=user, opportunity_id=opportunity_id)
    candidate = await visible_candidate(session, user, person_id)
    await repository.get_opportunity(session, found.id, lock=True)  # proposals for one opportunity, one at a time
    if found.status != OpportunityStatus.published:
        raise Conflict(
            "This opportunity is closed.", reason="opportunity_closed", details={"reason": "opportunity_closed"}
        )
    if not candidate.active:
        raise Conflict(
            "The candidate's consent to activation is withdrawn.",
            reason="consent_withdrawn",
            details={"reason": "consent_withdrawn"},
        )
    if await repository.live_placement(session, found.id, person_id) is not None:
        raise Conflict(
            "This candidate is already proposed for this opportunity.",
            reason="already_proposed",
            details={"reason": "already_proposed"},
        )
    criteria = await _criteria_for(session, found)
    on = date.today()
    geo = await geography(session, on)
    profile, target = repository.as_domain(candidate), as_domain(found)
    checks = domain.eligibility(profile, target, criteria, reachable=geo.reachable, on=on)
    missed = [c for c in checks if not c.met]
    if missed:
        raise Conflict(
            "The candidate does not meet the forum's criteria: " + "; ".join(c.detail for c in missed) + ".",
            reason="not_eligible",
            params={"missed": [c.criterion for c in missed]},
            details={"reason": "not_eligible", "missed": [c.criterion for c in missed]},
        )
    score = domain.total(domain.score(profile, target, criteria, distance_km=geo.distance_km, on=on))
    now = utcnow()
    placement = Placement(
        id=uuid.uuid4(),
        opportunity_id=found.id,
        person_id=person_id,
        case_id=candidate.case_id,
        candidate_municipality_code=candidate.municipality_code,
        status=PlacementStatus.proposed,
        score=score,
        rank=await repository.shortlist_rank(session, found.id, person_id),
        woman=candidate.sex == "F",
        roma="roma" in candidate.markers,
        disability="disability" in candidate.markers,
        employer_accepted=False,
        candidate_accepted=False,
        hours_total=0,
        proposed_by=user.sub,
        proposed_at=now,
    )
    session.add(placement)
    await session.flush()
    await outbox.add(
        session,
        MatchProposedV1(
            placement_id=placement.id,
            opportunity_id=found.id,
            person_id=person_id,
            case_id=candidate.case_id,
            municipality_code=candidate.municipality_code,
            opportunity_municipality_code=found.municipality_code,
            opportunity_type=found.type,
            score=score,
            rank=placement.rank,
            proposed_at=now,
        ),
    )
    return placement


async def placements_for(*, session: AsyncSession, user: User, opportunity_id: uuid.UUID) -> Sequence[Placement]:
    found = await opportunity(session=session, user=user, opportunity_id=opportunity_id)
    rows = await repository.placements_of(session, [found.id])
    if access.owns(user, found):
        return rows
    return [p for p in rows if access.acts_for_candidates_of(user, p.candidate_municipality_code)]


async def placements_of_candidate(*, session: AsyncSession, user: User, person_id: uuid.UUID) -> Sequence[Placement]:
    await visible_candidate(session, user, person_id)
    return await repository.placements_of_person(session, person_id)


# --- all shortlists at once -----------------------------------------------------------------------------------

SHORTLIST_SIZE = 50


async def recompute_shortlists(
    sessions: async_sessionmaker[AsyncSession], *, size: int = SHORTLIST_SIZE, on: date | None = None
) -> MatchingRun:
    """Every published opportunity's top ``size``, stored. Built not to stall the service: the candidates are read
    in short transactions of ``READ_CHUNK`` rows, the ranking runs in a worker thread outside any transaction, and
    only the entries that changed are written, a few opportunities per transaction. A candidate that changes
    meanwhile makes the shortlists stale again, so the next round picks it up."""
    async with _recompute_lock:  # one at a time in this process (the writes also lock across processes)
        return await _recompute(sessions, size=size, on=on)


_recompute_lock = asyncio.Lock()


async def _recompute(sessions: async_sessionmaker[AsyncSession], *, size: int, on: date | None) -> MatchingRun:
    started = utcnow()
    on = on or date.today()
    async with unit_of_work(sessions) as session:
        published = list(await repository.list_opportunities(session, status=OpportunityStatus.published))
        stored = await repository.forum_criteria(session, [o.forum_id for o in published if o.forum_id])
        geo = await geography(session, on)
        before = await repository.shortlist_digests(session)
    rows = await _candidate_rows(sessions)
    pool = await asyncio.to_thread(matching.Pool.from_rows, rows)
    forums = {k: criteria_of(v) for k, v in stored.items()}
    targets = [
        (o.id, as_domain(o), forums.get(o.forum_id, domain.Criteria()) if o.forum_id else domain.Criteria())
        for o in published
    ]
    after = await asyncio.to_thread(_rank_all, pool, targets, geo, on, size)
    written = await _write_changes(sessions, before, after, {o.id for o in published})
    async with unit_of_work(sessions) as session:
        run = MatchingRun(
            started_at=started,
            finished_at=utcnow(),
            candidates=len(pool),
            opportunities=len(published),
            entries=sum(len(v) for v in after.values()),
        )
        session.add(run)
        await session.flush()
    log.info("shortlists.recomputed", candidates=run.candidates, opportunities=run.opportunities, changed=written)
    return run


# Rows per transaction: on SQLite a query runs on the event loop, so each chunk is a pause of some 50 ms for the
# service's requests and consumer, with their turn in between.
READ_CHUNK = 5_000
WRITE_CHUNK = 1_500

Entries = dict[uuid.UUID, list[tuple[uuid.UUID, int, float]]]  # opportunity → [(person, rank, score)]


def digest(entries: list[tuple[uuid.UUID, int, float]]) -> str:
    text = ";".join(f"{person.hex}:{rank}:{score!r}" for person, rank, score in entries)
    return hashlib.sha256(text.encode()).hexdigest()


async def _candidate_rows(sessions: async_sessionmaker[AsyncSession]) -> list[matching.RawCandidate]:
    rows: list[matching.RawCandidate] = []
    after: uuid.UUID | None = None
    while True:
        async with unit_of_work(sessions) as session:
            chunk = await repository.candidate_rows(session, after=after, limit=READ_CHUNK)
        rows.extend(chunk)
        if len(chunk) < READ_CHUNK:
            return rows
        after = uuid.UUID(chunk[-1].person_id)
        await asyncio.sleep(0)  # let requests and the consumer in between chunks


def _rank_all(
    pool: matching.Pool,
    targets: list[tuple[uuid.UUID, domain.Opportunity, domain.Criteria]],
    geo: matching.Geography,
    on: date,
    size: int,
) -> Entries:
    vectors: dict[tuple[str, str], Any] = {}
    found: Entries = {}
    for opportunity_id, target, crit in targets:
        key = (target.municipality_code, crit.scope)
        if key not in vectors:
            vectors[key] = geo.vectors(target.municipality_code, crit.scope)
        evaluation = matching.evaluate(pool, target, crit, geo, on=on, vectors=vectors[key])
        found[opportunity_id] = [
            (uuid.UUID(pool.person_ids[row]), rank, score)
            for rank, (row, score) in enumerate(matching.top(evaluation, pool, size), start=1)
        ]
    return found


async def _write_changes(
    sessions: async_sessionmaker[AsyncSession], before: dict[uuid.UUID, str], after: Entries, published: set[uuid.UUID]
) -> int:
    """Replace the entries of the opportunities whose shortlist changed (closed ones keep theirs), with their
    digests, a few opportunities per transaction."""
    digests = {o: digest(after.get(o, [])) for o in published}
    changed = [o for o in published if before.get(o) != digests[o]]
    batch: list[uuid.UUID] = []
    count = 0

    async def flush() -> None:
        async with unit_of_work(sessions) as session:
            # Someone erased or withdrawn while the ranking ran stays off: only candidates active now are written
            # (the changed candidate makes the shortlists stale, and the next round fills the place).
            persons = {p for o in batch for p, _, _ in after.get(o, [])}
            active = await repository.active_among(session, persons)
            rows = [
                {"opportunity_id": o, "person_id": p, "rank": rank, "score": score}
                for o in batch
                for p, rank, score in after.get(o, [])
                if p in active
            ]
            await repository.replace_shortlists(session, batch, rows, {o: digests[o] for o in batch})
        batch.clear()
        await asyncio.sleep(0)

    for opportunity_id in changed:
        batch.append(opportunity_id)
        count += len(after.get(opportunity_id, {}))
        if count >= WRITE_CHUNK:
            await flush()
            count = 0
    if batch:
        await flush()
    return len(changed)


async def shortlists_stale(session: AsyncSession) -> bool:
    """Candidates, opportunities, a forum's criteria, an agreement or a person's mark (erasure, withdrawal,
    merge) changed since the last run started, or it ran on an earlier day."""
    last = await repository.last_run(session)
    since: datetime | None = last.started_at if last is not None else None
    if since is not None and since.astimezone().date() < date.today():
        return True  # ages, months unemployed and agreements' validity are as of the day
    return await repository.inputs_changed_since(session, since)


# --- fairness -------------------------------------------------------------------------------------------------

STAGES = ("eligible", "shortlisted", "proposed", "placed")
GROUPS = ("women", "roma", "disability")
PLACED = (PlacementStatus.started, PlacementStatus.completed, PlacementStatus.ended)


@dataclass
class Tally:
    """Per stage: how many candidates, and how many of each group."""

    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))
    groups: dict[str, dict[str, int]] = field(default_factory=lambda: {g: dict.fromkeys(STAGES, 0) for g in GROUPS})

    def add(self, stage: str, woman: bool, roma: bool, disability: bool, n: int = 1) -> None:
        self.totals[stage] += n
        for group, member in (("women", woman), ("roma", roma), ("disability", disability)):
            if member:
                self.groups[group][stage] += n

    def report(self) -> dict[str, Any]:
        groups = []
        for group in GROUPS:
            share = domain.GroupShare(group, {s: (self.groups[group][s], self.totals[s]) for s in STAGES})
            groups.append(
                {
                    "group": group,
                    "stages": {
                        s: {"count": self.groups[group][s], "total": self.totals[s], "share": _pct(share.share(s))}
                        for s in STAGES
                    },
                    "disparity": {s: share.disparity(s) for s in STAGES[1:]},
                }
            )
        placed, women = self.totals["placed"], self.groups["women"]["placed"]
        return {
            "totals": dict(self.totals),
            "groups": groups,
            "women_target": domain.WOMEN_TARGET,
            "women_under_target": domain.women_under_target(women, placed),
        }


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


async def fairness(
    *, session: AsyncSession, user: User, forum_id: uuid.UUID, opportunity_id: uuid.UUID | None = None
) -> dict[str, Any]:
    """Shares of women, Roma and persons with disability among the eligible, shortlisted, proposed and placed
    candidates of the forum's opportunities (or of one), with the disparity against the eligible."""
    found = await forum(session=session, forum_id=forum_id)
    if not access.may_see_forum_figures(user, found):
        raise Forbidden(
            "The fairness report is for the forum's coordinators, supervisors and analysts.",
            reason="fairness_not_allowed",
        )
    opps = list(await repository.list_opportunities(session, forum_id=found.id))
    if opportunity_id is not None:
        opps = [o for o in opps if o.id == opportunity_id]
        if not opps:
            raise NotFound(f"No opportunity {opportunity_id} in this forum.", reason="opportunity_not_in_forum")
    on = date.today()
    # The base is everyone the forum's criteria admit, placed or not: a placed candidate stays in the funnel that
    # led to their placement (with "not placed" applied, every placement would shrink its own base).
    crit = dataclasses.replace(criteria_of(found.criteria), exclude_placed=False)
    geo = await geography(session, on)
    reach = sorted({c for o in opps for c in geo.municipalities_reaching(o.municipality_code, crit.scope)})
    pool = await repository.candidate_pool(session, municipalities=reach) if reach else matching.Pool.of([])
    forum_tally, per_opportunity = Tally(), {o.id: Tally() for o in opps}
    eligible_anywhere: set[int] = set()
    for o in opps:
        rows = matching.evaluate(pool, as_domain(o), crit, geo, on=on).rows
        eligible_anywhere.update(int(r) for r in rows)
        tally = per_opportunity[o.id]
        tally.totals["eligible"] = len(rows)
        tally.groups["women"]["eligible"] = int(pool.woman[rows].sum())
        tally.groups["roma"]["eligible"] = int(pool.roma[rows].sum())
        tally.groups["disability"]["eligible"] = int(pool.disability[rows].sum())
    for r in eligible_anywhere:
        forum_tally.add("eligible", bool(pool.woman[r]), bool(pool.roma[r]), bool(pool.disability[r]))
    seen: set[uuid.UUID] = set()
    for opportunity_key, row in await repository.shortlisted(session, [o.id for o in opps]):
        flags = (row.sex == "F", "roma" in row.markers, "disability" in row.markers)
        per_opportunity[opportunity_key].add("shortlisted", *flags)
        if row.person_id not in seen:
            seen.add(row.person_id)
            forum_tally.add("shortlisted", *flags)
    for stage, statuses in (("proposed", None), ("placed", PLACED)):
        counted: set[uuid.UUID] = set()
        counted_in: set[tuple[uuid.UUID, uuid.UUID]] = set()
        for p in await repository.placements_of(session, [o.id for o in opps]):
            if statuses is not None and p.status not in statuses:
                continue
            if (p.opportunity_id, p.person_id) not in counted_in:  # persons, not proposals: one declined twice
                counted_in.add((p.opportunity_id, p.person_id))
                per_opportunity[p.opportunity_id].add(stage, p.woman, p.roma, p.disability)
            if p.person_id not in counted:
                counted.add(p.person_id)
                forum_tally.add(stage, p.woman, p.roma, p.disability)
    last = await repository.last_run(session)
    report = {
        "forum_id": str(found.id),
        "forum": found.name,
        "computed_at": utcnow().isoformat(),
        "shortlists_computed_at": last.finished_at.isoformat() if last else None,
        "suppressed": False,
        **forum_tally.report(),
        "opportunities": [
            {"opportunity_id": str(o.id), "title": o.title, "status": o.status, **per_opportunity[o.id].report()}
            for o in opps
        ],
    }
    if not user.has_role(Role.admin, Role.coordinator, Role.supervisor):
        _suppress_small_cells(report)
    return report


def _suppress_small_cells(report: dict[str, Any]) -> None:
    """For analysts: a group's count under 5 (not 0) is "<5", and its share and ratio, which would give it away,
    are left out. Coordinators and supervisors run the forum and see the counts."""
    report["suppressed"] = True
    for part in (report, *report["opportunities"]):
        for group in part["groups"]:
            for stage, cell in group["stages"].items():
                if is_small(cell["count"]):
                    cell["count"], cell["share"] = SUPPRESSED, None
                    if stage in group["disparity"]:
                        group["disparity"][stage] = None
                    if stage == "eligible":  # every ratio of the group is relative to this share
                        group["disparity"] = dict.fromkeys(group["disparity"])
