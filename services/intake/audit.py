"""The audit log of reads of personal data: one row per person (or import report) read, and the log itself for
supervisors. Every service module that shows personal data writes here; nothing here depends on them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import access, repository
from services.intake.models import AuditEntry, Household, Person
from services.intake.repository import AuditQuery
from shared.auth import User
from shared.db import utcnow


async def household_read(session: AsyncSession, *, user: User, action: str, households: Sequence[Household]) -> None:
    """One audit row per person whose personal data ``user`` is about to see."""
    persons = [(p, h.municipality_code) for h in households for p in h.members]
    await person_reads(session, user=user, action=action, persons=persons)


async def person_read(session: AsyncSession, *, user: User, action: str, person: Person) -> None:
    codes = await repository.household_municipalities(session, [person.household_id])
    await person_reads(session, user=user, action=action, persons=[(person, codes.get(person.household_id, ""))])


async def person_reads(
    session: AsyncSession, *, user: User, action: str, persons: Sequence[tuple[Person, str]]
) -> None:
    """One audit row per (person, municipality of their household) read; erased persons have nothing to read."""
    now = utcnow()
    await repository.write_audit(
        session,
        [
            {
                "at": now,
                "actor": user.sub,
                "action": action,
                "record_type": "person",
                "record_id": p.id,
                "municipality_code": code or None,
            }
            for p, code in persons
            if p.erased_at is None
        ],
    )


async def import_report_read(session: AsyncSession, *, user: User, action: str, job_id: uuid.UUID) -> None:
    """An import's error report holds the failed rows as uploaded (names, JMBGs): its download is a read."""
    await repository.write_audit(
        session,
        [
            {
                "at": utcnow(),
                "actor": user.sub,
                "action": action,
                "record_type": "import_job",
                "record_id": job_id,
                "municipality_code": None,
            }
        ],
    )


async def audit_log(*, session: AsyncSession, user: User, wanted: AuditQuery) -> list[AuditEntry]:
    """Supervisors see reads in their municipalities; admins see all."""
    access.ensure_supervisor(user, "Only supervisors and administrators can read the audit log.")
    return await repository.query_audit(session, municipalities=access.scope(user), wanted=wanted)
