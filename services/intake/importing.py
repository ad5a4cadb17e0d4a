"""Bulk import of social-mapping CSV files (one row per person), as a background job.

Rows with the same ``(municipality_code, household_ref)`` are one household wherever they are in the file, and a
household is imported whole or not at all: if one of its rows fails, every row of it is reported. Household
columns are read from the household's first row; a later row may leave them empty or repeat them, but not
contradict them. A household whose reference was imported before (by any job) is skipped, so re-importing a file
never registers a household twice; the same file uploaded again with the same scope returns the existing job.

The job runs in chunks of about ``CHUNK_ROWS`` rows: validation (CPU) outside any transaction, then one short
transaction per chunk (registered households, their events in the outbox, ``imported_households``, row errors
and the job's progress together), so API requests interleave and a restart resumes after the last chunk.

Column names are canonical English snake_case (``COLUMNS``); Serbian Latin names (``ALIASES``) are accepted too.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import functools
import gc
import hashlib
import io
import re
import unicodedata
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, get_args

import structlog
from pydantic import BaseModel, ValidationError
from sqlalchemy import event, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, defer

from services.intake import repository
from services.intake.domain import make_jmbg
from services.intake.models import ImportedHousehold, ImportJob, ImportRowError
from services.intake.schemas import HouseholdCreate, IncomeSource
from services.intake.service import Prepared, member_problems, prepare_household, store_prepared
from shared.auth import Role, User
from shared.db import Backoff, advisory_lock, retry_until_available, unit_of_work, utcnow
from shared.errors import DomainError, Forbidden, Invalid, NotFound
from shared.messaging.outbox import OutboxWriter
from shared.messaging.runtime import ServiceRuntime
from shared.observability.outage import Outage
from shared.reference import municipalities
from shared.script import to_latin

log = structlog.get_logger(__name__)

MAX_BYTES = 50 * 1024 * 1024
CHUNK_ROWS = 2000  # per transaction: on SQLite the event loop waits for each one (see the module docstring)
IDLE_POLL_S = 30.0  # a backstop only: a job created in this process wakes the runner at once
ALL_MUNICIPALITIES = "*"  # an administrator's scope, as stored in ``import_jobs.municipalities``

# --- columns --------------------------------------------------------------------------------------------------

INCOME_SOURCES: tuple[str, ...] = get_args(IncomeSource)
INCOME_COLUMNS = tuple(f"income_{source}" for source in INCOME_SOURCES)
KEY_COLUMNS = ("household_ref", "municipality_code")
HOUSEHOLD_COLUMNS = ("settlement", "address", "housing_type", "housing_problems", *INCOME_COLUMNS)
PERSON_COLUMNS = (
    "given_name",
    "family_name",
    "birth_date",
    "sex",
    "jmbg",
    "missing_jmbg_reason",
    "relation",
    "education",
    "employment_status",
    "able_to_work",
    "skills",
    "phone",
    "markers",
    "consents",
)
COLUMNS = (*KEY_COLUMNS, *HOUSEHOLD_COLUMNS, *PERSON_COLUMNS)
REQUIRED_COLUMNS = ("household_ref", "municipality_code", "given_name", "family_name", "birth_date", "sex")
# The error report's own columns: ignored when a corrected error report is uploaded again.
REPORT_COLUMNS = ("row_number", "column", "message")

_INCOME_ALIASES = {
    "wages": "plata",
    "pension": "penzija",
    "social_assistance": "socijalna_pomoc",
    "child_allowance": "deciji_dodatak",
    "unemployment_benefit": "naknada_za_nezaposlene",
    "disability_benefit": "invalidnina",
    "agriculture": "poljoprivreda",
    "informal_work": "neformalni_rad",
    "remittances": "doznake",
    "other": "ostalo",
}
ALIASES: dict[str, str] = {
    "domacinstvo": "household_ref",
    "sifra_domacinstva": "household_ref",
    "oznaka_domacinstva": "household_ref",
    "opstina": "municipality_code",
    "sifra_opstine": "municipality_code",
    "naselje": "settlement",
    "adresa": "address",
    "tip_stanovanja": "housing_type",
    "problemi_stanovanja": "housing_problems",
    "ime": "given_name",
    "prezime": "family_name",
    "datum_rodjenja": "birth_date",
    "pol": "sex",
    "razlog_bez_jmbg": "missing_jmbg_reason",
    "srodstvo": "relation",
    "obrazovanje": "education",
    "radni_status": "employment_status",
    "radno_sposoban": "able_to_work",
    "vestine": "skills",
    "telefon": "phone",
    "oznake": "markers",
    "saglasnosti": "consents",
    **{f"prihod_{serbian}": f"income_{source}" for source, serbian in _INCOME_ALIASES.items()},
}


def column_key(name: str) -> str:
    """A header cell as a lookup key: Latin script, lower case, no diacritics, words joined by ``_``."""
    latin = to_latin(name.strip().lstrip("\ufeff")).lower().replace("đ", "dj")
    plain = unicodedata.normalize("NFKD", latin).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "_", plain).strip("_")


@dataclass(frozen=True, slots=True)
class Layout:
    """Where each known column is in a file, and how the file is delimited."""

    delimiter: str
    header: tuple[str, ...]  # as written in the file
    names: tuple[str | None, ...]  # canonical name per position; None for an ignored column
    index: dict[str, int]
    household_cells: tuple[tuple[str, int], ...] = ()  # (column, position) of the household columns present
    person_cells: tuple[tuple[str, Callable[[str], Any], int], ...] = ()  # (column, parser, position)

    def cell(self, values: Sequence[str], name: str) -> str:
        i = self.index.get(name)
        return values[i] if i is not None and i < len(values) else ""


def read_layout(text: str) -> Layout:
    """The file's header, checked: every required column present, none unknown or repeated (``Invalid``)."""
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    try:
        header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    except csv.Error as exc:
        raise Invalid(f"The header line is not valid CSV: {exc}.") from exc
    names: list[str | None] = []
    index: dict[str, int] = {}
    unknown: list[str] = []
    for position, cell in enumerate(header):
        key = column_key(cell)
        name = key if key in COLUMNS else ALIASES.get(key)
        if not key or key in REPORT_COLUMNS:
            names.append(None)
            continue
        if name is None:
            unknown.append(cell.strip())
            names.append(None)
            continue
        if name in index:
            raise Invalid(f"Column {name} appears twice (as '{header[index[name]].strip()}' and '{cell.strip()}').")
        index[name] = position
        names.append(name)
    missing = [c for c in REQUIRED_COLUMNS if c not in index]
    if missing:
        raise Invalid(
            f"The file lacks required columns: {', '.join(missing)}. "
            "The template (GET /intake/api/imports/template.csv) has every column.",
            details={"missing_columns": missing},
        )
    if "jmbg" not in index and "missing_jmbg_reason" not in index:
        raise Invalid(
            "The file needs a jmbg column, a missing_jmbg_reason column or both.",
            details={"missing_columns": ["jmbg", "missing_jmbg_reason"]},
        )
    if unknown:
        raise Invalid(
            f"Unknown columns: {', '.join(unknown)}. The known columns are in the template "
            "(GET /intake/api/imports/template.csv); remove or rename the others.",
            details={"unknown_columns": unknown},
        )
    return Layout(
        delimiter=delimiter,
        header=tuple(header),
        names=tuple(names),
        index=index,
        household_cells=tuple((c, index[c]) for c in HOUSEHOLD_COLUMNS if c in index),
        person_cells=tuple((c, PERSON_PARSERS[c], index[c]) for c in PERSON_COLUMNS if c in index),
    )


