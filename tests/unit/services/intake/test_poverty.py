"""Poverty and markers (DOMAIN.md, "Poverty" and "Vulnerable groups"): the equivalence scale, the line of the
year, and the markers that follow from a person's other fields. Pure rules, no database."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import permutations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.intake.domain import (
    PovertyStatus,
    age_markers,
    age_on,
    derived_markers,
    equivalent_adults,
    poverty_status,
)

ON = date(2026, 6, 15)


def born_aged(years: int, on: date = ON) -> date:
    """The birth date of someone who turns ``years`` exactly on ``on``."""
    return on.replace(year=on.year - years)


def tenths(adults: int, children: int) -> int:
    """DOMAIN.md's scale in tenths: 10 for the first adult, 5 for each other member 14+, 3 per child under 14."""
    return 10 + 5 * (adults - 1) + 3 * children


# --- the equivalence scale -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ages", "scale"),
    [
        ([40], 1.0),
        ([40, 38], 1.5),
        ([40, 38, 10, 5], 2.1),  # the textbook family: 1.0 + 0.5 + 0.3 + 0.3
        ([40, 38, 16, 10, 5], 2.6),
        ([70, 45, 44, 20, 17, 13, 1], 3.6),  # three generations: 1.0 + 4 × 0.5 + 2 × 0.3
        ([35, 2], 1.3),  # a single parent with a toddler
        ([40, 14], 1.5),  # 14 exactly counts as 14+
        ([40, 13], 1.3),  # 13 is a child
        ([14], 1.0),  # a 14-year-old alone is the first adult
    ],
)
def test_equivalence_scale_of_domain_md(ages: list[int], scale: float) -> None:
    assert equivalent_adults(ages) == scale


def test_a_household_of_children_only_counts_its_first_child_as_one() -> None:
    """DOMAIN.md is silent here; the module's documented choice: someone heads it, its needs are one person's."""
    assert equivalent_adults([12]) == 1.0
    assert equivalent_adults([12, 9, 3]) == 1.6


def test_a_household_without_members_has_no_scale() -> None:
    with pytest.raises(ValueError, match="at least one member"):
        equivalent_adults([])


ages = st.integers(min_value=0, max_value=110)


@given(st.lists(ages, min_size=1, max_size=30).filter(lambda a: any(x >= 14 for x in a)))
def test_scale_is_one_plus_a_half_per_other_member_14_plus_and_0_3_per_child(member_ages: list[int]) -> None:
    adults = sum(1 for a in member_ages if a >= 14)
    assert equivalent_adults(member_ages) == tenths(adults, len(member_ages) - adults) / 10


@given(st.lists(ages, min_size=1, max_size=6))
def test_scale_does_not_depend_on_the_order_members_are_listed(member_ages: list[int]) -> None:
    assert {equivalent_adults(list(p)) for p in permutations(member_ages)} == {equivalent_adults(member_ages)}


@given(st.lists(ages, min_size=1, max_size=20).filter(lambda a: any(x >= 14 for x in a)), ages)
def test_one_more_member_adds_half_from_14_and_three_tenths_below(member_ages: list[int], newcomer: int) -> None:
    grown = equivalent_adults([*member_ages, newcomer])
    assert round(grown - equivalent_adults(member_ages), 1) == (0.5 if newcomer >= 14 else 0.3)


# --- age on the day ------------------------------------------------------------------------------------------


def test_age_is_completed_years_on_the_day() -> None:
    birth = date(2012, 6, 15)
    assert age_on(birth, date(2026, 6, 14)) == 13
    assert age_on(birth, date(2026, 6, 15)) == 14
    assert age_on(birth, date(2026, 12, 31)) == 14
    assert age_on(birth, date(2027, 6, 14)) == 14


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2090, 12, 31)), st.integers(min_value=0, max_value=10))
def test_age_grows_by_one_exactly_on_each_birthday(birth: date, years: int) -> None:
    if birth.month == 2 and birth.day == 29:
        birth = birth - timedelta(days=1)  # the 29th has no birthday in common years; tested elsewhere (JMBG)
    birthday = birth.replace(year=birth.year + years)
    assert age_on(birth, birthday) == years
    if years:
        assert age_on(birth, birthday - timedelta(days=1)) == years - 1


def test_the_member_who_turns_14_today_counts_half_from_today() -> None:
    parent, teen = born_aged(40), date(2012, 6, 15)
    the_day_before = poverty_status(monthly_income=0, birth_dates=[parent, teen], on=date(2026, 6, 14), lines={})
    the_birthday = poverty_status(monthly_income=0, birth_dates=[parent, teen], on=date(2026, 6, 15), lines={})
    assert the_day_before.equivalent_adults == 1.3
    assert the_birthday.equivalent_adults == 1.5


# --- the poverty line ----------------------------------------------------------------------------------------

FAMILY = [born_aged(41), born_aged(39), born_aged(9), born_aged(4)]  # two adults, two children under 14
LINES = {2024: 13_500.0, 2025: 14_200.0, 2026: 15_000.0}


def test_known_family_below_the_line() -> None:
    status = poverty_status(monthly_income=30_000, birth_dates=FAMILY, on=ON, lines=LINES)
    assert status == PovertyStatus(equivalent_adults=2.1, income_per_equivalent_adult=14_285.71, line=15_000, year=2026)
    assert status.below_line is True


