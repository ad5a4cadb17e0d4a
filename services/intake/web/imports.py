"""Bulk import pages: upload a field file, watch the job's progress bar, download the row errors."""

from __future__ import annotations

import asyncio
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from services.intake import importing
from services.intake.access import WorkerPage
from services.intake.web import _labels as labels
from services.intake.web._common import page
from shared.db import unit_of_work
from shared.errors import DomainError
from shared.ui.templating import Message, translator
from shared.web import RuntimeDep, SessionDep

router = APIRouter()


@router.get("/imports", response_class=HTMLResponse)
async def imports_page(request: Request, user: WorkerPage, session: SessionDep) -> HTMLResponse:
    jobs = await importing.list_jobs(session=session, user=user, limit=20)
    return page(request, "imports.html", user, nav="imports", jobs=jobs, error=None)


@router.post("/imports", response_class=HTMLResponse)
async def upload_page(request: Request, user: WorkerPage, runtime: RuntimeDep) -> Response:
    """Checked outside any transaction (CPU work, in a thread), as the API does; a refusal shows the list again."""
    gettext = translator(request)
    form = await request.form()
    upload = form.get("file")
    error: str | None = None
    if not isinstance(upload, UploadFile) or not upload.filename:
        error = gettext("Choose a CSV file to import.")
    else:
        content = await upload.read(importing.MAX_BYTES + 1)
        try:
            checked = await asyncio.to_thread(importing.check_upload, filename=upload.filename, content=content)
        except importing.FileTooLarge as exc:
            error = labels.REFUSALS.error_text(exc, gettext)
        except DomainError as exc:
            error = gettext("The file cannot be imported: %(reason)s") % {
                "reason": labels.REFUSALS.error_text(exc, gettext)
            }
        else:
            async with unit_of_work(runtime.sessions) as session:
                job, created = await importing.create_job(session=session, user=user, file=checked)
            suffix = "" if created else "?again=1"
            return RedirectResponse(f"/intake/imports/{job.id}{suffix}", status_code=303)
    async with unit_of_work(runtime.sessions) as session:
        jobs = await importing.list_jobs(session=session, user=user, limit=20)
    return page(request, "imports.html", user, status_code=422, nav="imports", jobs=jobs, error=error)


@router.get("/imports/{job_id}", response_class=HTMLResponse)
async def import_job_page(
    request: Request, job_id: uuid.UUID, user: WorkerPage, session: SessionDep, again: int = 0
) -> HTMLResponse:
    job = await importing.job_progress(session=session, user=user, job_id=job_id)
    gettext = translator(request)
    messages = (
        [Message(gettext("This file was uploaded before: nothing is imported twice. Here is that import."), "info")]
        if again
        else []
    )
    return page(request, "import_job.html", user, nav="imports", job=job, messages=messages)


@router.get("/imports/{job_id}/progress", response_class=HTMLResponse)
async def import_progress_fragment(
    request: Request, job_id: uuid.UUID, user: WorkerPage, session: SessionDep
) -> HTMLResponse:
    """The progress block alone: htmx swaps it in every half second until the job has finished."""
    job = await importing.job_progress(session=session, user=user, job_id=job_id)
    return page(request, "_import_progress.html", user, job=job)
