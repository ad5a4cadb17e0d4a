"""One valid instance of every event type, for the catalogue and AsyncAPI tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

from shared.events import (
    CaseOpenedV1,
    EventData,
    HouseholdMergedV1,
    HouseholdRegisteredV1,
    HouseholdRegisteredV2,
    HouseholdUpdatedV1,
    MemberProfile,
    OpportunityPublishedV1,
    PersonConsentChangedV1,
    PersonErasedV1,
    PersonMergedV1,
)

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


MOTHER = UUID("a1a1a1a1-0000-4000-8000-000000000001")
SON = UUID("a1a1a1a1-0000-4000-8000-000000000002")
WHEN = datetime(2024, 5, 2, 10, 0, tzinfo=UTC)


def _members() -> list[MemberProfile]:
    return [
        MemberProfile(
            person_id=MOTHER,
            sex="F",
            birth_year=1985,
            relation="head",
            able_to_work=True,
            employment_status="unemployed",
            education="primary",
            skills=["cleaning", "cooking"],
            markers=["unemployed_able_to_work", "single_parent"],
            consents=["case_work", "activation"],
        ),
        MemberProfile(person_id=SON, sex="M", birth_year=2012, relation="child", education="primary_incomplete"),
    ]


def household_registered_v2() -> HouseholdRegisteredV2:
    return HouseholdRegisteredV2(
        household_id=HOUSEHOLD_ID,
        municipality_code=RUMA,
        registered_at=datetime(2024, 5, 1, 9, 30, tzinfo=UTC),
        members=_members(),
        housing_type="rented",
        equivalent_adults=1.3,
        below_poverty_line=True,
        poverty_year=2024,
    )


def household_updated() -> HouseholdUpdatedV1:
    return HouseholdUpdatedV1(
        household_id=HOUSEHOLD_ID,
        municipality_code=RUMA,
        registered_at=datetime(2024, 5, 1, 9, 30, tzinfo=UTC),
        members=_members(),
        housing_type="rented",
        equivalent_adults=1.3,
        below_poverty_line=False,
        poverty_year=2024,
        version=2,
        reason="poverty_line_changed",
        changed_at=WHEN,
    )


def consent_changed() -> PersonConsentChangedV1:
    return PersonConsentChangedV1(
        household_id=HOUSEHOLD_ID, person_id=MOTHER, purpose="activation", granted=False, changed_at=WHEN
    )


def person_erased() -> PersonErasedV1:
    return PersonErasedV1(household_id=HOUSEHOLD_ID, person_id=SON, erased_at=WHEN)


def household_merged() -> HouseholdMergedV1:
    return HouseholdMergedV1(
        survivor_household_id=HOUSEHOLD_ID,
        merged_household_id=UUID("0b8e6d0c-7a3e-4f57-9d7e-000000000002"),
        moved_person_ids=[UUID("a1a1a1a1-0000-4000-8000-000000000003")],
        merged_person_ids={UUID("a1a1a1a1-0000-4000-8000-000000000004"): MOTHER},
        merged_at=WHEN,
    )


def person_merged() -> PersonMergedV1:
    return PersonMergedV1(
        survivor_person_id=MOTHER,
        survivor_household_id=HOUSEHOLD_ID,
        merged_person_id=UUID("a1a1a1a1-0000-4000-8000-000000000004"),
        merged_household_id=UUID("0b8e6d0c-7a3e-4f57-9d7e-000000000002"),
        merged_at=WHEN,
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
    HouseholdRegisteredV2: household_registered_v2,
    HouseholdUpdatedV1: household_updated,
    PersonConsentChangedV1: consent_changed,
    PersonErasedV1: person_erased,
    HouseholdMergedV1: household_merged,
    PersonMergedV1: person_merged,
    CaseOpenedV1: case_opened,
    OpportunityPublishedV1: opportunity_published,
}
