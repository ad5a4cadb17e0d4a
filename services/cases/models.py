"""Cases' own tables."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime, new_metadata, plumbing_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


plumbing = plumbing_tables(Base.metadata)


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    # One case per household: the unique constraint is the last line of defence behind the ledger.
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    municipality_code: Mapped[str] = mapped_column(String(5), index=True)
    status: Mapped[str] = mapped_column(String(20))
    member_count: Mapped[int]
    household_registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
