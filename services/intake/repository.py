"""Every query intake runs."""

from __future__ import annotations

import time
import uuid
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, or_, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, selectinload

from services.intake.models import (
    AuditEntry,
    ConsentRecord,
    DuplicateCandidate,
    Household,
    Person,
    PovertyLine,
)

HOUSEHOLDS = cast(Table, Household.__table__)
PERSONS = cast(Table, Person.__table__)
CONSENTS = cast(Table, ConsentRecord.__table__)

# --- households and persons -----------------------------------------------------------------------------------


async def existing_jmbgs(session: AsyncSession, jmbgs: Iterable[str]) -> dict[str, tuple[uuid.UUID, str]]:
    """JMBG → (household id, its municipality), for those already registered."""
    wanted = list(jmbgs)
    if not wanted:
        return {}
    found: dict[str, tuple[uuid.UUID, str]] = {}
    for start in range(0, len(wanted), 500):
        rows = await session.execute(
            select(Person.jmbg, Person.household_id, Household.municipality_code)
            .join(Household, Household.id == Person.household_id)
            .where(Person.jmbg.in_(wanted[start : start + 500]))
        )
        found.update({jmbg: (household_id, code) for jmbg, household_id, code in rows if jmbg is not None})
    return found


async def get_household(
    session: AsyncSession, household_id: uuid.UUID, *, for_update: bool = False
) -> Household | None:
    query = select(Household).where(Household.id == household_id).options(selectinload(Household.members))
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def get_person(session: AsyncSession, person_id: uuid.UUID) -> Person | None:
    return await session.get(Person, person_id)


async def insert_households(
    session: AsyncSession, households: list[dict[str, Any]], persons: list[dict[str, Any]]
) -> None:
    """Insert with two Core executemany statements (no unit-of-work bookkeeping: registration and import are the
    hot paths)."""
    # Table-level inserts: the ORM-level bulk insert costs ~45 µs more per row for bookkeeping nobody needs here.
    conn = await session.connection()
    if households:
        await conn.execute(insert(HOUSEHOLDS), households)
    if persons:
        await conn.execute(insert(PERSONS), persons)


async def likely_duplicates(
    session: AsyncSession, keys: Iterable[tuple[str, str, date]]
) -> list[tuple[uuid.UUID, uuid.UUID, str, str, date, str]]:
    """Persons already registered with one of the (family key, given key, birth date) triples.

    Returns (person id, household id, family key, given key, birth date, municipality) rows.
    """
    wanted = {(f, g, b) for f, g, b in keys}
    if not wanted:
        return []
    # Family keys IN … AND birth dates IN …: the composite index answers it, the statement's shape does not depend
    # on the values (compiled once), and the few cross-product rows that are not wanted are dropped below.
    families = sorted({f for f, _, _ in wanted})
    dates = sorted({b for _, _, b in wanted})
    found: list[Any] = []
    conn = await session.connection()
    for start in range(0, len(families), 200):
        rows = await conn.execute(_LIKELY_DUPLICATES, {"families": families[start : start + 200], "dates": dates})
        for pid, hid, family, given, born, code in rows:
            if (family, given, born) in wanted:
                found.append((pid, hid, family, given, born, code))
    return found


_LIKELY_DUPLICATES = (
    select(
        Person.id,
        Person.household_id,
        Person.family_key,
        Person.given_key,
        Person.birth_date,
        Household.municipality_code,
    )
    .join(Household, Household.id == Person.household_id)
    .where(
        Person.family_key.in_(bindparam("families", expanding=True)),
        Person.birth_date.in_(bindparam("dates", expanding=True)),
        Person.erased_at.is_(None),
    )
)


async def search_households(
    session: AsyncSession,
    *,
    tokens: list[str],
    jmbg: str | None,
    municipalities: Sequence[str] | None,
    municipality: str | None,
    limit: int,
    offset: int,
) -> tuple[int, list[Household]]:
    """Households with a member whose folded names start with every token (any order), or with that JMBG."""
    matching = select(Person.household_id).where(Person.erased_at.is_(None))
    if jmbg:
        matching = matching.where(Person.jmbg == jmbg)
    for token in tokens:
        # A leading space anchors the token at the start of a word of either name (double surnames too).
        matching = matching.where(Person.search_words.contains(f" {token}", autoescape=True))
    query = select(Household).where(Household.merged_into.is_(None))
    if tokens or jmbg:
        query = query.where(Household.id.in_(matching))
    if municipalities is not None:
        query = query.where(Household.municipality_code.in_(list(municipalities)))
    if municipality:
        query = query.where(Household.municipality_code == municipality)
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    page = await session.execute(
        query.options(selectinload(Household.members))
        .order_by(Household.registered_at.desc(), Household.id)
        .limit(limit)
        .offset(offset)
    )
    return total, list(page.scalars().all())


