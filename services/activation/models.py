"""Activation's own tables. No names, JMBGs, addresses or phones: a candidate is a pseudonymous person id with the
attributes matching needs, as cases sent them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, Uuid, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime, new_metadata, plumbing_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


plumbing = plumbing_tables(Base.metadata)


class Organisation(Base):
    """An employer: its id is the ``organisation`` claim its staff's tokens carry."""

    __tablename__ = "organisations"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    municipality_code: Mapped[str] = mapped_column(String(5))
    registered_by: Mapped[str] = mapped_column(String(100))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Forum(Base):
    """An employers' forum of one or more municipalities and the criteria it agreed on."""

    __tablename__ = "forums"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    municipalities: Mapped[list[str]] = mapped_column(JSON)
    criteria: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    criteria_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ForumMember(Base):
    __tablename__ = "forum_members"

    forum_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("forums.id", ondelete="CASCADE"), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Agreement(Base):
    """Cases' inter-municipal agreements as its events describe them (cases keeps the register)."""

    __tablename__ = "agreements"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    municipalities: Mapped[list[str]] = mapped_column(JSON)
    service_types: Mapped[list[str]] = mapped_column(JSON)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when this copy changed here (stale shortlists)


class Opportunity(Base):
    __tablename__ = "opportunities"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    title: Mapped[str] = mapped_column(String(200))
    municipality_code: Mapped[str] = mapped_column(String(5), index=True)
    positions: Mapped[int]
    status: Mapped[str] = mapped_column(String(20))
    organisation: Mapped[str | None] = mapped_column(String(100), index=True)
    published_by: Mapped[str] = mapped_column(String(100))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    forum_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    type: Mapped[str] = mapped_column(String(20), server_default="community_work")
    description: Mapped[str] = mapped_column(Text, server_default="")
    place: Mapped[str] = mapped_column(String(200), server_default="")
    hours_min: Mapped[int] = mapped_column(Integer, server_default="1")
    hours_max: Mapped[int] = mapped_column(Integer, server_default="40")
    starts_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    ends_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    required_skills: Mapped[list[str]] = mapped_column(JSON, server_default="[]")
    preferred_skills: Mapped[list[str]] = mapped_column(JSON, server_default="[]")
    accessible: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Candidate(Base):
    """A person a case worker engaged for work, as cases' request describes them: pseudonymous, no name.

    ``active`` is False while the person's consent to activation is withdrawn: they are on no shortlist.
    ``placed`` is True while a placement of theirs has started and not finished.
    """

    __tablename__ = "candidates"
    __table_args__ = (Index("ix_candidates_municipality_active", "municipality_code", "active"),)

    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    request_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    municipality_code: Mapped[str] = mapped_column(String(5))
    sex: Mapped[str] = mapped_column(String(1))
    birth_year: Mapped[int]
    able_to_work: Mapped[bool] = mapped_column(Boolean, default=True)
    education: Mapped[str | None] = mapped_column(String(30), nullable=True)
    employment_status: Mapped[str | None] = mapped_column(String(30), nullable=True)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    markers: Mapped[list[str]] = mapped_column(JSON, default=list)
    below_poverty_line: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    unemployed_since: Mapped[date | None] = mapped_column(Date, nullable=True)
    hours_min: Mapped[int]
    hours_max: Mapped[int]
    available_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    placed: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ShortlistEntry(Base):
    """The stored top of one opportunity's ranking (recomputed for all opportunities by one batch)."""

    __tablename__ = "shortlist_entries"

    opportunity_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, index=True)
    rank: Mapped[int]
    score: Mapped[float] = mapped_column(Float)


class ShortlistDigest(Base):
    """A fingerprint of each stored shortlist, so a recompute compares 2,000 digests, not 100,000 entries."""

    __tablename__ = "shortlist_digests"

    opportunity_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"), primary_key=True
    )
    digest: Mapped[str] = mapped_column(String(64))


class MatchingRun(Base):
    """One line per shortlist recomputation: when, how many, how long (the coordinator's page shows the last)."""

    __tablename__ = "matching_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    candidates: Mapped[int]
    opportunities: Mapped[int]
    entries: Mapped[int]


class Placement(Base):
    __tablename__ = "placements"
    __table_args__ = (
        # One live placement per person and opportunity: a declined one may be proposed again.
        Index(
            "uq_placements_live",
            "opportunity_id",
            "person_id",
            unique=True,
            sqlite_where=text("status <> 'declined'"),
            postgresql_where=text("status <> 'declined'"),
        ),
        Index("ix_placements_person", "person_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    opportunity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("opportunities.id"), index=True)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    case_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    candidate_municipality_code: Mapped[str] = mapped_column(String(5))
    status: Mapped[str] = mapped_column(String(20))
    score: Mapped[float] = mapped_column(Float)
    rank: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The candidate's groups when proposed, for the fairness report (kept if the candidate is later erased).
    woman: Mapped[bool] = mapped_column(Boolean)
    roma: Mapped[bool] = mapped_column(Boolean)
    disability: Mapped[bool] = mapped_column(Boolean)
    employer_accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    candidate_accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    declined_by: Mapped[str | None] = mapped_column(String(20), nullable=True)
    decline_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    hours_total: Mapped[int] = mapped_column(Integer, default=0)
    proposed_by: Mapped[str] = mapped_column(String(100))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PlacementHours(Base):
    __tablename__ = "placement_hours"

    placement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("placements.id", ondelete="CASCADE"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    hours: Mapped[int]
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PersonMark(Base):
    """What intake said about a person that a later-arriving candidate request must respect: erased (the request
    is ignored), consent to activation withdrawn (the candidate stays off every list until it is given again),
    merged into another person (the request applies to the survivor). Only pseudonymous ids."""

    __tablename__ = "person_marks"

    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    merged_into: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    merged_household: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when activation learnt it (stale shortlists)
