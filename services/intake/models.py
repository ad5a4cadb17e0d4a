"""Intake's own tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.db import UTCDateTime, new_metadata, plumbing_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


plumbing = plumbing_tables(Base.metadata)


class Household(Base):
    __tablename__ = "households"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    municipality_code: Mapped[str] = mapped_column(String(5), index=True)
    settlement: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(200))
    housing_type: Mapped[str | None] = mapped_column(String(30))
    housing_problems: Mapped[list[str]] = mapped_column(JSON, default=list)
    incomes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    monthly_income: Mapped[float] = mapped_column(Float, default=0.0)
    registered_by: Mapped[str] = mapped_column(String(100))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Poverty as last computed (registration, edits, a change of the year's line).
    equivalent_adults: Mapped[float | None] = mapped_column(Float)
    below_poverty_line: Mapped[bool | None] = mapped_column(Boolean, index=True)
    poverty_year: Mapped[int | None] = mapped_column(Integer)
    # As known from cases' events.
    case_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    case_status: Mapped[str | None] = mapped_column(String(30))
    merged_into: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    members: Mapped[list[Person]] = relationship(back_populates="household", lazy="raise", order_by="Person.position")


class Person(Base):
    __tablename__ = "persons"
    # No index on given_key: nothing filters on it (likely duplicates go through family key and birth date).
    __table_args__ = (Index("ix_persons_family_key_birth_date", "family_key", "birth_date"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("households.id"), index=True)
    position: Mapped[int]
    # Personal data: emptied by erasure.
    given_name: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date | None] = mapped_column(Date)
    jmbg: Mapped[str | None] = mapped_column(String(13), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    # Folded names (shared.script.fold): search and duplicate detection in any script, with or without diacritics.
    given_key: Mapped[str | None] = mapped_column(String(100))
    family_key: Mapped[str | None] = mapped_column(String(100))
    # Every folded word of both names, each after a space: search matches the start of any word.
    search_words: Mapped[str | None] = mapped_column(String(250))
    # What survives erasure, for statistics: sex and birth year.
    sex: Mapped[str] = mapped_column(String(1))
    birth_year: Mapped[int] = mapped_column(Integer)
    missing_jmbg_reason: Mapped[str | None] = mapped_column(String(30))
    relation: Mapped[str | None] = mapped_column(String(20))
    education: Mapped[str | None] = mapped_column(String(30))
    employment_status: Mapped[str | None] = mapped_column(String(30))
    able_to_work: Mapped[bool | None] = mapped_column(Boolean)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    markers: Mapped[list[str]] = mapped_column(JSON, default=list)
    consents: Mapped[list[str]] = mapped_column(JSON, default=list)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    household: Mapped[Household] = relationship(back_populates="members", lazy="raise")


class ConsentRecord(Base):
    """Every grant and withdrawal, in order: the current state is on the person, the history is here."""

    __tablename__ = "consent_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    granted: Mapped[bool] = mapped_column(Boolean)
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PovertyLine(Base):
    __tablename__ = "poverty_lines"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    amount: Mapped[float] = mapped_column(Float)
    set_by: Mapped[str] = mapped_column(String(100))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DuplicateCandidate(Base):
    """A likely duplicate waiting for a supervisor: never merged without one."""

    __tablename__ = "duplicate_candidates"
    __table_args__ = (Index("ix_duplicates_pair", "person_id", "other_person_id", unique=True),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)  # the newer record
    other_person_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)  # the one already registered
    municipality_code: Mapped[str] = mapped_column(String(5), index=True)
    reason: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)  # open, merged, dismissed
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """One read of personal data: who, when, which record, through which endpoint."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(200))
    record_type: Mapped[str] = mapped_column(String(20))
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    municipality_code: Mapped[str | None] = mapped_column(String(5), index=True)


class ImportJob(Base):
    __tablename__ = "import_jobs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content: Mapped[bytes | None] = mapped_column(LargeBinary)  # kept until done, so a restart can resume
    created_by: Mapped[str] = mapped_column(String(100))
    municipalities: Mapped[list[str]] = mapped_column(JSON, default=list)  # the uploader's scope
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued, running, done, failed
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    rows_imported: Mapped[int] = mapped_column(Integer, default=0)
    rows_failed: Mapped[int] = mapped_column(Integer, default=0)
    rows_skipped: Mapped[int] = mapped_column(Integer, default=0)
    households_created: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)


class ImportRowError(Base):
    __tablename__ = "import_errors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("import_jobs.id"), index=True)
    row_number: Mapped[int] = mapped_column(Integer)
    household_ref: Mapped[str | None] = mapped_column(String(100))
    column: Mapped[str | None] = mapped_column(String(50))
    message: Mapped[str] = mapped_column(Text)


class ImportedHousehold(Base):
    """Which field reference became which household: re-importing a file never registers a household twice."""

    __tablename__ = "imported_households"

    municipality_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    household_ref: Mapped[str] = mapped_column(String(100), primary_key=True)
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    job_id: Mapped[uuid.UUID] = mapped_column(Uuid)
