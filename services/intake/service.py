"""Intake's use cases for households and persons: register, read, correct, search.

Consent, erasure and the audit log are in ``privacy``; likely duplicates and merging in ``duplicates``; poverty
lines in ``poverty``; the bulk import in ``importing``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import domain, repository
from services.intake.models import Household, Person
from services.intake.schemas import (
    HouseholdCreate,
    HouseholdPublic,
    HouseholdSummary,
    HouseholdUpdate,
    IncomePublic,
    PersonCreate,
    PersonPublic,
    PersonUpdate,
    PovertyPublic,
    SearchResults,
)
from shared.auth import Role, User, ensure_municipality
from shared.db import utcnow
from shared.errors import Conflict, Forbidden, Invalid, NotFound, field_error
from shared.events import HouseholdRegisteredV2, HouseholdUpdatedV1, MemberProfile
from shared.events.intake import UpdateReason
from shared.ids import random_uuid
from shared.messaging.outbox import OutboxWriter
from shared.reference import municipalities
from shared.script import fold, fold_words
from shared.text import clean_search_term
from shared.web import MAX_OFFSET


def scope(user: User) -> list[str] | None:
    """The municipalities whose records ``user`` may see; None for all (admin)."""
    return None if Role.admin in user.roles else sorted(user.municipalities)


# --- building records and events ------------------------------------------------------------------------------


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
                {**field_error([*loc, i, "jmbg"], problem.message, f"jmbg_{problem.code}"), "ctx": dict(problem.params)}
            )
        elif member.jmbg in seen:
            problems.append(
                field_error([*loc, i, "jmbg"], f"same JMBG as member {seen[member.jmbg] + 1}", "jmbg_repeated")
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


# --- registration ---------------------------------------------------------------------------------------------


def check_municipality(user: User, code: str, loc: list[str | int]) -> None:
    if not municipalities.is_known(code):
        raise Invalid(f"Unknown municipality code {code}.", details=[field_error(loc, "unknown municipality code")])
    ensure_municipality(user, code)


async def refuse_registered_jmbgs(session: AsyncSession, user: User, jmbgs: list[str]) -> None:
    existing = await repository.existing_jmbgs(session, jmbgs)
    if not existing:
        return
    jmbg, (household_id, code) = next(iter(existing.items()))
    if user.can_see_municipality(code):
        raise Conflict(
            f"A person with JMBG {jmbg} is already registered in household {household_id}.",
            details={"existing_household_id": str(household_id), "jmbg": jmbg},
        )
    # Say that it exists, not where: the other household is outside this worker's municipalities.
    raise Conflict(
        f"A person with JMBG {jmbg} is already registered in another municipality; ask its office.",
        details={"jmbg": jmbg},
    )


@dataclass(frozen=True, slots=True)
class Registered:
    household: Household  # a transient view (no session): what the response shows
    lines: dict[int, float]
    possible_duplicates: int


async def register_household(
    *, session: AsyncSession, outbox: OutboxWriter, data: HouseholdCreate, user: User
) -> Registered:
    """Store a household and its members and queue ``intake.household.registered`` in one transaction."""
    check_municipality(user, data.municipality_code, ["body", "municipality_code"])
    problems, jmbgs = member_problems(data.members, ["body", "members"])
    if problems:
        raise Invalid("Some members' data is not valid.", details=problems)
    await refuse_registered_jmbgs(session, user, jmbgs)
    now = utcnow()
    lines = await repository.current_poverty_lines(session)
    prepared = prepare_household(data, registered_by=user.sub, now=now, lines=lines)
    try:
        queued = await store_prepared(session, outbox, [prepared], now=now)
    except IntegrityError as exc:  # a concurrent registration took the JMBG first
        raise Conflict("A person with one of these JMBGs was registered meanwhile.") from exc
    return Registered(household=prepared.view(), lines=lines, possible_duplicates=queued)


# --- reading --------------------------------------------------------------------------------------------------


async def household_for(
    *, session: AsyncSession, household_id: uuid.UUID, user: User, for_update: bool = False
) -> Household:
    household = await repository.get_household(session, household_id, for_update=for_update)
    if household is None:
        raise NotFound(f"No household {household_id}.")
    ensure_municipality(user, household.municipality_code)
    return household


def person_public(p: Person, *, today: date) -> PersonPublic:
    markers = markers_of(p)
    if p.birth_date is not None:
        markers += domain.age_markers(p.birth_date, today)
    return PersonPublic(
        id=p.id,
        given_name=p.given_name,
        family_name=p.family_name,
        birth_date=p.birth_date,
        sex=p.sex,
        jmbg=p.jmbg,
        missing_jmbg_reason=p.missing_jmbg_reason,
        relation=p.relation,
        education=p.education,
        employment_status=p.employment_status,
        able_to_work=p.able_to_work,
        skills=list(p.skills or []),
        phone=p.phone,
        markers=markers,
        consents=list(p.consents or []),
        erased=p.erased_at is not None,
    )


def household_public(
    household: Household, *, lines: dict[int, float], today: date, possible_duplicates: int = 0
) -> HouseholdPublic:
    scale = household.equivalent_adults
    return HouseholdPublic(
        id=household.id,
        municipality_code=household.municipality_code,
        settlement=household.settlement,
        address=household.address,
        housing_type=household.housing_type,
        housing_problems=list(household.housing_problems or []),
        incomes=[IncomePublic(**i) for i in household.incomes or []],
        registered_by=household.registered_by,
        registered_at=household.registered_at,
        version=household.version,
        poverty=PovertyPublic(
            monthly_income=household.monthly_income,
            equivalent_adults=scale,
            income_per_equivalent_adult=round(household.monthly_income / scale, 2) if scale else None,
            poverty_line=lines.get(household.poverty_year) if household.poverty_year else None,
            year=household.poverty_year,
            below_poverty_line=household.below_poverty_line,
        ),
        case_status=household.case_status,
        merged_into=household.merged_into,
        members=[person_public(p, today=today) for p in household.members],
        possible_duplicates=possible_duplicates,
    )


async def read_household(*, session: AsyncSession, household_id: uuid.UUID, user: User, action: str) -> HouseholdPublic:
    """A household with its members' personal data; the read is written to the audit log."""
    from services.intake import privacy

    household = await household_for(session=session, household_id=household_id, user=user)
    await privacy.audit_household_read(session, user=user, action=action, households=[household])
    return household_public(
        household,
        lines=await repository.poverty_lines(session),
        today=utcnow().date(),
        possible_duplicates=await repository.open_duplicate_count(session, [p.id for p in household.members]),
    )


