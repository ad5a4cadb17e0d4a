"""A household as rows and events: the rows a registration or an import inserts (plain dicts: the hot paths), the
poverty fields recomputed, the likely duplicates queued, and the events that announce a household's state.
Registration (``service``) and the bulk import (``importing``) both build households here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import domain, repository
from services.intake.models import Household, Person
from services.intake.schemas import HouseholdCreate, PersonCreate
from shared.db import utcnow
from shared.errors import field_error
from shared.events import HouseholdRegisteredV2, HouseholdUpdatedV1, MemberProfile
from shared.events.intake import UpdateReason
from shared.ids import random_uuid
from shared.messaging.outbox import OutboxWriter
from shared.script import fold, fold_words


def member_problems(members: Sequence[PersonCreate], loc: list[str | int]) -> tuple[list[dict[str, Any]], list[str]]:
    """JMBG problems of a household's members (check digit, date, sex, repeated), and the valid JMBGs."""
    problems: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, member in enumerate(members):
        if member.jmbg is None:
            continue
        problem = domain.check_jmbg(member.jmbg, birth_date=member.birth_date, sex=member.sex)
        if problem is not None:
            problems.append(
                field_error([*loc, i, "jmbg"], problem.message, f"jmbg_{problem.code}", params=dict(problem.params))
            )
        elif member.jmbg in seen:
            problems.append(
                field_error(
                    [*loc, i, "jmbg"],
                    f"same JMBG as member {seen[member.jmbg] + 1}",
                    "jmbg_repeated",
                    params={"member": seen[member.jmbg] + 1},
                )
            )
        else:
            seen[member.jmbg] = i
    return problems, list(seen)


def new_person(m: PersonCreate, *, household_id: uuid.UUID, position: int) -> dict[str, Any]:
    """A person's row (a plain dict: registration and import are the hot paths, ORM objects cost ~30 µs each)."""
    return {
        "id": random_uuid(),
        "household_id": household_id,
        "position": position,
        "given_name": m.given_name,
        "family_name": m.family_name,
        "given_key": fold(m.given_name),
        "family_key": fold(m.family_name),
        "search_words": fold_words(f"{m.given_name} {m.family_name}"),
        "birth_date": m.birth_date,
        "birth_year": m.birth_date.year,
        "sex": m.sex,
        "jmbg": m.jmbg,
        "missing_jmbg_reason": m.missing_jmbg_reason,
        "relation": m.relation,
        "education": m.education,
        "employment_status": m.employment_status,
        "able_to_work": m.able_to_work,
        "skills": list(m.skills),
        "phone": m.phone,
        "markers": list(m.markers),
        "consents": list(m.consents),
        "erased_at": None,
    }


def apply_poverty(household: Household, members: Sequence[Person], *, lines: dict[int, float], on: date) -> bool:
    """Recompute the household's poverty fields; True when the flag, the year or the scale changed."""
    # An erased member keeps only the birth year: mid-year stands in for the date.
    births = [p.birth_date or date(p.birth_year, 7, 1) for p in members]
    status = domain.poverty_status(monthly_income=household.monthly_income, birth_dates=births, on=on, lines=lines)
    before = (household.equivalent_adults, household.below_poverty_line, household.poverty_year)
    household.equivalent_adults = status.equivalent_adults
    household.below_poverty_line = status.below_line
    household.poverty_year = status.year
    return before != (status.equivalent_adults, status.below_line, status.year)


def markers_of(p: Person) -> list[str]:
    """Recorded markers and those that follow from the person's other fields (not the age ones)."""
    return domain.derived_markers(
        recorded=set(p.markers or []),
        jmbg=p.jmbg,
        missing_jmbg_reason=p.missing_jmbg_reason,
        employment_status=p.employment_status,
        able_to_work=p.able_to_work,
    )


def member_profile(p: Person) -> MemberProfile:
    return MemberProfile(
        person_id=p.id,
        sex=p.sex,
        birth_year=p.birth_year,
        relation=p.relation,
        able_to_work=p.able_to_work,
        employment_status=p.employment_status,
        education=p.education,
        skills=list(p.skills or []),
        markers=markers_of(p),
        consents=list(p.consents or []),
    )


def state_fields(household: Household, members: Sequence[Person]) -> dict[str, Any]:
    return {
        "household_id": household.id,
        "municipality_code": household.municipality_code,
        "registered_at": household.registered_at,
        "members": [member_profile(p) for p in members],
        "housing_type": household.housing_type,
        "equivalent_adults": household.equivalent_adults,
        "below_poverty_line": household.below_poverty_line,
        "poverty_year": household.poverty_year,
        "version": household.version,
    }