def decode(content: bytes) -> str:
    """UTF-8 text (a BOM is allowed), or ``Invalid``."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(
            f"The file is not UTF-8 text (byte {exc.start}). Save it as 'CSV UTF-8' "
            "(Excel: File → Save As → CSV UTF-8; LibreOffice: character set Unicode (UTF-8))."
        ) from exc
    if "\x00" in text:
        raise Invalid("The file is not a CSV text file (it contains NUL bytes; a spreadsheet must be saved as CSV).")
    return text


def records(text: str, layout: Layout) -> Iterator[tuple[int, list[str]]]:
    """(row number, values) of every non-empty data row; the header is row 1, as in a spreadsheet."""
    reader = csv.reader(io.StringIO(text), delimiter=layout.delimiter)
    next(reader, None)
    for number, values in enumerate(reader, start=2):
        if "".join(values).strip():
            yield number, values


# --- values ---------------------------------------------------------------------------------------------------

_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_LOCAL_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})\.?$")
_AMOUNT = re.compile(r"^\d+([.,]\d{1,2})?$")
_FEMALE = {"f", "z", "zensko", "zenski", "female", "w"}
_MALE = {"m", "musko", "muski", "male"}
_TRUE = {"da", "d", "yes", "y", "1", "true"}
_FALSE = {"ne", "n", "no", "0", "false"}


def _plain(raw: str) -> str:
    """Latin, lower case, without diacritics: how yes/no and sex values are compared."""
    latin = to_latin(raw.strip()).lower()
    return unicodedata.normalize("NFKD", latin).encode("ascii", "ignore").decode("ascii")


def parse_text(raw: str) -> str | None:
    return raw.strip() or None


# Codes, lists of codes, sex and yes/no take few distinct values in a file: their parses are cached.
@functools.lru_cache(maxsize=4096)
def parse_code(raw: str) -> str | None:
    value = raw.strip().lower().replace(" ", "_").replace("-", "_")
    return value or None


def parse_codes(raw: str) -> list[str]:
    """A list written ``a;b;c`` (or with commas)."""
    return list(_codes(raw))


@functools.lru_cache(maxsize=4096)
def _codes(raw: str) -> tuple[str, ...]:
    return tuple(code for part in re.split(r"[;,]", raw) if (code := parse_code(part)))


@functools.lru_cache(maxsize=256)
def parse_sex(raw: str) -> str | None:
    if not raw.strip():
        return None
    value = _plain(raw)
    if value in _FEMALE:
        return "F"
    if value in _MALE:
        return "M"
    raise ValueError(f"'{raw.strip()}' is not a sex: write F or M (Ž or Ж for female, М for male)")


@functools.lru_cache(maxsize=256)
def parse_bool(raw: str) -> bool | None:
    if not raw.strip():
        return None
    value = _plain(raw)
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"'{raw.strip()}' is not yes or no: write da/ne, yes/no or 1/0")


@functools.lru_cache(maxsize=32768)
def parse_date(raw: str) -> date | None:
    value = "".join(raw.split())
    if not value:
        return None
    if match := _ISO_DATE.match(value):
        year, month, day = (int(g) for g in match.groups())
    elif match := _LOCAL_DATE.match(value):
        day, month, year = (int(g) for g in match.groups())
    else:
        raise ValueError(f"'{raw.strip()}' is not a date: write YYYY-MM-DD or DD.MM.YYYY")
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"'{raw.strip()}' is not a valid date") from None


def parse_amount(raw: str) -> float | None:
    value = "".join(raw.split())
    if not value:
        return None
    if not _AMOUNT.match(value):
        raise ValueError(
            f"'{raw.strip()}' is not an amount: write RSD per month in digits, e.g. 15000 or 15000,50 "
            "(no thousands separators)"
        )
    return float(value.replace(",", "."))


def parse_jmbg(raw: str) -> str | None:
    return "".join(raw.split()) or None


PERSON_PARSERS: dict[str, Callable[[str], Any]] = {
    "given_name": parse_text,
    "family_name": parse_text,
    "birth_date": parse_date,
    "sex": parse_sex,
    "jmbg": parse_jmbg,
    "missing_jmbg_reason": parse_code,
    "relation": parse_code,
    "education": parse_code,
    "employment_status": parse_code,
    "able_to_work": parse_bool,
    "skills": _codes,
    "phone": parse_text,
    "markers": _codes,
    "consents": _codes,
}


# --- one household: rows → HouseholdCreate or row errors ----------------------------------------------------

Key = tuple[str, str]  # (municipality_code, household_ref) as written


@dataclass(slots=True)
class RowError:
    row: int
    column: str | None
    message: str


@dataclass(slots=True)
class Group:
    """The rows of one household (or a lone row without a household reference)."""

    key: Key | None
    rows: list[tuple[int, list[str]]]

    @property
    def ref(self) -> str | None:
        return self.key[1] if self.key else None


@dataclass(slots=True)
class Checked:
    group: Group
    keyed: bool = False  # reference and municipality usable: may be skipped as imported before
    data: HouseholdCreate | None = None
    errors: list[RowError] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class FileContext:
    layout: Layout
    scope: frozenset[str] | None  # None: every municipality
    first_jmbg: dict[str, tuple[int, Key | None]]  # JMBG → (row, household) of its first appearance in the file


def _same(column: str, a: str, b: str) -> bool:
    if column in INCOME_COLUMNS:
        with contextlib.suppress(ValueError):
            return parse_amount(a) == parse_amount(b)
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def check_household(group: Group, ctx: FileContext) -> Checked:
    """Parse and validate one household's rows (no database): the household to register, or its row errors."""
    layout = ctx.layout
    out = Checked(group)
    first_row, first = group.rows[0]
    errors = out.errors
    for number, values in group.rows:
        if len(values) > len(layout.header) and any(v.strip() for v in values[len(layout.header) :]):
            errors.append(RowError(number, None, f"the row has {len(values)} values, the header {len(layout.header)}"))
    ref, code = group.ref, layout.cell(first, "municipality_code").strip()
    if not ref:
        errors.append(RowError(first_row, "household_ref", "household_ref is required"))
    elif len(ref) > 100:
        errors.append(RowError(first_row, "household_ref", "household_ref is longer than 100 characters"))
    if not code:
        errors.append(RowError(first_row, "municipality_code", "municipality_code is required"))
    elif not municipalities.is_known(code):
        errors.append(RowError(first_row, "municipality_code", f"municipality_code: {code} is not a known code"))
    elif ctx.scope is not None and code not in ctx.scope:
        errors.append(
            RowError(first_row, "municipality_code", f"municipality_code: {code} is not among your municipalities")
        )
    if errors:
        return out
    out.keyed = True

    household: dict[str, Any] = {"municipality_code": code}
    later_rows = group.rows[1:]
    for column, i in layout.household_cells:
        raw = first[i] if i < len(first) else ""
        for number, values in later_rows:
            later = values[i] if i < len(values) else ""
            if later.strip() and not _same(column, later, raw):
                shown = raw.strip() or "empty"
                errors.append(
                    RowError(
                        number,
                        column,
                        f"{column}: '{later.strip()}' contradicts the household's first row (row {first_row}: "
                        f"{shown}); household columns are read from that row",
                    )
                )
        if not raw:
            continue
        try:
            if column in INCOME_COLUMNS:
                amount = parse_amount(raw)
                if amount:
                    household.setdefault("incomes", []).append(
                        {"source": column.removeprefix("income_"), "monthly_amount": amount}
                    )
            elif column == "housing_problems":
                if problems := parse_codes(raw):
                    household[column] = problems
            elif column == "housing_type":
                household[column] = parse_code(raw)
            elif value := parse_text(raw):
                household[column] = value
        except ValueError as exc:
            errors.append(RowError(first_row, column, f"{column}: {exc}"))

    members: list[dict[str, Any]] = []
    for number, values in group.rows:
        member: dict[str, Any] = {}
        for name, parse, i in layout.person_cells:
            raw = values[i] if i < len(values) else ""
            if not raw:
                continue
            try:
                value = parse(raw)
            except ValueError as exc:
                errors.append(RowError(number, name, f"{name}: {exc}"))
                continue
            if value is not None and value != ():
                member[name] = value
        jmbg = member.get("jmbg")
        if jmbg is not None:
            seen_row, seen_key = ctx.first_jmbg.get(jmbg, (number, group.key))
            if seen_row != number and seen_key != group.key:
                errors.append(RowError(number, "jmbg", f"jmbg: the same JMBG is on row {seen_row}, another household"))
        members.append(member)
    household["members"] = members

    reported = {(e.row, e.column) for e in errors}
    try:
        out.data = HouseholdCreate.model_validate(household)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            row_error = _row_error(error, group, household)
            if (row_error.row, row_error.column) not in reported:
                reported.add((row_error.row, row_error.column))
                errors.append(row_error)
    if out.data is not None:
        jmbg_problems, _ = member_problems(out.data.members, ["members"])
        for problem in jmbg_problems:
            member_index = int(problem["loc"][1])
            message = str(problem["msg"])
            if problem.get("type") == "jmbg_repeated" or message.startswith("same JMBG as member "):
                other = int(message.rsplit(" ", 1)[1]) - 1
                message = f"the same JMBG is on row {group.rows[other][0]} of this household"
            errors.append(RowError(group.rows[member_index][0], "jmbg", f"jmbg: {message}"))
    if errors:
        out.data = None
    return out