async def search(
    *,
    session: AsyncSession,
    user: User,
    query: str,
    municipality: str | None,
    limit: int,
    offset: int,
    action: str,
) -> SearchResults:
    """Households by a member's name in either script, with or without diacritics, or by JMBG."""
    from services.intake import privacy

    try:  # the API checks this in its signature; the search page comes here with whatever was typed
        text = clean_search_term(query)
    except ValueError as exc:
        raise Invalid(f"The search term {exc}.", details=[field_error(["query", "q"], str(exc))]) from exc
    offset = min(offset, MAX_OFFSET)  # past any real list (a larger one overflows the store's integers)
    digits = text.replace(" ", "")
    jmbg = digits if digits.isdigit() and len(digits) == 13 else None
    tokens = [] if jmbg else [t for t in (fold(word) for word in text.split()) if t]
    if municipality is not None and not user.can_see_municipality(municipality):
        raise Forbidden(f"Municipality {municipality} is not among the municipalities you work for.")
    total, households = await repository.search_households(
        session,
        tokens=tokens,
        jmbg=jmbg,
        municipalities=scope(user),
        municipality=municipality,
        limit=limit,
        offset=offset,
    )
    await privacy.audit_household_read(session, user=user, action=action, households=households)
    return SearchResults(
        total=total,
        results=[
            HouseholdSummary(
                id=h.id,
                municipality_code=h.municipality_code,
                settlement=h.settlement,
                registered_at=h.registered_at,
                below_poverty_line=h.below_poverty_line,
                case_status=h.case_status,
                members=[f"{p.given_name} {p.family_name}" for p in h.members if p.erased_at is None],
                size=len(h.members),
            )
            for h in households
        ],
    )


# --- corrections ----------------------------------------------------------------------------------------------