def test_income_exactly_on_the_line_is_not_below_it() -> None:
    status = poverty_status(monthly_income=31_500, birth_dates=FAMILY, on=ON, lines=LINES)
    assert status.income_per_equivalent_adult == 15_000
    assert status.below_line is False


@pytest.mark.parametrize(
    ("on", "year", "line"),
    [
        (date(2026, 1, 1), 2026, 15_000),
        (date(2025, 12, 31), 2025, 14_200),
        (date(2024, 3, 1), 2024, 13_500),
        (date(2027, 1, 5), 2026, 15_000),  # a new year without its line keeps the last one
        (date(2031, 7, 1), 2026, 15_000),
    ],
)
def test_the_line_of_the_latest_year_not_after_the_day_applies(on: date, year: int, line: float) -> None:
    status = poverty_status(monthly_income=10_000, birth_dates=[date(1980, 1, 1)], on=on, lines=LINES)
    assert (status.year, status.line) == (year, line)


def test_no_line_for_the_year_or_before_means_unknown_not_false() -> None:
    before_any = poverty_status(monthly_income=0, birth_dates=FAMILY, on=date(2023, 12, 31), lines=LINES)
    assert (before_any.line, before_any.year, before_any.below_line) == (None, None, None)
    no_lines = poverty_status(monthly_income=0, birth_dates=FAMILY, on=ON, lines={})
    assert no_lines.below_line is None
    only_future = poverty_status(monthly_income=0, birth_dates=FAMILY, on=ON, lines={2027: 16_000.0})
    assert only_future.below_line is None and only_future.year is None


incomes = st.floats(min_value=0, max_value=1_000_000, allow_nan=False).map(lambda x: round(x, 2))
lines = st.floats(min_value=1, max_value=100_000, allow_nan=False).map(lambda x: round(x, 2))


@given(incomes, lines, st.lists(st.integers(min_value=0, max_value=90), min_size=1, max_size=12))
def test_below_the_line_is_income_per_equivalent_adult_under_the_line(income: float, line: float, ages: list[int]):
    status = poverty_status(
        monthly_income=income, birth_dates=[born_aged(a) for a in ages], on=ON, lines={ON.year: line}
    )
    assert status.income_per_equivalent_adult == round(income / equivalent_adults(ages), 2)
    assert status.below_line is (status.income_per_equivalent_adult < line)
    assert status.line == line and status.year == ON.year


@given(incomes, st.lists(st.integers(min_value=0, max_value=90), min_size=1, max_size=12))
def test_more_income_never_moves_a_household_below_the_line(income: float, ages: list[int]) -> None:
    births = [born_aged(a) for a in ages]
    poorer = poverty_status(monthly_income=income, birth_dates=births, on=ON, lines=LINES)
    richer = poverty_status(monthly_income=income + 1_000, birth_dates=births, on=ON, lines=LINES)
    assert not (poorer.below_line is False and richer.below_line is True)


# --- markers -------------------------------------------------------------------------------------------------


def markers(**overrides: object) -> list[str]:
    fields: dict[str, object] = {
        "recorded": set(),
        "jmbg": None,
        "missing_jmbg_reason": "not_known",
        "employment_status": None,
        "able_to_work": None,
    }
    fields.update(overrides)
    return derived_markers(**fields)


def test_no_fields_no_markers() -> None:
    assert markers() == []


def test_without_documents_follows_from_no_jmbg_because_of_no_documents() -> None:
    assert markers(missing_jmbg_reason="no_personal_documents") == ["without_documents"]
    assert markers(missing_jmbg_reason="not_yet_issued") == []
    assert markers(missing_jmbg_reason="foreign_national") == []
    assert markers(jmbg="0101990710040", missing_jmbg_reason="no_personal_documents") == []


@pytest.mark.parametrize(
    ("able", "status", "expected"),
    [
        (True, "unemployed", ["unemployed_able_to_work"]),
        (False, "unemployed", []),
        (None, "unemployed", []),
        (True, "employed", []),
        (True, "informal_work", []),
        (True, None, []),
    ],
)
def test_unemployed_and_able_to_work(able: bool | None, status: str | None, expected: list[str]) -> None:
    assert markers(able_to_work=able, employment_status=status) == expected


def test_recorded_and_derived_markers_come_in_one_fixed_order() -> None:
    everything = markers(
        recorded={"victim_of_violence", "roma", "single_parent", "disability"},
        missing_jmbg_reason="no_personal_documents",
        able_to_work=True,
        employment_status="unemployed",
    )
    assert everything == [
        "unemployed_able_to_work",
        "disability",
        "single_parent",
        "roma",
        "victim_of_violence",
        "without_documents",
    ]


@given(st.sets(st.sampled_from(["disability", "single_parent", "roma", "victim_of_violence"])))
def test_recorded_markers_are_kept_once_each(recorded: set[str]) -> None:
    assert sorted(markers(recorded=recorded)) == sorted(recorded)


@pytest.mark.parametrize(
    ("birth", "expected"),
    [
        (born_aged(65), ["elderly"]),  # 65 today
        (born_aged(65) + timedelta(days=1), []),  # 65 tomorrow
        (born_aged(90), ["elderly"]),
        (born_aged(18), []),  # 18 today: no longer a child
        (born_aged(18) + timedelta(days=1), ["child"]),  # 18 tomorrow
        (born_aged(0), ["child"]),  # born today
        (born_aged(40), []),
    ],
)
def test_age_markers_on_the_day(birth: date, expected: list[str]) -> None:
    assert age_markers(birth, ON) == expected