def _row_error(error: Any, group: Group, household: dict[str, Any]) -> RowError:
    """A pydantic error of ``HouseholdCreate`` as (row, column, readable message)."""
    loc = list(error["loc"])
    first_row = group.rows[0][0]
    row, column = first_row, None
    if loc[:1] == ["members"] and len(loc) >= 2 and isinstance(loc[1], int):
        row = group.rows[loc[1]][0]
        column = str(loc[2]) if len(loc) >= 3 else None
    elif loc[:1] == ["incomes"] and len(loc) >= 2 and isinstance(loc[1], int):
        column = f"income_{household['incomes'][loc[1]]['source']}"
    elif loc:
        column = str(loc[0])
    kind, ctx = error["type"], error.get("ctx") or {}
    given = error.get("input")
    if column is None:  # a rule over several fields: JMBG or its reason, Roma only with consent, one head
        message = str(error["msg"]).removeprefix("Value error, ")
        if loc[:1] == ["members"]:
            column = "markers" if "Roma" in message else "jmbg"
            return RowError(row, column, f"{column}: {message}")
        heads = [group.rows[i][0] for i, m in enumerate(household["members"]) if m.get("relation") == "head"]
        if len(heads) > 1:
            rows = ", ".join(str(n) for n in heads)
            return RowError(heads[1], "relation", f"relation: a household has one head, rows {rows} are heads")
        return RowError(row, None, message)
    if column == "members" and kind == "too_long":
        return RowError(row, None, f"a household has at most {ctx.get('max_length')} members")
    if kind == "missing":
        reason = "required"
    elif kind == "literal_error":
        reason = f"'{given}' is not allowed; use {ctx.get('expected')}"
    elif kind == "string_too_long":
        reason = f"is longer than {ctx.get('max_length')} characters"
    elif kind == "string_pattern_mismatch":
        reason = f"'{given}' is not a phone number" if column == "phone" else f"'{given}' has the wrong form"
    elif kind == "too_long":
        reason = f"has too many values (at most {ctx.get('max_length')})"
    elif kind in {"greater_than_equal", "less_than_equal"}:
        reason = str(error["msg"]).lower()
    else:
        reason = str(error["msg"]).removeprefix("Value error, ")
    return RowError(row, column, f"{column}: {reason}")


