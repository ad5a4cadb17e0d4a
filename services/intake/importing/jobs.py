"""Import jobs: an upload checked and queued, the jobs a user may see, and their progress."""

from __future__ import annotations

import csv
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

import structlog
from pydantic import BaseModel
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import access
from services.intake.importing import repository
from services.intake.importing.reading import decode, read_layout, records
from services.intake.importing.runner import wake_runners
from services.intake.models import ImportJob
from shared.auth import User
from shared.db import utcnow
from shared.errors import DomainError, Forbidden, Invalid, NotFound

log = structlog.get_logger(__name__)

MAX_BYTES = 50 * 1024 * 1024


class FileTooLarge(DomainError):
    status_code = 413
    code = "too_large"


@dataclass(frozen=True, slots=True)
class CheckedFile:
    """An upload that is UTF-8 CSV with the required columns: ready to become a job."""

    filename: str
    content: bytes
    sha256: str
    total_rows: int


class ImportProgress(BaseModel):
    id: uuid.UUID
    filename: str
    status: str
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    municipalities: list[str]
    total: int
    done: int
    imported: int
    failed: int
    skipped: int
    households: int
    percent: float
    rate_rows_per_s: float | None
    eta_s: float | None
    error: str | None


def check_upload(*, filename: str, content: bytes) -> CheckedFile:
    """Refuse what cannot become a job (too large, not UTF-8 CSV, columns missing or unknown, no rows).

    Pure CPU (a 50 MB file takes a while): callers on an event loop run it in a thread."""
    if len(content) > MAX_BYTES:
        raise FileTooLarge(
            f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it into several files.",
            reason="file_too_large",
        )
    if not content.strip():
        raise Invalid("The file is empty.", reason="file_empty")
    text = decode(content)
    layout = read_layout(text)
    try:
        total = sum(1 for _ in records(text, layout))
    except csv.Error as exc:
        raise Invalid(f"The file is not valid CSV: {exc}.", reason="not_csv") from exc
    if total == 0:
        raise Invalid("The file has a header but no rows.", reason="no_rows")
    return CheckedFile(
        filename=(filename or "import.csv")[:200],
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        total_rows=total,
    )


async def create_job(*, session: AsyncSession, user: User, file: CheckedFile) -> tuple[ImportProgress, bool]:
    """Queue an import of ``file`` for ``user``; (the job, True). The same file already uploaded with the same
    scope, in a job the user can see, is not imported twice: (that job, False)."""
    scope = access.import_scope(user)
    for job in await repository.jobs_of_file(session, file.sha256):
        if list(job.municipalities or []) == scope and access.can_see_import(user, job) and job.status != "failed":
            return progress(job, now=utcnow()), False
    job = ImportJob(
        id=uuid.uuid4(),
        filename=file.filename,
        sha256=file.sha256,
        content=file.content,
        created_by=user.sub,
        municipalities=scope,
        created_at=utcnow(),
        status="queued",
        total_rows=file.total_rows,
        rows_done=0,
        rows_imported=0,
        rows_failed=0,
        rows_skipped=0,
        households_created=0,
    )
    session.add(job)
    await session.flush()
    event.listen(session.sync_session, "after_commit", wake_runners, once=True)
    log.info("intake.import.queued", job_id=str(job.id), rows=file.total_rows, by=user.sub)
    return progress(job, now=utcnow()), True


def progress(job: ImportJob, *, now: datetime) -> ImportProgress:
    rate = eta = None
    if job.started_at is not None and job.rows_done:
        elapsed = ((job.finished_at or now) - job.started_at).total_seconds()
        if elapsed > 0:
            rate = round(job.rows_done / elapsed, 1)
            eta = round(max(job.total_rows - job.rows_done, 0) / rate, 1) if job.status == "running" else 0.0
    return ImportProgress(
        id=job.id,
        filename=job.filename,
        status=job.status,
        created_by=job.created_by,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        municipalities=list(job.municipalities or []),
        total=job.total_rows,
        done=job.rows_done,
        imported=job.rows_imported,
        failed=job.rows_failed,
        skipped=job.rows_skipped,
        households=job.households_created,
        percent=round(100.0 * job.rows_done / job.total_rows, 1) if job.total_rows else 100.0,
        rate_rows_per_s=rate,
        eta_s=eta,
        error=job.error,
    )


async def visible_job(session: AsyncSession, user: User, job_id: uuid.UUID, *, content: bool = False) -> ImportJob:
    """The job, if ``user`` may see it (``NotFound``, ``Forbidden``); its content only when asked for."""
    job = await repository.get_job(session, job_id, content=content)
    if job is None:
        raise NotFound(f"No import job {job_id}.", reason="import_not_found")
    if not access.can_see_import(user, job):
        raise Forbidden("This import was started by someone else.", reason="import_not_yours")
    return job


async def job_progress(*, session: AsyncSession, user: User, job_id: uuid.UUID) -> ImportProgress:
    return progress(await visible_job(session, user, job_id), now=utcnow())


async def list_jobs(*, session: AsyncSession, user: User, limit: int = 50, offset: int = 0) -> list[ImportProgress]:
    """The jobs ``user`` can see, newest first."""
    now = utcnow()
    visible = [job for job in await repository.all_jobs(session) if access.can_see_import(user, job)]
    return [progress(job, now=now) for job in visible[offset : offset + limit]]
