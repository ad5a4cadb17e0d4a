"""Activation's own tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, String, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime, new_metadata, plumbing_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


plumbing = plumbing_tables(Base.metadata)


class Opportunity(Base):
    __tablename__ = "opportunities"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    title: Mapped[str] = mapped_column(String(200))
    municipality_code: Mapped[str] = mapped_column(String(5), index=True)
    positions: Mapped[int]
    status: Mapped[str] = mapped_column(String(20))
    organisation: Mapped[str | None] = mapped_column(String(100))
    published_by: Mapped[str] = mapped_column(String(100))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Candidate(Base):
    """A person a case worker engaged for work, as cases' request describes them: pseudonymous, no name.

    ``active`` is False while the person's consent to activation is withdrawn: they are on no shortlist.
    """

    __tablename__ = "candidates"

    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    request_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    municipality_code: Mapped[str] = mapped_column(String(5), index=True)
    sex: Mapped[str] = mapped_column(String(1))
    birth_year: Mapped[int]
    education: Mapped[str | None] = mapped_column(String(30), nullable=True)
    employment_status: Mapped[str | None] = mapped_column(String(30), nullable=True)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    markers: Mapped[list[str]] = mapped_column(JSON, default=list)
    below_poverty_line: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    unemployed_since: Mapped[date | None] = mapped_column(Date, nullable=True)
    hours_min: Mapped[int]
    hours_max: Mapped[int]
    available_from: Mapped[date]
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
