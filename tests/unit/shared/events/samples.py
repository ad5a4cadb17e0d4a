"""One valid instance of every event type, for the catalogue and AsyncAPI tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

from shared.events import CaseOpenedV1, EventData, HouseholdRegisteredV1, MemberProfile, OpportunityPublishedV1

HOUSEHOLD_ID = UUID("0b8e6d0c-7a3e-4f57-9d7e-1c2b3a4d5e6f")
RUMA = "80357"


def household_registered() -> HouseholdRegisteredV1:
    return HouseholdRegisteredV1(
        household_id=HOUSEHOLD_ID,
        municipality_code=RUMA,
        registered_at=datetime(2024, 5, 1, 9, 30, tzinfo=UTC),
        members=[
            MemberProfile(person_id=UUID("a1a1a1a1-0000-4000-8000-000000000001"), sex="F", birth_year=1985),
            MemberProfile(person_id=UUID("a1a1a1a1-0000-4000-8000-000000000002"), sex="M", birth_year=2012),
        ],
    )


def case_opened() -> CaseOpenedV1:
    return CaseOpenedV1(
        case_id=UUID("c0c0c0c0-0000-4000-8000-000000000001"),
        household_id=HOUSEHOLD_ID,
        municipality_code=RUMA,
        opened_at=datetime(2024, 5, 3, 11, 0, tzinfo=UTC),
        household_registered_at=datetime(2024, 5, 1, 9, 30, tzinfo=UTC),
    )


def opportunity_published() -> OpportunityPublishedV1:
    return OpportunityPublishedV1(
        opportunity_id=UUID("0ff0ff00-0000-4000-8000-000000000001"),
        municipality_code="80403",
        title="Održavanje zelenih površina",
        positions=4,
        published_at=datetime(2024, 6, 1, 8, 0, tzinfo=UTC),
    )


SAMPLES: dict[type[EventData], Callable[[], EventData]] = {
    HouseholdRegisteredV1: household_registered,
    CaseOpenedV1: case_opened,
    OpportunityPublishedV1: opportunity_published,
}
