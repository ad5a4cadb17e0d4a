"""One valid instance of every event type, for the catalogue and AsyncAPI tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from uuid import UUID

from shared.events import (
    ActivationRequestedV1,
    AgreementChangedV1,
    AssessmentCompletedV1,
    Availability,
    CaseAssignedV1,
    CaseOpenedV1,
    CasePriorityChangedV1,
    CaseStatusChangedV1,
    CaseTransferredV1,
    EventData,
    HouseholdMergedV1,
    HouseholdRegisteredV1,
    HouseholdRegisteredV2,
    HouseholdUpdatedV1,
    IndicatorsUpdatedV1,
    MatchProposedV1,
    MemberProfile,
    OpportunityClosedV1,
    OpportunityPublishedV1,
    PersonConsentChangedV1,
    PersonErasedV1,
    PersonMergedV1,
    PlacementAcceptedV1,
    PlacementCompletedV1,
    PlacementDeclinedV1,
    PlacementEndedV1,
    PlacementHoursRecordedV1,
    PlacementStartedV1,
    PlanAgreedV1,
    ProviderChangedV1,
    ReferralDecidedV1,
    ReferralRequestedV1,
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


CASE = UUID("c0c0c0c0-0000-4000-8000-000000000001")
PROVIDER = UUID("9e9e9e9e-0000-4000-8000-000000000001")
REFERRAL = UUID("4e4e4e4e-0000-4000-8000-000000000001")
PLACEMENT = UUID("91a0c000-0000-4000-8000-000000000001")
OPPORTUNITY = UUID("0ff0ff00-0000-4000-8000-000000000001")
CASE_KEYS = {"case_id": CASE, "household_id": HOUSEHOLD_ID, "municipality_code": RUMA}
REFERRAL_KEYS = CASE_KEYS | {
    "referral_id": REFERRAL,
    "provider_id": PROVIDER,
    "service_type": "home_help",
    "provider_municipality_code": "80012",
    "cross_border": True,
}
PLACEMENT_KEYS = {
    "placement_id": PLACEMENT,
    "opportunity_id": OPPORTUNITY,
    "person_id": MOTHER,
    "case_id": CASE,
    "municipality_code": RUMA,
}

CASES_SAMPLES: dict[type[EventData], Callable[[], EventData]] = {
    CaseAssignedV1: lambda: CaseAssignedV1(**CASE_KEYS, worker="ana.worker", by="rule", assigned_at=WHEN),
    CaseStatusChangedV1: lambda: CaseStatusChangedV1(
        **CASE_KEYS, from_status="active", to_status="closed", reason="goals_achieved", changed_at=WHEN
    ),
    CaseTransferredV1: lambda: CaseTransferredV1(
        **CASE_KEYS,
        to_case_id=UUID("c0c0c0c0-0000-4000-8000-000000000002"),
        to_municipality_code="80012",
        agreement_id=UUID("a9a9a9a9-0000-4000-8000-000000000001"),
        transferred_at=WHEN,
    ),
    CasePriorityChangedV1: lambda: CasePriorityChangedV1(
        **CASE_KEYS, priority="high", restricted=False, changed_at=WHEN
    ),
    AssessmentCompletedV1: lambda: AssessmentCompletedV1(
        **CASE_KEYS,
        assessment_id=UUID("a5a5a5a5-0000-4000-8000-000000000001"),
        needs={"income": "high", "housing": "moderate", "safety": "none"},
        household_registered_at=datetime(2024, 5, 1, 9, 30, tzinfo=UTC),
        completed_at=WHEN,
    ),
    PlanAgreedV1: lambda: PlanAgreedV1(
        **CASE_KEYS,
        plan_id=UUID("b1b1b1b1-0000-4000-8000-000000000001"),
        version=1,
        goals=2,
        actions=3,
        review_date=date(2024, 8, 1),
        agreed_at=WHEN,
    ),
    ReferralRequestedV1: lambda: ReferralRequestedV1(**REFERRAL_KEYS, requested_at=WHEN),
    ReferralDecidedV1: lambda: ReferralDecidedV1(**REFERRAL_KEYS, status="accepted", decided_at=WHEN),
    ProviderChangedV1: lambda: ProviderChangedV1(
        provider_id=PROVIDER,
        service_type="home_help",
        municipality_code="80012",
        capacity=20,
        occupancy=7,
        residential=False,
        accessible=True,
        active=True,
        changed_at=WHEN,
    ),
    ActivationRequestedV1: lambda: ActivationRequestedV1(
        request_id=UUID("7e7e7e7e-0000-4000-8000-000000000001"),
        person_id=MOTHER,
        household_id=HOUSEHOLD_ID,
        case_id=CASE,
        municipality_code=RUMA,
        sex="F",
        birth_year=1985,
        education="primary",
        employment_status="unemployed",
        skills=["cleaning", "cooking"],
        markers=["unemployed_able_to_work", "single_parent"],
        below_poverty_line=True,
        unemployed_since=date(2022, 3, 1),
        availability=Availability(hours_per_week_min=10, hours_per_week_max=20, available_from=date(2024, 6, 1)),
        requested_at=WHEN,
    ),
    PlacementStartedV1: lambda: PlacementStartedV1(**PLACEMENT_KEYS, started_at=WHEN),
    PlacementCompletedV1: lambda: PlacementCompletedV1(**PLACEMENT_KEYS, hours_worked=320, completed_at=WHEN),
    PlacementEndedV1: lambda: PlacementEndedV1(**PLACEMENT_KEYS, reason="health", hours_worked=40, ended_at=WHEN),
    MatchProposedV1: lambda: MatchProposedV1(
        **PLACEMENT_KEYS,
        opportunity_municipality_code="80357",
        opportunity_type="public_works",
        score=71.25,
        rank=3,
        proposed_at=WHEN,
    ),
    PlacementAcceptedV1: lambda: PlacementAcceptedV1(**PLACEMENT_KEYS, party="employer", both=False, accepted_at=WHEN),
    PlacementDeclinedV1: lambda: PlacementDeclinedV1(
        **PLACEMENT_KEYS, party="candidate", reason="candidate_unavailable", declined_at=WHEN
    ),
    PlacementHoursRecordedV1: lambda: PlacementHoursRecordedV1(
        **PLACEMENT_KEYS, month="2026-10", hours=64, hours_total=128, recorded_at=WHEN
    ),
    OpportunityClosedV1: lambda: OpportunityClosedV1(
        opportunity_id=UUID("8a3b4c5d-0000-4000-8000-00000000c105"), municipality_code="80012", closed_at=WHEN
    ),
    AgreementChangedV1: lambda: AgreementChangedV1(
        agreement_id=UUID("8a3b4c5d-0000-4000-8000-00000000a9e1"),
        municipalities=["80012", "80357"],
        service_types=["day_care", "work_engagement"],
        valid_from=date(2026, 1, 1),
        valid_to=None,
        changed_at=WHEN,
    ),
}


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
    **CASES_SAMPLES,
    IndicatorsUpdatedV1: lambda: IndicatorsUpdatedV1(
        municipality_code="80012",
        district="Južnobački",
        month="2026-10",
        indicators={"households_registered": 12, "persons_registered": 31, "cases_opened": "<5"},
        updated_at=WHEN,
    ),
}
