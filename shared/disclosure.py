"""The small-cell rule: a count from 1 to 4 is shown as ``"<5"``, so that nobody can be recognised in a figure.

One place for the threshold, the mark and the test of a small count; what else must be hidden so that a hidden
count cannot be worked out from a total (secondary suppression) depends on the table and stays with it.
"""

from __future__ import annotations

from typing import Final, Literal, TypeVar

SMALL_CELL: Final = 5  # the smallest count shown as it is
SUPPRESSED: Final = "<5"  # what is shown instead (shared.events.reporting.Suppressed)
Suppressed = Literal["<5"]

T = TypeVar("T")


def is_small(value: object) -> bool:
    """A count from 1 to 4 (an ``int``, or a ``float`` with a whole value); 0, booleans and text are not."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return 0 < value < SMALL_CELL and float(value).is_integer()


def disclosed(count: T, *, exact: bool = False) -> T | Suppressed:
    """``count`` as it may be shown: ``"<5"`` when small, unless the reader may see exact figures."""
    return SUPPRESSED if not exact and is_small(count) else count
