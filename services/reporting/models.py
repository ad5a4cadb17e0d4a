"""Reporting's projections: read models built only from events, rebuildable by replay. No personal data."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime, new_metadata, plumbing_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


plumbing = plumbing_tables(Base.metadata)


class MunicipalityIndicators(Base):
    __tablename__ = "municipality_indicators"

    municipality_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    households: Mapped[int] = mapped_column(default=0)
    persons_female: Mapped[int] = mapped_column(default=0)
    persons_male: Mapped[int] = mapped_column(default=0)
    open_cases: Mapped[int] = mapped_column(default=0)
    opportunities_published: Mapped[int] = mapped_column(default=0)
    # Placements by the candidate's municipality: each step of activation's placement lifecycle.
    placements_proposed: Mapped[int] = mapped_column(default=0, server_default="0")
    placements_started: Mapped[int] = mapped_column(default=0, server_default="0")
    placements_completed: Mapped[int] = mapped_column(default=0, server_default="0")
    placements_ended: Mapped[int] = mapped_column(default=0, server_default="0")
    placement_hours_worked: Mapped[int] = mapped_column(default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HouseholdFact(Base):
    """One row per registered household: pseudonymous id, where and when, when it reached the indicators."""

    __tablename__ = "household_facts"

    household_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    municipality_code: Mapped[str] = mapped_column(String(5), index=True)
    members: Mapped[int]
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    projected_at: Mapped[datetime] = mapped_column(UTCDateTime)
