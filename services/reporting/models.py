"""Reporting's projections: facts built only from events, rebuildable by replay.

Each fact table holds what one kind of event says about one thing (a household, a person, a case, a referral, a
provider, a candidate, an opportunity, a placement), under its pseudonymous id and with coarse attributes only:
municipality, sex, age band, vulnerable groups as a bit mask, months as ``yyyymm`` numbers. No name, JMBG,
address, phone, birth date or free text reaches this store. Indicators are computed from these facts when asked
(services/reporting/indicators/); facts of different topics are joined only then, so the order in which the
topics happen to be read (live or in a rebuild) does not change any figure.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, BigInteger, Boolean, Float, Index, Integer, SmallInteger, String, Table, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime, new_metadata, plumbing_tables

AutoId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = new_metadata()


plumbing = plumbing_tables(Base.metadata)


class HouseholdFact(Base):
    """A registered household as its latest event describes it; the head's sex and age band stand for it."""

    __tablename__ = "household_facts"

    household_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    municipality_code: Mapped[str] = mapped_column(String(5), index=True)
    registered_ym: Mapped[int] = mapped_column(Integer)
    members: Mapped[int] = mapped_column(SmallInteger)
    below_poverty: Mapped[bool | None] = mapped_column(Boolean)
    head_sex: Mapped[str | None] = mapped_column(String(1))
    head_age_band: Mapped[int | None] = mapped_column(SmallInteger)
    groups: Mapped[int] = mapped_column(Integer, default=0)
    elderly_head: Mapped[bool] = mapped_column(Boolean, default=False)
    single_woman_head: Mapped[bool] = mapped_column(Boolean, default=False)
    disability_member: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    projected_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PersonFact(Base):
    """A member of a registered household (the household's rows are replaced with each of its states)."""

    __tablename__ = "person_facts"

    # Keyed by person and household: a merge moves members by events on two partitions, read in either order;
    # each household's state keeps its own rows until the merge removes the merged household's.
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, index=True)
    municipality_code: Mapped[str] = mapped_column(String(5))
    registered_ym: Mapped[int] = mapped_column(Integer)
    sex: Mapped[str] = mapped_column(String(1))
    age_band: Mapped[int] = mapped_column(SmallInteger)
    groups: Mapped[int] = mapped_column(Integer, default=0)
    below_poverty: Mapped[bool | None] = mapped_column(Boolean)


class PersonMark(Base):
    """A person intake erased or merged into another: requests read later on another topic respect it."""

    __tablename__ = "person_marks"

    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    erased: Mapped[bool] = mapped_column(Boolean, default=False)
    merged_into: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class CaseFact(Base):
    __tablename__ = "case_facts"

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    municipality_code: Mapped[str] = mapped_column(String(5), index=True)
    opened_ym: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    worker: Mapped[str | None] = mapped_column(String(200))
    assessed_ym: Mapped[int | None] = mapped_column(Integer)
    days_to_assessment: Mapped[float | None] = mapped_column(Float)


class CaseTransition(Base):
    """A case entering a state (from_status None: opened). States at a month's end are their running sums."""

    __tablename__ = "case_transitions"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    municipality_code: Mapped[str] = mapped_column(String(5))
    ym: Mapped[int] = mapped_column(Integer)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))


class ReferralFact(Base):
    __tablename__ = "referral_facts"

    referral_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    municipality_code: Mapped[str] = mapped_column(String(5))
    service_type: Mapped[str] = mapped_column(String(40))
    cross_border: Mapped[bool] = mapped_column(Boolean)
    requested_ym: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))


class ProviderFact(Base):
    """A provider's latest capacity and occupancy (what it contributes now)."""

    __tablename__ = "provider_facts"

    provider_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    municipality_code: Mapped[str] = mapped_column(String(5))
    service_type: Mapped[str] = mapped_column(String(40))
    capacity: Mapped[int] = mapped_column(Integer)
    occupancy: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProviderDelta(Base):
    """How one change of a provider moved capacity and occupancy in its month: running sums give any month's."""

    __tablename__ = "provider_deltas"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    provider_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    municipality_code: Mapped[str] = mapped_column(String(5))
    service_type: Mapped[str] = mapped_column(String(40))
    ym: Mapped[int] = mapped_column(Integer)
    providers: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer)
    occupancy: Mapped[int] = mapped_column(Integer)


class CandidateFact(Base):
    """A person a case worker engaged for work (first request; attributes of the earliest request)."""

    __tablename__ = "candidate_facts"

    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    municipality_code: Mapped[str] = mapped_column(String(5))
    requested_ym: Mapped[int] = mapped_column(Integer)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sex: Mapped[str] = mapped_column(String(1))
    age_band: Mapped[int] = mapped_column(SmallInteger)
    groups: Mapped[int] = mapped_column(Integer, default=0)


class OpportunityFact(Base):
    __tablename__ = "opportunity_facts"

    opportunity_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    municipality_code: Mapped[str] = mapped_column(String(5))
    opportunity_type: Mapped[str] = mapped_column(String(20))
    positions: Mapped[int] = mapped_column(Integer)
    published_ym: Mapped[int] = mapped_column(Integer)
    closed_ym: Mapped[int | None] = mapped_column(Integer)


class PlacementFact(Base):
    """A placement by its steps' months; the candidate's attributes are joined from candidate_facts."""

    __tablename__ = "placement_facts"

    placement_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    municipality_code: Mapped[str] = mapped_column(String(5))
    opportunity_type: Mapped[str | None] = mapped_column(String(20))
    proposed_ym: Mapped[int | None] = mapped_column(Integer)
    started_ym: Mapped[int | None] = mapped_column(Integer)
    completed_ym: Mapped[int | None] = mapped_column(Integer)
    ended_ym: Mapped[int | None] = mapped_column(Integer)
    hours_worked: Mapped[int] = mapped_column(Integer, default=0)


class FeedPending(Base):
    """Cells changed since the last announcement round (written with the facts, so no change goes unannounced)."""

    __tablename__ = "feed_pending"

    municipality_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    ym: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class FeedEntry(Base):
    """Announcements of changed indicators, in order: the SSE stream's log (``seq`` is the event id)."""

    __tablename__ = "indicator_feed"

    seq: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    municipality_code: Mapped[str] = mapped_column(String(5))
    month: Mapped[str] = mapped_column(String(7))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


Index("ix_indicator_feed_cell", FeedEntry.municipality_code, FeedEntry.month, FeedEntry.seq)
Index("ix_case_transitions_ym", CaseTransition.municipality_code, CaseTransition.ym)
Index("ix_person_facts_ym", PersonFact.municipality_code, PersonFact.registered_ym)
Index("ix_placement_facts_started", PlacementFact.municipality_code, PlacementFact.started_ym)


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


# The fact tables as tables, for the statements of projection.py (writes) and read_model.py (reads).
HOUSEHOLDS, PERSONS, MARKS = _table(HouseholdFact), _table(PersonFact), _table(PersonMark)
CASES, TRANSITIONS, REFERRALS = _table(CaseFact), _table(CaseTransition), _table(ReferralFact)
PROVIDERS, PROVIDER_DELTAS = _table(ProviderFact), _table(ProviderDelta)
CANDIDATES, OPPORTUNITIES, PLACEMENTS = _table(CandidateFact), _table(OpportunityFact), _table(PlacementFact)
