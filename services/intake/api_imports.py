"""Intake's bulk-import API: upload a social-mapping CSV file, follow the job, download its row errors."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile, status

from services.intake import audit, importing
from services.intake.access import Worker
from services.intake.importing import ImportProgress
from shared.db import unit_of_work
from shared.web import Offset, RuntimeDep, SessionDep

router = APIRouter(prefix="/api/imports", tags=["imports"])
CSV = "text/csv; charset=utf-8"


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


@router.get("/template.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
async def template(_user: Worker) -> Response:
    """Every column, with two example rows of one household (Cyrillic and Latin without diacritics)."""
    return Response(importing.template_csv(), media_type=CSV, headers=_attachment("oslonac-import-template.csv"))


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ImportProgress,
    responses={
        200: {"model": ImportProgress, "description": "The same file was imported before: that job"},
        413: {"description": "The file is larger than 50 MB"},
        422: {"description": "Not UTF-8 CSV, or required columns missing, or unknown columns"},
    },
)
async def upload(
    file: Annotated[UploadFile, File(description="CSV in UTF-8, one row per person")],
    user: Worker,
    runtime: RuntimeDep,
    response: Response,
) -> ImportProgress:
    """Queue the import; the job runs in the background (follow it with ``GET /api/imports/{id}``)."""
    if file.size is not None and file.size > importing.MAX_BYTES:
        raise importing.FileTooLarge(
            f"The file is larger than {importing.MAX_BYTES // (1024 * 1024)} MB.", reason="file_too_large"
        )
    content = await file.read(importing.MAX_BYTES + 1)
    # Checking the file is CPU work: done in a thread and before the transaction, which on SQLite would hold
    # the database for every other request meanwhile (so no SessionDep here).
    checked = await asyncio.to_thread(importing.check_upload, filename=file.filename or "", content=content)
    async with unit_of_work(runtime.sessions) as session:
        job, created = await importing.create_job(session=session, user=user, file=checked)
    if not created:
        response.status_code = status.HTTP_200_OK
    return job


@router.get("", response_model=list[ImportProgress])
async def list_imports(
    user: Worker,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> list[ImportProgress]:
    """The user's jobs (a supervisor's also those of the municipalities they supervise), newest first."""
    return await importing.list_jobs(session=session, user=user, limit=limit, offset=offset)


@router.get("/{job_id}", response_model=ImportProgress)
async def get_import(job_id: uuid.UUID, user: Worker, session: SessionDep) -> ImportProgress:
    return await importing.job_progress(session=session, user=user, job_id=job_id)


@router.get("/{job_id}/errors.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
async def import_errors(job_id: uuid.UUID, user: Worker, session: SessionDep) -> Response:
    """The failed rows with the reason for each, and the row as uploaded (fix them and upload this file)."""
    report = await importing.error_report_csv(session=session, user=user, job_id=job_id)
    await audit.import_report_read(session, user=user, action="GET /api/imports/{job_id}/errors.csv", job_id=job_id)
    return Response(report, media_type=CSV, headers=_attachment(f"import-{job_id}-errors.csv"))