async def all_households_for_poverty(session: AsyncSession) -> list[Household]:
    rows = await session.execute(
        select(Household).where(Household.merged_into.is_(None)).options(selectinload(Household.members))
    )
    return list(rows.scalars().all())


async def set_case(session: AsyncSession, household_id: uuid.UUID, *, case_id: uuid.UUID, status: str) -> None:
    # A table-level update: runs for every case cases opens, and no ORM object needs synchronising here.
    conn = await session.connection()
    await conn.execute(_SET_CASE, {"household_id": household_id, "case_id": case_id, "case_status": status})


_SET_CASE = (
    update(HOUSEHOLDS)
    .where(HOUSEHOLDS.c.id == bindparam("household_id"))
    .values(case_id=bindparam("case_id"), case_status=bindparam("case_status"))
)


# --- poverty lines --------------------------------------------------------------------------------------------


async def poverty_lines(session: AsyncSession) -> dict[int, float]:
    conn = await session.connection()
    rows = await conn.execute(select(PovertyLine.year, PovertyLine.amount))
    return {year: amount for year, amount in rows}


# Poverty lines change a few times a year; a registration reads them every time. Each engine (one database) keeps
# them in memory: ``upsert_poverty_line`` drops the copy when its transaction commits, and a copy older than the TTL
# is read again, which bounds what another process writing the same database (a second replica) can leave stale.
POVERTY_LINES_TTL_S = 1.0


@dataclass
class _PovertyLinesCopy:
    lines: dict[int, float] | None = None
    loaded_at: float = 0.0
    generation: int = 0  # bumped by every change: a read that started before one is not kept


_poverty_copies: weakref.WeakKeyDictionary[Any, _PovertyLinesCopy] = weakref.WeakKeyDictionary()


def _poverty_copy(session: AsyncSession) -> _PovertyLinesCopy:
    engine = session.get_bind()
    copy = _poverty_copies.get(engine)
    if copy is None:
        copy = _poverty_copies[engine] = _PovertyLinesCopy()
    return copy


async def current_poverty_lines(session: AsyncSession) -> dict[int, float]:
    """The poverty lines per year, from memory when read less than ``POVERTY_LINES_TTL_S`` ago (a copy: callers
    may keep it). Not for a transaction that changes them: that one reads ``poverty_lines``."""
    copy = _poverty_copy(session)
    if copy.lines is not None and time.monotonic() - copy.loaded_at < POVERTY_LINES_TTL_S:
        return dict(copy.lines)
    generation, started = copy.generation, time.monotonic()
    lines = await poverty_lines(session)
    if copy.generation == generation:
        copy.lines, copy.loaded_at = dict(lines), started
    return lines


def _forget_poverty_lines_on_commit(session: AsyncSession) -> None:
    copy = _poverty_copy(session)
    copy.generation += 1
    copy.lines = None

    def forget(_session: Session) -> None:
        copy.generation += 1
        copy.lines = None

    # Dropped again once the change is visible, so no read that raced with the transaction survives it.
    sa_event.listen(session.sync_session, "after_commit", forget, once=True)


async def list_poverty_lines(session: AsyncSession) -> list[PovertyLine]:
    return list((await session.execute(select(PovertyLine).order_by(PovertyLine.year.desc()))).scalars().all())


async def upsert_poverty_line(session: AsyncSession, *, year: int, amount: float, by: str, at: datetime) -> PovertyLine:
    line = await session.get(PovertyLine, year)
    if line is None:
        line = PovertyLine(year=year, amount=amount, set_by=by, set_at=at)
        session.add(line)
    else:
        line.amount, line.set_by, line.set_at = amount, by, at
    await session.flush()
    _forget_poverty_lines_on_commit(session)
    return line