async def update_household(
    *, session: AsyncSession, outbox: OutboxWriter, household_id: uuid.UUID, data: HouseholdUpdate, user: User
) -> Household:
    household = await household_for(session=session, household_id=household_id, user=user, for_update=True)
    refuse_merged(household)
    incomes = [i.model_dump() for i in data.incomes]
    before = (household.settlement, household.address, household.housing_type, household.housing_problems)
    if before == (data.settlement, data.address, data.housing_type, list(data.housing_problems)) and (
        household.incomes == incomes
    ):
        return household  # nothing changes, nothing is announced
    household.settlement = data.settlement
    household.address = data.address
    household.housing_type = data.housing_type
    household.housing_problems = list(data.housing_problems)
    household.incomes = [i.model_dump() for i in data.incomes]
    household.monthly_income = round(sum(i.monthly_amount for i in data.incomes), 2)
    apply_poverty(household, household.members, lines=await repository.poverty_lines(session), on=utcnow().date())
    household.version += 1
    await outbox.add(session, updated_event(household, household.members, "edited"))
    await session.flush()
    return household


async def update_person(
    *, session: AsyncSession, outbox: OutboxWriter, person_id: uuid.UUID, data: PersonUpdate, user: User
) -> Household:
    person = await repository.get_person(session, person_id)
    if person is None:
        raise NotFound(f"No person {person_id}.")
    household = await household_for(session=session, household_id=person.household_id, user=user, for_update=True)
    refuse_merged(household)
    found = next((p for p in household.members if p.id == person_id), None)
    if found is None:  # merged away meanwhile
        raise Conflict("This person's record changed meanwhile (merged); open the household again.")
    person = found
    if person.erased_at is not None:
        raise Conflict("This person's data was erased; it cannot be edited.")
    changes = {
        name: value for name, value in data.model_dump(exclude_unset=True).items() if getattr(person, name) != value
    }
    if not changes:
        return household  # nothing changes, nothing is announced
    if changes.get("relation") == "head" and any(
        p.relation == "head" and p.id != person.id and p.erased_at is None for p in household.members
    ):
        raise Invalid(
            "A household has one head: change the current head's relation first.",
            details=[field_error(["body", "relation"], "the household already has a head", "one_head")],
        )
    if "jmbg" in changes and changes["jmbg"] is not None and changes["jmbg"] != person.jmbg:
        assert person.birth_date is not None
        problem = domain.check_jmbg(changes["jmbg"], birth_date=person.birth_date, sex=person.sex)  # type: ignore[arg-type]
        if problem is not None:
            raise Invalid(problem.message, details=[field_error(["body", "jmbg"], problem.message)])
        await refuse_registered_jmbgs(session, user, [changes["jmbg"]])
    jmbg_after = changes.get("jmbg", person.jmbg)
    reason_after = changes.get("missing_jmbg_reason", person.missing_jmbg_reason)
    if jmbg_after is None and reason_after is None:
        raise Invalid(
            "Without a JMBG, say why there is none (missing_jmbg_reason).",
            details=[field_error(["body", "missing_jmbg_reason"], "give the JMBG or the reason", "jmbg_or_reason")],
        )
    markers = changes.get("markers", person.markers) or []
    if "roma" in markers and "ethnicity" not in (person.consents or []):
        raise Invalid("The Roma marker is recorded only with the person's explicit consent ('ethnicity').")
    for name, value in changes.items():
        setattr(person, name, list(value) if isinstance(value, list) else value)
    if person.jmbg is not None:
        person.missing_jmbg_reason = None
    person.given_key, person.family_key = fold(person.given_name or ""), fold(person.family_name or "")
    person.search_words = fold_words(f"{person.given_name or ''} {person.family_name or ''}")
    household.version += 1
    apply_poverty(household, household.members, lines=await repository.poverty_lines(session), on=utcnow().date())
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("A person with this JMBG was registered meanwhile.") from exc
    await outbox.add(session, updated_event(household, household.members, "edited"))
    return household


def refuse_merged(household: Household) -> None:
    if household.merged_into is not None:
        raise Conflict(f"This household was merged into {household.merged_into}; edit that one.")


async def record_case_status(
    *, session: AsyncSession, household_id: uuid.UUID, case_id: uuid.UUID, status: str
) -> None:
    """What cases says about a household's case, shown on the household page."""
    await repository.set_case(session, household_id, case_id=case_id, status=status)
