"""Intake's use cases for households and persons: register, read, correct, search.

The rows and events of a household are built in ``records``; consent and erasure are in ``privacy``, the audit
log in ``audit``; likely duplicates and merging in ``duplicates``; poverty lines in ``poverty``; the bulk import
in ``importing``; who may do what in ``access``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import access, audit, domain, records, repository
from services.intake.models import Household, Person
from services.intake.schemas import (
    HouseholdCreate,
    HouseholdPublic,
    HouseholdSummary,
    HouseholdUpdate,
    IncomePublic,
    PersonPublic,
    PersonUpdate,
    PovertyPublic,
    SearchResults,
)
from shared.auth import User
from shared.db import utcnow
from shared.errors import Conflict, Forbidden, Invalid, NotFound, field_error
from shared.messaging.outbox import OutboxWriter
from shared.reference import municipalities
from shared.script import fold, fold_words
from shared.text import clean_search_term
from shared.web import MAX_OFFSET

# --- registration ---------------------------------------------------------------------------------------------


def check_municipality(user: User, code: str, loc: list[str | int]) -> None:
    municipalities.ensure_known(code, loc)
    access.ensure_municipality(user, code)


async def refuse_registered_jmbgs(session: AsyncSession, user: User, jmbgs: list[str]) -> None:
    existing = await repository.existing_jmbgs(session, jmbgs)
    if not existing:
        return
    jmbg, (household_id, code) = next(iter(existing.items()))
    if user.can_see_municipality(code):
        raise Conflict(
            f"A person with JMBG {jmbg} is already registered in household {household_id}.",
            reason="jmbg_registered",
            params={"household_id": str(household_id)},
            details={"existing_household_id": str(household_id), "jmbg": jmbg},
        )
    # Say that it exists, not where: the other household is outside this worker's municipalities.
    raise Conflict(
        f"A person with JMBG {jmbg} is already registered in another municipality; ask its office.",
        reason="jmbg_registered_elsewhere",
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
    problems, jmbgs = records.member_problems(data.members, ["body", "members"])
    if problems:
        raise Invalid("Some members' data is not valid.", reason="members_not_valid", details=problems)
    await refuse_registered_jmbgs(session, user, jmbgs)
    now = utcnow()
    lines = await repository.current_poverty_lines(session)
    prepared = records.prepare_household(data, registered_by=user.sub, now=now, lines=lines)
    try:
        queued = await records.store_prepared(session, outbox, [prepared], now=now)
    except IntegrityError as exc:  # a concurrent registration took the JMBG first
        raise Conflict(
            "A person with one of these JMBGs was registered meanwhile.", reason="jmbg_registered_meanwhile"
        ) from exc
    return Registered(household=prepared.view(), lines=lines, possible_duplicates=queued)


# --- reading --------------------------------------------------------------------------------------------------


async def household_for(
    *, session: AsyncSession, household_id: uuid.UUID, user: User, for_update: bool = False
) -> Household:
    household = await repository.get_household(session, household_id, for_update=for_update)
    if household is None:
        raise NotFound(f"No household {household_id}.", reason="household_not_found")
    access.ensure_municipality(user, household.municipality_code)
    return household


def person_public(p: Person, *, today: date) -> PersonPublic:
    markers = records.markers_of(p)
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
    household = await household_for(session=session, household_id=household_id, user=user)
    await audit.household_read(session, user=user, action=action, households=[household])
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
    try:  # the API checks this in its signature; the search page comes here with whatever was typed
        text = clean_search_term(query)
    except ValueError as exc:
        raise Invalid(
            f"The search term {exc}.",
            reason="search_term",
            details=[field_error(["query", "q"], str(exc), "search_term")],
        ) from exc
    offset = min(offset, MAX_OFFSET)  # past any real list (a larger one overflows the store's integers)
    digits = text.replace(" ", "")
    jmbg = digits if digits.isdigit() and len(digits) == 13 else None
    tokens = [] if jmbg else [t for t in (fold(word) for word in text.split()) if t]
    if municipality is not None and not user.can_see_municipality(municipality):
        raise Forbidden(
            f"Municipality {municipality} is not among the municipalities you work for.",
            reason="municipality_not_yours",
            params={"code": municipality},
        )
    total, households = await repository.search_households(
        session,
        tokens=tokens,
        jmbg=jmbg,
        municipalities=access.scope(user),
        municipality=municipality,
        limit=limit,
        offset=offset,
    )
    await audit.household_read(session, user=user, action=action, households=households)
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
    records.apply_poverty(
        household, household.members, lines=await repository.poverty_lines(session), on=utcnow().date()
    )
    household.version += 1
    await outbox.add(session, records.updated_event(household, household.members, "edited"))
    await session.flush()
    return household


async def update_person(
    *, session: AsyncSession, outbox: OutboxWriter, person_id: uuid.UUID, data: PersonUpdate, user: User
) -> Household:
    person = await repository.get_person(session, person_id)
    if person is None:
        raise NotFound(f"No person {person_id}.", reason="person_not_found")
    household = await household_for(session=session, household_id=person.household_id, user=user, for_update=True)
    refuse_merged(household)
    found = next((p for p in household.members if p.id == person_id), None)
    if found is None:  # merged away meanwhile
        raise Conflict(
            "This person's record changed meanwhile (merged); open the household again.", reason="person_merged"
        )
    person = found
    if person.erased_at is not None:
        raise Conflict("This person's data was erased; it cannot be edited.", reason="person_erased")
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
            reason="one_head",
            details=[field_error(["body", "relation"], "the household already has a head", "one_head")],
        )
    if "jmbg" in changes and changes["jmbg"] is not None and changes["jmbg"] != person.jmbg:
        assert person.birth_date is not None
        problem = domain.check_jmbg(changes["jmbg"], birth_date=person.birth_date, sex=person.sex)  # type: ignore[arg-type]
        if problem is not None:
            reason = f"jmbg_{problem.code}"
            raise Invalid(
                problem.message,
                reason=reason,
                params=dict(problem.params),
                details=[field_error(["body", "jmbg"], problem.message, reason, params=dict(problem.params))],
            )
        await refuse_registered_jmbgs(session, user, [changes["jmbg"]])
    jmbg_after = changes.get("jmbg", person.jmbg)
    reason_after = changes.get("missing_jmbg_reason", person.missing_jmbg_reason)
    if jmbg_after is None and reason_after is None:
        raise Invalid(
            "Without a JMBG, say why there is none (missing_jmbg_reason).",
            reason="jmbg_or_reason",
            details=[field_error(["body", "missing_jmbg_reason"], "give the JMBG or the reason", "jmbg_or_reason")],
        )
    markers = changes.get("markers", person.markers) or []
    if "roma" in markers and "ethnicity" not in (person.consents or []):
        raise Invalid(
            "The Roma marker is recorded only with the person's explicit consent ('ethnicity').",
            reason="roma_needs_consent",
        )
    for name, value in changes.items():
        setattr(person, name, list(value) if isinstance(value, list) else value)
    if person.jmbg is not None:
        person.missing_jmbg_reason = None
    person.given_key, person.family_key = fold(person.given_name or ""), fold(person.family_name or "")
    person.search_words = fold_words(f"{person.given_name or ''} {person.family_name or ''}")
    household.version += 1
    records.apply_poverty(
        household, household.members, lines=await repository.poverty_lines(session), on=utcnow().date()
    )
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("A person with this JMBG was registered meanwhile.", reason="jmbg_registered_meanwhile") from exc
    await outbox.add(session, records.updated_event(household, household.members, "edited"))
    return household


def refuse_merged(household: Household) -> None:
    if household.merged_into is not None:
        raise Conflict(
            f"This household was merged into {household.merged_into}; edit that one.",
            reason="household_merged",
            params={"household_id": str(household.merged_into)},
        )


async def record_case_status(
    *, session: AsyncSession, household_id: uuid.UUID, case_id: uuid.UUID, status: str
) -> None:
    """What cases says about a household's case, shown on the household page."""
    await repository.set_case(session, household_id, case_id=case_id, status=status)
