"""The shortlists: an opportunity's ranking computed live, each candidate with their explanation, and every
published opportunity's top computed in the background and stored (for the fairness report and the feeds).

The other use cases are in the modules named for them: ``forums`` (organisations, forums, criteria),
``opportunities``, ``proposals`` (a candidate's best opportunities, proposing), ``placements``, ``candidates``
(fed by events) and ``fairness``."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.activation import access, domain, matching, repository
from services.activation.domain import OpportunityStatus, PlacementStatus
from services.activation.forums import criteria_for, criteria_of
from services.activation.geography import geography
from services.activation.models import Candidate, MatchingRun, Opportunity, Placement
from services.activation.opportunities import as_domain, opportunity
from shared.auth import Role, User
from shared.db import unit_of_work, utcnow

log = structlog.get_logger(__name__)


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
    criteria = await criteria_for(session, found)
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
