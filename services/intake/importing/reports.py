"""What an import gives back as files: the error report of a job (to correct and upload again) and the
template with every column."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.domain import make_jmbg
from services.intake.importing import repository
from services.intake.importing.columns import COLUMNS
from services.intake.importing.jobs import visible_job
from services.intake.importing.reading import decode, read_layout, records
from shared.auth import User


async def error_report_csv(*, session: AsyncSession, user: User, job_id: uuid.UUID) -> str:
    """One line per failed row: row_number, household_ref, column(s), message(s), then the row as uploaded.

    Fix the rows and upload the report itself: the report's own columns are ignored on import."""
    job = await visible_job(session, user, job_id, content=True)
    errors = await repository.row_errors(session, job_id)
    by_row: dict[int, tuple[str | None, list[str], list[str]]] = {}
    for number, ref, column, message in errors:
        _, columns, messages = by_row.setdefault(number, (ref, [], []))
        if column and column not in columns:
            columns.append(column)
        messages.append(message)
    header: tuple[str, ...] = ()
    original: list[int] = []  # the uploaded columns, but the reference (the report's second column)
    values_by_row: dict[int, list[str]] = {}
    if job.content is not None and by_row:
        text = decode(job.content)
        layout = read_layout(text)
        header = layout.header
        original = [i for i, name in enumerate(layout.names) if name is not None and name != "household_ref"]
        values_by_row = {number: values for number, values in records(text, layout) if number in by_row}
    out = io.StringIO()
    out.write("\ufeff")  # spreadsheets open UTF-8 CSV correctly only with the BOM
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["row_number", "household_ref", "column", "message", *(header[i] for i in original)])
    for number, (ref, columns, messages) in by_row.items():
        values = values_by_row.get(number, [])
        writer.writerow(
            [number, ref or "", ", ".join(columns), "; ".join(messages)]
            + [values[i] if i < len(values) else "" for i in original]
        )
    return out.getvalue()


def template_csv() -> str:
    """Every column, and two rows of one household: the head in Cyrillic, a member in Latin without diacritics."""
    head = {
        "household_ref": "ADA-0001",
        "municipality_code": "80012",
        "settlement": "Мол",
        "address": "Главна 12",
        "housing_type": "own",
        "housing_problems": "no_running_water;damp_or_unsafe",
        "income_social_assistance": "12000",
        "income_informal_work": "8000",
        "given_name": "Јелена",
        "family_name": "Ђорђевић",
        "birth_date": "07.03.1984",
        "sex": "Ж",
        "jmbg": make_jmbg(date(1984, 3, 7), "F", region=80, serial=123),
        "relation": "head",
        "education": "primary",
        "employment_status": "unemployed",
        "able_to_work": "да",
        "skills": "cleaning;cooking",
        "phone": "+381 64 123 4567",
        "markers": "single_parent",
        "consents": "case_work;activation",
    }
    member = {
        "household_ref": "ADA-0001",
        "municipality_code": "80012",
        "given_name": "Marko",
        "family_name": "Djordjevic",
        "birth_date": "2010-05-01",
        "sex": "M",
        "missing_jmbg_reason": "no_personal_documents",
        "relation": "child",
        "education": "primary_incomplete",
        "employment_status": "pupil_student",
        "able_to_work": "ne",
        "consents": "case_work",
    }
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in (head, member):
        writer.writerow([row.get(c, "") for c in COLUMNS])
    return out.getvalue()