# --- jobs: upload, progress, reports --------------------------------------------------------------------------


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
        raise FileTooLarge(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it into several files.")
    if not content.strip():
        raise Invalid("The file is empty.")
    text = decode(content)
    layout = read_layout(text)
    try:
        total = sum(1 for _ in records(text, layout))
    except csv.Error as exc:
        raise Invalid(f"The file is not valid CSV: {exc}.") from exc
    if total == 0:
        raise Invalid("The file has a header but no rows.")
    return CheckedFile(
        filename=(filename or "import.csv")[:200],
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        total_rows=total,
    )


def scope_of(user: User) -> list[str]:
    return [ALL_MUNICIPALITIES] if Role.admin in user.roles else sorted(user.municipalities)


def can_see(user: User, job: ImportJob) -> bool:
    """The uploader, and supervisors or administrators whose municipalities cover the job's scope."""
    if job.created_by == user.sub or Role.admin in user.roles:
        return True
    scope = set(job.municipalities or [])
    return Role.supervisor in user.roles and ALL_MUNICIPALITIES not in scope and scope <= user.municipalities


async def create_job(*, session: AsyncSession, user: User, file: CheckedFile) -> tuple[ImportProgress, bool]:
    """Queue an import of ``file`` for ``user``; (the job, True). The same file already uploaded with the same
    scope, in a job the user can see, is not imported twice: (that job, False)."""
    scope = scope_of(user)
    rows = await session.execute(
        select(ImportJob)
        .options(defer(ImportJob.content))
        .where(ImportJob.sha256 == file.sha256)
        .order_by(ImportJob.created_at)
    )
    for job in rows.scalars():
        if list(job.municipalities or []) == scope and can_see(user, job) and job.status != "failed":
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
    event.listen(session.sync_session, "after_commit", _wake_runners, once=True)
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


async def _visible_job(session: AsyncSession, user: User, job_id: uuid.UUID, *, content: bool = False) -> ImportJob:
    query = select(ImportJob).where(ImportJob.id == job_id)
    if not content:
        query = query.options(defer(ImportJob.content))
    job = (await session.execute(query)).scalar_one_or_none()
    if job is None:
        raise NotFound(f"No import job {job_id}.")
    if not can_see(user, job):
        raise Forbidden("This import was started by someone else.")
    return job


async def job_progress(*, session: AsyncSession, user: User, job_id: uuid.UUID) -> ImportProgress:
    return progress(await _visible_job(session, user, job_id), now=utcnow())


async def list_jobs(*, session: AsyncSession, user: User, limit: int = 50, offset: int = 0) -> list[ImportProgress]:
    """The jobs ``user`` can see, newest first."""
    rows = await session.execute(
        select(ImportJob).options(defer(ImportJob.content)).order_by(ImportJob.created_at.desc())
    )
    now = utcnow()
    visible = [job for job in rows.scalars() if can_see(user, job)]
    return [progress(job, now=now) for job in visible[offset : offset + limit]]


async def error_report_csv(*, session: AsyncSession, user: User, job_id: uuid.UUID) -> str:
    """One line per failed row: row_number, household_ref, column(s), message(s), then the row as uploaded.

    Fix the rows and upload the report itself: the report's own columns are ignored on import."""
    job = await _visible_job(session, user, job_id, content=True)
    errors = await session.execute(
        select(ImportRowError.row_number, ImportRowError.household_ref, ImportRowError.column, ImportRowError.message)
        .where(ImportRowError.job_id == job_id)
        .order_by(ImportRowError.row_number, ImportRowError.id)
    )
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


# --- the runner -----------------------------------------------------------------------------------------------

_runners: weakref.WeakSet[ImportRunner] = weakref.WeakSet()


def _wake_runners(_session: Session | None = None) -> None:
    """After the commit that queued a job: every runner of this process looks for work now."""
    for runner in list(_runners):
        runner.wake()


async def run_imports(runtime: ServiceRuntime) -> None:
    """The runtime's background work: run queued jobs, resume interrupted ones, until cancelled."""
    await ImportRunner(sessions=runtime.sessions, engine=runtime.engine, outbox=runtime.outbox).run()


@dataclass(eq=False)
class ImportRunner:
    sessions: async_sessionmaker[AsyncSession]
    engine: AsyncEngine
    outbox: OutboxWriter
    chunk_rows: int | None = None  # None: CHUNK_ROWS as it is when a job runs
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        _runners.add(self)
        backoff = Backoff(first_s=0.5, max_s=30.0)
        while True:
            self._wake.clear()
            try:
                worked = await self.run_next()
                backoff.reset()
            except Exception as exc:
                wait = backoff.next()
                log.warning("intake.import.runner_failed", error=repr(exc)[:500], retry_in=wait)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=wait)
                continue
            if not worked:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=IDLE_POLL_S)

    async def run_next(self) -> bool:
        """Run the oldest queued or interrupted job nobody else runs; False when there is none."""
        async with unit_of_work(self.sessions) as session:
            ids = list(
                (
                    await session.execute(
                        select(ImportJob.id)
                        .where(ImportJob.status.in_(("queued", "running")))
                        .order_by(ImportJob.created_at)
                    )
                ).scalars()
            )
        for job_id in ids:
            async with advisory_lock(self.engine, f"oslonac-import-{job_id}") as held:
                if held:
                    await self.run_job(job_id)
                    return True
        return False

    async def run_job(self, job_id: uuid.UUID) -> None:
        with _heap_frozen():
            await self._run_job(job_id)

    async def _run_job(self, job_id: uuid.UUID) -> None:
        async with unit_of_work(self.sessions) as session:
            job = await session.get(ImportJob, job_id)
            if job is None or job.status not in ("queued", "running"):
                return
            if job.content is None:
                job.status, job.error, job.finished_at = "failed", "the uploaded file is no longer stored", utcnow()
                return
            resumed = job.status == "running"
            job.status = "running"
            job.started_at = job.started_at or utcnow()
            content, scope, by, skip = job.content, job.municipalities or [], job.created_by, job.rows_done
            lines = await repository.poverty_lines(session)
        log.info("intake.import.started", job_id=str(job_id), resumed=resumed, rows_done=skip)
        try:
            text = decode(content)
            layout = read_layout(text)
            plan = plan_file(text, layout)
        except (DomainError, csv.Error) as exc:
            await self._finish(job_id, error=getattr(exc, "message", str(exc)))
            return
        ctx = FileContext(
            layout=layout,
            scope=None if ALL_MUNICIPALITIES in scope else frozenset(scope),
            first_jmbg=plan.first_jmbg,
        )
        chunk: list[Group] = []
        rows = passed = 0
        groups = households(text, layout, plan)
        while True:
            try:
                group = next(groups, None)
            except csv.Error as exc:  # checked at upload: only a stored file changed since could do this
                await self._finish(job_id, error=f"the file is not valid CSV: {exc}")
                return
            if group is not None and passed < skip:  # done before a restart (chunks end with a household)
                passed += len(group.rows)
                continue
            if group is not None:
                chunk.append(group)
                rows += len(group.rows)
            if (rows >= (self.chunk_rows or CHUNK_ROWS) or group is None) and chunk:
                if not await self._chunk(job_id, chunk, ctx, by=by, lines=lines):
                    return
                chunk, rows = [], 0
            if group is None:
                break
        await self._finish(job_id, error=None)

    async def _chunk(
        self, job_id: uuid.UUID, groups: list[Group], ctx: FileContext, *, by: str, lines: dict[int, float]
    ) -> bool:
        """Validate ``groups`` and store them in one transaction; False when the job had to be given up."""
        checked: list[Checked] = []
        prepared: dict[int, Prepared] = {}
        now = utcnow()
        budget, group = 0, groups[0]
        try:
            for group in groups:
                one = check_household(group, ctx)
                if one.data is not None:
                    prepared[id(one)] = prepare_household(one.data, registered_by=by, now=now, lines=lines)
                checked.append(one)
                budget += len(group.rows)
                if budget >= 250:  # let requests and the relay run between slices of validation
                    budget = 0
                    await asyncio.sleep(0)
        except Exception as exc:  # a bug: retrying would fail the same way, forever
            log.exception("intake.import.validation_failed", job_id=str(job_id))
            await self._finish(job_id, error=f"internal error at row {group.rows[0][0]}: {exc!r}"[:2000])
            return False

        async def store() -> None:
            async with unit_of_work(self.sessions) as session:
                await store_chunk(session, self.outbox, job_id, checked, prepared, ctx=ctx, now=now)

        outage = Outage("intake.import.store", fields={"job_id": str(job_id)})
        for attempt in range(1, 4):
            try:
                await retry_until_available(store, backoff=Backoff(first_s=0.5, max_s=10.0), outage=outage)
                break
            except IntegrityError as exc:  # a registration or another job took a JMBG or a reference meanwhile
                if attempt >= 3:
                    await self._finish(job_id, error=f"rows {groups[0].rows[0][0]}…: {exc.orig!r}"[:2000])
                    return False
                log.warning("intake.import.chunk_conflict", job_id=str(job_id), attempt=attempt)
            except Exception as exc:
                log.exception("intake.import.chunk_failed", job_id=str(job_id))
                await self._finish(job_id, error=f"internal error at row {groups[0].rows[0][0]}: {exc!r}"[:2000])
                return False
        await asyncio.sleep(0)
        return True

    async def _finish(self, job_id: uuid.UUID, *, error: str | None) -> None:
        async with unit_of_work(self.sessions) as session:
            job = await session.get(ImportJob, job_id, options=[defer(ImportJob.content)])
            if job is None:
                return
            job.status = "failed" if error else "done"
            job.error = error
            job.finished_at = utcnow()
            if not error and job.rows_failed == 0:
                job.content = None  # kept only while a resume or the error report needs it
        log.info(
            "intake.import.finished",
            job_id=str(job_id),
            status=job.status,
            rows=job.rows_done,
            imported=job.rows_imported,
            failed=job.rows_failed,
            skipped=job.rows_skipped,
            households=job.households_created,
            error=error,
        )


