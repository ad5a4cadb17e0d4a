"""The queries of the bulk import: jobs, the references of households imported before, row errors and progress."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from services.intake.importing.reading import Key
from services.intake.models import ImportedHousehold, ImportJob, ImportRowError


async def jobs_of_file(session: AsyncSession, sha256: str) -> list[ImportJob]:
    """The jobs of the same file (by its hash), oldest first, without their content."""
    rows = await session.execute(
        select(ImportJob)
        .options(defer(ImportJob.content))
        .where(ImportJob.sha256 == sha256)
        .order_by(ImportJob.created_at)
    )
    return list(rows.scalars())


async def get_job(session: AsyncSession, job_id: uuid.UUID, *, content: bool = False) -> ImportJob | None:
    query = select(ImportJob).where(ImportJob.id == job_id)
    if not content:
        query = query.options(defer(ImportJob.content))
    return (await session.execute(query)).scalar_one_or_none()


async def all_jobs(session: AsyncSession) -> list[ImportJob]:
    """Every job, newest first, without their content."""
    rows = await session.execute(
        select(ImportJob).options(defer(ImportJob.content)).order_by(ImportJob.created_at.desc())
    )
    return list(rows.scalars())


async def pending_job_ids(session: AsyncSession) -> list[uuid.UUID]:
    """Queued and interrupted jobs, oldest first."""
    rows = await session.execute(
        select(ImportJob.id).where(ImportJob.status.in_(("queued", "running"))).order_by(ImportJob.created_at)
    )
    return list(rows.scalars())


async def row_errors(session: AsyncSession, job_id: uuid.UUID) -> list[tuple[int, str | None, str | None, str]]:
    """(row number, household reference, column, message) of a job's row errors, in the file's order."""
    rows = await session.execute(
        select(ImportRowError.row_number, ImportRowError.household_ref, ImportRowError.column, ImportRowError.message)
        .where(ImportRowError.job_id == job_id)
        .order_by(ImportRowError.row_number, ImportRowError.id)
    )
    return [(number, ref, column, message) for number, ref, column, message in rows]


async def imported_refs(session: AsyncSession, keys: Sequence[Key]) -> set[Key]:
    """Which of ``keys`` (municipality, household reference) some job imported before."""
    found: set[Key] = set()
    for start in range(0, len(keys), 500):
        part = list(keys[start : start + 500])
        rows = await session.execute(
            select(ImportedHousehold.municipality_code, ImportedHousehold.household_ref).where(
                tuple_(ImportedHousehold.municipality_code, ImportedHousehold.household_ref).in_(part)
            )
        )
        found.update((code, ref) for code, ref in rows)
    return found


async def record_imported(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    await session.execute(insert(ImportedHousehold), rows)


async def record_row_errors(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    await session.execute(insert(ImportRowError), rows)


async def add_progress(session: AsyncSession, job_id: uuid.UUID, counts: Mapping[str, int]) -> None:
    """Add a chunk's counts to the job's (in the statement: no read of the job first)."""
    await session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id)
        .values({name: getattr(ImportJob, name) + value for name, value in counts.items()})
        .execution_options(synchronize_session=False)
    )
