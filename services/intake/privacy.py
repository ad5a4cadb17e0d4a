"""Consent per purpose and erasure (the audit log of reads of personal data is in ``audit``).

What each service must do on intake's privacy events is documented in docs/privacy.md.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import access, records, repository, service
from services.intake.models import ConsentRecord, Household, Person, plumbing
from services.intake.schemas import ConsentChange
from shared.auth import User
from shared.db import utcnow
from shared.errors import Conflict, NotFound
from shared.events import PersonConsentChangedV1, PersonErasedV1
from shared.idempotency import redact_answers_mentioning
from shared.messaging.outbox import OutboxWriter


async def _person_in_scope(session: AsyncSession, person_id: uuid.UUID, user: User) -> tuple[Household, Person]:
    found = await repository.get_person(session, person_id)
    if found is None:
        raise NotFound(f"No person {person_id}.", reason="person_not_found")
    household = await service.household_for(
        session=session, household_id=found.household_id, user=user, for_update=True
    )
    person = next((p for p in household.members if p.id == person_id), None)
    if person is None:  # merged away meanwhile
        raise Conflict(
            "This person's record changed meanwhile (merged); open the household again.", reason="person_merged"
        )
    if person.erased_at is not None:
        raise Conflict("This person's data was erased.", reason="person_erased")
    return household, person


async def change_consent(
    *, session: AsyncSession, outbox: OutboxWriter, person_id: uuid.UUID, change: ConsentChange, user: User
) -> Person:
    """Grant or withdraw consent for one purpose. Withdrawing 'ethnicity' also removes the Roma marker."""
    household, person = await _person_in_scope(session, person_id, user)
    consents = set(person.consents or [])
    if (change.purpose in consents) == change.granted:
        return person  # nothing changes, nothing is announced
    now = utcnow()
    consents = consents | {change.purpose} if change.granted else consents - {change.purpose}
    person.consents = sorted(consents)
    if change.purpose == "ethnicity" and not change.granted:
        person.markers = [m for m in person.markers or [] if m != "roma"]
    repository.add_consent_records(
        session,
        [
            ConsentRecord(
                person_id=person.id, purpose=change.purpose, granted=change.granted, changed_by=user.sub, changed_at=now
            )
        ],
    )
    household.version += 1
    await outbox.add(
        session,
        PersonConsentChangedV1(
            household_id=household.id,
            person_id=person.id,
            purpose=change.purpose,
            granted=change.granted,
            changed_at=now,
        ),
    )
    await outbox.add(session, records.updated_event(household, household.members, "consent_changed"))
    await session.flush()
    return person


async def erase_person(*, session: AsyncSession, outbox: OutboxWriter, person_id: uuid.UUID, user: User) -> Person:
    """Irreversibly remove a person's personal data from intake; keep sex and birth year for statistics.

    Names, JMBG, phone, birth date, skills, markers and consents go; the consent history and the audit log keep
    only the person's pseudonymous id. If no member with data is left, the household's address goes too.
    """
    access.ensure_supervisor(user, "Only a supervisor or an administrator can erase a person's data.")
    household, person = await _person_in_scope(session, person_id, user)
    now = utcnow()
    for name in ("given_name", "family_name", "given_key", "family_key", "search_words", "birth_date", "jmbg", "phone"):
        setattr(person, name, None)
    person.missing_jmbg_reason = None
    person.skills, person.markers, person.consents = [], [], []
    person.education = person.employment_status = None
    person.able_to_work = None
    person.erased_at = now
    if all(p.erased_at is not None for p in household.members):
        household.address = None
        household.settlement = None
    household.version += 1
    await repository.close_duplicates_of(session, person.id, status="dismissed", by=user.sub, at=now)
    # A registration's stored answer (Idempotency-Key) holds the person's data until the key expires.
    await redact_answers_mentioning(session, plumbing.idempotency_keys, str(person.id))
    await outbox.add(session, PersonErasedV1(household_id=household.id, person_id=person.id, erased_at=now))
    await outbox.add(session, records.updated_event(household, household.members, "person_erased"))
    await session.flush()
    return person
