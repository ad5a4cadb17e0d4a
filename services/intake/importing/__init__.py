"""Bulk import of social-mapping CSV files (one row per person), as a background job.

Rows with the same ``(municipality_code, household_ref)`` are one household wherever they are in the file, and a
household is imported whole or not at all: if one of its rows fails, every row of it is reported. Household
columns are read from the household's first row; a later row may leave them empty or repeat them, but not
contradict them. A household whose reference was imported before (by any job) is skipped, so re-importing a file
never registers a household twice; the same file uploaded again with the same scope returns the existing job.

The job runs in chunks of about ``CHUNK_ROWS`` rows: validation (CPU) outside any transaction, then one short
transaction per chunk (registered households, their events in the outbox, ``imported_households``, row errors
and the job's progress together), so API requests interleave and a restart resumes after the last chunk.

The package, by seam: ``columns`` and ``values`` (what a file's header and cells may say), ``reading`` (the file,
its rows and households), ``validation`` (one household's rows checked), ``jobs`` (upload, progress, who sees a
job), ``runner`` (the background work), ``chunks`` (one chunk's transaction), ``reports`` (the error report and
the template) and ``repository`` (their queries). What the API, the pages and the runtime use is here.
"""

from __future__ import annotations

from services.intake.importing.columns import ALIASES, COLUMNS, REQUIRED_COLUMNS
from services.intake.importing.jobs import (
    MAX_BYTES,
    CheckedFile,
    FileTooLarge,
    ImportProgress,
    check_upload,
    create_job,
    job_progress,
    list_jobs,
)
from services.intake.importing.reports import error_report_csv, template_csv
from services.intake.importing.runner import CHUNK_ROWS, ImportRunner, run_imports

__all__ = [
    "ALIASES",
    "CHUNK_ROWS",
    "COLUMNS",
    "MAX_BYTES",
    "REQUIRED_COLUMNS",
    "CheckedFile",
    "FileTooLarge",
    "ImportProgress",
    "ImportRunner",
    "check_upload",
    "create_job",
    "error_report_csv",
    "job_progress",
    "list_jobs",
    "run_imports",
    "template_csv",
]
