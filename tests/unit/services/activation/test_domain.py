"""Activation's rules: eligibility with its reasons, the score and its parts, a deterministic ranking, fairness
figures and the placement's lifecycle."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.activation.domain import (
    WEIGHTS,
    Candidate,
    Criteria,
    GroupShare,
    IllegalPlacementStep,
    Opportunity,
    PlacementStatus,
    after_acceptance,
    check_placement_step,
    eligibility,
    months_unemployed,
    rank,
    score,
    women_under_target,
)

TODAY = date(2026, 11, 25)
ADA, RUMA, NOVI_SAD = "80012", "80357", "89010"
CRITERIA = Criteria()
PARK = Opportunity("o1", ADA, hours_min=10, hours_max=20, required_skills=frozenset({"cleaning", "gardening"}))


def near(a: str, b: str) -> bool:
    return {a, b} == {ADA, RUMA}


def km(a: str, b: str) -> float:
    return 0.0 if a == b else 50.0


def candidate(**overrides: object) -> Candidate:
    values: dict[str, object] = {
        "person_id": "p1",
        "municipality_code": ADA,
        "sex": "F",
        "birth_year": 1990,
        "skills": frozenset({"cleaning"}),
        "hours_min": 10,
        "hours_max": 20,
    }
    values.update(overrides)
    return Candidate(**values)  # type: ignore[arg-type]


def missed(c: Candidate, o: Opportunity = PARK, criteria: Criteria = CRITERIA) -> set[str]:
    return {x.criterion for x in eligibility(c, o, criteria, reachable=near, on=TODAY) if not x.met}


def test_each_hard_filter_says_why_a_candidate_is_out():
    assert missed(candidate()) == set()
    assert missed(candidate(birth_year=2010)) == {"working_age"}
    assert missed(candidate(birth_year=1950)) == {"working_age"}
    assert missed(candidate(able_to_work=False)) == {"able_to_work"}
    assert missed(candidate(employment_status="pupil_student")) == {"not_in_education"}
    assert missed(candidate(placed=True)) == {"not_placed"}
    assert missed(candidate(hours_min=30, hours_max=40)) == {"hours"}
    assert missed(candidate(markers=frozenset({"disability"}))) == {"accessible"}
    assert missed(candidate(municipality_code=NOVI_SAD)) == {"distance"}
    assert missed(candidate(municipality_code=RUMA)) == set()  # covered by an agreement
    assert missed(candidate(municipality_code=RUMA), criteria=Criteria(scope="same")) == {"distance"}
    assert missed(candidate(birth_year=2010), criteria=Criteria(min_age=None, max_age=None)) == set()


def test_a_check_explains_itself():
    (age,) = [
        c
        for c in eligibility(candidate(birth_year=2010), PARK, CRITERIA, reachable=near, on=TODAY)
        if c.criterion == "working_age"
    ]
    assert age.detail == "age 16, the forum takes 18–64"


def test_the_score_has_the_documented_parts():
    parts = score(candidate(unemployed_since=date(2024, 11, 1)), PARK, CRITERIA, distance_km=km, on=TODAY)
    assert parts == {
        "skills": 20.0,  # one of two required skills
        "distance": 20.0,  # same municipality
        "priority": 10.0,  # a woman, long-term unemployed
        "availability": 15.0,  # all the hours, available
        "unemployed": 10.0,  # 24 months and more
    }


skills = st.frozensets(st.sampled_from(["cleaning", "gardening", "cooking", "driving", "it_basic"]))
candidates = st.builds(
    Candidate,
    person_id=st.uuids().map(str),
    municipality_code=st.sampled_from([ADA, RUMA]),
    sex=st.sampled_from(["F", "M"]),
    birth_year=st.integers(1960, 2006),
    skills=skills,
    markers=st.frozensets(st.sampled_from(["single_parent", "roma", "disability"])),
    hours_min=st.integers(1, 20),
    hours_max=st.integers(20, 40),
    unemployed_since=st.none() | st.dates(date(2000, 1, 1), TODAY),
)


@given(candidates)
def test_a_score_is_between_0_and_100_and_each_part_within_its_weight(c):
    parts = score(c, PARK, CRITERIA, distance_km=km, on=TODAY)
    assert set(parts) == set(WEIGHTS)
    assert all(0 <= parts[k] <= WEIGHTS[k] for k in parts)
    assert 0 <= sum(parts.values()) <= 100


@given(candidates, skills)
def test_more_skills_never_lower_the_score(c, extra):
    before = sum(score(c, PARK, CRITERIA, distance_km=km, on=TODAY).values())
    more = Candidate(**{**{f: getattr(c, f) for f in c.__slots__}, "skills": c.skills | extra})
    assert sum(score(more, PARK, CRITERIA, distance_km=km, on=TODAY).values()) >= before


@given(st.lists(candidates, max_size=30))
def test_the_ranking_is_deterministic_sorted_and_only_eligible(cs):
    ranked = rank(cs, PARK, CRITERIA, reachable=near, distance_km=km, on=TODAY)
    again = rank(list(reversed(cs)), PARK, CRITERIA, reachable=near, distance_km=km, on=TODAY)
    assert [r.candidate.person_id for r in ranked] == [r.candidate.person_id for r in again]
    assert all(r.eligible for r in ranked)
    keys = [(-r.score, r.candidate.person_id) for r in ranked]
    assert keys == sorted(keys)
    assert all(r.score == round(sum(r.breakdown.values()), 2) for r in ranked)


def test_months_unemployed():
    assert months_unemployed(candidate(unemployed_since=date(2025, 11, 1)), TODAY) == 12
    assert months_unemployed(candidate(), TODAY) == 0
    assert months_unemployed(candidate(unemployed_since=date(2027, 1, 1)), TODAY) == 0


def test_fairness_shares_disparity_and_the_womens_target():
    women = GroupShare("woman", {"eligible": (50, 100), "shortlisted": (10, 40), "placed": (3, 10)})
    assert women.share("eligible") == 0.5
    assert women.disparity("shortlisted") == 0.5
    assert women.disparity("proposed") is None
    assert women_under_target(3, 10)
    assert not women_under_target(5, 10)
    assert not women_under_target(0, 0)


def test_a_placement_needs_both_acceptances_and_moves_step_by_step():
    assert after_acceptance(employer=True, candidate=False) is PlacementStatus.proposed
    assert after_acceptance(employer=True, candidate=True) is PlacementStatus.accepted
    check_placement_step(PlacementStatus.accepted, PlacementStatus.started)
    check_placement_step(PlacementStatus.started, PlacementStatus.ended)
    with pytest.raises(IllegalPlacementStep, match="Allowed next: accepted, declined") as caught:
        check_placement_step(PlacementStatus.proposed, PlacementStatus.started)
    assert caught.value.allowed == [PlacementStatus.accepted, PlacementStatus.declined]
    with pytest.raises(IllegalPlacementStep, match="final"):
        check_placement_step(PlacementStatus.completed, PlacementStatus.ended)