def updated_event(household: Household, members: Sequence[Person], reason: UpdateReason) -> HouseholdUpdatedV1:
    return HouseholdUpdatedV1(**state_fields(household, members), reason=reason, changed_at=utcnow())


@dataclass(slots=True)
class Prepared:
    """A household ready to insert: its row, its members' rows, consent records, and the registered event."""

    household: dict[str, Any]
    persons: list[dict[str, Any]]
    consents: list[dict[str, Any]] = field(default_factory=list)

    @property
    def household_id(self) -> uuid.UUID:
        household_id: uuid.UUID = self.household["id"]
        return household_id

    def event(self) -> HouseholdRegisteredV2:
        views = [SimpleNamespace(**p) for p in self.persons]
        return HouseholdRegisteredV2(**state_fields(SimpleNamespace(**self.household), views))  # type: ignore[arg-type]

    def view(self) -> Household:
        """The household with its members as attribute views, for a response (no ORM bookkeeping)."""
        members = [SimpleNamespace(**p) for p in self.persons]
        return cast(Household, SimpleNamespace(**self.household, members=members))


def prepare_household(data: HouseholdCreate, *, registered_by: str, now: datetime, lines: dict[int, float]) -> Prepared:
    household_id = random_uuid()
    persons = [new_person(m, household_id=household_id, position=i) for i, m in enumerate(data.members)]
    monthly_income = round(sum(i.monthly_amount for i in data.incomes), 2)
    status = domain.poverty_status(
        monthly_income=monthly_income, birth_dates=[p["birth_date"] for p in persons], on=now.date(), lines=lines
    )
    household = {
        "id": household_id,
        "municipality_code": data.municipality_code,
        "settlement": data.settlement,
        "address": data.address,
        "housing_type": data.housing_type,
        "housing_problems": list(data.housing_problems),
        "incomes": [i.model_dump() for i in data.incomes],
        "monthly_income": monthly_income,
        "registered_by": registered_by,
        "registered_at": now,
        "version": 1,
        "equivalent_adults": status.equivalent_adults,
        "below_poverty_line": status.below_line,
        "poverty_year": status.year,
        "case_id": None,
        "case_status": None,
        "merged_into": None,
    }
    consents = [
        {"person_id": p["id"], "purpose": purpose, "granted": True, "changed_by": registered_by, "changed_at": now}
        for p in persons
        for purpose in p["consents"]
    ]
    return Prepared(household=household, persons=persons, consents=consents)


async def store_prepared(
    session: AsyncSession, outbox: OutboxWriter, prepared: list[Prepared], *, now: datetime
) -> int:
    """Insert prepared households, queue likely duplicates for review and the registered events; the number of
    pairs queued. Several households in one call also find duplicates among themselves."""
    households = [item.household for item in prepared]
    persons = [p for item in prepared for p in item.persons]
    await repository.insert_households(session, households, persons)
    await repository.insert_consent_records(session, [c for item in prepared for c in item.consents])
    queued = await queue_likely_duplicates(session, [SimpleNamespace(**p) for p in persons], now=now)  # type: ignore[misc]
    await outbox.add_many(session, [item.event() for item in prepared])
    return queued


async def queue_likely_duplicates(session: AsyncSession, persons: Sequence[Person], *, now: datetime) -> int:
    """Pairs of (new person, registered person) with the same birth date and the same folded name, queued for a
    supervisor. Never merged here: a likely duplicate is accepted and flagged."""
    new = {p.id: p for p in persons if p.birth_date is not None and p.family_key and p.given_key}
    keys = {(p.family_key, p.given_key, p.birth_date) for p in new.values()}
    matches = await repository.likely_duplicates(session, keys)  # type: ignore[arg-type]
    by_key: dict[tuple[str, str, date], list[tuple[uuid.UUID, uuid.UUID, str]]] = {}
    for pid, hid, family, given, born, code in matches:
        by_key.setdefault((family, given, born), []).append((pid, hid, code))
    pairs: dict[frozenset[uuid.UUID], dict[str, Any]] = {}
    for p in new.values():
        for other_id, other_household, code in by_key.get((p.family_key, p.given_key, p.birth_date), []):  # type: ignore[arg-type]
            if other_id == p.id or other_household == p.household_id:
                continue
            pair = frozenset((p.id, other_id))
            if pair in pairs:
                continue
            newer, older = (p.id, other_id) if other_id not in new else sorted((p.id, other_id), key=str)
            pairs[pair] = {
                "id": random_uuid(),
                "person_id": newer,
                "other_person_id": older,
                "municipality_code": code,
                "reason": "same birth date and name (any script, with or without diacritics)",
                "status": "open",
                "detected_at": now,
            }
    await repository.insert_duplicates(session, list(pairs.values()))
    return len(pairs)
