"""Cases' rules without a database: lifecycle, priority, assignment, referrals across borders, small cells."""

from __future__ import annotations

from datetime import date, timedelta
from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.cases.domain import (
    AGREEMENT_SCOPES,
    CLOSE_REASONS,
    NEED_DOMAINS,
    NEED_LEVELS,
    SERVICE_TYPES,
    TRANSITIONS,
    Agreement,
    CaseStatus,
    IllegalReferralStep,
    IllegalTransition,
    MemberFacts,
    Priority,
    ReferralStatus,
    WorkerLoad,
    capacity_refusal,
    case_priority,
    check_referral_step,
    check_transition,
    choose_worker,
    median_days,
    plan_is_overdue,
    referral_refusal,
    transfer_agreement,
)
from services.cases.schemas import AgreementScope
from shared.disclosure import disclosed
from shared.events.cases import CaseStatusName, CloseReason, NeedDomain, NeedLevel, PriorityName, ServiceType

TODAY = date(2026, 11, 25)
ADA, NOVA_CRNJA, RUMA, NOVI_SAD = "80012", "80250", "80357", "89010"


def member(birth_year: int, *markers: str) -> MemberFacts:
    return MemberFacts(birth_year=birth_year, markers=frozenset(markers))


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        (CaseStatus.open, CaseStatus.assessment),
        (CaseStatus.assessment, CaseStatus.plan),
        (CaseStatus.plan, CaseStatus.active),
        (CaseStatus.active, CaseStatus.closed),
        (CaseStatus.closed, CaseStatus.open),
        (CaseStatus.open, CaseStatus.transferred),
    ],
)
def test_the_lifecycle_moves_forward(current: CaseStatus, wanted: CaseStatus):
    check_transition(current, wanted)


def test_an_illegal_step_says_what_is_allowed():
    with pytest.raises(IllegalTransition) as caught:
        check_transition(CaseStatus.open, CaseStatus.active)
    assert "Allowed next: assessment, closed, transferred" in str(caught.value)
    assert caught.value.allowed == ["assessment", "closed", "transferred"]


def test_a_transferred_case_is_final():
    with pytest.raises(IllegalTransition, match="final"):
        check_transition(CaseStatus.transferred, CaseStatus.open)


@given(st.sampled_from(list(CaseStatus)), st.sampled_from(list(CaseStatus)))
def test_every_pair_is_either_allowed_or_refused_with_the_allowed_list(current, wanted):
    if wanted in TRANSITIONS[current]:
        check_transition(current, wanted)
    else:
        with pytest.raises(IllegalTransition) as caught:
            check_transition(current, wanted)
        assert set(caught.value.allowed) == set(TRANSITIONS[current])


@pytest.mark.parametrize(
    ("members", "poor", "expected"),
    [
        ([member(1980, "victim_of_violence")], False, Priority.urgent),
        ([member(1980), member(2015)], True, Priority.high),  # a child below the line
        ([member(1950)], True, Priority.high),  # an elderly person below the line
        ([member(1980, "disability")], True, Priority.high),
        ([member(1980)], True, Priority.medium),
        ([member(1980, "single_parent"), member(2010)], False, Priority.medium),
        ([member(1980, "without_documents")], None, Priority.medium),
        ([member(1980), member(1982)], False, Priority.low),
        ([member(1980)], None, Priority.low),
    ],
)
def test_priority_follows_the_documented_rule(members, poor, expected):
    assert case_priority(members=members, below_poverty_line=poor, on=TODAY) == expected


def test_the_worker_with_the_lowest_caseload_gets_the_case():
    loads = [WorkerLoad("ana", 12), WorkerLoad("boris", 7), WorkerLoad("ceca", 7)]
    assert choose_worker(loads) == "boris"
    assert choose_worker([]) is None


@given(st.lists(st.tuples(st.text(min_size=1, max_size=5), st.integers(0, 100)), min_size=1))
def test_nobody_chosen_has_more_cases_than_another(pairs):
    loads = [WorkerLoad(w, n) for w, n in pairs]
    chosen = choose_worker(loads)
    assert min(n for w, n in pairs) == min(load.active_cases for load in loads if load.worker == chosen)