_frozen = 0


@contextlib.contextmanager
def _heap_frozen() -> Iterator[None]:
    """While a job runs, the cyclic collector leaves the objects that existed before it alone (``gc.freeze``).

    A job allocates millions of short-lived objects, so full collections come often, and each walked the whole
    service heap: 100,000 rows went from about 2,700 to 3,500 rows/s with this (bench/imports.py). Objects freed
    by reference counting are freed as usual; only cyclic garbage among the older objects waits until the end.
    """
    global _frozen
    if _frozen == 0:
        gc.freeze()
    _frozen += 1
    try:
        yield
    finally:
        _frozen -= 1
        if _frozen == 0:
            gc.unfreeze()


@dataclass(slots=True)
class FilePlan:
    total_rows: int
    last_row: dict[Key, int]  # a household is complete at its last row
    first_jmbg: dict[str, tuple[int, Key | None]]


def _key(values: Sequence[str], layout: Layout) -> Key | None:
    ref = layout.cell(values, "household_ref").strip()
    return (layout.cell(values, "municipality_code").strip(), ref) if ref else None


def plan_file(text: str, layout: Layout) -> FilePlan:
    """One pass over the file: where each household ends, and where each JMBG first appears."""
    plan = FilePlan(0, {}, {})
    jmbg_at = layout.index.get("jmbg")
    for number, values in records(text, layout):
        plan.total_rows += 1
        key = _key(values, layout)
        if key is not None:
            plan.last_row[key] = number
        if jmbg_at is not None and jmbg_at < len(values):
            jmbg = parse_jmbg(values[jmbg_at])
            if jmbg is not None and jmbg not in plan.first_jmbg:
                plan.first_jmbg[jmbg] = (number, key)
    return plan


