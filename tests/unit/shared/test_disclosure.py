from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.disclosure import SMALL_CELL, SUPPRESSED, disclosed, is_small
from shared.events.reporting import Suppressed


@pytest.mark.parametrize(("count", "shown"), [(0, 0), (1, "<5"), (4, "<5"), (5, 5), (1234, 1234), (-1, -1)])
def test_counts_from_one_to_four_are_shown_as_less_than_five(count: int, shown: int | str) -> None:
    assert disclosed(count) == shown


def test_exact_readers_see_every_count() -> None:
    assert [disclosed(n, exact=True) for n in range(6)] == [0, 1, 2, 3, 4, 5]


def test_whole_floats_count_and_fractions_booleans_text_do_not() -> None:
    assert is_small(3.0)
    assert not any(is_small(v) for v in (2.5, True, "3", None, 0.0, 4.0001))


@given(st.integers(min_value=-10, max_value=10_000))
def test_a_shown_count_is_never_small(count: int) -> None:
    shown = disclosed(count)
    assert shown == SUPPRESSED if 1 <= count < SMALL_CELL else shown == count


def test_the_mark_is_the_one_the_events_carry() -> None:
    assert SUPPRESSED in Suppressed.__args__  # type: ignore[attr-defined]