AGREEMENT = Agreement(
    municipalities=frozenset({ADA, NOVA_CRNJA, RUMA}),
    service_types=frozenset({"day_care", "home_help"}),
    valid_from=date(2026, 1, 1),
    valid_to=date(2027, 12, 31),
)


def test_a_referral_in_the_same_municipality_needs_no_agreement():
    assert (
        referral_refusal(
            case_municipality=ADA, provider_municipality=ADA, service_type="shelter", agreements=[], on=TODAY
        )
        is None
    )


def test_a_referral_across_a_border_needs_a_valid_agreement_for_that_service():
    ok = dict(case_municipality=ADA, provider_municipality=RUMA, on=TODAY, agreements=[AGREEMENT])
    assert referral_refusal(service_type="day_care", **ok) is None
    refused = referral_refusal(service_type="shelter", **ok)
    assert refused is not None and "shelter" in refused
    assert referral_refusal(
        case_municipality=ADA, provider_municipality=NOVI_SAD, service_type="day_care", agreements=[AGREEMENT], on=TODAY
    )
    assert referral_refusal(service_type="day_care", **{**ok, "on": date(2028, 1, 1)})


def test_a_full_provider_refuses():
    assert capacity_refusal(capacity=10, occupancy=10) == "The provider is full (10 of 10 places taken)."
    assert capacity_refusal(capacity=10, occupancy=9) is None


def test_overdue_plans():
    assert plan_is_overdue(date(2026, 11, 24), TODAY)
    assert not plan_is_overdue(TODAY, TODAY)
    assert not plan_is_overdue(None, TODAY)


@pytest.mark.parametrize(("count", "shown"), [(0, 0), (1, "<5"), (4, "<5"), (5, 5), (120, 120)])
def test_small_cells_are_suppressed(count, shown):  # cases' statistics use the platform's rule
    assert disclosed(count) == shown


def test_the_vocabularies_agree_with_the_event_contracts():
    assert set(SERVICE_TYPES) == set(get_args(ServiceType))
    assert set(AGREEMENT_SCOPES) == set(get_args(AgreementScope)) == set(SERVICE_TYPES) | {"work_engagement"}
    assert set(NEED_DOMAINS) == set(get_args(NeedDomain))
    assert set(NEED_LEVELS) == set(get_args(NeedLevel))
    assert set(CLOSE_REASONS) == set(get_args(CloseReason))
    assert {s.value for s in CaseStatus} == set(get_args(CaseStatusName))
    assert {p.value for p in Priority} == set(get_args(PriorityName))


def test_a_referral_moves_requested_then_accepted_then_ended_and_says_what_is_allowed():
    check_referral_step(ReferralStatus.requested, ReferralStatus.accepted)
    check_referral_step(ReferralStatus.accepted, ReferralStatus.ended)
    with pytest.raises(IllegalReferralStep, match="Allowed next: ended") as caught:
        check_referral_step(ReferralStatus.accepted, ReferralStatus.declined)
    assert caught.value.allowed == [ReferralStatus.ended]
    with pytest.raises(IllegalReferralStep, match="none"):
        check_referral_step(ReferralStatus.declined, ReferralStatus.accepted)


def test_a_transfer_needs_an_agreement_joining_both_municipalities_valid_that_day():
    pairs = [("a1", AGREEMENT)]
    assert transfer_agreement(origin=ADA, destination=RUMA, agreements=pairs, on=TODAY) == "a1"
    assert transfer_agreement(origin=RUMA, destination=ADA, agreements=pairs, on=TODAY) == "a1"
    assert transfer_agreement(origin=ADA, destination=NOVI_SAD, agreements=pairs, on=TODAY) is None
    assert transfer_agreement(origin=ADA, destination=RUMA, agreements=pairs, on=date(2028, 1, 1)) is None


@given(st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=50))
def test_median_days_is_the_middle_of_the_sorted_durations(days):
    start = date(2026, 1, 1)
    result = median_days((start, start + timedelta(days=d)) for d in days)
    ordered = sorted(days)
    assert result is not None
    assert min(ordered) <= result <= max(ordered)
    below = sum(1 for d in ordered if d < result)
    above = sum(1 for d in ordered if d > result)
    assert below <= len(ordered) / 2 and above <= len(ordered) / 2


def test_median_days_of_nothing_is_none():
    assert median_days([]) is None
