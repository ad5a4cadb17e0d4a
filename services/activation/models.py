"""Activation's own tables."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String, Uuid
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
