"""Intake's own tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.db import UTCDateTime, new_metadata, plumbing_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


plumbing = plumbing_tables(Base.metadata)


class Household(Base):
    __tablename__ = "households"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    municipality_code: Mapped[str] = mapped_column(String(5), index=True)
    registered_by: Mapped[str] = mapped_column(String(100))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    members: Mapped[list[Person]] = relationship(back_populates="household", lazy="raise", order_by="Person.position")


class Person(Base):
    __tablename__ = "persons"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("households.id"), index=True)
    position: Mapped[int]
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1))
    jmbg: Mapped[str | None] = mapped_column(String(13), unique=True)
    household: Mapped[Household] = relationship(back_populates="members", lazy="raise")