def households(text: str, layout: Layout, plan: FilePlan) -> Iterator[Group]:
    """Households in the order they are complete in the file (the same order on every run of the job)."""
    open_: dict[Key, Group] = {}
    for number, values in records(text, layout):
        key = _key(values, layout)
        if key is None:
            yield Group(None, [(number, values)])
            continue
        group = open_.get(key)
        if group is None:
            group = open_[key] = Group(key, [])
        group.rows.append((number, values))
        if plan.last_row[key] == number:
            del open_[key]
            yield group


# --- one chunk's transaction ----------------------------------------------------------------------------------


async def store_chunk(
    session: AsyncSession,
    outbox: OutboxWriter,
    job_id: uuid.UUID,
    checked: list[Checked],
    prepared: dict[int, Prepared],
    *,
    ctx: FileContext,
    now: datetime,
) -> None:
    """Skip households imported before, refuse registered JMBGs, register the rest with their events, and record
    references, row errors and the job's progress: all in the caller's transaction."""
    keys = [c.group.key for c in checked if c.keyed and c.group.key is not None]
    imported_before = await _imported_refs(session, keys)
    jmbgs = [m.jmbg for c in checked if id(c) in prepared and c.data for m in c.data.members if m.jmbg]
    registered = await repository.existing_jmbgs(session, jmbgs) if jmbgs else {}
    stored: list[Checked] = []
    counts = {"rows_done": 0, "rows_imported": 0, "rows_failed": 0, "rows_skipped": 0, "households_created": 0}
    error_rows: list[dict[str, Any]] = []
    for c in checked:
        size = len(c.group.rows)
        counts["rows_done"] += size
        if c.keyed and c.group.key in imported_before:
            counts["rows_skipped"] += size
            continue
        errors = list(c.errors)
        if c.data is not None:
            for (number, _), member in zip(c.group.rows, c.data.members, strict=True):
                if member.jmbg in registered:
                    household_id, code = registered[member.jmbg]
                    where = (
                        f"in household {household_id}"
                        if ctx.scope is None or code in ctx.scope
                        else "in another municipality (ask its office)"
                    )
                    # The row itself holds the JMBG: the stored message does not repeat it.
                    errors.append(RowError(number, "jmbg", f"jmbg: this JMBG is already registered {where}"))
        if errors or c.data is None:
            counts["rows_failed"] += size
            error_rows.extend(_error_rows(job_id, c.group, errors))
            continue
        stored.append(c)
        counts["rows_imported"] += size
    if stored:
        await store_prepared(session, outbox, [prepared[id(c)] for c in stored], now=now)
        await session.execute(
            insert(ImportedHousehold),
            [
                {
                    "municipality_code": c.group.key[0],
                    "household_ref": c.group.key[1],
                    "household_id": prepared[id(c)].household_id,
                    "job_id": job_id,
                }
                for c in stored
                if c.group.key is not None
            ],
        )
        counts["households_created"] = len(stored)
    if error_rows:
        await session.execute(insert(ImportRowError), error_rows)
    await session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id)
        .values({name: getattr(ImportJob, name) + value for name, value in counts.items()})
        .execution_options(synchronize_session=False)
    )


def _error_rows(job_id: uuid.UUID, group: Group, errors: list[RowError]) -> Iterable[dict[str, Any]]:
    failing = sorted({e.row for e in errors})
    ref = group.ref
    for error in sorted(errors, key=lambda e: e.row):
        yield {
            "job_id": job_id,
            "row_number": error.row,
            "household_ref": ref[:100] if ref else None,
            "column": error.column,
            "message": error.message,
        }
    others = ", ".join(str(n) for n in failing)
    for number, _ in group.rows:
        if number not in failing:
            yield {
                "job_id": job_id,
                "row_number": number,
                "household_ref": ref[:100] if ref else None,
                "column": None,
                "message": f"another row of this household has an error (row {others}); the household was not imported",
            }


async def _imported_refs(session: AsyncSession, keys: list[Key]) -> set[Key]:
    found: set[Key] = set()
    for start in range(0, len(keys), 500):
        part = keys[start : start + 500]
        rows = await session.execute(
            select(ImportedHousehold.municipality_code, ImportedHousehold.household_ref).where(
                tuple_(ImportedHousehold.municipality_code, ImportedHousehold.household_ref).in_(part)
            )
        )
        found.update((code, ref) for code, ref in rows)
    return found
