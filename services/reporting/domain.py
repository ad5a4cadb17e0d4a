"""Reporting's pure rules: how event attributes become indicator counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable


def persons_by_sex(sexes: Iterable[str]) -> dict[str, int]:
    counts = Counter(sexes)
    return {"persons_female": counts.get("F", 0), "persons_male": counts.get("M", 0)}