# --- consent, audit, duplicates -------------------------------------------------------------------------------


def add_consent_records(session: AsyncSession, records: list[ConsentRecord]) -> None:
    session.add_all(records)


async def insert_consent_records(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await (await session.connection()).execute(insert(CONSENTS), rows)


async def write_audit(session: AsyncSession, entries: list[dict[str, Any]]) -> None:
    if entries:
        await session.execute(insert(AuditEntry), entries)


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Which rows of the audit log to show: of one record, of one actor, in a time range; newest first."""

    record_id: uuid.UUID | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    offset: int = 0


async def query_audit(
    session: AsyncSession, *, municipalities: Sequence[str] | None, wanted: AuditQuery
) -> list[AuditEntry]:
    query = select(AuditEntry)
    if municipalities is not None:
        query = query.where(AuditEntry.municipality_code.in_(list(municipalities)))
    if wanted.record_id is not None:
        query = query.where(AuditEntry.record_id == wanted.record_id)
    if wanted.actor:
        query = query.where(AuditEntry.actor == wanted.actor)
    if wanted.since is not None:
        query = query.where(AuditEntry.at >= wanted.since)
    if wanted.until is not None:
        query = query.where(AuditEntry.at < wanted.until)
    rows = await session.execute(query.order_by(AuditEntry.id.desc()).limit(wanted.limit).offset(wanted.offset))
    return list(rows.scalars().all())


async def insert_duplicates(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(DuplicateCandidate), rows)


async def open_duplicates(
    session: AsyncSession, *, municipalities: Sequence[str] | None, limit: int, offset: int
) -> list[DuplicateCandidate]:
    """Open pairs, oldest first; with ``municipalities``, those where either person's household is in them."""
    query = select(DuplicateCandidate).where(DuplicateCandidate.status == "open")
    if municipalities is not None:
        codes = list(municipalities)
        in_scope = (
            select(Person.id)
            .join(Household, Household.id == Person.household_id)
            .where(Household.municipality_code.in_(codes))
        )
        query = query.where(
            or_(DuplicateCandidate.person_id.in_(in_scope), DuplicateCandidate.other_person_id.in_(in_scope))
        )
    rows = await session.execute(
        query.order_by(DuplicateCandidate.detected_at, DuplicateCandidate.id).limit(limit).offset(offset)
    )
    return list(rows.scalars().all())


async def get_duplicate(session: AsyncSession, duplicate_id: uuid.UUID) -> DuplicateCandidate | None:
    return await session.get(DuplicateCandidate, duplicate_id)


async def open_duplicate_count(session: AsyncSession, person_ids: Sequence[uuid.UUID]) -> int:
    if not person_ids:
        return 0
    ids = list(person_ids)
    query = select(func.count()).where(
        DuplicateCandidate.status == "open",
        or_(DuplicateCandidate.person_id.in_(ids), DuplicateCandidate.other_person_id.in_(ids)),
    )
    return int((await session.execute(query)).scalar_one())


async def close_duplicates_of(
    session: AsyncSession, person_id: uuid.UUID, *, status: str, by: str, at: datetime
) -> None:
    """Every open pair that involves ``person_id`` is settled (the person was merged away or erased)."""
    await session.execute(
        update(DuplicateCandidate)
        .where(
            DuplicateCandidate.status == "open",
            or_(DuplicateCandidate.person_id == person_id, DuplicateCandidate.other_person_id == person_id),
        )
        .values(status=status, resolved_by=by, resolved_at=at)
    )


async def household_municipalities(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = await session.execute(select(Household.id, Household.municipality_code).where(Household.id.in_(wanted)))
    return {hid: code for hid, code in rows}


async def persons_by_ids(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Person]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = await session.execute(select(Person).where(Person.id.in_(wanted)))
    return {p.id: p for p in rows.scalars().all()}


async def set_case_status(session: AsyncSession, household_id: uuid.UUID, *, case_id: uuid.UUID, status: str) -> None:
    """A later state of the household's current case; events about an older case (before a transfer) change
    nothing."""
    await session.execute(
        update(HOUSEHOLDS)
        .where(HOUSEHOLDS.c.id == household_id, HOUSEHOLDS.c.case_id == case_id)
        .values(case_status=status)
    )
