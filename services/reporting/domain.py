"""Reporting's pure rules: months, age bands, vulnerable groups and household types from event attributes.

Everything here depends only on what an event says (never on today's date), so replaying the topics gives the
same facts as reading them live.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

AGE_BANDS = ("0-17", "18-29", "30-49", "50-64", "65+")
_BAND_STARTS = (0, 18, 30, 50, 65)

# Vulnerable groups as bits. Recorded markers (DOMAIN.md) and the two derived from age. "victim_of_violence" is
# restricted case information and is never kept in reporting.
GROUPS = ("unemployed_able_to_work", "disability", "single_parent", "roma", "without_documents", "elderly", "child")
GROUP_BITS = {name: 1 << i for i, name in enumerate(GROUPS)}
_MARKER_BITS = {name: bit for name, bit in GROUP_BITS.items() if name not in ("elderly", "child")}

# The states in which a case is a worker's load (the caseload, the open cases of the summary).
ACTIVE_STATES = ("open", "assessment", "plan", "active")

Cell = tuple[str, int]  # a municipality's code and a month (yyyymm): what a batch of events changed


def ym(at: datetime) -> int:
    """The month of ``at`` as a number: 2026-11 → 202611."""
    return at.year * 100 + at.month


def age_band(birth_year: int, at: datetime) -> int:
    """Index into AGE_BANDS of the age reached in the year of ``at``."""
    age = at.year - birth_year
    band = 0
    for i, start in enumerate(_BAND_STARTS):
        if age >= start:
            band = i
    return band


def groups_of(markers: Iterable[str], band: int) -> int:
    bits = 0
    for marker in markers:
        bits |= _MARKER_BITS.get(marker, 0)
    if band == len(AGE_BANDS) - 1:
        bits |= GROUP_BITS["elderly"]
    if band == 0:
        bits |= GROUP_BITS["child"]
    return bits


def ym_range(start: int, end: int) -> list[int]:
    """Every month from ``start`` to ``end`` inclusive."""
    months = []
    year, month = divmod(start, 100)
    while year * 100 + month <= end:
        months.append(year * 100 + month)
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return months


def period_of(month: int, granularity: str) -> str:
    year, m = divmod(month, 100)
    if granularity == "month":
        return f"{year}-{m:02d}"
    if granularity == "quarter":
        return f"{year}-Q{(m - 1) // 3 + 1}"
    return str(year)
