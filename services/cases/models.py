"""Cases' own tables.

Cases keeps what case work needs: the case and its history, what intake's events say about the members
(pseudonymous: birth year, sex, markers, skills, consents), assessments, plans, referrals, providers,
agreements and the workers who carry the caseload. Names and contact details stay in intake; a worker opens
the household in intake's pages to see them.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, Uuid, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import AutoId, UTCDateTime, new_metadata, plumbing_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


plumbing = plumbing_tables(Base.metadata)


class Worker(Base):
    """A case worker of one or more municipalities (the account's ``sub``)."""

    __tablename__ = "workers"

    sub: Mapped[str] = mapped_column(String(200), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    # False: on leave or gone; keeps their cases until a supervisor reassigns, gets no new ones.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WorkerMunicipality(Base):
    __tablename__ = "worker_municipalities"

    sub: Mapped[str] = mapped_column(ForeignKey("workers.sub", ondelete="CASCADE"), primary_key=True)
    municipality_code: Mapped[str] = mapped_column(String(5), primary_key=True, index=True)


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        # One case per registered household; cases opened by a transfer, or set aside by a merge, are the others.
        Index(
            "uq_cases_household_first",
            "household_id",
            unique=True,
            sqlite_where=text("transferred_from_case_id IS NULL AND merged_into_case_id IS NULL"),
            postgresql_where=text("transferred_from_case_id IS NULL AND merged_into_case_id IS NULL"),
        ),
        Index("ix_cases_worker_status", "assigned_to", "status"),
        Index("ix_cases_municipality_status", "municipality_code", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    municipality_code: Mapped[str] = mapped_column(String(5))
    status: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(10))
    # Domestic or partner violence: only the assigned worker and supervisors see the case.
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    below_poverty_line: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    member_count: Mapped[int]
    household_version: Mapped[int] = mapped_column(Integer, default=1)
    assigned_to: Mapped[str | None] = mapped_column(String(200), nullable=True)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    household_registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    assessed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    close_reason: Mapped[str | None] = mapped_column(String(30), nullable=True)
    review_due_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    review_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    case_work_consent_withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    transferred_from_case_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    transferred_to_case_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    # Another case of the same household, after intake merged two household records.
    merged_into_case_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CaseMember(Base):
    """A household member as intake's events describe them (no personal data)."""

    __tablename__ = "case_members"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, index=True)
    sex: Mapped[str] = mapped_column(String(1))
    birth_year: Mapped[int]
    relation: Mapped[str | None] = mapped_column(String(20), nullable=True)
    able_to_work: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    employment_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    education: Mapped[str | None] = mapped_column(String(20), nullable=True)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    markers: Mapped[list[str]] = mapped_column(JSON, default=list)
    consents: Mapped[list[str]] = mapped_column(JSON, default=list)
    erased: Mapped[bool] = mapped_column(Boolean, default=False)
    # False once intake says the member left this household (moved by a merge).
    present: Mapped[bool] = mapped_column(Boolean, default=True)


class TimelineEntry(Base):
    """Everything that happened to a case, in order."""

    __tablename__ = "case_timeline"
    __table_args__ = (Index("ix_case_timeline_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str | None] = mapped_column(String(200), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Assessment(Base):
    __tablename__ = "assessments"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    # {domain: {"level": ..., "note": ...}} for the seven domains
    needs: Mapped[dict[str, Any]] = mapped_column(JSON)
    summary: Mapped[str | None] = mapped_column(Text, nullable=True)
    completed_by: Mapped[str] = mapped_column(String(200))
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Plan(Base):
    """An individual plan; each change agreed with the household is a new version."""

    __tablename__ = "plans"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    goals: Mapped[list[str]] = mapped_column(JSON)
    review_date: Mapped[date] = mapped_column(Date, index=True)
    agreed_by: Mapped[str] = mapped_column(String(200))
    agreed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PlanAction(Base):
    __tablename__ = "plan_actions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(30))  # task, service, work_engagement
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    person_erased: Mapped[bool] = mapped_column(Boolean, default=False)
    responsible: Mapped[str] = mapped_column(String(200))
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    service_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    hours_per_week_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    hours_per_week_max: Mapped[int | None] = mapped_column(Integer, nullable=True)
    available_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    unemployed_since: Mapped[date | None] = mapped_column(Date, nullable=True)
    activation_request_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)


class Provider(Base):
    __tablename__ = "providers"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    service_type: Mapped[str] = mapped_column(String(40))
    municipality_code: Mapped[str] = mapped_column(String(5), index=True)
    capacity: Mapped[int]
    occupancy: Mapped[int] = mapped_column(Integer, default=0)
    accessible: Mapped[bool] = mapped_column(Boolean, default=False)
    residential: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Agreement(Base):
    """An inter-municipal agreement: which municipalities share which services, from when to when."""

    __tablename__ = "agreements"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    municipalities: Mapped[list[str]] = mapped_column(JSON)
    service_types: Mapped[list[str]] = mapped_column(JSON)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Referral(Base):
    __tablename__ = "referrals"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    person_erased: Mapped[bool] = mapped_column(Boolean, default=False)
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"), index=True)
    service_type: Mapped[str] = mapped_column(String(40))
    case_municipality_code: Mapped[str] = mapped_column(String(5))
    provider_municipality_code: Mapped[str] = mapped_column(String(5), index=True)
    agreement_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # When the case_work consent was withdrawn, a referral needs the legal basis it is made on.
    legal_basis: Mapped[str | None] = mapped_column(Text, nullable=True)
    decline_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
